"""config.md#process (POSIX, Linux, user), hostname/domainname, runtime-linux.md#file-descriptors."""
import json
import os
import select
import shutil
import socket
import threading
import time

from conformance.harness import (Fail, Skip, spec_test, kv, parse_caps, parse_rlimits, parse_multi,
                                 RUNNER_OOM_SCORE_ADJ, recv_fd, stat_line)
from conformance.tests.common import read

C = "config.md"
CL = "config-linux.md"


# -- args / env / cwd ----------------------------------------------------------------

@spec_test(f"{C}#process", "MUST", "`args` ... This specification extends the IEEE standard in that at least "
           "one entry is REQUIRED (non-Windows).")
def args_empty(t):
    b = t.bundle()
    b.process["args"] = []
    b.write()
    cid, r = t.create(b, expect_ok=False)
    if r.ok:
        t.observe(cid)
        r = t.start(cid, expect_ok=False)
        if r.ok:
            t.wait_status(cid, "stopped")
    t.expect_error(r, "empty process.args")


@spec_test(f"{C}#process", "MUST", "`args` ... with similar semantics to IEEE Std 1003.1-2008 `execvp`'s *argv*.")
def args_verbatim(t):
    want = ["one", "two words", "", "tab\there", "ünï"]
    out = t.probe(None, "argv", *want)
    if json.loads(out or "null") != want:
        raise Fail(f"argv seen: {out.strip()!r}, configured {want}")


@spec_test(f"{C}#process", "MUST", "that entry is used with the same semantics as `execvp`'s *file* (a name "
           "without a slash is searched in PATH).")
def args_path_lookup(t):
    out = t.probe(lambda b: b.args("checker", "argv", "found"), "x")
    if json.loads(out or "null") != ["found"]:
        raise Fail(f"output {out!r}")


@spec_test(f"{C}#process", "MUST", "that entry is used with the same semantics as `execvp`'s *file*: the "
           "search uses the PATH of the process environment (`env`).", name="args_path_from_env")
def args_path_from_env(t):
    def m(b):
        d = os.path.join(b.rootfs, "opt", "cfbin")
        os.makedirs(d, exist_ok=True)
        shutil.copy2(t.suite.checker, os.path.join(d, "only-here"))
        b.args("only-here", "argv", "env-path")
        b.process["env"] = ["PATH=/opt/cfbin", "TERM=xterm"]
    out = t.probe(m, "x")
    if json.loads(out or "null") != ["env-path"]:
        raise Fail(f"output {out!r}")


ENV = ["PATH=/usr/bin:/bin", "CF_A=1", "CF_B=two words", "CF_EMPTY=", "CF_EQ=a=b"]


def _env(t):
    def m(b):
        b.process["env"] = list(ENV)
    return t.shared("process-env", lambda: json.loads(t.probe(m, "env") or "null"))


@spec_test(f"{C}#process", "MUST", "`env` (array of strings, OPTIONAL) with the same semantics as IEEE Std "
           "1003.1-2008's `environ`: every entry is in the process environment.")
def env_entries(t):
    got = _env(t)
    missing = [e for e in ENV if e not in got]
    if missing:
        raise Fail(f"missing from environ: {missing} (environ: {got})")


@spec_test(f"{C}#process", "SHOULD", "`env` (array of strings, OPTIONAL) with the same semantics as IEEE Std "
           "1003.1-2008's `environ`: the process environment is exactly `env`, nothing added.")
def env_exact(t):
    got = _env(t)
    extra = [e for e in got if e not in ENV]
    if extra:
        raise Fail(f"the runtime added {extra}")


@spec_test(f"{C}#process", "MUST", "`cwd` (string, REQUIRED) is the working directory that will be set for the "
           "executable.")
def cwd_set(t):
    def m(b):
        b.process["cwd"] = "/etc"
    out = t.probe(m, "cwd").strip()
    if out != "/etc":
        raise Fail(f"cwd is {out!r}")


