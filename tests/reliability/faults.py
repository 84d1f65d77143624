"""Fault injection helpers: stop `pyruntime create` at a chosen point with
strace's syscall-delay injection (no LD_PRELOAD, no change to the runtime),
then SIGKILL it there; and the checks that must hold on whatever is left."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from support.checks import assert_one_line_error
from support.reaper import children, get_reaper, proc_state

STRACE = shutil.which("strace")
DELAY_US = 2_000_000


def descendants(pid: int) -> "list[int]":
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out.extend(kids)
        todo.extend(kids)
    return out


def _is_runtime(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"pyruntime" in f.read()
    except OSError:
        return False


def strace_inject(syscalls: str, when: "int | None" = None, path: "str | None" = None
                  ) -> "list[str]":
    """strace arguments that delay the exit of ``syscalls`` (the when-th call,
    or those touching ``path``) by DELAY_US."""
    spec = f"{syscalls}:delay_exit={DELAY_US}"
    if when:
        spec += f":when={when}"
    args = ["-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscalls}", "-e", f"inject={spec}"]
    if path:
        args[4:4] = ["-P", path]
    return args


class Killed:
    """Result of :func:`kill_create_at`."""

    def __init__(self, runtime_pid: int, stopped_pid: int, phase: str):
        self.runtime_pid = runtime_pid
        self.stopped_pid = stopped_pid
        self.phase = phase


def kill_create_at(rt, bundle, cid: str, strace_args: "list[str]", phase: str,
                   extra_ready=None, timeout: float = 20.0) -> Killed:
    """Run ``create`` under strace; when one of its processes has sat in the
    injected delay (a long tracing stop) and ``extra_ready()`` holds, SIGKILL
    the runtime process (P) itself; wait for strace to finish."""
    if STRACE is None:
        pytest.skip("strace is needed to stop create at a chosen point")
    argv = [STRACE, *strace_args, *rt.argv(["create", "--bundle", bundle.path, cid])]
    rt._note_ids(["create", cid])
    os.makedirs(rt.workdir, exist_ok=True)
    log = open(os.path.join(rt.workdir, f"strace-{cid}.err"), "w+b")
    p = get_reaper().spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=log)
    deadline = time.monotonic() + timeout
    runtime_pid = 0
    stopped_since: "dict[int, float]" = {}
    stopped = 0
    try:
        while True:
            if p.poll() is not None:
                log.seek(0)
                raise AssertionError(f"create finished before reaching {phase!r}: rc="
                                     f"{p.returncode} {log.read()[-500:]!r}")
            kids = descendants(p.pid)
            # strace's direct child running the runtime (strace first forks a
            # short-lived child of its own, to probe ptrace features)
            runtime_pid = next((k for k in kids[:2] if _is_runtime(k)), runtime_pid)
            now = time.monotonic()
            for k in kids:
                if proc_state(k) == "t":
                    stopped_since.setdefault(k, now)
                else:
                    stopped_since.pop(k, None)
            long = [k for k, t in stopped_since.items() if now - t > 0.4]
            if long and (extra_ready is None or extra_ready()):
                stopped = long[0]
                break
            if now > deadline:
                raise AssertionError(f"create never reached {phase!r}")
            time.sleep(0.01)
        direct = descendants(p.pid)[:1]
        try:
            if not runtime_pid or direct != [runtime_pid]:
                raise ProcessLookupError
            os.kill(runtime_pid, signal.SIGKILL)
        except ProcessLookupError:
            log.seek(0)
            raise AssertionError(f"create (pid {runtime_pid}) ended before {phase!r} "
                                 f"(process {stopped} was stopped; strace's child now: "
                                 f"{direct}): {log.read()[-500:]!r}") from None
        # strace ends with its last tracee; one may legitimately outlive the
        # runtime (an init waiting for `start`): then detach strace from it.
        try:
            p.wait(timeout=DELAY_US / 1e6 + 5)
        except subprocess.TimeoutExpired:
            p.kill()   # the kernel detaches its tracees (strace sets no EXITKILL)
            p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
    return Killed(runtime_pid, stopped, phase)


def assert_commands_sane(rt, cid: str) -> "dict | None":
    """`state` and `list` on a half-made container: no crash, no traceback."""
    st = rt("state", cid)
    assert "Traceback" not in st.err + st.out, st
    data = None
    if st.rc == 0:
        data = json.loads(st.out)
        assert data["status"] in ("creating", "created", "stopped", "running", "paused"), data
    else:
        assert_one_line_error(st)
    for fmt in ("table", "json"):
        ls = rt("list", "--format", fmt)
        assert ls.rc == 0 and "Traceback" not in ls.err, ls
        if fmt == "json":
            json.loads(ls.out or "[]")
    return data


def wait_no_process(pred, timeout: float = 15.0) -> None:
    """Wait until no process matches ``pred(pid, cmdline)`` (reaping ours)."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if pred(int(name), cmd) and proc_state(int(name)) not in (None, "Z", "X"):
                left.append((int(name), cmd))
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"processes left: {left}")
        get_reaper().reap_once()
        time.sleep(0.05)


def zombies_of_ours() -> "list[int]":
    return [p for p in children() if proc_state(p) in ("Z",)]
