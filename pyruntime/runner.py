"""Foreground `run`: create, start, relay the terminal, forward signals, wait,
delete. The runtime process is a child subreaper so the init (forked by an
intermediate process) is reparented to it and its exit status can be collected."""
import os

from .errors import PyruntimeError


_subreaper = False


def set_subreaper() -> None:
    """Make this process a child subreaper (once)."""
    global _subreaper
    if _subreaper:
        return
    # The front end (pyruntime/front.c) sets it for `create` and `run` before
    # exec'ing Python (the flag survives execve) and says so with this pid:
    # then the cffi shim (~0.4 MiB of create's peak RSS) is not loaded for it.
    if os.environ.pop("PYRUNTIME_SUBREAPER", None) != str(os.getpid()):
        from .linux import shim
        shim.prctl(shim.PR_SET_CHILD_SUBREAPER, 1)
    _subreaper = True


def exit_status(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def wait_init(pid: int, start_time, timeout: "float | None" = None) -> "int | None":
    """Exit status of ``pid``, reaping it (we must be its parent or subreaper).
    Other orphans reparented to us meanwhile are reaped too."""
    import time
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            if deadline is None:
                wpid, status = os.waitpid(-1, 0)
            else:
                wpid, status = os.waitpid(-1, os.WNOHANG)
                if wpid == 0:
                    if time.monotonic() >= deadline:
                        return None
                    time.sleep(0.01)
                    continue
        except ChildProcessError:
            # Not ours to reap: wait for it to disappear.
            from .container import wait_gone
            wait_gone(pid, start_time, timeout if timeout is not None else 1e9)
            return None
        if wpid == pid:
            return exit_status(status)


def run(rt, container_id: str, bundle: str, *, detach: bool = False, keep: bool = False,
        **create_kw) -> int:
    import _signal
    cfg_terminal = None
    relay_sock = None
    if not detach:
        set_subreaper()
    if not create_kw.get("console_socket") and not detach:
        # Our own pty relay when the config asks for a terminal.
        from .bundle import load_config
        cfg = create_kw.pop("config", None)
        if cfg is None:
            cfg = load_config(os.path.abspath(bundle))
            create_kw["_validated"] = True
        cfg_terminal = bool((cfg.get("process") or {}).get("terminal"))
        create_kw["config"] = cfg
        if cfg_terminal:
            import _socket
            relay_sock, child_end = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
            create_kw["console_fd"] = child_end.detach()
    try:
        c = rt.create(container_id, bundle, **create_kw)
    finally:
        if create_kw.get("console_fd") is not None and relay_sock is not None:
            os.close(create_kw["console_fd"])
    master = None
    if relay_sock is not None:
        from .linux.terminal import recv_fd
        master = recv_fd(relay_sock)
        relay_sock.close()
    forwarded = []

    def forward(signum, _frame):
        try:
            os.kill(c.pid, signum)
        except ProcessLookupError:
            pass

    if not detach:
        for signum in range(1, _signal.NSIG):
            if signum in (_signal.SIGKILL, _signal.SIGSTOP, _signal.SIGCHLD):
                continue
            if signum == getattr(_signal, "SIGWINCH", -1) and master is None:
                continue
            try:
                _signal.signal(signum, forward)
                forwarded.append(signum)
            except (OSError, ValueError, RuntimeError):
                pass
    try:
        c.start()
    except BaseException:
        try:
            c.delete(force=True)
        except PyruntimeError:
            pass
        raise
    if detach:
        return 0
    try:
        if master is not None:
            code = _relay(master, c)
        else:
            code = c.wait()
    finally:
        for signum in forwarded:
            try:
                _signal.signal(signum, _signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    if not keep:
        c.delete(force=True)
    return code if code is not None else 0


def _relay(master: int, c) -> "int | None":
    """Copy stdin -> pty and pty -> stdout until the init exits."""
    import select
    import termios
    import tty
    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0, termios.TCSANOW)  # TCSAFLUSH (the default) drops typed-ahead input
        _copy_winsize(0, master)
    try:
        stdin_open = True
        while True:
            try:
                wpid, status = os.waitpid(c.pid, os.WNOHANG)
            except ChildProcessError:
                wpid, status = c.pid, 0
            if wpid == c.pid:
                _drain(master)
                return os.WEXITSTATUS(status) if not os.WIFSIGNALED(status) \
                    else 128 + os.WTERMSIG(status)
            fds = [master] + ([0] if stdin_open else [])
            r, _, _ = select.select(fds, [], [], 0.05)
            if master in r:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if data:
                    _write_all(1, data)
            if 0 in r:
                data = os.read(0, 65536)
                if data:
                    _write_all(master, data)
                else:
                    stdin_open = False
                    _write_all(master, b"\x04")  # EOF to the terminal's reader
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        os.close(master)


def _drain(master: int) -> None:
    import select
    while True:
        r, _, _ = select.select([master], [], [], 0.05)
        if not r:
            return
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        _write_all(1, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _copy_winsize(src: int, dst: int) -> None:
    import fcntl
    import termios
    try:
        ws = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, termios.TIOCSWINSZ, ws)
    except OSError:
        pass