@spec_test(f"{C}#process", "MUST", "`cwd` ... This value MUST be an absolute path.")
def cwd_relative(t):
    b = t.checker_bundle("cwd")
    b.process["cwd"] = "etc"
    b.write()
    r = t.run(b)
    t.expect_error(r, "a relative cwd")


# -- terminal -----------------------------------------------------------------------

@spec_test(f"{C}#process", "MUST", "`terminal` (bool, OPTIONAL) specifies whether a terminal is attached to the "
           "process, defaults to false.")
def terminal_default_false(t):
    out = t.probe(lambda b: b.process.pop("terminal", None), "isatty")
    ttys = [l for l in out.splitlines() if "tty=1" in l]
    if ttys:
        raise Fail(f"standard streams are terminals: {ttys}")


def console_run(t, mutate=None, verb=("isatty",)):
    """create with --console-socket, start, and read the container's output
    from the pty master the runtime sent."""
    b = t.checker_bundle(*verb)
    b.process["terminal"] = True
    if mutate:
        mutate(b)
    b.write()
    sock_path = os.path.join(t.dir, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    got = {}

    def accept():
        try:
            got["msg"], got["fds"] = recv_fd(srv, timeout=15)
        except Exception as e:  # noqa: BLE001
            got["error"] = e
    th = threading.Thread(target=accept, daemon=True)
    th.start()
    cid, r = t.create(b, extra=["--console-socket", sock_path], expect_ok=False)
    th.join(16)
    srv.close()
    if not r.ok:
        raise Fail(f"create with terminal=true failed: {r.brief()}")
    t.observe(cid)
    if not got.get("fds"):
        raise Fail(f"no pty master received on the console socket ({got.get('error')})")
    master = got["fds"][0]
    for extra_fd in got["fds"][1:]:
        os.close(extra_fd)
    t.start(cid)
    data = b""
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            rd, _, _ = select.select([master], [], [], 0.2)
            if rd:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            elif t.state(cid).get("status") == "stopped":
                break
    finally:
        os.close(master)
    return data.decode(errors="replace").replace("\r", "")


@spec_test(f"{C}#process", "MUST", "`terminal`: if set to true on Linux a pseudoterminal pair is allocated for "
           "the process and the pseudoterminal pty is duplicated on the process's standard streams.")
def terminal_true(t):
    out = console_run(t)
    lines = [l for l in out.splitlines() if l.startswith("fd=")]
    if len(lines) != 3 or not all("tty=1" in l for l in lines):
        raise Fail(f"standard streams: {lines or out!r}")
    names = {kv(l).get("name") for l in lines}
    if len(names) != 1 or not next(iter(names)).startswith("/dev/pts/"):
        raise Fail(f"fds 0-2 are not one /dev/pts pty: {names}")


@spec_test(f"{CL}#default-devices", "MUST", "`/dev/console` is set up if `terminal` is enabled in the config by "
           "bind mounting the pseudoterminal pty to `/dev/console`.")
def dev_console(t):
    out = console_run(t, verb=("multi", "isatty", "::", "stat", "/dev/console"))
    sec = parse_multi(out)
    fd0 = kv(sec.get("isatty", "").splitlines()[0]) if sec.get("isatty") else {}
    con = kv(sec.get("stat /dev/console", ""))
    if con.get("type") != "c" or con.get("rdev") != fd0.get("rdev"):
        raise Fail(f"/dev/console is {sec.get('stat /dev/console')!r}, the pty is rdev {fd0.get('rdev')}")


@spec_test(f"{C}#process", "MUST", "`consoleSize` (object, OPTIONAL) specifies the console size in characters "
           "of the terminal.")
def console_size(t):
    out = console_run(t, mutate=lambda b: b.process.update(consoleSize={"height": 37, "width": 123}))
    lines = [kv(l) for l in out.splitlines() if l.startswith("fd=0")]
    if not lines or (lines[0].get("rows"), lines[0].get("cols")) != ("37", "123"):
        raise Fail(f"terminal size seen: {lines}")


@spec_test(f"{C}#process", "MUST", "Runtimes MUST ignore `consoleSize` if `terminal` is `false` or unset.")
def console_size_ignored(t):
    t.probe(lambda b: b.process.update(terminal=False, consoleSize={"height": 10, "width": 10}), "exit", "0")


# -- rlimits --------------------------------------------------------------------------

RLIMITS = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
           {"type": "RLIMIT_CORE", "soft": 1024, "hard": 4096},
           {"type": "RLIMIT_MSGQUEUE", "soft": 8192, "hard": 16384},
           {"type": "RLIMIT_NPROC", "soft": 5000, "hard": 6000}]


