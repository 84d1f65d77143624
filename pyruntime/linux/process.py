"""The container process: the plan handed to the C stage (pyruntime-init) and
the per-process settings Python applies before handing over (rlimits, umask,
oom_score_adj, personality, cwd, the executable lookup)."""
import os
import struct

from ..errors import SetupError
from ..validation import CAPABILITIES

# In the kernel's order: a name's index is its number (validation owns the list).
CAPS = CAPABILITIES
CAP_NUMBER = {name: i for i, name in enumerate(CAPS)}
CAP_SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAPS) - 1


def cap_mask(names: "list[str]", field: str) -> int:
    mask = 0
    top = last_cap()
    for n in names or ():
        num = CAP_NUMBER.get(n)
        # Unknown to us or to this kernel: nothing to grant. The spec says to warn
        # and not fail (config.md#configLinuxProcess); create logs the warning.
        if num is not None and num <= top:
            mask |= 1 << num
    return mask


class Plan:
    """Key/value records for the C stage (see pyruntime/init.c)."""

    def __init__(self) -> None:
        self._parts: "list[bytes]" = []

    def add(self, key: str, value: "str | bytes | int") -> None:
        if isinstance(value, int):
            value = str(value)
        if isinstance(value, str):
            value = value.encode()
        k = key.encode()
        self._parts.append(struct.pack("=I", len(k)) + k + struct.pack("=I", len(value))
                           + value + b"\0")

    def to_fd(self) -> int:
        """The plan in a memfd positioned at 0 (no pipe-size limit, no host file)."""
        fd = os.memfd_create("pyruntime-plan", os.MFD_CLOEXEC)
        data = b"".join(self._parts)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.lseek(fd, 0, os.SEEK_SET)
        return fd


def credential_records(plan: Plan, proc: dict, bounding_limit: "int | None" = None) -> None:
    """uid/gid/groups, capabilities, nnp and LSM labels. ``bounding_limit``
    (exec) caps every set to what the container itself may have."""
    user = proc.get("user") or {}
    plan.add("uid", int(user.get("uid", 0)))
    plan.add("gid", int(user.get("gid", 0)))
    groups = list(user.get("additionalGids") or [])
    plan.add("groups", ",".join(str(int(g)) for g in groups))
    caps = proc.get("capabilities")
    if caps is not None:
        for field in CAP_SETS:
            mask = cap_mask(caps.get(field) or [], field)
            if bounding_limit is not None:
                mask &= bounding_limit
            plan.add(f"cap.{field}", format(mask, "x"))
    if proc.get("noNewPrivileges"):
        plan.add("nnp", "1")
    if proc.get("apparmorProfile"):
        plan.add("apparmor", "exec " + proc["apparmorProfile"])
    if proc.get("selinuxLabel"):
        plan.add("selinux", proc["selinuxLabel"])


RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}


def apply_rlimits(rlimits: list) -> None:
    from . import shim
    infinity = 2**64 - 1  # RLIM_INFINITY
    for i, rl in enumerate(rlimits or ()):
        t = rl.get("type")
        if t not in RLIMITS:
            raise SetupError(f"process.rlimits[{i}].type: unknown rlimit {t!r}")
        soft, hard = rl.get("soft"), rl.get("hard")
        soft = infinity if soft is None or soft >= infinity else soft
        hard = infinity if hard is None or hard >= infinity else hard
        r = shim.lib.shim_setrlimit(RLIMITS[t], soft, hard)
        if r < 0:
            raise SetupError(f"process.rlimits[{i}]: error setting rlimit type {t}: "
                             f"{os.strerror(-r).lower()}")


def env_path(env: "list[str]") -> str:
    for e in env or ():
        if e.startswith("PATH="):
            return e[5:]
    return ""


def lookup(arg0: str, env: "list[str]") -> str:
    """Find the executable inside the container (we are already in its root).
    The error texts are the ones podman maps to exit 127 / 126."""
    if "/" in arg0:
        path = arg0
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise SetupError(f'exec: "{arg0}": stat {arg0}: no such file or directory') from None
        except OSError as e:
            raise SetupError(f'exec: "{arg0}": stat {arg0}: {e.strerror.lower()}') from None
        if not _is_executable(st):
            raise SetupError(f'exec: "{arg0}": permission denied')
        return os.path.abspath(path)
    for d in env_path(env).split(":"):
        cand = os.path.join(d or ".", arg0)
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if _is_executable(st):
            return os.path.abspath(cand)
    raise SetupError(f'exec: "{arg0}": executable file not found in $PATH')


