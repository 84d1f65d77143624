"""Faults during create: `pyruntime create` SIGKILLed at each phase, the init
killed before start, hooks that hang past their timeout, a full state
directory, cgroup writes the kernel refuses, a corrupt state.json.

After each: `state` and `list` never crash on what is left, `delete --force`
(or nothing, for a create that failed by itself) leaves no process, mount,
cgroup, fifo or state dir (the autouse leak check, plus explicit checks).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from reliability.faults import (assert_commands_sane, kill_create_at, strace_inject,
                                wait_no_process)
from support.checks import assert_one_line_error
from support.leaks import cgroup_dirs_named, mountinfo


def _cgroup_file(cgpath: str, v1_name: str, v2_name: str) -> str:
    """The host path of a cgroup file of ``cgpath`` (memory controller)."""
    v2 = None
    for line in mountinfo():
        pre, _, post = line.partition(" - ")
        fields, tail = pre.split(), post.split()
        if tail and tail[0] == "cgroup" and "memory" in tail[2].split(","):
            return os.path.join(fields[4], cgpath.lstrip("/"), v1_name)
        if tail and tail[0] == "cgroup2" and v2 is None:
            v2 = fields[4]
    return os.path.join(v2 or "/sys/fs/cgroup", cgpath.lstrip("/"), v2_name)


def _fault_bundle(make_bundle, cid: str, **kw):
    def edit(c):
        c["linux"]["cgroupsPath"] = f"/pyrt-fault-{cid}"
        c["linux"]["resources"]["memory"] = {"limit": 256 << 20}
        c["linux"]["resources"]["pids"] = {"limit": 100}
    return make_bundle(["sleep", "1000"], edit=edit, **kw)


PHASES = {
    # name: (strace args(rt, cid), what has happened when create is stopped)
    "state-dir": lambda rt, cid: strace_inject("mkdir,mkdirat", path=f"{rt.root}/{cid}"),
    "cgroup-dirs": lambda rt, cid: strace_inject(
        "mkdir,mkdirat", path=os.path.dirname(_cgroup_file(f"/pyrt-fault-{cid}", "x", "x"))),
    "cgroup-limits": lambda rt, cid: strace_inject(
        "openat", path=_cgroup_file(f"/pyrt-fault-{cid}", "memory.limit_in_bytes",
                                    "memory.max")),
    "namespaces": lambda rt, cid: strace_inject("unshare", when=1),
    "mounts": lambda rt, cid: strace_inject("mount", when=6),
    "pivot_root": lambda rt, cid: strace_inject("pivot_root"),
    "c-stage-exec": lambda rt, cid: strace_inject("execveat"),
}


def _after_kill(rt, cid: str, strict_stopped: bool = True) -> None:
    data = assert_commands_sane(rt, cid)
    if data is not None and strict_stopped:
        assert data["status"] == "stopped", f"a dead create shows as {data['status']}: {data}"
    res = rt("delete", "--force", cid)
    assert res.rc == 0, res
    assert rt("state", cid).rc != 0, "state still answers after delete --force"
    assert not os.path.exists(os.path.join(rt.root, cid))


@pytest.mark.parametrize("phase", list(PHASES))
def test_create_sigkilled_at_phase(phase, rt, make_bundle, new_id):
    cid = new_id(f"k{phase}")
    b = _fault_bundle(make_bundle, cid)
    k = kill_create_at(rt, b, cid, PHASES[phase](rt, cid), phase)
    _after_kill(rt, cid)


def test_create_sigkilled_before_final_state(rt, make_bundle, new_id):
    """The init is ready and waiting on exec.fifo, but create dies before it
    records the init's pid: delete --force must still find and kill it."""
    cid = new_id("kfinal")
    b = _fault_bundle(make_bundle, cid)
    # only the runtime process renames (state.json.tmp -> state.json; the third is
    # the one recording the init's pid); -P cannot name a path whose dir is not there yet
    args = ["-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
            "-e", "inject=rename,renameat,renameat2:delay_enter=2000000:when=3"]
    kill_create_at(rt, b, cid, args, "final state.json")
    _after_kill(rt, cid)


