"""Run tests/cgroups again inside a pure cgroup v2 guest (tools/cgroup2-guest.sh,
a User-Mode Linux 6.1 kernel), so `pytest tests/` covers both versions on a
v1/hybrid host. The eBPF wrappers are compiled here on the host first (the
guest traps every syscall; compiling there is slow) and mounted read-write
into the guest (V2VM_RW)."""
import os
import re
import shutil
import subprocess
import sys

import pytest

import ebpf_shim
from pyruntime import cgroups

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "tools", "cgroup2-guest.sh")
UML = os.environ.get("V2VM_UML", "/usr/bin/linux.uml")

pytestmark = pytest.mark.guestwrapper


def test_cgroups_in_v2_guest(tmp_path):
    if os.environ.get("PYRT_IN_V2_GUEST") == "1":
        pytest.skip("already inside the v2 guest")
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not os.access(UML, os.X_OK):
        pytest.skip(f"{UML} missing: apt-get install -y --no-install-recommends user-mode-linux kmod")
    try:
        if cgroups.detect().mode == "v2":
            pytest.skip("the host is cgroup v2: tests/cgroups ran natively")
    except cgroups.CgroupError:
        pass
    # tmp_path is under the host's /tmp, which the guest replaces by a tmpfs;
    # V2VM_RW mounts it back at the same path
    shim_dir = str(tmp_path / "ebpf")
    try:
        ebpf_shim.build(shim_dir)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"cannot build the eBPF wrappers: {e}")
    env = dict(os.environ)
    env.update({"PYRT_TEST_EBPF_SHIM": shim_dir, "V2VM_RW": shim_dir,
                "V2VM_TIMEOUT": env.get("V2VM_TIMEOUT", "900")})
    cmd = (f"{sys.executable} -m pytest -q -rs -p no:cacheprovider -m 'not guestwrapper' "
           f"{os.path.relpath(HERE, REPO)}")
    p = subprocess.run([SCRIPT, cmd], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1000)
    out = p.stdout
    summary = [ln for ln in out.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
    print(out)  # shown with -s, or on failure
    assert p.returncode == 0, f"v2 guest run failed (rc {p.returncode}):\n{out[-6000:]}"
    assert summary and " passed" in summary[-1], out[-3000:]
    shutil.rmtree(shim_dir, ignore_errors=True)
