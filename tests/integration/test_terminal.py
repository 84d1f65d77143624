"""``process.terminal: true``: the pty master over ``--console-socket``
(conmon / containerd), and ``run`` in the foreground under the caller's tty."""
from __future__ import annotations

import os
import signal
import stat

from support.console import ConsoleSocket, read_all, read_until


def test_console_socket_receives_a_working_pty_master(rt, make_bundle, new_id, testdir, reaper):
    b = make_bundle(["sh"], terminal=True)
    cid = new_id("tty")
    cs = ConsoleSocket(os.path.join(testdir, "console.sock"))
    try:
        res = rt("create", "--bundle", b.path, "--console-socket", cs.path, cid)
        assert res.rc == 0, res
        master = cs.wait()
        assert os.isatty(master), "the received fd is not a terminal"
        assert stat.S_ISCHR(os.fstat(master).st_mode)
        pid = rt.state(cid)["pid"]
        assert rt("start", cid).rc == 0
        # the computed markers (TT42, DONE7) cannot come from the echo of the input
        os.write(master, b"tty; [ -t 0 ] && [ -t 1 ] && echo TT$((40+2)); echo DONE$((3+4))\n")
        out = read_until(master, b"DONE7")
        assert b"/dev/pts/0" in out, f"tty inside is not /dev/pts/0: {out!r}"
        assert b"TT42" in out, f"stdin/stdout are not a tty inside: {out!r}"
        os.write(master, b"exit 5\n")
        assert reaper.wait_pid(pid) == 5
        rt.wait_status(cid, "stopped")
        assert rt("delete", cid).rc == 0
    finally:
        cs.close()


def test_console_socket_with_create_then_kill(rt, make_bundle, new_id, testdir, reaper):
    b = make_bundle(["sh"], terminal=True)
    cid = new_id("ttyk")
    cs = ConsoleSocket(os.path.join(testdir, "console.sock"))
    try:
        assert rt("create", "--bundle", b.path, "--console-socket", cs.path, cid).rc == 0
        cs.wait()
        pid = rt.state(cid)["pid"]
        assert rt("kill", cid, "KILL").rc == 0
        assert reaper.wait_pid(pid) == -signal.SIGKILL
        assert rt("delete", "--force", cid).rc == 0
    finally:
        cs.close()


def test_run_with_terminal_under_the_callers_pty(rt, make_bundle, new_id):
    b = make_bundle(["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo TT$((40+2)); exit 7"],
                    terminal=True)
    cid = new_id("runtty")
    master, slave = os.openpty()
    try:
        p = rt.popen("run", "--bundle", b.path, cid, stdin=slave, stdout=slave, stderr=slave,
                     start_new_session=True)
        os.close(slave)
        slave = -1
        out = read_all(master, timeout=20)
        rc = p.wait(20)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert b"/dev/pts/0" in out, f"output relayed from the container's tty: {out!r}"
    assert b"TT42" in out
    assert rc == 7
    assert rt.status(cid) is None