def _rlimits(t):
    return t.shared("rlimits", lambda: parse_rlimits(
        t.probe(lambda b: b.process.update(rlimits=[dict(r) for r in RLIMITS]), "rlimits")))


@spec_test(f"{C}#posix-process", "MUST", "`soft` (uint64, REQUIRED) the value of the limit enforced for the "
           "corresponding resource. `rlim.rlim_cur` MUST match the configured value.")
def rlimit_soft(t):
    got = _rlimits(t)
    bad = [f"{r['type']}: {got.get(r['type'], ('?',))[0]} != {r['soft']}" for r in RLIMITS
           if got.get(r["type"], (None,))[0] != r["soft"]]
    if bad:
        raise Fail("; ".join(bad))


@spec_test(f"{C}#posix-process", "MUST", "`hard` (uint64, REQUIRED) the ceiling for the soft limit that could be "
           "set by an unprivileged process. `rlim.rlim_max` MUST match the configured value.")
def rlimit_hard(t):
    got = _rlimits(t)
    bad = [f"{r['type']}: {got.get(r['type'], (0, '?'))[1]} != {r['hard']}" for r in RLIMITS
           if got.get(r["type"], (None, None))[1] != r["hard"]]
    if bad:
        raise Fail("; ".join(bad))


@spec_test(f"{C}#posix-process", "MUST", "The runtime MUST generate an error for any values which cannot be "
           "mapped to a relevant kernel interface.")
def rlimit_unknown(t):
    b = t.checker_bundle("exit", "0")
    b.process["rlimits"] = [{"type": "RLIMIT_CONFORMANCE", "soft": 1, "hard": 1}]
    b.write()
    t.expect_error(t.run(b), "an unknown rlimit type")


@spec_test(f"{C}#posix-process", "MUST", "If `rlimits` contains duplicated entries with same `type`, the "
           "runtime MUST generate an error.")
def rlimit_duplicate(t):
    b = t.checker_bundle("exit", "0")
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
                            {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}]
    b.write()
    t.expect_error(t.run(b), "two RLIMIT_NOFILE entries")


# -- capabilities ----------------------------------------------------------------------

CAP_BND = ["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
CAP_KEEP = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]


def _caps_nonroot(t):
    def m(b):
        b.process["user"] = {"uid": 1000, "gid": 1000}
        b.process["capabilities"] = {"bounding": list(CAP_BND), "permitted": list(CAP_KEEP),
                                     "effective": list(CAP_KEEP), "inheritable": list(CAP_KEEP),
                                     "ambient": list(CAP_KEEP)}
    return t.shared("caps-nonroot", lambda: parse_caps(t.probe(m, "caps")))


def _caps_root(t):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]

    def m(b):
        b.process["capabilities"] = {"bounding": caps, "permitted": caps, "effective": caps,
                                     "inheritable": ["CAP_KILL"]}
    return t.shared("caps-root", lambda: parse_caps(t.probe(m, "caps"))), caps


