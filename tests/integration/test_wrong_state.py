"""Operations in the wrong state (runtime.md: an error, and no effect on the
container), ``delete --force``, and ``kill``'s signal forms."""
from __future__ import annotations

import signal

import pytest

from support.checks import pid_alive, processes_rooted_at, wait_file

# the program appends a line to /shared/starts each time it runs
STARTS_THEN_SLEEP = ["sh", "-c", "echo x >> /shared/starts; exec sleep 1000"]
STARTS_THEN_EXIT = ["sh", "-c", "echo x >> /shared/starts"]

# trap TERM and USR1, report them in /shared, keep running
TRAPPER = ("trap 'echo TERM >> /shared/sigs; exit 0' TERM; "
           "trap 'echo USR1 >> /shared/sigs' USR1; "
           "echo ready > /shared/ready; "
           "while true; do sleep 0.05; done")


@pytest.fixture
def created(rt, make_bundle, new_id):
    b = make_bundle(STARTS_THEN_SLEEP, shared=True)
    cid = new_id("c")
    res = rt("create", "--bundle", b.path, cid)
    assert res.rc == 0, res
    return cid, b


@pytest.fixture
def running(rt, created):
    cid, b = created
    assert rt("start", cid).rc == 0
    wait_file(b.shared_file("starts"))
    return cid, b


@pytest.fixture
def stopped(rt, make_bundle, new_id, reaper):
    b = make_bundle(STARTS_THEN_EXIT, shared=True)
    cid = new_id("s")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]
    assert rt("start", cid).rc == 0
    reaper.wait_pid(pid)
    rt.wait_status(cid, "stopped")
    return cid, b


def _starts(b) -> int:
    return (b.read_shared("starts") or "").count("x")


def _cleanup(rt, cid):
    assert rt("delete", "--force", cid).rc == 0
    assert rt.status(cid) is None


def test_start_of_a_running_container_fails_and_changes_nothing(rt, running):
    cid, b = running
    before = rt.state(cid)
    res = rt("start", cid)
    assert res.rc != 0, res
    assert "Traceback" not in res.err
    assert rt.state(cid) == before
    assert pid_alive(before["pid"])
    assert _starts(b) == 1, "the program ran again"
    _cleanup(rt, cid)


def test_start_of_a_stopped_container_fails_and_changes_nothing(rt, stopped):
    cid, b = stopped
    before = rt.state(cid)
    res = rt("start", cid)
    assert res.rc != 0, res
    assert "Traceback" not in res.err
    assert rt.state(cid) == before
    assert _starts(b) == 1
    assert rt("delete", cid).rc == 0


def test_kill_of_a_stopped_container_fails_and_changes_nothing(rt, stopped):
    cid, b = stopped
    before = rt.state(cid)
    res = rt("kill", cid, "KILL")
    assert res.rc != 0, res
    assert "Traceback" not in res.err
    assert "not running" in res.err, f"clients match 'container not running': {res!r}"
    assert rt.state(cid) == before
    assert rt("delete", cid).rc == 0


def test_delete_of_a_running_container_fails_and_changes_nothing(rt, running):
    cid, b = running
    before = rt.state(cid)
    res = rt("delete", cid)
    assert res.rc != 0, res
    assert "Traceback" not in res.err
    assert rt.state(cid) == before
    assert pid_alive(before["pid"])
    _cleanup(rt, cid)


@pytest.mark.runtime_pyruntime_only(
    reason="runc 1.1.5 deletes a created container without --force (delete.go: "
           "case Created -> killContainer), against runtime.md")
def test_delete_of_a_created_container_fails_and_changes_nothing(rt, created):
    cid, b = created
    before = rt.state(cid)
    res = rt("delete", cid)
    assert res.rc != 0, res
    assert "Traceback" not in res.err
    assert rt.state(cid) == before
    assert pid_alive(before["pid"])
    _cleanup(rt, cid)


