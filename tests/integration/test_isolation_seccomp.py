"""linux.seccomp in a real container: errno actions (default and per rule),
argument conditions, kill/trap/log/allow, unknown syscall names, exec'd
processes, errors naming the field, and SCMP_ACT_NOTIFY with a listener that
receives the notify fd over listenerPath and answers syscalls itself."""
from __future__ import annotations

import array
import errno
import fcntl
import json
import os
import select
import socket
import struct
import threading

import pytest

from support.checks import assert_one_line_error

from .isolation_support import install_probe, probe  # noqa: F401

EACCES, EHOSTDOWN = errno.EACCES, errno.EHOSTDOWN


def _cfg(default="SCMP_ACT_ALLOW", syscalls=(), **kw):
    out = {"defaultAction": default, "syscalls": list(syscalls)}
    out.update(kw)
    return out


def _bundle(make_bundle, probe_path, args, seccomp, edit=None):
    def e(c):
        c["linux"]["seccomp"] = seccomp
        if edit:
            edit(c)
    b = make_bundle(args, e)
    install_probe(b, probe_path)
    return b


def _run(rt, b, cid):
    return rt("run", "--bundle", b.path, cid)


def test_rule_errno_ret(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES}]))
    res = _run(rt, b, new_id("secerr"))
    assert res.rc == 0, res
    assert res.out.split() == ["-1", str(EACCES)]


def test_rule_errno_defaults_to_eperm(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]))
    res = _run(rt, b, new_id("seceperm"))
    assert res.rc == 0, res
    assert res.out.split() == ["-1", str(errno.EPERM)]


def test_busybox_mkdir_sees_the_errno(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}]))
    res = _run(rt, b, new_id("secbb"))
    assert res.rc == 1, res
    assert "Operation not permitted" in res.err


def test_default_errno_with_an_allow_list(rt, make_bundle, new_id, probe):
    """defaultAction ERRNO with defaultErrnoRet; what the probe needs is allowed."""
    allowed = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
               "prlimit64", "readlinkat", "mprotect", "write", "exit_group", "exit", "getrandom",
               "uname", "newfstatat", "fstat", "readlink", "ioctl", "mmap", "munmap"]
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(
        default="SCMP_ACT_ERRNO", defaultErrnoRet=EHOSTDOWN,
        syscalls=[{"names": allowed, "action": "SCMP_ACT_ALLOW"}]))
    res = _run(rt, b, new_id("secdef"))
    assert res.rc == 0, res
    assert res.out.split() == ["-1", str(EHOSTDOWN)]


def test_argument_conditions(rt, make_bundle, new_id):
    """personality(PER_LINUX32) is denied, personality(0xffffffff) (the query
    uname makes) is not."""
    b = make_bundle(["sh", "-c", "uname -m; linux32 uname -m; echo rc=$?"],
                    lambda c: c["linux"].update(seccomp=_cfg(syscalls=[
                        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                         "errnoRet": EACCES,
                         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}])))
    res = _run(rt, b, new_id("secarg"))
    assert res.rc == 0, res
    lines = res.out.splitlines()
    assert lines[0] == os.uname().machine
    assert lines[-1] != "rc=0" and "Permission denied" in res.err, res


def test_masked_eq_condition(rt, make_bundle, new_id, probe):
    """mkdir(path, mode) with (mode & 0o700) == 0o700 denied: the probe uses 0755."""
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES,
         "args": [{"index": 1, "value": 0o700, "valueTwo": 0o700, "op": "SCMP_CMP_MASKED_EQ"}]}]))
    res = _run(rt, b, new_id("secmask"))
    assert res.rc == 0, res
    assert res.out.split() == ["-1", str(EACCES)]


