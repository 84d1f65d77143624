"""pause really freezes the container (a counter it writes stops advancing),
resume restarts it; the freezer files agree with `state`; `delete --force` of a
paused container thaws, kills and removes it."""
from __future__ import annotations

import os
import time

import pytest

from support.checks import assert_one_line_error, pid_alive, wait_for

COUNTER = ("i=0; while :; do i=$((i+1)); echo $i > /shared/n.tmp; "
           "mv -f /shared/n.tmp /shared/n; sleep 0.05; done")


def _count(c) -> int:
    try:
        with open(c.bundle.shared_file("n")) as f:
            return int(f.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _advancing(c, timeout: float = 10.0) -> int:
    start = _count(c)
    return wait_for(lambda: _count(c) > start + 2 and _count(c), timeout,
                    what="the counter to advance")


def _frozen_file(c, cgh) -> "tuple[str, str]":
    """(spec, value when frozen)."""
    if cgh.is_v2:
        return "cgroup.freeze", "1"
    return "freezer.state", "FROZEN"


def test_pause_freezes_and_resume_thaws(ctr, cgh, rt):
    c = ctr.run(["sh", "-c", COUNTER], shared=True)
    _advancing(c)
    r = rt("pause", c.id)
    assert r.rc == 0 and r.out == "" and r.err == "", r
    assert rt.state(c.id)["status"] == "paused"
    spec, frozen = _frozen_file(c, cgh)
    assert c.read(spec) == frozen
    if cgh.is_v2:
        assert "frozen 1" in c.read("cgroup.events").splitlines()
    n1 = _count(c)
    time.sleep(0.6)  # > 10 periods of the counter
    n2 = _count(c)
    assert n2 == n1, f"the counter advanced while paused: {n1} -> {n2}"
    # every process is frozen (v1: state D or S in the freezer; check it exists still)
    assert pid_alive(c.pid)
    # wrong-state errors are one line
    assert_one_line_error(rt("pause", c.id), r"paused|not running")
    r = rt("resume", c.id)
    assert r.rc == 0 and r.out == "" and r.err == "", r
    assert rt.state(c.id)["status"] == "running"
    assert c.read(spec) != frozen
    n3 = _advancing(c)
    assert n3 > n2
    assert_one_line_error(rt("resume", c.id), r"running|not paused")


@pytest.mark.runtime_pyruntime_only(reason="runc 1.1 also pauses a created container")
def test_pause_of_a_created_container_fails(ctr, rt, make_bundle, new_id):
    b = make_bundle(["sleep", "1000"])
    cid = new_id("created")
    ctr.started.append(cid)
    assert rt("create", "--bundle", b.path, cid).rc == 0
    assert_one_line_error(rt("pause", cid), r"created|not running")
    assert_one_line_error(rt("resume", cid), r"created|not paused")
    assert rt("delete", "--force", cid).rc == 0


def test_pause_of_a_stopped_container_fails(ctr, rt, reaper):
    c = ctr.run()
    assert rt("kill", c.id, "KILL").rc == 0
    reaper.wait_pid(c.pid)
    rt.wait_status(c.id, "stopped")
    assert_one_line_error(rt("pause", c.id), r"stopped|not running")


def test_delete_force_of_a_paused_container(ctr, cgh, rt, reaper):
    """Thawed, killed (every process: the init and its children), removed; no
    cgroup left in any hierarchy."""
    c = ctr.run(["sh", "-c", "sleep 1000 & sleep 1000 & " + COUNTER], shared=True)
    _advancing(c)
    pids = c.cg.procs()
    assert len(pids) >= 3, pids
    dirs = c.cg.all_dirs()
    assert rt("pause", c.id).rc == 0
    assert rt.status(c.id) == "paused"
    r = rt("delete", "--force", c.id)
    assert r.rc == 0, r
    assert rt("state", c.id).rc != 0
    for p in pids:
        reaper.wait_gone(p, 10)
    left = [d for d in dirs if os.path.isdir(d)]
    assert not left, f"delete --force of a paused container left cgroups: {left}"


def test_kill_of_a_paused_container(ctr, rt, reaper):
    """kill --all KILL reaches a frozen container (signalled, then thawed, as
    runc does)."""
    c = ctr.run(["sh", "-c", COUNTER], shared=True)
    assert rt("pause", c.id).rc == 0
    assert rt("kill", "--all", c.id, "KILL").rc == 0
    reaper.wait_pid(c.pid, 10)
    rt.wait_status(c.id, "stopped")
    assert rt("delete", c.id).rc == 0
