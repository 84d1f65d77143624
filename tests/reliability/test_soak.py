"""A short soak (tools/soak.py): 100 create/start/wait/delete cycles through
the CLI and 100 through the Python API leak nothing; and the soak tool itself
does notice a leak (a cycle that leaks an fd, one that forgets to delete)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from security.harness import REPO

SOAK = os.path.join(REPO, "tools", "soak.py")


def _soak(runtime_bin, root, bundle, *args, prelude: str = "", timeout=300):
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(SOAK)!r}); import soak\n"
            f"{prelude}\nsys.exit(soak.main(sys.argv[1:]))")
    argv = [sys.executable, "-c", code, "--root", root, "--bundle", bundle,
            "--runtime", runtime_bin, "--json", *args]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout)


@pytest.mark.parametrize("mode", ["cli", "api"])
def test_short_soak(mode, runtime_bin, state_root, make_bundle):
    b = make_bundle(["true"])
    rc, report = _soak(runtime_bin, state_root, b.path, "--cycles", "100", "--mode", mode)
    print(f"\n[soak {mode}] {report['cycles']} cycles in {report['seconds']}s: "
          f"leaks {report['leaks']}, memory {report['memory_kib']}")
    assert rc == 0 and report["ok"], report
    assert report["failed_cycles"] == 0


def test_soak_notices_leaks(runtime_bin, state_root, make_bundle, rt):
    b = make_bundle(["true"])
    leak_fd = ("import os\norig = soak.ApiDriver.cycle\n"
               "def cycle(self, cid, bundle):\n    orig(self, cid, bundle)\n"
               "    os.open('/dev/null', os.O_RDONLY)\nsoak.ApiDriver.cycle = cycle")
    rc, report = _soak(runtime_bin, state_root, b.path, "--cycles", "5", "--mode", "api",
                       prelude=leak_fd)
    assert rc == 1 and report["leaks"].get("fds") == 5, report

    no_delete = ("orig = soak.CliDriver._run\n"
                 "def run(self, *args):\n"
                 "    return (0, '') if args[0] == 'delete' else orig(self, *args)\n"
                 "soak.CliDriver._run = run")
    try:
        rc, report = _soak(runtime_bin, state_root, b.path, "--cycles", "3", "--mode", "cli",
                           prelude=no_delete)
        assert rc == 1, report
        assert report["leaks"].get("state_dirs") == 3, report
        assert report["leaks"].get("cgroups", 0) >= 3, report
    finally:
        for cid in os.listdir(state_root):
            rt("delete", "--force", cid)