def _capset(name, level="MUST"):
    @spec_test(f"{C}#linux-process", level, f"`{name}` (array of strings, OPTIONAL) the `{name}` field is an array "
               f"of {name} capabilities that are kept for the process.", name=f"caps_{name}")
    def _t(t):
        problems = []
        nr = _caps_nonroot(t)
        want = set(CAP_BND if name == "bounding" else CAP_KEEP)
        if nr.get(name) != want:
            problems.append(f"uid 1000: {sorted(nr.get(name, []))} != {sorted(want)}")
        if name != "ambient":
            r, caps = _caps_root(t)
            want = {"CAP_KILL"} if name == "inheritable" else set(caps)
            if r.get(name) != want:
                problems.append(f"uid 0: {sorted(r.get(name, []))} != {sorted(want)}")
        if problems:
            raise Fail("; ".join(problems))
    return _t


for _n in ("effective", "bounding", "inheritable", "permitted", "ambient"):
    _capset(_n)


@spec_test(f"{C}#linux-process", "SHOULD NOT", "Runtimes SHOULD NOT fail if the container configuration requests "
           "capabilities that cannot be granted.")
def caps_unknown_no_fail(t):
    b = t.checker_bundle("caps")
    for s in ("bounding", "permitted", "effective", "inheritable"):
        b.process["capabilities"][s] = ["CAP_KILL", "CAP_CONFORMANCE_UNKNOWN"]
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"the runtime failed on an unknown capability: {r.brief()}")
    if "CAP_KILL" not in parse_caps(r.out).get("bounding", set()):
        raise Fail("the grantable capability CAP_KILL was not kept")


@spec_test(f"{C}#linux-process", "SHOULD NOT", "Runtimes SHOULD NOT fail if the container configuration requests "
           "capabilities that cannot be granted, for example, if the runtime operates in a restricted environment "
           "with a limited set of capabilities.", name="caps_ungrantable_no_fail")
def caps_ungrantable_no_fail(t):
    from conformance.harness import host_caps, CAP_NAMES
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
    except OSError:
        last = len(CAP_NAMES) - 1
    missing = [c for c in CAP_NAMES[:last + 1] if c not in host_caps().get("bounding", set())]
    if not missing:
        raise Skip("the runtime's environment holds every capability: nothing is ungrantable here")
    b = t.checker_bundle("caps")
    for s in ("bounding", "permitted", "effective"):
        b.process["capabilities"][s] = ["CAP_KILL", missing[0]]
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"the runtime failed on {missing[0]}, which its environment cannot grant: {r.brief()}")


# -- noNewPrivileges, oomScoreAdj, scheduler, ioPriority ----------------------------------

@spec_test(f"{C}#linux-process", "MUST", "`noNewPrivileges` (bool, OPTIONAL) setting `noNewPrivileges` to true "
           "prevents the process from gaining additional privileges (no_new_privs set).")
def nnp_flag(t):
    sec = t.shared_probe()
    if sec.get("status NoNewPrivs", "").strip() != "1":
        raise Fail(f"NoNewPrivs is {sec.get('status NoNewPrivs')!r} with noNewPrivileges true")


@spec_test(f"{C}#linux-process", "MUST", "setting `noNewPrivileges` to true prevents the process from gaining "
           "additional privileges (a setuid-root program keeps the caller's euid).", name="nnp_setuid")
def nnp_setuid(t):
    def run(nnp):
        b = t.bundle(rootfs="copy")
        target = os.path.join(b.rootfs, "bin", "suid-checker")
        shutil.copy2(t.suite.checker, target)
        os.chown(target, 0, 0)
        os.chmod(target, 0o4755)
        b.args("/bin/suid-checker", "ids")
        b.process["user"] = {"uid": 1000, "gid": 1000}
        b.process["noNewPrivileges"] = nnp
        b.write()
        return kv(t.run_ok(b))
    control = run(False)
    if control.get("uid", "").split(",")[1:2] != ["0"]:
        raise Skip(f"setuid programs do not raise euid on this host even without no_new_privs ({control})")
    got = run(True)
    if got.get("uid", "").split(",")[1:2] != ["1000"]:
        raise Fail(f"with noNewPrivileges the setuid program ran with uid={got.get('uid')}")