@pytest.mark.parametrize("kind", ["prestart", "createContainer"])
def test_create_sigkilled_during_hook(kind, rt, make_bundle, new_id, testdir):
    cid = new_id(f"khook{kind}")
    flag = os.path.join(testdir, f"hook-{kind}-running")
    tag = f"pyrt-hook-{cid}"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f"touch {flag}; sleep 2; : {tag}"]}

    def edit(c):
        c["linux"]["cgroupsPath"] = f"/pyrt-fault-{cid}"
        c.setdefault("hooks", {})[kind] = [hook]
    b = make_bundle(["sleep", "1000"], edit=edit)
    p = rt.popen("create", "--bundle", b.path, cid, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not os.path.exists(flag):
        assert p.poll() is None, f"create ended (rc={p.returncode}) before the hook ran"
        assert time.monotonic() < deadline, "the hook never ran"
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait()
    # The hook itself outlives a SIGKILLed runtime (it is not the runtime's to
    # kill any more, as with runc); it must still finish on its own.
    wait_no_process(lambda pid, cmd: tag in cmd, timeout=10)
    data = assert_commands_sane(rt, cid)
    res = rt("delete", "--force", cid)
    assert res.rc == 0, res
    wait_no_process(lambda pid, cmd: tag in cmd, timeout=10)


def test_init_killed_before_start(rt, make_bundle, new_id, reaper):
    cid = new_id("initkill")
    b = _fault_bundle(make_bundle, cid)
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    reaper.wait_pid(pid)
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"
    res = rt("start", cid)
    assert res.rc != 0
    assert_one_line_error(res)
    assert_commands_sane(rt, cid)
    assert os.path.exists(os.path.join(rt.root, cid, "exec.fifo"))
    res = rt("delete", cid)     # a stopped container: no --force needed
    assert res.rc == 0, res
    assert not os.path.exists(os.path.join(rt.root, cid))


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_hook_hangs_past_its_timeout(kind, rt, make_bundle, new_id):
    cid = new_id(f"hto{kind}")
    tag = f"pyrt-hang-{cid}"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f"sleep 100; : {tag}"], "timeout": 1}
    b = _fault_bundle(make_bundle, cid)
    b.edit(lambda c: c.setdefault("hooks", {}).__setitem__(kind, [hook]))
    t0 = time.monotonic()
    res = rt("create", "--bundle", b.path, cid, timeout=20)
    took = time.monotonic() - t0
    assert res.rc != 0, res
    assert_one_line_error(res, "timeout|did not finish|timed out|killed")
    assert took < 8, f"create took {took:.1f}s with a 1s hook timeout"
    wait_no_process(lambda pid, cmd: tag in cmd, timeout=5)
    assert rt("state", cid).rc != 0
    assert not os.path.exists(os.path.join(rt.root, cid))


def test_start_container_hook_timeout(rt, make_bundle, new_id, reaper):
    """startContainer hooks run in the container after `start`: a hanging one
    is killed after its timeout and the container stops (nothing left)."""
    cid = new_id("htostart")
    tag = f"pyrt-hang-{cid}"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f"sleep 100; : {tag}"], "timeout": 1}
    b = _fault_bundle(make_bundle, cid)
    b.edit(lambda c: c.setdefault("hooks", {}).__setitem__("startContainer", [hook]))
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]
    rt("start", cid)
    code = reaper.wait_pid(pid, timeout=10)
    assert code != 0
    wait_no_process(lambda p, cmd: tag in cmd, timeout=5)
    rt.wait_status(cid, "stopped")
    assert rt("delete", cid).rc == 0


# -- a full state directory --------------------------------------------------------------

