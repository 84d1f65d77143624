"""create -> state -> start -> state -> kill -> state -> delete, as conmon and
containerd's shim drive it."""
from __future__ import annotations

import os
import signal
import time

import pytest

from support.checks import pid_alive, ppid, wait_file
from support.schema import validation_errors

STATE_SCHEMA = "state-schema.json"


def assert_valid_state(st: dict) -> None:
    errs = validation_errors(st, STATE_SCHEMA)
    assert not errs, f"state JSON violates state-schema.json: {errs}\n{st}"


def test_full_lifecycle(rt, make_bundle, new_id, testdir, reaper):
    b = make_bundle(["sh", "-c", "echo started > /shared/started; exec sleep 1000"], shared=True)
    cid = new_id("life")
    pidfile = os.path.join(testdir, "init.pid")

    res = rt("create", "--bundle", b.path, "--pid-file", pidfile, cid)
    assert res.rc == 0, res
    assert res.out == "" and res.err == "", f"create must print nothing on success: {res!r}"

    st = rt.state(cid)
    assert_valid_state(st)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["bundle"] == b.path
    assert isinstance(st["ociVersion"], str) and st["ociVersion"]
    pid = st["pid"]
    assert isinstance(pid, int) and pid > 0
    assert pid_alive(pid), f"init pid {pid} is not alive after create"
    with open(pidfile) as f:
        assert int(f.read().strip()) == pid, "--pid-file does not hold the init's host pid"
    assert ppid(pid) == os.getpid(), "the init was not reparented to the caller (subreaper)"

    # the user program must not run before start
    time.sleep(0.3)
    assert b.read_shared("started") is None, "the user program ran before start"

    res = rt("start", cid)
    assert res.rc == 0, res
    assert res.out == "" and res.err == "", f"start must print nothing on success: {res!r}"
    assert wait_file(b.shared_file("started")) == "started\n"
    st = rt.state(cid)
    assert_valid_state(st)
    assert st["status"] == "running" and st["pid"] == pid

    res = rt("kill", cid, "KILL")
    assert res.rc == 0, res
    assert res.out == "" and res.err == ""
    assert reaper.wait_pid(pid) == -signal.SIGKILL
    st = rt.wait_status(cid, "stopped")
    assert_valid_state(st)
    assert st["id"] == cid and st["bundle"] == b.path

    res = rt("delete", cid)
    assert res.rc == 0, res
    assert res.out == "" and res.err == ""
    res = rt("state", cid)
    assert res.rc != 0
    assert "does not exist" in res.err, f"state of a deleted container: {res!r}"


def test_container_exit_code_is_collected_by_the_caller(rt, make_bundle, new_id, reaper):
    b = make_bundle(["sh", "-c", "exit 7"])
    cid = new_id("code")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]
    assert rt("start", cid).rc == 0
    assert reaper.wait_pid(pid) == 7
    rt.wait_status(cid, "stopped")
    assert rt("delete", cid).rc == 0


@pytest.mark.parametrize("form", ["--bundle X", "--bundle=X", "-b X", "cwd"])
def test_bundle_flag_forms(rt, make_bundle, new_id, testdir, form):
    b = make_bundle(["true"])
    cid = new_id("bform")
    pidfile = os.path.join(testdir, "p.pid")
    if form == "cwd":    # no --bundle: the current directory is the bundle
        args, cwd = [], b.path
    elif "=" in form:
        args, cwd = [form.replace("X", b.path)], None
    else:
        args, cwd = [form.split()[0], b.path], None
    res = rt("create", *args, f"--pid-file={pidfile}", cid, cwd=cwd)
    assert res.rc == 0, res
    st = rt.state(cid)
    assert st["bundle"] == b.path
    assert int(open(pidfile).read()) == st["pid"]
    assert rt("delete", "--force", cid).rc == 0


def test_relative_bundle_path_is_recorded_absolute(rt, make_bundle, new_id):
    b = make_bundle(["true"])
    cid = new_id("rel")
    parent = os.path.dirname(b.path)
    res = rt("create", "--bundle", os.path.basename(b.path), cid, cwd=parent)
    assert res.rc == 0, res
    st = rt.state(cid)
    assert st["bundle"] == b.path, f"bundle must be absolute: {st['bundle']!r}"
    assert rt("delete", "--force", cid).rc == 0


def test_global_flag_forms(rt, make_bundle, new_id, testdir):
    """Global flags before the subcommand, ``--flag=value`` and ``--flag value``."""
    b = make_bundle(["true"])
    cid = new_id("gflag")
    log = os.path.join(testdir, "log.json")
    res = rt("create", "--bundle", b.path, cid,
             argv=[rt.binary, f"--root={rt.root}", "--log", log, "--log-format=json",
                   "create", "--bundle", b.path, cid])
    assert res.rc == 0, res
    assert rt.status(cid) == "created"
    res = rt(argv=[rt.binary, "--root", rt.root, f"--log={log}", "--log-format", "json",
                   "delete", "--force", cid])
    assert res.rc == 0, res
    assert rt.status(cid) is None


def test_commands_work_with_an_empty_environment(rt, make_bundle, new_id, reaper):
    """podman runs kill/delete/state with only XDG_RUNTIME_DIR= (no PATH, no HOME)."""
    bare = {"XDG_RUNTIME_DIR": ""}
    b = make_bundle(["sleep", "1000"])
    cid = new_id("noenv")
    res = rt("create", "--bundle", b.path, cid, env=dict(bare, PATH=os.environ.get("PATH", "")))
    assert res.rc == 0, res
    res = rt("state", cid, env=bare)
    assert res.rc == 0, res
    pid = rt.state(cid)["pid"]
    res = rt("start", cid, env={"PATH": "/usr/bin:/bin"})
    assert res.rc == 0, res
    assert rt.status(cid) == "running"
    res = rt("kill", cid, "9", env=bare)
    assert res.rc == 0, res
    reaper.wait_pid(pid)
    res = rt("delete", "--force", cid, env=bare)
    assert res.rc == 0, res
    assert rt.status(cid) is None


def test_kill_a_created_container(rt, make_bundle, new_id, reaper):
    b = make_bundle(["sh", "-c", "echo started > /shared/started"], shared=True)
    cid = new_id("killc")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]
    res = rt("kill", cid, "KILL")
    assert res.rc == 0, res
    reaper.wait_pid(pid)
    rt.wait_status(cid, "stopped")
    assert b.read_shared("started") is None
    assert rt("delete", cid).rc == 0
