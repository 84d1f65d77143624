"""`exec`: run a new process inside a running container.

P (this process) forks C1, which joins every namespace of the container
through /proc/<init>/ns/* (user first) and forks C2 (inside the container's pid
namespace). C2 sets up the process (cwd, rlimits, pty) and execs the C stage
from a sealed memfd; P writes its pid into the container's cgroups, and the C
stage drops credentials and execs the program. Foreground exec waits for it
(we are a subreaper) and exits with its status; --detach leaves it to the caller.
"""
import os

from .errors import ContainerNotRunning, InvalidArgument, PyruntimeError, SetupError


def exec_from_cli(rt, container_id: str, opts: dict, argv: "list[str]") -> int:
    c = rt.get(container_id)
    if opts.get("process"):
        proc = load_process_file(opts["process"])
    else:
        if not argv:
            raise InvalidArgument("exec: no command given (use ID -- COMMAND [ARGS] or --process)")
        proc = process_from_flags(c.data.get("process") or {}, opts, argv)
    if opts.get("tty"):
        proc["terminal"] = True
    return exec_process(c, proc, detach=opts.get("detach", False),
                        console_socket=opts.get("console_socket"), pid_file=opts.get("pid_file"),
                        preserve_fds=opts.get("preserve_fds", 0),
                        ignore_paused=opts.get("ignore_paused", False))


def load_process_file(path: str) -> dict:
    from .errors import ConfigError, InvalidConfig
    from .jsonfast import JSONError, load_file
    name = os.path.basename(path)
    try:
        proc = load_file(path)
    except FileNotFoundError:
        raise InvalidConfig([ConfigError("", "no such file or directory", file=path)]) from None
    except OSError as e:
        raise InvalidConfig([ConfigError("", e.strerror.lower(), file=path)]) from None
    except JSONError as e:
        raise InvalidConfig([ConfigError("", str(e), file=path)]) from None
    from .validation import validate_process
    errors = validate_process(proc, file=name)
    if errors:
        raise InvalidConfig(errors)
    return proc


def process_from_flags(base: dict, opts: dict, argv: "list[str]") -> dict:
    """runc's exec flags applied over the container's own process spec."""
    import copy
    proc = copy.deepcopy(base)
    proc["args"] = list(argv)
    proc["terminal"] = bool(opts.get("tty"))
    if opts.get("cwd"):
        proc["cwd"] = opts["cwd"]
    env = list(proc.get("env") or [])
    for e in opts.get("env") or []:
        key = e.split("=", 1)[0]
        env = [x for x in env if x.split("=", 1)[0] != key] + [e]
    proc["env"] = env
    user = dict(proc.get("user") or {})
    if opts.get("user"):
        u, _, g = opts["user"].partition(":")
        try:
            user["uid"] = int(u)
            user["gid"] = int(g) if g else user.get("gid", 0)
        except ValueError:
            raise InvalidArgument(f"--user {opts['user']!r}: use uid[:gid] (numbers)") from None
    if opts.get("additional_gids"):
        try:
            user["additionalGids"] = [int(x) for v in opts["additional_gids"]
                                      for x in v.split(",")]
        except ValueError:
            raise InvalidArgument("--additional-gids: numbers expected") from None
    proc["user"] = user
    if opts.get("cap"):
        caps = {k: list(v) for k, v in (proc.get("capabilities") or {}).items()}
        for cap in opts["cap"]:
            name = cap.upper() if cap.upper().startswith("CAP_") else "CAP_" + cap.upper()
            # Never the inheritable set (CVE-2022-29162); ambient only if the spec
            # has an inheritable set at all (as runc: the kernel raises an ambient
            # capability only if it is inheritable too).
            for field in ("bounding", "effective", "permitted", "ambient"):
                if field == "ambient" and caps.get("inheritable") is None:
                    continue
                caps.setdefault(field, [])
                if name not in caps[field]:
                    caps[field].append(name)
        proc["capabilities"] = caps
    if opts.get("no_new_privs"):
        proc["noNewPrivileges"] = True
    if opts.get("apparmor"):
        proc["apparmorProfile"] = opts["apparmor"]
    if opts.get("process_label"):
        proc["selinuxLabel"] = opts["process_label"]
    return proc


