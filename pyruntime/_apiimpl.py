"""The implementation of pyruntime.api's heavier operations (create, run, exec,
wait, stdio redirection). Kept apart so that ``pyruntime.api``, which the CLI's
hot paths (``state``, ``start``, ``kill``, ``delete``) import on every call,
stays small: this module is imported on first use only."""
import os

from .errors import InvalidArgument, InvalidConfig
from .state import proc_stat, validate_id

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time: for the type checker only
    import _thread
    from collections.abc import Mapping, Sequence
    from typing import Any

    from .api import FileLike, JSONDict, ManagedContainer, Runtime
    from .bundle_api import Bundle

DEVNULL = -3


def _bundle_parts(obj: "str | os.PathLike[str] | Bundle") -> "tuple[str, JSONDict | None]":
    """(directory, config or None) of a bundle path or a Bundle, without
    importing bundle_api (and its `copy`, ~1.4 ms) on the CLI's create path,
    where it is always a path string."""
    if isinstance(obj, (str, os.PathLike)):
        return os.fspath(obj), None
    return obj.path, obj.config


# -- create / run ----------------------------------------------------------------
def create(rt: "Runtime", container_id: str, bundle: "str | os.PathLike[str] | Bundle",
           config: "JSONDict | None", stdio: "tuple[FileLike | None, ...]", validated: bool,
           **kw: "Any") -> "ManagedContainer":
    from .api import ManagedContainer
    from .bundle import load_config, validate
    from .create import CreateRequest, create as create_container
    validate_id(container_id)
    path, bundle_config = _bundle_parts(bundle)
    if config is None:
        config = bundle_config
    bundle_dir = os.path.abspath(path)
    if config is None:
        cfg = load_config(bundle_dir)
    elif validated:
        cfg = config
    else:
        errors = validate(config, bundle_dir)
        if errors:
            raise InvalidConfig(errors)
        cfg = config
    req = CreateRequest(container_id, bundle_dir, cfg, **kw)
    ensure_subreaper(rt.subreaper)
    with ChildStdio(*stdio):
        state = create_container(rt.store, req)
    c = ManagedContainer(rt.store, container_id, state)
    c.runtime = rt
    return c


def run(rt: "Runtime", container_id: str, bundle: "str | os.PathLike[str] | Bundle",
        detach: bool, keep: bool, stdio: "tuple[FileLike | None, ...]",
        create_kw: "dict[str, Any]") -> int:
    from .runner import run as run_container
    path, bundle_config = _bundle_parts(bundle)
    if bundle_config is not None:
        create_kw.setdefault("config", bundle_config)
    ensure_subreaper(rt.subreaper)
    with ChildStdio(*stdio), SavedSignalHandlers():
        code: int = run_container(rt, container_id, path, detach=detach, keep=keep,
                                  **create_kw)
        return code


_SUBREAPER = False


def ensure_subreaper(wanted: bool) -> None:
    global _SUBREAPER
    if wanted and not _SUBREAPER:
        from .runner import set_subreaper
        set_subreaper()
        _SUBREAPER = True


# -- exec --------------------------------------------------------------------------
def exec_in(c: "ManagedContainer", process: "Sequence[str] | Mapping[str, Any]", *,
            detach: bool, env: "Mapping[str, str] | Sequence[str] | None", cwd: "str | None",
            user: "int | tuple[int, int] | None", console_socket: "str | None",
            pid_file: "str | None", preserve_fds: int, ignore_paused: bool,
            stdio: "tuple[FileLike | None, ...]") -> int:
    import copy
    from collections.abc import Mapping
    proc: "JSONDict"
    if isinstance(process, (str, bytes)):
        raise InvalidArgument("exec: process must be a list of arguments or a process "
                              "object, not a string")
    if isinstance(process, Mapping):
        proc = copy.deepcopy(dict(process))
        from .validation import validate_process
        errors = validate_process(proc, file="process")
        if errors:
            raise InvalidConfig(errors)
    else:
        args = [str(a) for a in process]
        if not args:
            raise InvalidArgument("exec: no command given")
        proc = copy.deepcopy(c.data.get("process") or {})
        proc["args"] = args
        proc["terminal"] = False
    apply_overrides(proc, env, cwd, user)
    from .execproc import exec_process
    ensure_subreaper(c.runtime.subreaper if c.runtime is not None else True)
    if proc.get("terminal") and not console_socket:
        if detach:
            raise InvalidArgument("exec: a detached process with a terminal needs a "
                                  "console_socket")
        with SavedSignalHandlers():  # the foreground relay of the CLI's exec --tty
            code: int = exec_process(c, proc, pid_file=pid_file, preserve_fds=preserve_fds,
                                     ignore_paused=ignore_paused)
            return code
    import tempfile
    tmpdir = None
    if pid_file is None:
        tmpdir = tempfile.mkdtemp(prefix="pyruntime-exec-")
        pid_path = os.path.join(tmpdir, "pid")
    else:
        pid_path = pid_file
    try:
        with ChildStdio(*stdio):
            exec_process(c, proc, detach=True, console_socket=console_socket,
                         pid_file=pid_path, preserve_fds=preserve_fds,
                         ignore_paused=ignore_paused)
        with open(pid_path) as f:
            pid = int(f.read().strip())
    finally:
        if tmpdir is not None:
            import shutil
            shutil.rmtree(tmpdir, ignore_errors=True)
    if detach:
        return pid
    status = wait_pid(pid)
    return status if status is not None else 0