def _is_executable(st: os.stat_result) -> bool:
    import stat
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)


def set_oom_score_adj(value: int) -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError as e:
        raise SetupError(f"process.oomScoreAdj: cannot set {value}: {e.strerror.lower()}") \
            from None


def close_fds_except(keep: "set[int]") -> None:
    """Close every fd not in ``keep`` (inherited from the caller or the runtime).
    By ranges (close_range(2) underneath), not by listing /proc/self/fd: the
    container's /proc may not show this process (exec is not in its pid
    namespace yet) or may not be mounted at all."""
    lo = 0
    for fd in sorted(k for k in keep if k >= 0):
        if fd > lo:
            os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, 1 << 20)


def needs_sched(proc: dict, personality: "dict | None") -> bool:
    return bool(proc.get("scheduler") or proc.get("ioPriority") or proc.get("execCPUAffinity")
                or personality)


def preimport(proc: dict, personality: "dict | None") -> None:
    """Import now what process_records() will need after pivot_root/setns(mnt)
    (imports then would search the container's filesystem)."""
    if needs_sched(proc, personality):
        from . import sched  # noqa: F401


def process_records(proc: dict, seccomp_filter=None, listener_fd: int = -1,
                    personality: "dict | None" = None) -> list:
    """Apply what Python can apply now and persists across exec (scheduler, I/O
    priority, personality, initial CPU affinity); return the plan records for what
    the C stage must do itself (final affinity, seccomp)."""
    records: list = []
    if needs_sched(proc, personality):
        from . import sched
        sched.apply(proc, personality)
        final = (proc.get("execCPUAffinity") or {}).get("final")
        if final:
            records.append(("affinity", sched.affinity_mask(final)))
    if seccomp_filter is not None:
        records.append(("seccomp", seccomp_filter.bpf))
        records.append(("seccomp_flags", seccomp_filter.flags))
        if not proc.get("noNewPrivileges"):
            # Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
            # before the capabilities are dropped (as runc does).
            records.append(("seccomp_early", "1"))
        if listener_fd >= 0:
            records.append(("seccomp_listener_fd", listener_fd))
    return records


def hook_records(hooks: list, state: dict) -> list:
    """startContainer hooks, run by the C stage after `start` (inside the container)."""
    from ..jsonfast import dumps
    records: list = []
    for h in hooks:
        records.append(("hook.path", h["path"]))
        for a in h.get("args") or [h["path"]]:
            records.append(("hook.arg", a))
        for e in h.get("env") or []:
            records.append(("hook.env", e))
        if h.get("timeout"):
            records.append(("hook.timeout", int(h["timeout"])))
    records.append(("hook_state", dumps(state)))
    return records


def exec_c_stage(proc: dict, *, sock_fd: int, init_memfd: int, preserve_fds: int = 0,
                 fifo_dirfd: int = -1, cgroupns: bool = False,
                 bounding_limit: "int | None" = None, extra: "list | None" = None,
                 keep_fds: "list[int] | None" = None) -> None:
    """Find the program, write the plan, close every fd the container must not
    get, and exec the C stage (never returns). We are in the container's root."""
    args = proc.get("args") or []
    env = proc.get("env") or []
    path = lookup(args[0], env)
    plan = Plan()
    plan.add("ready_fd", sock_fd)
    plan.add("sync_fd", sock_fd)
    if fifo_dirfd >= 0:
        plan.add("fifo_dirfd", fifo_dirfd)
    if cgroupns:
        plan.add("cgroupns", "1")
    credential_records(plan, proc, bounding_limit)
    plan.add("path", path)
    for a in args:
        plan.add("arg", a)
    for e in env:
        plan.add("env", e)
    for key, value in extra or ():
        plan.add(key, value)
    plan_fd = plan.to_fd()

    control = [f for f in (sock_fd, fifo_dirfd, plan_fd, *(keep_fds or ())) if f >= 0]
    keep = {0, 1, 2, init_memfd, *control, *range(3, 3 + preserve_fds)}
    close_fds_except(keep)
    for f in control:
        os.set_inheritable(f, True)
    for f in range(3, 3 + preserve_fds):
        try:
            os.set_inheritable(f, True)
        except OSError:
            pass
    os.execve(init_memfd, ["pyruntime-init", str(plan_fd)], {})