@spec_test(f"{C}#linux-process", "MUST", "If `oomScoreAdj` is set, the runtime MUST set `oom_score_adj` to the "
           "given value.")
def oom_set(t):
    out = t.probe(lambda b: b.process.update(oomScoreAdj=345), "oom").strip()
    if out != "345":
        raise Fail(f"oom_score_adj is {out!r}")


@spec_test(f"{C}#linux-process", "MUST NOT", "If `oomScoreAdj` is not set, the runtime MUST NOT change the value "
           "of `oom_score_adj`.")
def oom_unset(t):
    got = t.shared_probe().get("oom", "").strip()
    if got != str(RUNNER_OOM_SCORE_ADJ):
        raise Fail(f"oom_score_adj is {got!r}; the caller's was {RUNNER_OOM_SCORE_ADJ}")


@spec_test(f"{C}#linux-process", "MUST", "`scheduler` ... `policy` (string, REQUIRED) represents the scheduling "
           "policy.")
def scheduler_policy(t):
    out = kv(t.probe(lambda b: b.process.update(scheduler={"policy": "SCHED_BATCH"}), "sched"))
    if out.get("policy") != "SCHED_BATCH":
        raise Fail(f"policy is {out.get('policy')}")


@spec_test(f"{C}#linux-process", "MUST", "`nice` (int32, OPTIONAL) is the nice value for the process, affecting "
           "its priority.")
def scheduler_nice(t):
    out = kv(t.probe(lambda b: b.process.update(scheduler={"policy": "SCHED_OTHER", "nice": 7}), "sched"))
    if out.get("nice") != "7":
        raise Fail(f"nice is {out.get('nice')}")


@spec_test(f"{C}#linux-process", "MUST", "`ioPriority` (object, OPTIONAL) configures the I/O priority settings "
           "for the container's processes: `class` and `priority`.")
def io_priority(t):
    out = kv(t.probe(lambda b: b.process.update(ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6}), "sched"))
    if (out.get("ioprio_class"), out.get("ioprio_data")) != ("2", "6"):
        raise Fail(f"io priority class {out.get('ioprio_class')} data {out.get('ioprio_data')}, expected BE(2)/6")


@spec_test(f"{C}#linux-process", "MUST", "`apparmorProfile` (string, OPTIONAL) specifies the name of the AppArmor "
           "profile for the process.")
def apparmor_profile(t):
    if not t.host.apparmor:
        raise Skip("AppArmor is not enabled on this host")
    out = t.probe(lambda b: b.process.update(apparmorProfile="unconfined"), "cat", "/proc/self/attr/current")
    if "unconfined" not in out:
        raise Fail(f"profile is {out!r}")


@spec_test(f"{C}#linux-process", "MUST", "`selinuxLabel` (string, OPTIONAL) specifies the SELinux label for the "
           "process.")
def selinux_label(t):
    if not t.host.selinux:
        raise Skip("SELinux is not enabled on this host")
    label = "system_u:system_r:container_t:s0:c1,c2"
    out = t.probe(lambda b: b.process.update(selinuxLabel=label), "cat", "/proc/self/attr/current")
    if label not in out:
        raise Fail(f"label is {out!r}")


# -- user -----------------------------------------------------------------------------

def _user(t):
    def m(b):
        b.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 6, 1002]}
    return t.shared("user", lambda: kv(t.probe(m, "ids")))


@spec_test(f"{C}#posix-platform-user", "MUST", "`uid` (int, REQUIRED) specifies the user ID in the container "
           "namespace.")
def user_uid(t):
    u = _user(t)
    if u.get("uid") != "1000,1000,1000":
        raise Fail(f"uid (real,effective,saved) = {u.get('uid')}")


@spec_test(f"{C}#posix-platform-user", "MUST", "`gid` (int, REQUIRED) specifies the group ID in the container "
           "namespace.")