def test_kill_process_action(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_KILL_PROCESS"}]))
    res = _run(rt, b, new_id("seckill"))
    assert res.rc == 128 + 31, res  # SIGSYS


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"])
def test_kill_thread_action(rt, make_bundle, new_id, probe, action):
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir"], "action": action}]))
    res = _run(rt, b, new_id("seckillt"))
    assert res.rc == 128 + 31, res


def test_trap_action(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_TRAP"}]))
    res = _run(rt, b, new_id("sectrap"))
    assert res.rc == 128 + 31, res


def test_trace_action_without_a_tracer_fails_the_syscall(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_TRACE", "errnoRet": 1234}]))
    res = _run(rt, b, new_id("sectrace"))
    assert res.rc == 0, res
    assert res.out.split() == ["-1", str(errno.ENOSYS)]


@pytest.mark.parametrize("action", ["SCMP_ACT_LOG", "SCMP_ACT_ALLOW"])
def test_log_and_allow_actions_let_the_syscall_through(rt, make_bundle, new_id, probe, action):
    def edit(c):
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/tmp/x"], _cfg(
        default="SCMP_ACT_ALLOW" if action != "SCMP_ACT_ALLOW" else "SCMP_ACT_LOG",
        syscalls=[{"names": ["mkdir"], "action": action}]), edit)
    res = _run(rt, b, new_id("seclog"))
    assert res.rc == 0, res
    assert res.out.split() == ["0", "0"]


def test_unknown_syscall_names_are_skipped(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], _cfg(syscalls=[
        {"names": ["no_such_syscall_xyz", "mkdir", "another_bogus_one"],
         "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES}]))
    res = _run(rt, b, new_id("secunk"))
    assert res.rc == 0, res
    assert res.out.split() == ["-1", str(EACCES)]


def test_architectures_and_flags(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["sh", "-c", "/probe mkdir /x; grep Seccomp /proc/self/status"],
                _cfg(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                     flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                            "SECCOMP_FILTER_FLAG_TSYNC"],
                     syscalls=[{"names": ["mkdir", "socketcall"], "action": "SCMP_ACT_ERRNO",
                                "errnoRet": EACCES}]))
    if os.uname().machine != "x86_64":
        pytest.skip("x86 architectures")
    res = _run(rt, b, new_id("secarch"))
    assert res.rc == 0, res
    lines = res.out.splitlines()
    assert lines[0].split() == ["-1", str(EACCES)]
    assert lines[1].split() == ["Seccomp:", "2"]


def test_exec_gets_the_containers_filter(rt, make_bundle, new_id, probe):
    b = _bundle(make_bundle, probe, ["sleep", "1000"], _cfg(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES}]))
    cid = new_id("secexec")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        res = rt("exec", cid, "/probe", "mkdir", "/x")
        assert res.rc == 0, res
        assert res.out.split() == ["-1", str(EACCES)]
    finally:
        assert rt("delete", "--force", cid).rc == 0


@pytest.mark.parametrize("field, seccomp, pattern", [
    ("action", _cfg(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]),
     r"linux\.seccomp\.syscalls\[0\]\.action"),
    ("op", _cfg(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                           "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}]),
     r"linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op"),
    ("arch", _cfg(architectures=["SCMP_ARCH_BOGUS"]), r"linux\.seccomp\.architectures\[0\]"),
    ("flag", _cfg(flags=["SECCOMP_FILTER_FLAG_BOGUS"]), r"linux\.seccomp\.flags\[0\]"),
    ("default", _cfg(default="SCMP_ACT_BOGUS"), r"linux\.seccomp\.defaultAction"),
])
def test_invalid_seccomp_names_the_field(rt, make_bundle, new_id, field, seccomp, pattern):
    b = make_bundle(["true"], lambda c: c["linux"].update(seccomp=seccomp))
    cid = new_id("secbad")
    assert_one_line_error(_run(rt, b, cid), pattern)
    assert rt("state", cid).rc != 0


# -- SCMP_ACT_NOTIFY -----------------------------------------------------------------------

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100   # _IOWR('!', 0, struct seccomp_notif) (80 bytes)
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101   # _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes)
SYS_MKDIR = 83                          # x86_64


class Agent:
    """A seccomp agent on a unix socket: takes one connection, receives the notify
    fd (SCM_RIGHTS) and the container process state, then answers every
    notification: mkdir -> EHOSTDOWN (the syscall is not run), anything else ->
    EACCES."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.state = None
        self.fds = []
        self.seen = []
        self.error = None
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.srv.settimeout(0.2)
            while True:
                try:
                    conn, _ = self.srv.accept()
                    break
                except socket.timeout:
                    if self.stop:
                        return
            conn.settimeout(None)
            with conn:
                fds = array.array("i")
                chunks = []
                while True:
                    msg, anc, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(16))
                    for level, kind, data in anc:
                        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
                    if not msg:
                        break
                    chunks.append(msg)
                self.fds = list(fds)
                self.state = json.loads(b"".join(chunks))
            notify_fd = self.fds[0]
            buf = bytearray(80)
            poller = select.poll()
            poller.register(notify_fd, select.POLLIN)
            while not self.stop:
                events = poller.poll(100)
                if not events:
                    continue
                if events[0][1] & select.POLLHUP:
                    return  # the filter has no more users: the container is gone
                buf[:] = bytes(80)
                try:
                    fcntl.ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, buf, True)
                except OSError as e:
                    if e.errno in (errno.EINTR, errno.ENOENT):  # ENOENT: the target died
                        continue
                    raise
                nid, pid, _flags, nr = struct.unpack_from("=QIIi", buf, 0)
                self.seen.append((pid, nr))
                err = EHOSTDOWN if nr == SYS_MKDIR else EACCES
                resp = struct.pack("=QqiI", nid, 0, -err, 0)
                try:
                    fcntl.ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, bytearray(resp), True)
                except OSError:
                    pass
        except Exception as e:  # reported by the test
            self.error = e

    def close(self) -> None:
        self.stop = True
        self.srv.close()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.thread.join(10)


@pytest.fixture
def agent(testdir):
    if os.uname().machine != "x86_64":
        pytest.skip("the agent decodes x86_64 syscall numbers")
    a = Agent(os.path.join(testdir, "agent.sock"))
    yield a
    a.close()


@pytest.mark.parametrize("nnp", [True, False])
def test_notify_agent_answers_the_syscall(rt, make_bundle, new_id, probe, agent, nnp):
    """With and without noNewPrivileges (the filter is then loaded before the
    capabilities are dropped, at create time)."""
    seccomp = _cfg(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
                   listenerPath=agent.path, listenerMetadata="pyrt-meta=1")
    b = _bundle(make_bundle, probe, ["/probe", "mkdir", "/x"], seccomp,
                lambda c: c["process"].update(noNewPrivileges=nnp))
    cid = new_id("secnotif")
    res = _run(rt, b, cid)
    assert res.rc == 0, res
    assert res.out.split() == ["-1", str(EHOSTDOWN)], "the agent did not answer the syscall"
    agent.thread.join(10)
    assert agent.error is None, agent.error
    st = agent.state
    assert st["fds"] == ["seccompFd"]
    assert st["metadata"] == "pyrt-meta=1"
    assert st["state"]["id"] == cid
    assert st["state"]["status"] == "creating"
    assert st["state"]["bundle"] == b.path
    assert isinstance(st["pid"], int) and st["pid"] == st["state"]["pid"] > 0
    assert [nr for _, nr in agent.seen] == [SYS_MKDIR]
    assert len(agent.fds) == 1


def test_notify_without_a_listener_is_an_error(rt, make_bundle, new_id, testdir):
    seccomp = _cfg(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
                   listenerPath=os.path.join(testdir, "nobody-listens.sock"))
    b = make_bundle(["true"], lambda c: c["linux"].update(seccomp=seccomp))
    cid = new_id("secnol")
    assert_one_line_error(_run(rt, b, cid), r"listenerPath")
    assert rt("state", cid).rc != 0


def test_notify_on_write_is_refused(rt, make_bundle, new_id, testdir):
    seccomp = _cfg(syscalls=[{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}],
                   listenerPath=os.path.join(testdir, "x.sock"))
    b = make_bundle(["true"], lambda c: c["linux"].update(seccomp=seccomp))
    cid = new_id("secnow")
    assert_one_line_error(_run(rt, b, cid), r"write")
    assert rt("state", cid).rc != 0
