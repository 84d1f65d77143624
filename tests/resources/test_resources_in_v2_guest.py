"""Run tests/resources again inside a pure cgroup v2 guest
(tools/cgroup2-guest.sh: a User-Mode Linux 6.1 kernel, controllers cpu io
memory pids; the script exports PYRT_IN_V2_GUEST=1), so `pytest tests/`
covers v1/hybrid on the host and v2 in the guest at the CLI level. The guest
runs the installed runtime (RUNTIME, default pyruntime) on the host's
read-only /, with fresh tmpfs /run and /tmp for bundles and state."""
import os
import re
import subprocess
import sys

import pytest

import cgenv

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "tools", "cgroup2-guest.sh")
UML = os.environ.get("V2VM_UML", "/usr/bin/linux.uml")
TIMEOUT = int(os.environ.get("PYRT_V2_GUEST_TIMEOUT", "420"))

pytestmark = pytest.mark.guestwrapper


def test_resources_in_v2_guest():
    if cgenv.IN_GUEST:
        pytest.skip("already inside the v2 guest")
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not os.access(UML, os.X_OK):
        pytest.skip(f"{UML} missing: apt-get install -y --no-install-recommends "
                    "user-mode-linux kmod")
    try:
        if cgenv.host().is_v2:
            pytest.skip("the host is cgroup v2: tests/resources ran natively")
    except (OSError, RuntimeError):
        pass
    env = dict(os.environ)
    env["V2VM_TIMEOUT"] = str(TIMEOUT)
    cmd = (f"{sys.executable} -m pytest -q -rsx -p no:cacheprovider -m 'not guestwrapper' "
           f"{os.path.relpath(HERE, REPO)}")
    p = subprocess.run([SCRIPT, cmd], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=TIMEOUT + 60)
    out = p.stdout
    print(out)  # shown with -s, or on failure
    summary = [ln for ln in out.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
    assert p.returncode == 0, f"v2 guest run failed (rc {p.returncode}):\n{out[-8000:]}"
    assert summary and re.search(r"\d+ passed", summary[-1]), out[-3000:]
    assert not re.search(r"\d+ (failed|errors?)\b", summary[-1]), out[-3000:]
