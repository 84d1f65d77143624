"""Low-level helpers for the benchmarks: spawning and timing runtime commands,
child-subreaper bookkeeping, the private mount namespace crun needs on a hybrid
cgroup host, and memory figures read from /proc and the memory cgroup.

Timing method: the driver starts each command with ``os.posix_spawn`` (a vfork
in glibc, so the driver's own size does not matter), waits for its pidfd to
become readable (the command exited) and then collects it with ``os.wait4``,
which also yields the command's rusage (its ``ru_maxrss`` covers the command and
every descendant it waited for itself).  The clock is ``time.perf_counter_ns``
read immediately before the spawn and immediately after the pidfd wakes up.
"""
import ctypes
import ctypes.util
import errno
import os
import select
import signal
import subprocess
import time

PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNS = 0x00020000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class CommandFailed(Exception):
    def __init__(self, argv, rc, output, timed_out=False):
        self.argv, self.rc, self.output, self.timed_out = argv, rc, output, timed_out
        what = "timed out" if timed_out else f"exited {rc}"
        tail = output.strip().splitlines()[-3:]
        super().__init__(f"{' '.join(argv)} {what}" + (": " + " | ".join(tail) if tail else ""))


def set_child_subreaper() -> None:
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(e))


def _setns(fd: int, nstype: int) -> None:
    if _libc.setns(fd, nstype) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


# ---------------------------------------------------------------------------
# reaping
#
# The driver is a child subreaper: container inits (and any process a runtime
# leaves behind) are re-parented to it.  ``reap_strays`` collects whatever has
# exited and remembers the statuses so that a later ``wait_pid`` of a pid that
# was collected early still gets its status.

_reaped: "dict[int, int]" = {}


def reap_strays() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _reaped[pid] = status


def pidfd_open(pid: int) -> "int | None":
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def wait_pid(pid: int, timeout: float, pidfd: "int | None" = None) -> "int | None":
    """Wait for our child ``pid`` to exit; return its wait status, or None on timeout."""
    if pid in _reaped:
        return _reaped.pop(pid)
    own = False
    if pidfd is None:
        pidfd, own = pidfd_open(pid), True
    try:
        if pidfd is not None:
            r, _, _ = select.select([pidfd], [], [], timeout)
            if not r:
                return None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return _reaped.pop(pid, 0)
        return status
    finally:
        if own and pidfd is not None:
            os.close(pidfd)


def exit_code(status: int) -> int:
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return -1


def children_of(ppid: int) -> "list[int]":
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2:].split()
        if int(fields[1]) == ppid:
            out.append(int(name))
    return out


def kill_descendants(timeout: float = 5.0) -> "list[int]":
    """SIGKILL every process that is (now) our child; reap them.
    Returns the pids killed.  Used only at clean-up: everything the runtimes
    left behind has been re-parented to us, the subreaper."""
    killed = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [p for p in children_of(os.getpid())]
        kids = [p for p in kids if not _is_zombie(p)]
        if not kids:
            break
        for p in kids:
            try:
                os.kill(p, signal.SIGKILL)
                killed.append(p)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
        reap_strays()
    reap_strays()
    return killed


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return True
    return data[data.rindex(b")") + 2:data.rindex(b")") + 3] == b"Z"


# ---------------------------------------------------------------------------
# mount namespaces (crun on a hybrid cgroup host)

