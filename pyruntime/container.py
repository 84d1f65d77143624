"""Operations on an existing container: state, start, kill, delete, pause,
resume, ps, update, stats. Import-light: `state`, `start`, `kill` and `delete`
are called many times per container by the clients."""
import os

from .errors import ContainerNotFound, ContainerNotRunning, InvalidArgument, WrongState
from .state import FIFO, StateStore, pid_alive, status as derive_status

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time: for the type checker only
    from typing import Any

    from .cgroups import Manager


class Container:
    """A container known to a state store. Attributes are read on demand; the
    status is derived from live facts on every access."""

    def __init__(self, store: StateStore, container_id: str,
                 data: "dict[str, Any] | None" = None) -> None:
        self.store = store
        self.id = container_id
        self.dir = store.dir(container_id)
        self._data = data if data is not None else store.load(container_id)

    # -- facts ---------------------------------------------------------------
    def reload(self) -> None:
        self._data = self.store.load(self.id)

    @property
    def data(self) -> "dict[str, Any]":
        return self._data

    @property
    def pid(self) -> int:
        return int(self._data.get("pid") or 0)

    @property
    def bundle(self) -> str:
        return str(self._data.get("bundle", ""))

    @property
    def status(self) -> str:
        return derive_status(self._data, self.dir)

    def state(self) -> "dict[str, Any]":
        """The OCI state (runtime.md#state), plus runc's rootfs/created/owner."""
        st = self.status
        d = self._data
        out = {
            "ociVersion": d.get("ociVersion", ""),
            "id": self.id,
            "pid": self.pid if st in ("created", "running", "paused") else 0,
            "status": st,
            "bundle": d.get("bundle", ""),
            "rootfs": d.get("rootfs", ""),
            "created": d.get("created", ""),
            "owner": d.get("owner", ""),
        }
        if d.get("annotations"):
            out["annotations"] = d["annotations"]
        return out

    def _cgroup(self) -> "Manager | None":
        from . import cgroups
        cg = self._data.get("cgroup")
        return cgroups.manager_from_state(cg) if cg else None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        """runtime.md#start: run the user program of a created container."""
        lock = self.store.lock(self.id)
        try:
            self.reload()
            st = self.status
            if st != "created":
                raise WrongState(f"cannot start container {self.id!r}: it is {st}, not created",
                                 st)
            _open_fifo_and_release(os.path.join(self.dir, FIFO), self.pid)
            try:
                os.unlink(os.path.join(self.dir, FIFO))
            except FileNotFoundError:
                pass
        finally:
            os.close(lock)
        hooks = (self._data.get("hooks") or {}).get("poststart")
        if hooks:
            from .hooks import HookError, run_hooks
            try:
                run_hooks("poststart", hooks, self._hook_state("running"))
            except HookError:
                # runtime.md (lifecycle step 9): error, and stop the container.
                try:
                    _signal_pid(self.pid, self._data.get("pid_start"), 9, self.id)
                except ContainerNotRunning:
                    pass
                raise

    def kill(self, sig: "int | str" = 15, all_processes: bool = False) -> None:
        signum = parse_signal(sig)
        st = self.status
        if st not in ("created", "running", "paused"):
            raise ContainerNotRunning(self.id, st)
        if all_processes:
            mgr = self._cgroup()
            pids = set(mgr.pids()) if mgr else set()
            pids.add(self.pid)
            for p in pids:
                try:
                    os.kill(p, signum)
                except ProcessLookupError:
                    pass
            if st == "paused" and signum == 9 and mgr is not None:
                mgr.thaw()
            return
        _signal_pid(self.pid, self._data.get("pid_start"), signum, self.id)

    def delete(self, force: bool = False) -> None:
        """runtime.md#delete. With force, a running/created/paused container is
        killed first (runc's delete --force)."""
        lock = self.store.lock(self.id)
        try:
            self.reload()
            st = self.status
            if st == "creating" and self._data.get("half_made"):
                # status() saw OUR lock: no create holds it, so that create died
                st = "stopped"
            if st == "creating" and not force:
                raise WrongState(f"cannot delete container {self.id!r}: it is being created", st)
            if st in ("created", "running", "paused"):
                if not force:
                    raise WrongState(f"cannot delete container {self.id!r} that is not stopped: "
                                     f"it is {st}", st)
                self._kill_all_and_wait(st)
            mgr = self._cgroup()
            if mgr is not None:
                mgr.destroy()
            hooks = (self._data.get("hooks") or {}).get("poststop")
            self.store.remove(self.id)
        finally:
            os.close(lock)
        if hooks:
            from .hooks import run_hooks
            run_hooks("poststop", hooks, self._hook_state("stopped"))

    def _kill_all_and_wait(self, st: str) -> None:
        mgr = self._cgroup()
        if st == "paused" and mgr is not None:
            mgr.thaw()
        try:
            _signal_pid(self.pid, self._data.get("pid_start"), 9, self.id)
        except ContainerNotRunning:
            pass
        if mgr is not None and "pid" not in (self._data.get("namespaces") or ()):
            # No pid namespace of its own: the init's death does not take its
            # descendants along, so kill what is in its cgroup (as runc does).
            for p in mgr.pids():
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
        wait_gone(self.pid, self._data.get("pid_start"), 10.0)

    def _hook_state(self, status: str) -> "dict[str, Any]":
        d = self._data
        out = {"ociVersion": d.get("ociVersion", ""), "id": self.id, "status": status,
               "pid": self.pid, "bundle": d.get("bundle", "")}
        if d.get("annotations"):
            out["annotations"] = d["annotations"]
        return out

    def pause(self) -> None:
        st = self.status
        if st != "running":
            raise WrongState(f"cannot pause container {self.id!r}: it is {st}, not running", st)
        self._require_cgroup().freeze()

    def resume(self) -> None:
        st = self.status
        if st != "paused":
            raise WrongState(f"cannot resume container {self.id!r}: it is {st}, not paused", st)
        self._require_cgroup().thaw()

    def pids(self) -> "list[int]":
        st = self.status
        if st == "stopped":
            raise ContainerNotRunning(self.id, st)
        mgr = self._cgroup()
        return sorted(mgr.pids()) if mgr else [self.pid]

    def update(self, resources: "dict[str, Any]") -> None:
        st = self.status
        if st == "stopped":
            raise ContainerNotRunning(self.id, st)
        self._require_cgroup().set(resources)

    def stats(self) -> "dict[str, Any]":
        st = self.status
        if st == "stopped":
            raise ContainerNotRunning(self.id, st)
        return self._require_cgroup().stats()

    def _require_cgroup(self) -> "Manager":
        mgr = self._cgroup()
        if mgr is None:
            from .errors import CgroupError
            raise CgroupError(f"container {self.id!r} has no cgroup")
        return mgr


