"""The `pyruntime` command answers `state ID` natively (pyruntime/front.c) and
hands everything else to the Python CLI. Its answer must be byte-for-byte the
Python CLI's (PYRUNTIME_NO_NATIVE=1), on every status and on every odd input,
and the common case must really be answered without starting Python."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

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