def apply_overrides(proc: "JSONDict", env: "Mapping[str, str] | Sequence[str] | None",
                    cwd: "str | None", user: "int | tuple[int, int] | None") -> None:
    if env is not None:
        from collections.abc import Mapping
        pairs = ([f"{k}={v}" for k, v in env.items()] if isinstance(env, Mapping)
                 else [str(e) for e in env])
        cur = list(proc.get("env") or [])
        for e in pairs:
            if "=" not in e:
                raise InvalidArgument(f"exec: env entry {e!r} is not KEY=VALUE")
            key = e.split("=", 1)[0]
            cur = [x for x in cur if x.split("=", 1)[0] != key] + [e]
        proc["env"] = cur
    if cwd is not None:
        proc["cwd"] = cwd
    if user is not None:
        u = dict(proc.get("user") or {})
        if isinstance(user, int):
            u["uid"] = user
            u.setdefault("gid", 0)
        else:
            u["uid"], u["gid"] = int(user[0]), int(user[1])
        proc["user"] = u


# -- waiting -----------------------------------------------------------------------
#: exit statuses collected by wait_pid, keyed by (pid, start time): waiting twice,
#: or from two threads, gives the same answer
EXIT: "dict[tuple[int, int | None], int]" = {}
_EXIT_LOCK: "_thread.LockType | None" = None


def wait_pid(pid: int, timeout: "float | None" = None, start_time: "int | None" = None
             ) -> "int | None":
    import select
    key = (pid, start_time)
    if key in EXIT:
        return EXIT[key]
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return EXIT.get(key)  # gone, and reaped by someone else
    try:
        st = proc_stat(pid)
        if st is None or (start_time is not None and st[1] != start_time):
            return EXIT.get(key)  # the pid was recycled: ours is long gone
        r, _, _ = select.select([pidfd], [], [], timeout)
        if not r:
            return None
    finally:
        os.close(pidfd)
    return reap(pid, key)


def reap(pid: int, key: "tuple[int, int | None]") -> "int | None":
    import _thread
    global _EXIT_LOCK
    if _EXIT_LOCK is None:
        _EXIT_LOCK = _thread.allocate_lock()
    with _EXIT_LOCK:
        if key in EXIT:
            return EXIT[key]
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None  # not our child: its status is not ours to know
        if got != pid:
            return None
        from .runner import exit_status
        code: int = exit_status(status)
        EXIT[key] = code
        return code


# -- stdio of the container's processes ----------------------------------------------
_TLS: "_thread._local | None" = None  # made on first use


def _at_fork_child() -> None:
    """os.register_at_fork(after_in_child=...): in a child forked by create or
    exec in a thread that asked for redirected stdio, put it on fds 0-2 (the
    container's init and exec'd processes inherit them)."""
    if _TLS is None:
        return
    fds = getattr(_TLS, "stdio", None)
    if not fds:
        return
    _TLS.stdio = None  # once: the grandchild inherits the result
    import fcntl
    tmp = [None if f is None else fcntl.fcntl(f, fcntl.F_DUPFD_CLOEXEC, 3) for f in fds]
    for target, f in enumerate(tmp):
        if f is not None:
            os.dup2(f, target, inheritable=True)
            os.close(f)


class ChildStdio:
    """Redirect the stdio of the processes create/exec fork in this thread."""

    def __init__(self, stdin: "FileLike | None" = None, stdout: "FileLike | None" = None,
                 stderr: "FileLike | None" = None) -> None:
        self.fds: "list[int | None]" = []
        self.opened: "list[int]" = []
        for name, x in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr)):
            if x is None:
                self.fds.append(None)
                continue
            try:
                fd = x if isinstance(x, int) else x.fileno()
                if fd == DEVNULL:
                    fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                    self.opened.append(fd)
                os.fstat(fd)
            except (OSError, OverflowError, ValueError, AttributeError):
                self.close()
                raise InvalidArgument(f"{name}: {x!r} is not an open file descriptor, a "
                                      "file or DEVNULL") from None
            self.fds.append(fd)

    def close(self) -> None:
        for fd in self.opened:
            os.close(fd)
        self.opened = []

    def __enter__(self) -> None:
        global _TLS
        if not any(f is not None for f in self.fds):
            return
        if _TLS is None:
            import _thread
            _TLS = _thread._local()
            os.register_at_fork(after_in_child=_at_fork_child)
        _TLS.stdio = self.fds

    def __exit__(self, *exc: object) -> None:
        if _TLS is not None:
            _TLS.stdio = None
        self.close()


class SavedSignalHandlers:
    """Restore the signal handlers afterwards (runner and execproc install
    forwarding handlers and leave SIG_DFL behind: fine for the CLI, not for a
    library; e.g. Ctrl-C must raise KeyboardInterrupt again). Outside the main
    thread nobody can change them: restoring fails, harmlessly."""

    def __enter__(self) -> None:
        import _signal
        self.saved: "list[tuple[int, object]]" = []
        for n in range(1, _signal.NSIG):
            try:
                h = _signal.getsignal(n)
            except (OSError, ValueError):
                continue
            if h is not None:
                self.saved.append((n, h))

    def __exit__(self, *exc: object) -> None:
        import _signal
        for n, h in self.saved:
            try:
                if _signal.getsignal(n) is not h:
                    _signal.signal(n, h)
            except (OSError, ValueError, TypeError):
                pass