def wait_gone(pid: int, start_time: "int | None", timeout: float) -> bool:
    """Wait until ``pid`` has exited (a zombie counts as exited)."""
    if not pid_alive(pid, start_time):
        return True
    import select
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        if not pid_alive(pid, start_time):
            return True
        r, _, _ = select.select([pidfd], [], [], timeout)
        return bool(r)
    finally:
        os.close(pidfd)


def _signal_pid(pid: int, start_time: "int | None", signum: int, cid: str) -> None:
    """Signal through a pidfd, after checking the pid is still our init (no
    signal ever reaches a recycled pid)."""
    import _signal
    try:
        pidfd = os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        raise ContainerNotRunning(cid) from None
    try:
        if not pid_alive(pid, start_time):
            raise ContainerNotRunning(cid)
        _signal.pidfd_send_signal(pidfd, signum)
    except ProcessLookupError:
        raise ContainerNotRunning(cid) from None
    finally:
        os.close(pidfd)


def _open_fifo_and_release(fifo: str, pid: int) -> None:
    """Open exec.fifo for reading (which lets the waiting init's open() return),
    read its byte: the init is now exec'ing the user program.

    The pidfd is taken *before* the fifo is opened: once released, a short-lived
    program may exit and be reaped by the caller at once, and that is a success."""
    import select
    from .errors import PyruntimeError
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise ContainerNotRunning(os.path.basename(os.path.dirname(fifo))) from None
    try:
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise WrongState("cannot start an already running container", "running") from None
        try:
            while True:
                r, _, _ = select.select([fd, pidfd], [], [], 30.0)
                if not r:
                    raise PyruntimeError("timed out waiting for the container init to start")
                try:
                    data = os.read(fd, 1)
                except BlockingIOError:
                    data = None
                if data:
                    _wait_exec(fd, pidfd)
                    return
                if data == b"" or pidfd in r:
                    raise PyruntimeError("container init exited before it could start the "
                                         "process")
        finally:
            os.close(fd)
    finally:
        os.close(pidfd)


def _wait_exec(fd: int, pidfd: int) -> None:
    """After the init's byte: it runs the startContainer hooks, loads seccomp and
    execs; its end of the fifo is close-on-exec, so EOF means the program runs.
    "E<message>" means one of those steps failed (the init has exited)."""
    import select
    msg = b""
    while True:
        select.select([fd], [], [])  # the writer closes on exec or exit: never hangs
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            continue
        if not chunk:
            break
        msg += chunk
    if msg.startswith(b"E"):
        from .errors import PyruntimeError
        raise PyruntimeError(msg[1:].decode("utf-8", "replace"))


def _signal_table() -> "dict[str, int]":
    import _signal
    table = {}
    for name in dir(_signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and name != "SIGRTMIN" \
                and name != "SIGRTMAX":
            table[name] = getattr(_signal, name)
    rtmin, rtmax = _signal.SIGRTMIN, _signal.SIGRTMAX
    table["SIGRTMIN"] = rtmin
    table["SIGRTMAX"] = rtmax
    for i in range(1, rtmax - rtmin):
        table[f"SIGRTMIN+{i}"] = rtmin + i
        table[f"SIGRTMAX-{i}"] = rtmax - i
    return table


def parse_signal(sig: "int | str") -> int:
    """15, "15", "TERM", "SIGTERM", "sigterm", "RTMIN+3" -> signal number."""
    import _signal
    if isinstance(sig, int):
        num = sig
    else:
        s = str(sig).strip()
        if s.isdigit():
            num = int(s)
        else:
            name = s.upper()
            if not name.startswith("SIG"):
                name = "SIG" + name
            table = _signal_table()
            if name not in table:
                raise InvalidArgument(f"unknown signal {sig!r}")
            return table[name]
    if not 1 <= num < _signal.NSIG:
        raise InvalidArgument(f"unknown signal {sig!r}")
    return num


def load(store: StateStore, container_id: str) -> Container:
    return Container(store, container_id)


def find(store: StateStore, container_id: str) -> "Container | None":
    try:
        return Container(store, container_id)
    except ContainerNotFound:
        return None