def user_gid(t):
    u = _user(t)
    if u.get("gid") != "1001,1001,1001":
        raise Fail(f"gid (real,effective,saved) = {u.get('gid')}")


@spec_test(f"{C}#posix-platform-user", "MUST", "`additionalGids` (array of ints, OPTIONAL) specifies additional "
           "group IDs in the container namespace to be added to the process.")
def user_additional_gids(t):
    u = _user(t)
    got = set(filter(None, u.get("groups", "").split(",")))
    if not {"5", "6", "1002"} <= got:
        raise Fail(f"supplementary groups {sorted(got)}")


@spec_test(f"{C}#posix-platform-user", "MUST", "`uid` specifies the user ID in the container namespace (with a "
           "user namespace, the host sees the mapped ID).", name="user_uid_in_userns")
def user_uid_in_userns(t):
    if not t.host.has_ns("user"):
        raise Skip("this kernel has no user namespaces")
    from conformance.tests.t_namespaces import userns
    b = t.checker_bundle("pause", rootfs="copy")
    userns(b)
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.write()
    cid, _ = t.create(b)
    t.start(cid)
    pid = t.state(cid)["pid"]
    time.sleep(0.05)
    uid = [l.split()[1:] for l in read(f"/proc/{pid}/status", "").splitlines() if l.startswith("Uid:")]
    if not uid or uid[0][0] != "101000":
        raise Fail(f"host view of the container process uid: {uid}, expected 101000 (1000 mapped by +100000)")


@spec_test(f"{C}#posix-platform-user", "MUST", "`umask` (int, OPTIONAL) specifies the umask of the user.")
def umask_set(t):
    out = t.probe(lambda b: b.process["user"].update(umask=0o077), "umask").strip()
    if out != "0077":
        raise Fail(f"umask is {out}")


@spec_test(f"{C}#posix-platform-user", "SHOULD", "If unspecified, the umask should not be changed from the "
           "calling process' umask.")
def umask_inherited(t):
    b = t.checker_bundle("umask")
    b.write()
    r = t.run(b, umask=0o027)
    if not r.ok:
        raise Fail(f"container did not run: {r.brief()}")
    if r.out.strip() != "0027":
        raise Fail(f"umask is {r.out.strip()}, the caller's was 0027")


# -- hostname / domainname -------------------------------------------------------------------

@spec_test(f"{C}#hostname", "MUST", "`hostname` (string, OPTIONAL) specifies the container's hostname as seen "
           "by processes running inside the container.")
def hostname(t):
    out = kv(t.probe(lambda b: b.cfg.update(hostname="cf-host-name"), "uname").replace("\n", " "))
    if out.get("nodename") != "cf-host-name":
        raise Fail(f"hostname inside is {out.get('nodename')!r}")


@spec_test(f"{C}#domainname", "MUST", "`domainname` (string, OPTIONAL) specifies the container's domainname as "
           "seen by processes running inside the container.")
def domainname(t):
    out = kv(t.probe(lambda b: b.cfg.update(domainname="cf.example"), "uname").replace("\n", " "))
    if out.get("domainname") != "cf.example":
        raise Fail(f"domainname inside is {out.get('domainname')!r}")


# -- file descriptors ------------------------------------------------------------------------------

@spec_test("runtime-linux.md#file-descriptors", "MUST", "By default, only the `stdin`, `stdout` and `stderr` "
           "file descriptors are kept open for the application by the runtime.")
def fds_only_stdio(t):
    rfd, wfd = os.pipe()
    os.set_inheritable(rfd, True)
    try:
        b = t.checker_bundle("fds")
        b.write()
        r = t.run(b, pass_fds=(rfd,))
    finally:
        os.close(rfd)
        os.close(wfd)
    if not r.ok:
        raise Fail(f"container did not run: {r.brief()}")
    if r.out.strip():
        raise Fail(f"extra open fds in the container: {r.out.strip().splitlines()}")