class PrivateCgroupNS:
    """A private mount namespace where /sys/fs/cgroup/unified (the cgroup2 mount
    of a hybrid host) is replaced by an empty tmpfs, so crun 1.8 sees a plain
    cgroup v1 host.  The host's own mounts are never touched: a throw-away
    ``unshare -m --propagation private`` helper builds the namespace, we keep an
    fd to it and the helper exits.  ``enter()``/``leave()`` switch the driver
    (single-threaded) between it and the host's namespace around each spawn."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.host_fd = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        script = ("set -e; if mountpoint -q /sys/fs/cgroup/unified; then "
                  "umount -l /sys/fs/cgroup/unified; "
                  "mount -t tmpfs -o mode=755 bench-cgroup2-hidden /sys/fs/cgroup/unified; "
                  "fi; echo ready; exec sleep 600")
        helper = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        try:
            line = helper.stdout.readline()
            if line.strip() != b"ready":
                raise OSError("could not set up a private mount namespace for crun: "
                              + helper.stderr.read(4000).decode(errors="replace"))
            self.fd = os.open(f"/proc/{helper.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            helper.kill()
            helper.wait()
        self.inside = False

    def enter(self) -> None:
        _setns(self.fd, CLONE_NEWNS)
        os.chdir(self.workdir)
        self.inside = True

    def leave(self) -> None:
        if self.inside:
            _setns(self.host_fd, CLONE_NEWNS)
            os.chdir(self.workdir)
            self.inside = False

    def close(self) -> None:
        self.leave()
        for fd in (self.fd, self.host_fd):
            try:
                os.close(fd)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# spawning

class Result:
    __slots__ = ("rc", "elapsed_ns", "maxrss_kib", "output")

    def __init__(self, rc, elapsed_ns, maxrss_kib, output):
        self.rc, self.elapsed_ns, self.maxrss_kib, self.output = rc, elapsed_ns, maxrss_kib, output

    @property
    def ms(self) -> float:
        return self.elapsed_ns / 1e6


class Spawner:
    """Runs commands with stdin=/dev/null and stdout+stderr into one scratch
    file (truncated before each command), in their own process group so a
    timed-out command can be killed with everything it started."""

    def __init__(self, logpath: str, env: "dict | None" = None):
        self.logfd = os.open(logpath, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC,
                             0o600)
        self.nullfd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.env = dict(env if env is not None else os.environ)
        self._actions = [(os.POSIX_SPAWN_DUP2, self.nullfd, 0),
                         (os.POSIX_SPAWN_DUP2, self.logfd, 1),
                         (os.POSIX_SPAWN_DUP2, self.logfd, 2)]

    def output(self) -> str:
        size = os.fstat(self.logfd).st_size
        return os.pread(self.logfd, min(size, 65536), 0).decode(errors="replace")

    def run(self, argv, timeout: float = 30.0, ns: "PrivateCgroupNS | None" = None,
            check: bool = True) -> Result:
        os.ftruncate(self.logfd, 0)
        if ns is not None:
            ns.enter()
        try:
            t0 = time.perf_counter_ns()
            try:
                pid = os.posix_spawn(argv[0], argv, self.env, file_actions=self._actions,
                                     setpgroup=0)
            except OSError as e:
                raise CommandFailed(list(argv), 127, f"cannot execute {argv[0]}: {e.strerror}")
            pidfd = os.pidfd_open(pid)
            try:
                ready, _, _ = select.select([pidfd], [], [], timeout)
                t1 = time.perf_counter_ns()
            finally:
                os.close(pidfd)
        finally:
            if ns is not None:
                ns.leave()
        timed_out = not ready
        if timed_out:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status, ru = os.wait4(pid, 0)
        rc = exit_code(status)
        self.last_end_ns = t1
        res = Result(rc, t1 - t0, ru.ru_maxrss, None)
        if timed_out or (check and rc != 0):
            raise CommandFailed(list(argv), rc, self.output(), timed_out)
        return res

    def close(self) -> None:
        for fd in (self.logfd, self.nullfd):
            try:
                os.close(fd)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# memory figures

def vm_rss_kib(pid: int) -> "int | None":
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0  # kernel threads / zombies have no VmRSS line


def _cgroup_mounts() -> "tuple[str | None, str | None]":
    """(v1 memory hierarchy mount point, cgroup2 mount point) from mountinfo."""
    v1 = v2 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fstype, _src, opts = (post.split() + ["", "", ""])[:3]
            mnt = pre.split()[4]
            if fstype == "cgroup" and "memory" in opts.split(","):
                v1 = v1 or mnt
            elif fstype == "cgroup2":
                v2 = v2 or mnt
    return v1, v2


def cgroup_memory_usage(pid: int) -> "tuple[int | None, str]":
    """Bytes charged to the memory cgroup of ``pid`` and the file read.
    Returns (None, reason) if the pid sits in the root cgroup or the figure
    cannot be read."""
    v1, v2 = _cgroup_mounts()
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return None, f"/proc/{pid}/cgroup: {e.strerror}"
    path1 = path2 = None
    for line in lines:
        hid, ctrls, path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            path1 = path
        elif hid == "0" and ctrls == "":
            path2 = path
    if v1 and path1 is not None:
        if path1 == "/":
            return None, "container in the root memory cgroup"
        fn = os.path.join(v1, path1.lstrip("/"), "memory.usage_in_bytes")
    elif v2 and path2 is not None:
        if path2 == "/":
            return None, "container in the root cgroup"
        fn = os.path.join(v2, path2.lstrip("/"), "memory.current")
    else:
        return None, "no memory cgroup"
    try:
        with open(fn) as f:
            return int(f.read().strip()), fn
    except OSError as e:
        return None, f"{fn}: {e.strerror}"


def remove_cgroups_named(fragment: str) -> "list[str]":
    """rmdir (deepest first) every cgroup directory whose name contains
    ``fragment``, on every cgroup hierarchy.  Only empty cgroups can be
    removed; used at clean-up for what a failed create may leave."""
    removed = []
    roots = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.split()[:1] in (["cgroup"], ["cgroup2"]):
                roots.append(pre.split()[4])
    for root in roots:
        hits = []
        for dirpath, dirnames, _ in os.walk(root):
            for d in dirnames:
                if fragment in d:
                    hits.append(os.path.join(dirpath, d))
        for h in sorted(hits, key=len, reverse=True):
            for dirpath, dirnames, _ in sorted(os.walk(h), key=lambda t: len(t[0]), reverse=True):
                try:
                    os.rmdir(dirpath)
                    removed.append(dirpath)
                except OSError as e:
                    if e.errno not in (errno.ENOENT,):
                        pass
    return removed
