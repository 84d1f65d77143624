"""config-linux.md#seccomp and #the-container-process-state."""
import array
import json
import os
import platform
import socket
import threading

from conformance.harness import Fail, Skip, spec_test, kv

CL = "config-linux.md"
S = f"{CL}#seccomp"
ARCH = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64", "ppc64le": "SCMP_ARCH_PPC64LE",
        "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64"}.get(platform.machine())


def filt(*rules, default="SCMP_ACT_ALLOW", **extra):
    f = {"defaultAction": default, "syscalls": list(rules)}
    if ARCH:
        f["architectures"] = [ARCH]
    f.update(extra)
    return f


def sc_run(t, seccomp, syscall, arg=None):
    """Run ``checker seccomp-test SYSCALL`` under sh, reporting its exit status."""
    cmd = f"/bin/checker seccomp-test {syscall}" + (f" {arg}" if arg is not None else "") + '; echo "rc=$?"'
    b = t.bundle(["/bin/sh", "-c", cmd])
    b.linux["seccomp"] = seccomp
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"container did not run: {r.brief()}")
    lines = r.out.strip().splitlines()
    return (lines[0] if len(lines) > 1 else ""), kv(lines[-1]).get("rc") if lines else None


@spec_test(S, "MUST", "`errnoRet` (uint, OPTIONAL) - the errno return code to use ... The default is `EPERM`.")
def seccomp_errno_default(t):
    res, rc = sc_run(t, filt({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}), "getcwd")
    if res != "error=EPERM":
        raise Fail(f"getcwd under SCMP_ACT_ERRNO: {res!r} (rc {rc})")


@spec_test(S, "MUST", "`errnoRet` (uint, OPTIONAL) - the errno return code to use. Some actions like "
           "`SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` allow to specify the errno code to return.")
def seccomp_errno_ret(t):
    res, _ = sc_run(t, filt({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}), "getcwd")
    if res != "error=EACCES":
        raise Fail(f"getcwd with errnoRet 13: {res!r}")


def _kill_action(action, syscall):
    @spec_test(S, "MUST", f"`action` (string, REQUIRED) - the action for seccomp rules: `{action}`.",
               name=f"seccomp_{action.lower()}")
    def _t(t):
        res, rc = sc_run(t, filt({"names": [syscall], "action": action}), syscall)
        if rc != "159" or res:
            raise Fail(f"{syscall} under {action}: output {res!r}, exit status {rc} (expected death by SIGSYS, 159)")
    return _t


_kill_action("SCMP_ACT_KILL", "getsid")
_kill_action("SCMP_ACT_KILL_PROCESS", "getsid")
_kill_action("SCMP_ACT_KILL_THREAD", "getsid")


@spec_test(S, "MUST", "`action` (string, REQUIRED) - the action for seccomp rules: `SCMP_ACT_TRAP`.")
def seccomp_scmp_act_trap(t):
    res, rc = sc_run(t, filt({"names": ["getsid"], "action": "SCMP_ACT_TRAP"}), "getsid")
    if res != "trapped":
        raise Fail(f"getsid under SCMP_ACT_TRAP: {res!r} (rc {rc}), expected a SIGSYS the process can catch")


@spec_test(S, "MUST", "`action` (string, REQUIRED) - the action for seccomp rules: `SCMP_ACT_TRACE` (without a "
           "tracer the syscall fails with ENOSYS).")
def seccomp_scmp_act_trace(t):
    res, _ = sc_run(t, filt({"names": ["getsid"], "action": "SCMP_ACT_TRACE"}), "getsid")
    if res != "error=ENOSYS":
        raise Fail(f"getsid under SCMP_ACT_TRACE: {res!r}")


@spec_test(S, "MUST", "`action` (string, REQUIRED) - the action for seccomp rules: `SCMP_ACT_LOG` (the syscall "
           "is allowed and logged).")
def seccomp_scmp_act_log(t):
    res, _ = sc_run(t, filt({"names": ["getsid"], "action": "SCMP_ACT_LOG"}), "getsid")
    if not res.startswith("ok"):
        raise Fail(f"getsid under SCMP_ACT_LOG: {res!r}")


@spec_test(S, "MUST", "`defaultAction` (string, REQUIRED) - the default action for seccomp (`SCMP_ACT_ALLOW` "
           "lets unlisted syscalls through).")
def seccomp_default_allow(t):
    res, _ = sc_run(t, filt({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}), "getsid")
    if not res.startswith("ok"):
        raise Fail(f"an unlisted syscall under defaultAction SCMP_ACT_ALLOW: {res!r}")


@spec_test(S, "MUST", "`defaultErrnoRet` ... When the action doesn't support an errno, the runtime MUST print and "
           "error and fail.")