@pytest.mark.parametrize("which", ["created", "running"])
def test_delete_force_removes_a_live_container(rt, request, reaper, which):
    cid, b = request.getfixturevalue(which)
    pid = rt.state(cid)["pid"]
    res = rt("delete", "--force", cid)
    assert res.rc == 0, res
    assert res.out == "" and res.err == ""
    assert rt.status(cid) is None
    reaper.wait_gone(pid)
    assert _starts(b) == (1 if which == "running" else 0)


def test_delete_force_of_an_unknown_container_succeeds(rt, new_id):
    res = rt("delete", "--force", new_id("nope"))
    assert res.rc == 0, res
    assert "Traceback" not in res.err


def test_delete_force_twice(rt, stopped):
    cid, _ = stopped
    assert rt("delete", "--force", cid).rc == 0
    assert rt("delete", "--force", cid).rc == 0


@pytest.fixture
def trapper(rt, make_bundle, new_id):
    b = make_bundle(["sh", "-c", TRAPPER], shared=True)
    cid = new_id("trap")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    assert rt("start", cid).rc == 0
    wait_file(b.shared_file("ready"))
    return cid, b


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15", None])
def test_kill_sigterm_forms(rt, trapper, reaper, sig):
    """TERM by name, SIG-prefixed name, number, and as the default signal."""
    cid, b = trapper
    pid = rt.state(cid)["pid"]
    res = rt("kill", cid, *([sig] if sig else []))
    assert res.rc == 0, res
    assert wait_file(b.shared_file("sigs")) == "TERM\n"
    assert reaper.wait_pid(pid) == 0
    rt.wait_status(cid, "stopped")
    assert rt("delete", cid).rc == 0


@pytest.mark.parametrize("sig", ["USR1", "SIGUSR1", str(int(signal.SIGUSR1))])
def test_kill_delivers_the_named_signal(rt, trapper, sig):
    cid, b = trapper
    assert rt("kill", cid, sig).rc == 0
    assert wait_file(b.shared_file("sigs")) == "USR1\n"
    assert rt.status(cid) == "running"
    _cleanup(rt, cid)


@pytest.mark.parametrize("sig", ["9", "KILL", "SIGKILL"])
def test_kill_sigkill_forms(rt, running, reaper, sig):
    cid, _ = running
    pid = rt.state(cid)["pid"]
    assert rt("kill", cid, sig).rc == 0
    assert reaper.wait_pid(pid) == -signal.SIGKILL
    rt.wait_status(cid, "stopped")
    assert rt("delete", cid).rc == 0


def test_kill_all_signals_every_process(rt, make_bundle, new_id):
    # the init (no TERM handler) ignores TERM, its children do not
    script = ("sleep 1001 & sleep 1002 & echo ready > /shared/ready; wait; "
              "echo children-gone > /shared/done; exec sleep 1000")
    b = make_bundle(["sh", "-c", script], shared=True)
    cid = new_id("all")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    assert rt("start", cid).rc == 0
    wait_file(b.shared_file("ready"))
    res = rt("kill", "--all", cid, "TERM")
    assert res.rc == 0, res
    assert wait_file(b.shared_file("done")) == "children-gone\n"
    assert rt.status(cid) == "running"
    _cleanup(rt, cid)


def test_kill_without_all_signals_only_the_init(rt, make_bundle, new_id):
    script = ("trap 'echo init-term >> /shared/log' TERM; "
              "sleep 1001 & echo ready > /shared/ready; "
              "while true; do sleep 0.05; done")
    b = make_bundle(["sh", "-c", script], shared=True)
    cid = new_id("one")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    assert rt("start", cid).rc == 0
    wait_file(b.shared_file("ready"))
    assert rt("kill", cid, "TERM").rc == 0
    assert wait_file(b.shared_file("log")) == "init-term\n"
    assert rt.status(cid) == "running"
    sleeps = [argv for argv in processes_rooted_at(b.rootfs).values()
              if argv[:2] == ["sleep", "1001"]]
    assert sleeps, "kill without --all reached the init's child"
    _cleanup(rt, cid)