def exec_process(c, proc: dict, *, detach: bool = False, console_socket: "str | None" = None,
                 pid_file: "str | None" = None, preserve_fds: int = 0,
                 ignore_paused: bool = False) -> int:
    from . import cgroups
    from .create import _reap, sealed_init_memfd, write_pid_file
    st = c.status
    if st == "paused" and not ignore_paused:
        raise PyruntimeError(f"cannot exec in container {c.id!r}: it is paused "
                             "(use --ignore-paused)")
    if st not in ("created", "running", "paused"):
        raise ContainerNotRunning(c.id, st)
    if not proc.get("args"):
        raise InvalidArgument("exec: process.args must not be empty")
    if proc.get("apparmorProfile") or proc.get("selinuxLabel"):
        from .linux import lsm
        lsm.check(proc, {})

    console_fd = None
    relay_sock = None
    if proc.get("terminal"):
        if console_socket:
            from .linux.terminal import connect_console_socket
            console_fd = connect_console_socket(console_socket)
        elif detach:
            raise InvalidArgument("exec --tty --detach needs a --console-socket")
        else:
            import _socket
            relay_sock, child_end = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
            console_fd = child_end.detach()
    if not detach:
        from .runner import set_subreaper
        set_subreaper()

    init_pid = c.pid
    ns_types = c.data.get("namespaces") or []
    from .linux.namespaces import JOIN_ORDER, TYPES
    ns_fds = []
    fds_to_close = []
    try:
        for t in JOIN_ORDER:
            if t in ns_types:
                try:
                    fd = os.open(f"/proc/{init_pid}/ns/{TYPES[t][1]}", os.O_RDONLY | os.O_CLOEXEC)
                except OSError as e:
                    raise ContainerNotRunning(c.id) if e.errno == 2 else e
                ns_fds.append((t, fd))
        fds_to_close.extend(fd for _, fd in ns_fds)
        if console_fd is not None:
            fds_to_close.append(console_fd)
        mgr = cgroups.manager_from_state(c.data["cgroup"]) if c.data.get("cgroup") else None
        init_memfd = sealed_init_memfd()
        fds_to_close.append(init_memfd)
        bounding = _container_bounding(init_pid)
        seccomp_filter, listener_fd = None, -1
        if c.data.get("seccomp"):
            from .linux import seccomp
            seccomp_filter = seccomp.compile_filter(c.data["seccomp"])
            if seccomp_filter.listener_path:
                listener_fd = seccomp.connect_listener(seccomp_filter.listener_path)
                fds_to_close.append(listener_fd)
        join_fds = []
        if mgr is not None:
            join_fds = [os.open(f, os.O_WRONLY | os.O_CLOEXEC) for f in mgr.self_join_files()]
            fds_to_close.extend(join_fds)
        setup = _ExecSetup(proc, init_memfd, console_fd, preserve_fds, bounding,
                           seccomp_filter, listener_fd, c.data.get("personality"))
        setup.join_fds = join_fds
        import _socket
        psock, csock = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        stage = 0
        child1, born_in_cgroup = cgroups.fork_early(mgr)
        if child1 == 0:
            _exec_child1(ns_fds, csock.fileno(), psock.fileno(), setup)
        csock.close()
        pid = 0
        try:
            while True:
                msg = psock.recv(65536)
                if not msg:
                    if pid:
                        break  # the C stage exec'd the program (CLOEXEC closed the socket)
                    raise SetupError("exec: the process exited during setup")
                if msg.startswith(b"E"):
                    raise SetupError(msg[1:].decode("utf-8", "replace"))
                if msg.startswith(b"pid "):
                    pid = int(msg[4:])
                    if mgr is not None and not born_in_cgroup:
                        mgr.apply_early(pid)
                elif msg.startswith(b"P"):
                    # the C stage forked into the pid namespace: that child is the process
                    stage, pid = pid, int(msg[1:])
                elif msg == b"R":
                    if mgr is not None:
                        mgr.apply_late(pid)
                    payload = b""
                    if listener_fd >= 0:
                        from .linux import seccomp
                        payload = seccomp.listener_state(seccomp_filter, pid, c._hook_state(
                            c.status))
                    psock.send(b"G" + payload)
                elif msg == b"W":
                    continue
        except BaseException:
            if pid:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            raise
        finally:
            psock.close()
            _reap(child1)
            if stage and not detach:
                _reap(stage)  # the C stage's parent half: reparented to us, a subreaper
    finally:
        for fd in fds_to_close:
            try:
                os.close(fd)
            except OSError:
                pass
    if pid_file:
        write_pid_file(pid_file, pid)
    if detach:
        return 0
    master = None
    if relay_sock is not None:
        from .linux.terminal import recv_fd
        master = recv_fd(relay_sock)
        relay_sock.close()
    return _wait_foreground(pid, master)


