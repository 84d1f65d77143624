"""The `pyruntime` command answers `state ID` and `start ID` natively
(pyruntime/front.c) and hands everything else to the Python CLI. Its answers
and effects must be the Python CLI's (PYRUNTIME_NO_NATIVE=1), on every status
and on every odd input, and the common cases must really be served without
starting Python."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.runtime_pyruntime_only(
    reason="tests pyruntime's native front end against its own Python CLI")

PYTHON_ONLY = dict(os.environ, PYRUNTIME_NO_NATIVE="1")


def both(rt, *args, **kw):
    """(rc, out, err) of the native front end and of the Python CLI."""
    native = rt(*args, **kw)
    python = rt(*args, env=PYTHON_ONLY, **kw)
    return (native.rc, native.out, native.err), (python.rc, python.out, python.err)


def assert_same(rt, *args, **kw):
    native, python = both(rt, *args, **kw)
    assert native == python, f"native front end differs from the Python CLI for {args or kw}"
    return native


def execs_of(rt, testdir, *args) -> "list[str]":
    """The programs a call execs (strace), to tell native answers from Python."""
    if shutil.which("strace") is None:
        pytest.skip("strace not installed")
    log = os.path.join(testdir, "execs.strace")
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", log]
                   + rt.argv(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, timeout=30)
    with open(log) as f:
        return [line for line in f if "execve(" in line and "= 0" in line]


def test_every_status_matches_the_python_cli(rt, make_bundle, new_id, reaper, testdir):
    b = make_bundle(["sleep", "1000"])
    b.edit(lambda c: c.update(annotations={
        "plain": "value", "quote\"key": "back\\slash\nnewline\ttab",
        "unicode-é": "snow ☃ and 😀", "empty": ""}))
    cid = new_id("native")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]

    seen = {}
    for want, step in (("created", None), ("running", ("start", cid)),
                       ("paused", ("pause", cid)), ("running", ("resume", cid))):
        if step:
            assert rt(*step).rc == 0
        rc, out, err = assert_same(rt, "state", cid)
        assert rc == 0 and err == ""
        seen[want] = json.loads(out)
        assert seen[want]["status"] == want and seen[want]["pid"] == pid
    assert seen["created"]["annotations"]["unicode-é"] == "snow ☃ and 😀"

    assert rt("kill", cid, "KILL").rc == 0
    reaper.wait_pid(pid)
    rc, out, err = assert_same(rt, "state", cid)
    assert json.loads(out)["status"] == "stopped" and json.loads(out)["pid"] == 0
    assert rt("delete", cid).rc == 0
    rc, out, err = assert_same(rt, "state", cid)
    assert rc != 0 and "does not exist" in err


def test_state_does_not_start_python(rt, make_bundle, new_id, testdir):
    b = make_bundle(["true"])
    cid = new_id("noexec")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        execs = execs_of(rt, testdir, "state", cid)
        assert len(execs) == 1, f"state exec'd more than the front end: {execs}"
        # and a command it does not answer itself is handed to Python
        execs = execs_of(rt, testdir, "list")
        assert len(execs) == 2 and "python" in execs[1], execs
    finally:
        rt("delete", "--force", cid)


def test_flags_and_bad_arguments_match(rt, make_bundle, new_id, testdir, state_root):
    b = make_bundle(["true"])
    cid = new_id("flags")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    log = os.path.join(testdir, "log.json")
    try:
        for argv in (["--root", state_root, "state", cid],
                     [f"--root={state_root}", "state", cid],
                     ["-root", state_root, "state", cid],
                     ["--root", state_root, "--log", log, "--log-format", "json", "state", cid],
                     ["--root", state_root, "--log-format", "xml", "state", cid],
                     ["--root", state_root, "--debug", "state", cid],
                     ["--root", state_root, "state", cid, "extra"],
                     ["--root", state_root, "state", "--help"],
                     ["--root", state_root, "state", "../" + cid],
                     ["--root", state_root, "state", "no-such-container"],
                     ["--root", state_root, "--bogus", "state", cid],
                     ["--root", state_root, "state"],
                     ["--root", os.path.join(testdir, "no-such-root"), "state", cid]):
            assert_same(rt, argv=[rt.binary] + argv)
    finally:
        rt("delete", "--force", cid)


# Hand-edited state files: each must get exactly the Python CLI's answer (the
# front end either handles it the same way or hands it over).
def _variants(raw: str, data: dict) -> "dict[str, str]":
    def edit(**kw):
        d = dict(data)
        for k, v in kw.items():
            if v is KeyError:
                d.pop(k, None)
            else:
                d[k] = v
        return json.dumps(d)
    return {
        "pretty": json.dumps(data, indent=4),
        "ascii-escaped": json.dumps(data, ensure_ascii=True),
        "no-pid": edit(pid=KeyError),
        "pid-zero": edit(pid=0),
        "pid-string": edit(pid=str(data["pid"])),
        "pid-float": raw.replace(f'"pid":{data["pid"]}', f'"pid":{data["pid"]}.0'),
        "pid-bool": edit(pid=True),
        "wrong-start-time": edit(pid_start=data["pid_start"] + 1),
        "null-start-time": edit(pid_start=None),
        "dead-pid": edit(pid=2 ** 22 + 7),
        "no-bundle": edit(bundle=KeyError),
        "bundle-number": edit(bundle=5),
        "annotations-nested": edit(annotations={"a": {"b": ["c"]}}),
        "annotations-list": edit(annotations=["x"]),
        "annotations-empty": edit(annotations={}),
        "cgroup-list": edit(cgroup=[]),
        "hooks-string": edit(hooks="x"),
        "freeze-file-escaped": edit(cgroup={"freeze_file": "/no\\such"}),
        "freeze-file-number": edit(cgroup={"freeze_file": 3}),
        "half-made": edit(half_made=True),
        "creator-negative": edit(creator_pid=-1),
        "trailing-garbage": raw + "}",
        "truncated": raw[: len(raw) // 2],
        "not-an-object": "[1, 2]",
        "empty": "",
    }


def test_hand_edited_state_files_match(rt, make_bundle, new_id, state_root):
    b = make_bundle(["sleep", "1000"])
    cid = new_id("edited")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    with open(os.path.join(state_root, cid, "state.json")) as f:
        raw = f.read()
    data = json.loads(raw)
    fakes = []
    try:
        for name, text in _variants(raw, data).items():
            fake = f"fake-{name}"
            os.mkdir(os.path.join(state_root, fake))
            fakes.append(fake)
            with open(os.path.join(state_root, fake, "state.json"), "w") as f:
                f.write(text)
            if name in ("pretty", "ascii-escaped"):  # and created: it needs the fifo
                os.mkfifo(os.path.join(state_root, fake, "exec.fifo"))
            native, python = both(rt, "state", fake)
            assert native == python, f"{name}: native front end differs from the Python CLI"
    finally:
        for fake in fakes:
            shutil.rmtree(os.path.join(state_root, fake), ignore_errors=True)
        rt("delete", "--force", cid)


# -- start ------------------------------------------------------------------------

def _two_created(rt, b, new_id, tag):
    ids = [new_id(f"{tag}n"), new_id(f"{tag}p")]
    for cid in ids:
        assert rt("create", "--bundle", b.path, cid).rc == 0
    return ids


def test_start_matches_the_python_cli(rt, make_bundle, new_id, testdir, reaper):
    b = make_bundle(["sh", "-c", "echo $$ >> /shared/started; exec sleep 1000"], shared=True)
    native, python = _two_created(rt, b, new_id, "start")
    try:
        pids = [rt.state(cid)["pid"] for cid in (native, python)]
        results = [rt("start", native), rt("start", python, env=PYTHON_ONLY)]
        assert [(r.rc, r.out, r.err) for r in results] == [(0, "", "")] * 2, results
        for cid, pid in zip((native, python), pids):
            st = rt.state(cid)
            assert st["status"] == "running" and st["pid"] == pid
            assert not os.path.exists(os.path.join(rt.root, cid, "exec.fifo"))
        wait_lines = b.read_shared("started") or ""
        for _ in range(100):
            if len(wait_lines.split()) == 2:
                break
            time.sleep(0.05)
            wait_lines = b.read_shared("started") or ""
        assert sorted(wait_lines.split()) == ["1", "1"], "both programs ran as pid 1"
        # a second start is refused the same way by both (Python answers)
        assert_same(rt, "start", native)
    finally:
        for cid in (native, python):
            rt("delete", "--force", cid)


def test_start_does_not_start_python(rt, make_bundle, new_id, testdir):
    b = make_bundle(["sleep", "1000"])
    cid = new_id("startexec")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        execs = execs_of(rt, testdir, "start", cid)
        programs = [e for e in execs if "python" in e]
        assert not programs, f"start ran Python: {programs}"
        assert rt.state(cid)["status"] == "running"
    finally:
        rt("delete", "--force", cid)


@pytest.mark.parametrize("setup", ["running", "stopped", "missing", "bad-id", "extra-arg"])
def test_start_refusals_match(rt, make_bundle, new_id, reaper, setup):
    b = make_bundle(["true"] if setup == "stopped" else ["sleep", "1000"])
    cid = new_id("refuse")
    args = ["start", cid]
    if setup in ("running", "stopped"):
        assert rt("create", "--bundle", b.path, cid).rc == 0
        pid = rt.state(cid)["pid"]
        assert rt("start", cid).rc == 0
        if setup == "stopped":
            reaper.wait_pid(pid)
            rt.wait_status(cid, "stopped")
    elif setup == "bad-id":
        args = ["start", "../x"]
    elif setup == "extra-arg":
        args = ["start", cid, "more"]
    try:
        rc, out, err = assert_same(rt, *args)
        assert rc != 0 and err.strip() and "\n" not in err.strip()
    finally:
        rt("delete", "--force", cid)


def test_start_with_poststart_hooks_is_left_to_python(rt, make_bundle, new_id, testdir):
    mark = os.path.join(testdir, "poststart-ran")
    b = make_bundle(["sleep", "1000"])
    b.edit(lambda c: c.update(hooks={"poststart": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {mark}"]}]}))
    cid = new_id("poststart")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        execs = execs_of(rt, testdir, "start", cid)
        assert any("python" in e for e in execs), "poststart hooks need the Python CLI"
        with open(mark) as f:
            assert json.load(f)["status"] == "running"
    finally:
        rt("delete", "--force", cid)


def test_start_failing_after_release_reports_like_python(rt, make_bundle, new_id, testdir,
                                                         reaper):
    """A startContainer hook fails inside the init after start released it: the
    native path cannot hand over any more; its error must read (and log) as
    Python's."""
    b = make_bundle(["sleep", "1000"])
    b.edit(lambda c: c.update(hooks={"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]}))
    native, python = _two_created(rt, b, new_id, "scfail")
    logs = [os.path.join(testdir, f"{n}.log") for n in ("native", "python")]
    try:
        pids = [rt.state(cid)["pid"] for cid in (native, python)]
        results = []
        for cid, log, env in ((native, logs[0], None), (python, logs[1], PYTHON_ONLY)):
            results.append(rt("--log", log, "--log-format", "json", "start", cid,
                              root=rt.root, env=env))
        assert results[0].rc == results[1].rc == 1, results
        assert results[0].err == results[1].err and "startContainer" in results[0].err
        lines = []
        for log in logs:
            with open(log) as f:
                recs = [json.loads(line) for line in f]
            lines.append([(r["level"], r["msg"]) for r in recs])
            assert all(r["time"].endswith("Z") for r in recs)
        assert lines[0] == lines[1] and lines[0][-1][0] == "error"
        for pid in pids:
            assert reaper.wait_pid(pid) != 0
    finally:
        for cid in (native, python):
            rt("delete", "--force", cid)


# -- create: the subreaper set by the front end -------------------------------------

def test_create_runtime_process_loads_no_cffi_and_leaks_no_marker(rt, make_bundle, new_id,
                                                                   testdir, reaper):
    """For create, the front end makes the runtime process a child subreaper
    before exec'ing Python (PYRUNTIME_SUBREAPER=<pid>), so that process never
    loads the cffi shim (its peak RSS is a benchmark target); the marker must
    reach neither the container nor its hooks."""
    if shutil.which("strace") is None:
        pytest.skip("strace not installed")
    hook_env = os.path.join(testdir, "hook.env")
    b = make_bundle(["sh", "-c", "cat /proc/self/environ > /shared/env"], shared=True)
    b.edit(lambda c: c.update(hooks={"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"cat /proc/self/environ > {hook_env}"],
         "env": ["HOOKENV=1"]}]}))
    cid = new_id("nocffi")
    log = os.path.join(testdir, "create.strace")
    # -D: strace is not our child, so this returns when create does (the
    # init it still follows waits for start)
    subprocess.run(["strace", "-D", "-f", "-qq", "-e", "trace=openat,prctl", "-o", log]
                   + rt.argv(["create", "--bundle", b.path, cid]),
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=60)
    try:
        with open(log) as f:
            lines = f.read().splitlines()
        runtime_pid = lines[0].split()[0]
        mine = [ln for ln in lines if ln.split()[0] == runtime_pid]
        assert any("PR_SET_CHILD_SUBREAPER" in ln for ln in mine), "no subreaper set"
        assert not [ln for ln in mine if "_cffi_backend" in ln or "_shim" in ln], \
            "the runtime process loaded the cffi shim"
        pid = rt.state(cid)["pid"]
        assert rt("start", cid).rc == 0
        reaper.wait_pid(pid)
        for path in (b.shared_file("env"), hook_env):
            with open(path, "rb") as f:
                assert b"PYRUNTIME" not in f.read(), path
    finally:
        rt("delete", "--force", cid)