def seccomp_default_errno_with_allow(t):
    b = t.checker_bundle("exit", "0")
    b.linux["seccomp"] = filt({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}, defaultErrnoRet=5)
    b.write()
    t.expect_error(t.run(b), "defaultErrnoRet with defaultAction SCMP_ACT_ALLOW")


@spec_test(S, "MUST", "`errnoRet` ... When the action doesn't support an errno, the runtime MUST print and error "
           "and fail.")
def seccomp_errno_with_allow(t):
    b = t.checker_bundle("exit", "0")
    b.linux["seccomp"] = filt({"names": ["getcwd"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5},
                              default="SCMP_ACT_ALLOW")
    b.write()
    t.expect_error(t.run(b), "errnoRet on a SCMP_ACT_ALLOW rule")


@spec_test(S, "MUST", "`names` (array of strings, REQUIRED) - the names of the syscalls. `names` MUST contain at "
           "least one entry.")
def seccomp_names_empty(t):
    b = t.checker_bundle("exit", "0")
    b.linux["seccomp"] = filt({"names": [], "action": "SCMP_ACT_ERRNO"})
    b.write()
    t.expect_error(t.run(b), "a seccomp rule with no names")


@spec_test(S, "MUST", "The actions, architectures, and operators are strings that match the definitions in "
           "seccomp.h from libseccomp (runtimes MUST generate an error for invalid values).")
def seccomp_unknown_action(t):
    b = t.checker_bundle("exit", "0")
    b.linux["seccomp"] = filt({"names": ["getcwd"], "action": "SCMP_ACT_CONFORMANCE_BOGUS"})
    b.write()
    t.expect_error(t.run(b), "an unknown seccomp action")


# -- argument operators: getpriority(which) with which in 0..2 -----------------------------------

OPS = {
    # op: (value, valueTwo, blocked which, allowed which)
    "SCMP_CMP_EQ": (1, None, 1, 0), "SCMP_CMP_NE": (1, None, 0, 1), "SCMP_CMP_LT": (1, None, 0, 1),
    "SCMP_CMP_LE": (1, None, 1, 2), "SCMP_CMP_GE": (1, None, 1, 0), "SCMP_CMP_GT": (1, None, 2, 1),
    "SCMP_CMP_MASKED_EQ": (2, 2, 2, 1),
}


def _op(op):
    value, two, blocked, allowed = OPS[op]

    @spec_test(S, "MUST", f"`args` ... `op` (string, REQUIRED) - the operator for syscall arguments in seccomp: "
               f"`{op}`.", name=f"seccomp_{op.lower()}")
    def _t(t):
        arg = {"index": 0, "value": value, "op": op}
        if two is not None:
            arg["valueTwo"] = two
        rule = {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "args": [arg]}
        cmd = (f"/bin/checker seccomp-test getpriority {blocked}; /bin/checker seccomp-test getpriority {allowed}")
        b = t.bundle(["/bin/sh", "-c", cmd])
        b.linux["seccomp"] = filt(rule)
        b.write()
        r = t.run(b)
        if not r.ok:
            raise Fail(f"container did not run: {r.brief()}")
        lines = r.out.strip().splitlines()
        if len(lines) != 2 or lines[0] != "error=EPERM" or not lines[1].startswith("ok"):
            raise Fail(f"getpriority({blocked}) / getpriority({allowed}) under arg0 {op} {value}"
                       f"{'/' + str(two) if two is not None else ''}: {lines}")
    return _t


for _op_name in OPS:
    _op(_op_name)


# -- SCMP_ACT_NOTIFY and the container process state ------------------------------------------------

def _notify(t, metadata="cf-metadata"):
    def run():
        sock_path = os.path.join(t.dir, "seccomp-agent.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(sock_path)
        srv.listen(4)
        got = {"conns": 0}

        def agent():
            try:
                srv.settimeout(15)
                conn, _ = srv.accept()
                got["conns"] += 1
                with conn:
                    conn.settimeout(5)
                    got["data"], fds = b"", array.array("i")
                    while True:
                        msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
                        for level, typ, d in anc:
                            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                                got.setdefault("fd_msgs", []).append(len(got["data"]))
                                fds.frombytes(d[:len(d) - len(d) % fds.itemsize])
                                got["fds"] = list(fds)
                        if not msg:
                            got["eof"] = True
                            break
                        got["data"] += msg
            except Exception as e:  # noqa: BLE001
                got["error"] = repr(e)
        th = threading.Thread(target=agent, daemon=True)
        th.start()
        b = t.bundle(["/bin/checker", "seccomp-test", "getsid"])
        b.linux["seccomp"] = filt({"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"},
                                  listenerPath=sock_path, listenerMetadata=metadata)
        b.write()
        cid, r = t.create(b, expect_ok=False)
        if not r.ok:
            th.join(0.5)
            srv.close()
            raise Fail(f"create with SCMP_ACT_NOTIFY failed: {r.brief()}")
        t.observe(cid)
        st = t.state(cid)
        # a runtime may send the state at create or only when the filter is loaded (start)
        rs = t.start(cid, expect_ok=False)
        th.join(16)
        srv.close()
        for fd in got.get("fds", []):
            os.close(fd)       # no agent: notified syscalls now fail with ENOSYS
        if not rs.ok:
            raise Fail(f"start with SCMP_ACT_NOTIFY failed: {rs.brief()}")
        t.wait_status(cid, "stopped")
        got["state"] = st
        got["cid"] = cid
        got["output"] = r.container_output()
        try:
            got["json"] = json.loads(got.get("data", b"").decode())
        except ValueError:
            got["json"] = None
        return got
    return t.shared("seccomp-notify", run)


CPS = f"{CL}#the-container-process-state"


@spec_test(CPS, "MUST", "The container runtime MUST send the container process state over the UNIX socket as "
           "regular payload serialized in JSON and file descriptors MUST be sent using `SCM_RIGHTS`.")
def notify_payload(t):
    g = _notify(t)
    if g.get("error") or g.get("json") is None:
        raise Fail(f"no JSON container process state received ({g.get('error') or g.get('data', b'')[:80]!r})")
    if len(g.get("fds", [])) != 1:
        raise Fail(f"{len(g.get('fds', []))} file descriptors received, expected the seccomp fd")


@spec_test(CPS, "MUST", "If more than one `sendmsg(2)` is used, the file descriptors MUST be sent only in the first "
           "call.")
def notify_fds_first(t):
    g = _notify(t)
    if g.get("fd_msgs") not in ([0],):
        raise Fail(f"file descriptors arrived after {g.get('fd_msgs')} payload bytes")


@spec_test(CPS, "MUST", "`fds` (array, OPTIONAL) is a string array containing the names of the file descriptors "
           "passed; the runtime sends `seccompFd`.")
def notify_fds_names(t):
    g = _notify(t)
    if (g.get("json") or {}).get("fds") != ["seccompFd"]:
        raise Fail(f"fds is {(g.get('json') or {}).get('fds')!r}")


@spec_test(CPS, "MUST", "`pid` (int, REQUIRED) is the container process ID, as seen by the runtime.")
def notify_pid(t):
    g = _notify(t)
    if (g.get("json") or {}).get("pid") != g["state"].get("pid"):
        raise Fail(f"pid {(g.get('json') or {}).get('pid')} != state pid {g['state'].get('pid')}")


@spec_test(CPS, "MUST", "`state` (state, REQUIRED) is the state of the container; `ociVersion` (string, REQUIRED).")
def notify_state(t):
    j = _notify(t).get("json") or {}
    st = j.get("state") or {}
    if not j.get("ociVersion") or st.get("id") != _notify(t)["cid"] or "status" not in st:
        raise Fail(f"ociVersion {j.get('ociVersion')!r}, state {st!r}")


@spec_test(f"{S}", "MUST", "`listenerMetadata` (string, OPTIONAL) - specifies an opaque data to pass to the seccomp "
           "agent. This string will be sent as the `metadata` field in the container process state.")
def notify_metadata(t):
    j = _notify(t).get("json") or {}
    if j.get("metadata") != "cf-metadata":
        raise Fail(f"metadata is {j.get('metadata')!r}")


@spec_test(S, "MUST", "The runtime MUST send exactly one container process state per connection. The connection "
           "MUST NOT be reused and it MUST be closed after sending a seccomp state.")
def notify_close(t):
    g = _notify(t)
    if g.get("conns") != 1 or not g.get("eof"):
        raise Fail(f"connections {g.get('conns')}, closed after the state: {bool(g.get('eof'))}")


@spec_test(S, "MUST", "The seccomp file descriptor is the one returned by the seccomp syscall: with the agent gone, "
           "notified syscalls fail (ENOSYS).", name="notify_fd_is_listener")
def notify_fd_is_listener(t):
    out = _notify(t).get("output", "").strip()
    if out != "error=ENOSYS":
        raise Fail(f"getsid under SCMP_ACT_NOTIFY after the agent closed the fd: {out!r}")


@spec_test(S, "MUST", "If sending to this socket fails, the runtime MUST generate an error.")
def notify_send_fails(t):
    b = t.checker_bundle("exit", "0")
    b.linux["seccomp"] = filt({"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"},
                              listenerPath=os.path.join(t.dir, "nobody-listens.sock"))
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "a listenerPath nobody listens on")


@spec_test(S, "MUST NOT", "`listenerMetadata` ... This field MUST NOT be set if `listenerPath` is not set "
           "(runtimes MUST generate an error for invalid values).")
def metadata_without_listener(t):
    b = t.checker_bundle("exit", "0")
    b.linux["seccomp"] = filt({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}, listenerMetadata="x")
    b.write()
    t.expect_error(t.run(b), "listenerMetadata without listenerPath")