def _container_bounding(pid: int) -> "int | None":
    """The init's bounding set (exec must never get more than the container)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return None


def _wait_foreground(pid: int, master: "int | None") -> int:
    import _signal

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in range(1, _signal.NSIG):
        if signum in (_signal.SIGKILL, _signal.SIGSTOP, _signal.SIGCHLD):
            continue
        try:
            _signal.signal(signum, forward)
        except (OSError, ValueError, RuntimeError):
            pass
    if master is not None:
        from .runner import _relay

        class _P:
            pass
        p = _P()
        p.pid = pid
        code = _relay(master, p)
        return code if code is not None else 0
    from .runner import wait_init
    code = wait_init(pid, None)
    return code if code is not None else 0


class _ExecSetup:
    def __init__(self, proc, init_memfd, console_fd, preserve_fds, bounding, seccomp_filter,
                 listener_fd, personality):
        self.proc = proc
        self.init_memfd = init_memfd
        self.console_fd = console_fd
        self.preserve_fds = preserve_fds
        self.bounding = bounding
        self.seccomp = seccomp_filter
        self.listener_fd = listener_fd
        self.personality = personality
        self.join_fds: "list[int]" = []
        self.pidns_fd = -1


def _exec_child1(ns_fds, csock_fd, psock_fd, setup: _ExecSetup) -> None:
    code = 1
    try:
        # Import now: after setns(mnt) the filesystem is the container's.
        import _socket  # noqa: F401
        import fcntl  # noqa: F401
        import stat  # noqa: F401
        import struct  # noqa: F401
        if setup.proc.get("terminal"):
            import termios  # noqa: F401

        from .create import _fail_child, _send  # noqa: F401
        from .linux import namespaces, process as procmod, shim, terminal  # noqa: F401
        procmod.preimport(setup.proc, setup.personality)
        os.close(psock_fd)
        shim.prctl(shim.PR_SET_DUMPABLE, 0)
        namespaces.join([x for x in ns_fds if x[0] == "user"])
        if any(t == "user" for t, _ in ns_fds):
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        # The pid namespace is entered by the C stage (it forks into it): no
        # Python process, whose /proc/<pid>/exe would be the host's interpreter,
        # is ever visible inside the container.
        namespaces.join(ns_fds, skip=("user", "pid"))
        setup.pidns_fd = next((fd for t, fd in ns_fds if t == "pid"), -1)
        gate_r, gate_w = os.pipe2(os.O_CLOEXEC)
        pid2 = os.fork()
        if pid2 == 0:
            os.close(gate_w)
            os.read(gate_r, 1)
            os.close(gate_r)
            try:
                _exec_child2(csock_fd, setup)
            except BaseException as e:
                _fail_child(csock_fd, e)
            os._exit(1)
        os.close(gate_r)
        _send(csock_fd, f"pid {pid2}".encode())
        os.close(gate_w)
        code = 0
    except BaseException as e:
        from .create import _fail_child
        _fail_child(csock_fd, e)
    finally:
        os._exit(code)


def _exec_child2(sock_fd, setup: _ExecSetup) -> None:
    from .linux import process as procmod
    from .linux import terminal
    proc, console_fd = setup.proc, setup.console_fd
    # With a pid namespace to join, the C stage forks the real process, which
    # makes its own session and takes the terminal ("session" record): a session
    # led by this process would hang up its terminal when the C stage's parent
    # half exits.
    in_child = setup.pidns_fd >= 0
    if not in_child:
        os.setsid()
    procmod.apply_rlimits(proc.get("rlimits"))
    if proc.get("oomScoreAdj") is not None:
        procmod.set_oom_score_adj(proc["oomScoreAdj"])
    if proc.get("terminal") and console_fd is not None:
        master, slave, name = terminal.open_pty()
        terminal.set_size(master, proc.get("consoleSize"))
        terminal.send_fd(console_fd, master, name)
        os.close(master)
        os.close(console_fd)
        terminal.make_controlling(slave, ctty=not in_child)
    cwd = proc.get("cwd") or "/"
    try:
        os.chdir(cwd)
    except OSError as e:
        raise SetupError(f'chdir to cwd ("{cwd}") failed: {e.strerror.lower()}') from None
    try:
        here = os.getcwd()
    except FileNotFoundError:  # glibc's answer to the kernel's "(unreachable)/..."
        here = "(unreachable)"
    if here.startswith("(unreachable)"):
        raise SetupError(f"process.cwd {cwd!r} is outside the container's root")
    umask = (proc.get("user") or {}).get("umask")  # process.user.umask (config.md)
    if umask is not None:
        os.umask(int(umask) & 0o777)  # uint32 in the spec; the kernel keeps 0777 (as runc)
    extra = procmod.process_records(proc, setup.seccomp, setup.listener_fd, setup.personality)
    extra.extend(("cgroup_fd", f) for f in setup.join_fds)
    if setup.pidns_fd >= 0:
        extra.append(("pidns_fd", setup.pidns_fd))
        extra.append(("session", "tty" if proc.get("terminal") else "1"))
    procmod.exec_c_stage(proc, sock_fd=sock_fd, init_memfd=setup.init_memfd,
                         preserve_fds=setup.preserve_fds, bounding_limit=setup.bounding,
                         extra=extra,
                         keep_fds=[setup.listener_fd, setup.pidns_fd, *setup.join_fds])