def _tiny_root(testdir: str, size: str = "512k", inodes: "int | None" = None) -> str:
    d = os.path.join(testdir, "tinyroot")
    os.makedirs(d)
    opts = f"size={size},mode=0711" + (f",nr_inodes={inodes}" if inodes else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tiny", d], check=True)
    return d


def _fill(root: str, leave_pages: int) -> None:
    """Fill the tmpfs, then free ``leave_pages`` pages."""
    os.makedirs(os.path.join(root, ".fill"), exist_ok=True)
    blob = os.path.join(root, ".fill", "blob")
    fd = os.open(blob, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    size = os.path.getsize(blob)
    os.truncate(blob, max(0, size - leave_pages * 4096))


@pytest.mark.parametrize("leave", [0, 1, 2, 3, 4, 6])
def test_full_state_directory(leave, make_rt, runtime_bin, make_bundle, new_id, testdir):
    root = _tiny_root(testdir)
    try:
        rt = make_rt(runtime_bin, "unused")
        rt.root = root
        _fill(root, leave)
        cid = new_id(f"full{leave}")
        b = _fault_bundle(make_bundle, cid)
        res = rt("create", "--bundle", b.path, cid)
        print(f"\n[full state dir, {leave} pages free] create rc={res.rc} {res.err.strip()}")
        if res.rc != 0:
            assert_one_line_error(res)
        else:
            assert_commands_sane(rt, cid)
            _fill(root, 0)          # now completely full: start/state/delete still work
            assert rt("start", cid).rc == 0
            assert rt.state(cid)["status"] == "running"
            assert rt("delete", "--force", cid).rc == 0
        assert sorted(os.listdir(root)) == [".fill"], os.listdir(root)
        assert not cgroup_dirs_named({cid})
    finally:
        subprocess.run(["umount", "-l", root])


def test_state_root_out_of_inodes(make_rt, runtime_bin, make_bundle, new_id, testdir):
    root = _tiny_root(testdir, inodes=4)
    try:
        rt = make_rt(runtime_bin, "unused")
        rt.root = root
        os.makedirs(os.path.join(root, ".fill"))
        i = 0
        try:
            while True:
                open(os.path.join(root, ".fill", str(i)), "w").close()
                i += 1
        except OSError:
            pass
        cid = new_id("noinode")
        res = rt("create", "--bundle", _fault_bundle(make_bundle, cid).path, cid)
        assert res.rc != 0, res
        assert_one_line_error(res)
        assert sorted(os.listdir(root)) == [".fill"]
        assert not cgroup_dirs_named({cid})
    finally:
        subprocess.run(["umount", "-l", root])


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"null", b"\xff\xfe garbage",
                                     b'{"id": 5, "pid": "x"}', b'{"pid": -1}'],
                         ids=["empty", "torn", "list", "null", "binary", "wrong-types",
                              "negative-pid"])
def test_corrupt_state_json(content, rt, make_bundle, new_id):
    cid = new_id("corrupt")
    b = make_bundle(["true"])
    assert rt("create", "--bundle", b.path, cid).rc == 0
    st = rt.state(cid)
    with open(os.path.join(rt.root, cid, "state.json")) as f:
        saved = json.load(f)
    assert rt("kill", cid, "KILL").rc == 0
    rt.wait_status(cid, "stopped")
    cgdirs = cgroup_dirs_named({cid})
    with open(os.path.join(rt.root, cid, "state.json"), "wb") as f:
        f.write(content)
    try:
        assert_commands_sane(rt, cid)
        for cmd in (["start", cid], ["kill", cid], ["pause", cid], ["ps", cid], ["delete", cid]):
            res = rt(*cmd)
            assert "Traceback" not in res.err, res
            if res.rc != 0:
                assert_one_line_error(res)
        res = rt("delete", "--force", cid)
        assert res.rc == 0, res
        assert not os.path.exists(os.path.join(rt.root, cid))
    finally:
        # With its state gone, the runtime cannot know the cgroups: clean by hand.
        for d in sorted(cgroup_dirs_named({cid}), key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass


# -- cgroup writes the kernel refuses --------------------------------------------------------

@pytest.mark.parametrize("resources", [
    {"cpu": {"cpus": "1000-1001"}},
    {"cpu": {"mems": "63"}},
    {"memory": {"limit": 64 << 20, "swap": 32 << 20}},
    {"cpu": {"quota": 1000, "period": 100}},
    {"memory": {"limit": 4096}},    # accepted; the init is OOM-killed as it joins
], ids=["cpus", "mems", "swap-below-limit", "cfs-period", "oom-at-join"])
def test_cgroup_write_fails(resources, rt, make_bundle, new_id):
    cid = new_id("cgfail")
    b = make_bundle(["true"], edit=lambda c: c["linux"]["resources"].update(resources))
    res = rt("create", "--bundle", b.path, cid)
    if res.rc == 0:       # some kernels accept it; then it must work or fail cleanly later
        assert_commands_sane(rt, cid)
        assert rt("delete", "--force", cid).rc == 0
    else:
        assert_one_line_error(res)
    assert rt("state", cid).rc != 0
    assert not os.path.exists(os.path.join(rt.root, cid))
    assert not cgroup_dirs_named({cid}), cgroup_dirs_named({cid})
