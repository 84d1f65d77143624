"""CVE-2024-21626 ("Leaky Vessels"): a host directory fd open in a runtime
process while it sets up the container, and a working directory given as
/proc/self/fd/N, put the container's process outside its root.

The runtime is started with host directories open (not close-on-exec) on fds 5
and 8, as a careless caller (or the runtime itself) might leave them; the
container's process then tries to read a host marker file from its cwd and
through every fd it has.
"""
from __future__ import annotations

import json
import os

import pytest

from support.checks import assert_one_line_error

LEAKED = (5, 8)  # single digits: dash reads "11<f" as an argument and a redirection


def _with_leaked_dirs(rt, hostdir: str, args, **kw):
    """Run the runtime with ``hostdir`` open on fds 5 and 8 (inheritable)."""
    script = 'exec "$@" ' + " ".join(f'{fd}<"$0"' for fd in LEAKED)
    return rt(*args, argv=["/bin/sh", "-c", script, hostdir] + rt.argv(args), **kw)


def _steal(marker_path: str) -> str:
    """Shell code: read the marker from the cwd, from ../../.. of the cwd, and
    through every fd 3..20 of the process."""
    up = "../" * 30 + marker_path.lstrip("/")
    name = os.path.basename(marker_path)
    return (f"cat {name} 2>/dev/null; cat {up} 2>/dev/null; "
            f"for n in $(seq 3 20); do cat /proc/self/fd/$n/{up} 2>/dev/null; "
            f"cat /proc/self/fd/$n/{name} 2>/dev/null; done; echo done")


def _assert_outcomes_safe(outcomes, secret: str) -> None:
    """Each attempt either failed cleanly (one-line error) or ran without
    reaching the marker."""
    for n, res in outcomes:
        assert secret not in res.out and secret not in res.err, \
            f"ESCAPE: with cwd /proc/self/fd/{n} the process read the host file: {res!r}"
    for n, res in outcomes:
        if res.rc != 0:
            assert_one_line_error(res)
        else:
            assert "done" in res.out, res


@pytest.mark.defence("cwd_in_root")
def test_process_cwd_proc_self_fd(sec, make_bundle, new_id, marker, testdir):
    rt = sec.rt
    path, secret = marker
    b = make_bundle(["sh", "-c", _steal(path)])
    outcomes = []
    for n in range(3, 21):
        b.edit(lambda c, n=n: c["process"].__setitem__("cwd", f"/proc/self/fd/{n}"))
        cid = new_id(f"cwd{n}")
        res = _with_leaked_dirs(rt, testdir, ["run", "--bundle", b.path, cid])
        rt("delete", "--force", cid)
        outcomes.append((n, res))
    sec.check(_assert_outcomes_safe, outcomes, secret)
    if not sec.expect_escape:
        failed = [n for n, r in outcomes if r.rc != 0]
        assert failed, "no cwd was refused: is any fd a directory at that point?"


@pytest.mark.defence("cwd_in_root")
def test_exec_cwd_proc_self_fd(sec, make_bundle, new_id, marker, testdir):
    rt = sec.rt
    path, secret = marker
    b = make_bundle(["sleep", "1000"])
    cid = new_id("execcwd")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    outcomes = []
    try:
        for n in range(3, 21):
            res = _with_leaked_dirs(rt, testdir, ["exec", "--cwd", f"/proc/self/fd/{n}", cid,
                                                  "sh", "-c", _steal(path)])
            outcomes.append((n, res))
        # the same through --process
        proc = {"args": ["sh", "-c", _steal(path)], "cwd": "/proc/self/fd/5",
                "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}}
        pf = os.path.join(testdir, "process.json")
        with open(pf, "w") as f:
            json.dump(proc, f)
        outcomes.append((5, _with_leaked_dirs(rt, testdir, ["exec", "--process", pf, cid])))
    finally:
        rt("delete", "--force", cid)
    sec.check(_assert_outcomes_safe, outcomes, secret)


def _assert_no_leaked_fd(res, secret: str) -> None:
    assert secret not in res.out, f"ESCAPE through a leaked fd: {res!r}"
    fds = sorted(int(x) for x in res.out.split("FDS:")[1].split() if x.isdigit())
    assert fds == [0, 1, 2], f"fds that reached the container's process: {fds}"


@pytest.mark.defence("close_fds")
def test_no_host_fd_reaches_the_container(sec, make_bundle, new_id, marker, testdir):
    """Neither the init nor an exec'd process gets the caller's leaked fds."""
    rt = sec.rt
    path, secret = marker
    script = _steal(path) + "; echo FDS:; ls /proc/$$/fd; true"
    b = make_bundle(["sh", "-c", script])
    cid = new_id("leakfd")
    res = _with_leaked_dirs(rt, testdir, ["run", "--bundle", b.path, cid])
    rt("delete", "--force", cid)
    assert res.rc == 0, res
    sec.check(_assert_no_leaked_fd, res, secret)

    b2 = make_bundle(["sleep", "1000"])
    cid2 = new_id("leakfdx")
    assert rt("run", "-d", "--bundle", b2.path, cid2).rc == 0
    try:
        res2 = _with_leaked_dirs(rt, testdir, ["exec", cid2, "sh", "-c", script])
    finally:
        rt("delete", "--force", cid2)
    assert res2.rc == 0, res2
    sec.check(_assert_no_leaked_fd, res2, secret)
