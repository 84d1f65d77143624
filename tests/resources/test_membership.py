"""The container's init and every process exec'd into it sit in the
container's cgroup in every hierarchy the host has: each v1 controller and
named hierarchy, and the unified one (pure v2, or hybrid's second tree),
whichever way they got there (the init writing "0" to v1 "tasks", being born
in the cgroup with clone3 CLONE_INTO_CGROUP, or a cgroup.procs write)."""
from __future__ import annotations

import os
import secrets

import cgenv


def _expected(cgh) -> "tuple[str, set[str]]":
    """An absolute cgroupsPath, and the hierarchies a process should show it in
    ("" = unified)."""
    path = f"/pyrt-member-{secrets.token_hex(4)}"
    names = {""} if cgh.unified else set()
    if not cgh.is_v2:
        names |= set(cgh.v1_names)
    return path, names


def _assert_in(pid: int, path: str, names: "set[str]", what: str) -> None:
    raw = cgenv.proc_cgroup(pid)
    wrong = {n: p for n, p in raw.items() if n in names and p != path}
    missing = names - set(raw)
    assert not wrong and not missing, \
        f"{what} (pid {pid}) is not in {path} everywhere: {raw}"


def test_init_and_exec_are_in_the_cgroup_everywhere(ctr, cgh, rt, testdir, runtime_is_runc):
    path, names = _expected(cgh)
    parents = [(cgh.unified if n == "" else cgh.v1_names[n]).rstrip("/") + path for n in names]
    try:
        c = ctr.run(edit=lambda cfg: cfg["linux"].__setitem__("cgroupsPath", path + "/ctr"))
        _assert_in(c.pid, path + "/ctr", names, "the init")
        pidfile = os.path.join(testdir, "exec.pid")
        res = rt("exec", "-d", "--pid-file", pidfile, c.id, "sleep", "100")
        assert res.rc == 0, res
        with open(pidfile) as f:
            _assert_in(int(f.read()), path + "/ctr", names, "the exec'd process")
        assert rt("delete", "--force", c.id).rc == 0
        if not runtime_is_runc:  # runc leaves the parents it made
            left = [d for d in parents if os.path.exists(d)]
            assert not left, f"delete left the parent cgroups it made: {left}"
    finally:
        for d in parents:
            try:
                os.rmdir(d)
            except OSError:
                pass
