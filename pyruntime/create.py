"""The create path: from a bundle to an init waiting for `start`.

Process model (see docs/architecture.md):

    P  (this process)  state dir, exec.fifo, cgroups; drives the protocol below
    C1 (fork of P)     joins namespaces by path, unshares the new ones (user
                       first, mappings written by P), forks C2, exits
    C2 (fork of C1)    PID 1 of a new pid namespace: mounts, pivot_root, /dev,
                       pty, rlimits, cwd, executable lookup; then execs the C
                       stage (pyruntime-init) from a sealed memfd with a plan
    C stage            joins nothing itself: P writes its pid into the cgroups
                       (after exec, so no Python memory is charged to the
                       container), it unshares the cgroup namespace, drops
                       credentials and blocks on exec.fifo until `start`.

Messages on the SOCK_SEQPACKET socketpair (child -> P unless noted):
    b"pid N"      C1: host pid of C2 (b"pid N born": born in the birth cgroup)
    b"userns"     C1: unshared the user namespace; P writes the id maps, replies b"ok"
    b"hooks"      C2: mounts done; P runs prestart/createRuntime hooks, replies b"ok"
    b"pid N"      (also) P joins C2 to the cgroups that charge no memory (apply_early),
                  unless C1 forked it into them (cgroups.fork_into)
    b"R"          C stage started; P joins it to what is left (apply_late), replies
                  b"G"; the C stage then joins the v1 hierarchies itself through
                  the cgroup "tasks" fds it inherited (no global lock, no RCU wait)
    b"W"          C stage ready and waiting on exec.fifo: create is done
    b"E<msg>"     any stage failed (then it exits)
"""
import os
import time

from . import log
from .errors import InvalidArgument, PyruntimeError, SetupError
from .state import FIFO, StateStore, proc_stat

INIT_BINARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyruntime-init")


def rfc3339_now() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def sealed_init_memfd() -> int:
    """A sealed in-memory copy of the C stage: what /proc/<pid>/exe of any runtime
    process inside the container points at. Writes to it fail (CVE-2019-5736)."""
    import fcntl
    try:
        src = os.open(INIT_BINARY, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise PyruntimeError(f"{INIT_BINARY} is missing: reinstall pyruntime") from None
    try:
        fd = os.memfd_create("pyruntime-init", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        size = os.fstat(src).st_size
        off = 0
        while off < size:
            n = os.sendfile(fd, src, off, size - off)
            if n == 0:
                break
            off += n
    finally:
        os.close(src)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK
                | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    return fd


class CreateRequest:
    """Everything create needs, gathered and checked in the runtime's namespaces."""

    def __init__(self, container_id: str, bundle_dir: str, cfg: dict, *, pid_file=None,
                 console_socket=None, console_fd=None, preserve_fds: int = 0,
                 no_pivot: bool = False, no_new_keyring: bool = False):
        self.id = container_id
        self.bundle = bundle_dir
        self.cfg = cfg
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.console_fd = console_fd
        self.preserve_fds = preserve_fds
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring


def create(store: StateStore, req: CreateRequest) -> dict:
    """Create the container; return its state dict. On failure nothing is left."""
    from . import bundle as bundle_mod
    from . import cgroups
    from .linux import namespaces

    cfg = req.cfg
    proc = cfg.get("process") or {}
    linux = cfg.get("linux") or {}
    from .validation import config_warnings
    for w in config_warnings(cfg):  # e.g. capabilities this kernel does not know
        log.warning(str(w))
    own_bounding = _own_bounding()
    _warn_ungrantable(proc.get("capabilities"), own_bounding)
    rootfs = bundle_mod.rootfs_path(cfg, req.bundle)
    join, new = namespaces.split(linux.get("namespaces"))
    if "mount" not in join and "mount" not in new:
        raise SetupError("linux.namespaces: a mount namespace is required")
    if req.preserve_fds < 0:
        raise InvalidArgument("--preserve-fds must not be negative")

    console_fd = req.console_fd
    opened_console = False
    if proc.get("terminal"):
        if console_fd is None:
            if not req.console_socket:
                raise InvalidArgument("process.terminal is true: a --console-socket is needed "
                                      "to receive the container's pty")
            from .linux.terminal import connect_console_socket
            console_fd = connect_console_socket(req.console_socket)
            opened_console = True
    if linux.get("sysctl"):
        from .linux import sysctl
        sysctl.check(linux["sysctl"], set(join) | new, join)
    if proc.get("apparmorProfile") or proc.get("selinuxLabel") or linux.get("mountLabel"):
        from .linux import lsm
        lsm.check(proc, linux)
    if linux.get("intelRdt") is not None:
        _check_intel_rdt()
    seccomp_filter = None
    if linux.get("seccomp"):
        from .linux import seccomp
        seccomp_filter = seccomp.compile_filter(linux["seccomp"])
    ns_fds = namespaces.open_paths(join)

    cdir, lockfd = store.make_dir(req.id)
    mgr = None
    init_pid = 0
    child1 = 0
    psock = csock = None
    fds_to_close = [fd for _, fd in ns_fds]
    if opened_console:
        fds_to_close.append(console_fd)
    state: dict = {"ociVersion": cfg.get("ociVersion", ""), "id": req.id, "bundle": req.bundle}
    try:
        mgr = cgroups.manager_for(linux.get("cgroupsPath"), req.id)
        me = proc_stat(os.getpid())
        state = {
            "ociVersion": cfg.get("ociVersion", ""),
            "id": req.id,
            "pid": 0,
            "bundle": req.bundle,
            "rootfs": rootfs,
            "created": rfc3339_now(),
            "owner": "",
            "annotations": cfg.get("annotations") or {},
            "creator_pid": os.getpid(),
            "creator_start": me[1] if me else None,
            # the dirs create is about to make, recorded before it makes them
            "cgroup": _planned_cgroup_state(mgr),
            "namespaces": sorted(set(join) | new),
            "hooks": {k: v for k, v in (cfg.get("hooks") or {}).items()
                      if k in ("poststart", "poststop") and v},
            "process": proc,
            "terminal": bool(proc.get("terminal")),
            # exec'd processes get the container's seccomp filter and personality
            "seccomp": linux.get("seccomp"),
            "personality": linux.get("personality"),
        }
        store.save(req.id, state)
        os.mkfifo(os.path.join(cdir, FIFO), 0o622)
        os.chmod(os.path.join(cdir, FIFO), 0o622)  # not umask-reduced: the init may be an unprivileged uid
        mgr.create()
        # Record which cgroup directories we made: delete removes only those.
        state["cgroup"] = mgr.to_state()
        store.save(req.id, state)
        # Always: the first set() also installs the default device rules.
        mgr.set(linux.get("resources") or {})
        join_fds = [os.open(f, os.O_WRONLY | os.O_CLOEXEC) for f in mgr.self_join_files()]
        fds_to_close.extend(join_fds)

        init_memfd = sealed_init_memfd()
        fds_to_close.append(init_memfd)
        dirfd = os.open(cdir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        fds_to_close.append(dirfd)
        listener_fd = -1
        if seccomp_filter is not None and seccomp_filter.listener_path:
            from .linux import seccomp
            listener_fd = seccomp.connect_listener(seccomp_filter.listener_path)
            fds_to_close.append(listener_fd)
        from .linux import idmap  # idmapped mounts need the host's privileges: built here
        fds_to_close.extend(idmap.prepare(cfg, rootfs))
        listen = _listen_fds()
        if listen:  # socket activation, as runc: fds 3.. first; LISTEN_FDS=n, LISTEN_PID=1
            cfg = dict(cfg, process=dict(proc, env=list(proc.get("env") or [])
                                         + [f"LISTEN_FDS={listen}", "LISTEN_PID=1"]))
            req.preserve_fds += listen
        import _socket
        psock, csock = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        ctx = _ChildContext(req, cfg, rootfs, ns_fds, new, csock.fileno(), psock.fileno(),
                            init_memfd, dirfd, console_fd, mgr)
        ctx.seccomp = seccomp_filter
        ctx.listener_fd = listener_fd
        ctx.bounding = own_bounding
        ctx.join_fds = join_fds
        # C1 forks C2 straight into the birth cgroup, if it certainly may: C2
        # is pid 1 of a new pid namespace, and a clone3 that fails after
        # allocating that pid leaves the namespace unable to fork at all
        # (ENOMEM). From a user namespace, or a joined cgroup namespace, the
        # kernel refuses it: P moves C2 there instead (apply_early).
        if "user" not in new and not {"user", "cgroup"} & set(join):
            ctx.birth_fd = mgr.birth_cgroup_fd()
            if ctx.birth_fd is not None:
                fds_to_close.append(ctx.birth_fd)
        child1 = os.fork()
        if child1 == 0:
            _child1(ctx)  # never returns
        csock.close()
        csock = None
        init_pid = _drive(psock, child1, ctx, state, mgr)
        _reap(child1)
        child1 = 0
        st = proc_stat(init_pid)
        if st is None:
            raise SetupError("container init exited during setup")
        state["pid"] = init_pid
        state["pid_start"] = st[1]
        del state["creator_pid"], state["creator_start"]
        store.save(req.id, state)
        if req.pid_file:
            write_pid_file(req.pid_file, init_pid)
        return state
    except BaseException as e:
        if child1:
            _kill_and_reap(child1)
        if init_pid:
            _kill_pid(init_pid)
        if mgr is not None:
            try:
                mgr.destroy()
            except Exception as ce:  # never mask the original error
                log.warning(f"cleanup after failed create: {ce}")
        store.remove(req.id)
        if isinstance(e, PyruntimeError) and e.msg.startswith("hooks.") and \
                (cfg.get("hooks") or {}).get("poststop"):
            # runtime.md: a failed prestart/createRuntime/createContainer hook
            # stops the container and the lifecycle goes on at delete: poststop runs.
            from . import hooks
            hooks.run_hooks("poststop", cfg["hooks"]["poststop"],
                            _hook_state(state, 0, "stopped"))
        if isinstance(e, OSError) and not isinstance(e, PyruntimeError):
            raise SetupError(f"create: {e.strerror or e}".lower()) from None
        raise
    finally:
        for s in (psock, csock):
            if s is not None:
                s.close()
        for fd in fds_to_close:
            try:
                os.close(fd)
            except OSError:
                pass
        os.close(lockfd)


def _planned_cgroup_state(mgr) -> dict:
    """mgr.to_state() whose "created" also lists the cgroup dirs that do not
    exist yet, i.e. those create is about to make: if create is killed while
    making them, delete still knows what to remove (and removes nothing that
    existed before). The state saved after mgr.create() has the real list."""
    st = mgr.to_state()
    pairs = [(h.get("mount"), h.get("dir")) for h in st.get("hierarchies") or []]
    pairs += [(st.get("unified_mount"), st.get("unified")), (st.get("mount"), st.get("dir"))]
    planned = list(st.get("created") or [])
    for mount, leaf in pairs:
        if not mount or not leaf or not leaf.startswith(mount.rstrip("/") + "/"):
            continue
        cur = mount.rstrip("/")
        for comp in [c for c in leaf[len(cur):].split("/") if c]:
            cur = f"{cur}/{comp}"
            if cur not in planned and not os.path.isdir(cur):
                planned.append(cur)
    return dict(st, created=planned)


def _listen_fds() -> int:
    """systemd socket activation: LISTEN_FDS fds from 3 are ours if LISTEN_PID is us."""
    try:
        if int(os.environ.get("LISTEN_PID", "")) != os.getpid():
            return 0
        return max(int(os.environ.get("LISTEN_FDS", "")), 0)
    except ValueError:
        return 0


def _check_intel_rdt() -> None:
    """config-linux.md#intelrdt: without a mounted resctrl the runtime MUST fail.
    (Assigning a container to a resctrl group is not supported yet: the
    features document says intelRdt is not enabled.)"""
    from .errors import HostUnsupported
    with open("/proc/self/mountinfo") as f:
        mounted = any(" - resctrl " in line for line in f)
    if not mounted:
        raise HostUnsupported("linux.intelRdt: no resctrl filesystem is mounted on this host")
    raise HostUnsupported("linux.intelRdt: resctrl groups are not supported by pyruntime yet")


def _own_bounding() -> "int | None":
    """This process's capability bounding set: nothing beyond it can be granted."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapBnd:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return None


def _warn_ungrantable(caps: "dict | None", bounding: "int | None") -> None:
    """config.md: capabilities that cannot be granted MUST be logged as a
    warning, and the runtime SHOULD NOT fail."""
    if not caps or bounding is None:
        return
    # validation's list (already loaded), not linux.process's: that one would
    # load `struct` (~60 KiB of RSS) into this process for nothing
    from .validation import CAPABILITIES
    missing = sorted({n for names in caps.values() if isinstance(names, list) for n in names
                      if isinstance(n, str) and n in CAPABILITIES
                      and not bounding >> CAPABILITIES.index(n) & 1})
    if missing:
        log.warning("process.capabilities: not granted (beyond the runtime's own bounding "
                    f"set): {', '.join(missing)}")


def write_pid_file(path: str, pid: int) -> None:
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(str(pid))
        os.rename(tmp, path)
    except OSError as e:
        raise PyruntimeError(f"--pid-file {path}: {e.strerror.lower()}") from None


def _drive(psock, child1: int, ctx: "_ChildContext", state: dict, mgr) -> int:
    """P's side of the protocol; returns the init's host pid once it waits for start."""
    init_pid = 0
    while True:
        msg = psock.recv(65536)
        if not msg:
            raise SetupError("container init exited during setup")
        if msg.startswith(b"E"):
            raise SetupError(msg[1:].decode("utf-8", "replace"))
        if msg.startswith(b"pid "):
            pid, *born = msg[4:].split()
            init_pid = int(pid)
            if not born:  # else C2 was born in the birth cgroup
                mgr.apply_early(init_pid)
        elif msg == b"userns":
            from .linux import namespaces
            linux = ctx.cfg.get("linux") or {}
            namespaces.write_id_maps(child1, linux.get("uidMappings") or [],
                                     linux.get("gidMappings") or [])
            psock.send(b"ok")
        elif msg == b"hooks":
            from . import hooks
            st = _hook_state(state, init_pid, "creating")
            cfg_hooks = ctx.cfg.get("hooks") or {}
            hooks.run_hooks("prestart", cfg_hooks.get("prestart"), st)
            hooks.run_hooks("createRuntime", cfg_hooks.get("createRuntime"), st)
            psock.send(b"ok")
        elif msg == b"R":
            mgr.apply_late(init_pid)
            netdevs = (ctx.cfg.get("linux") or {}).get("netDevices")
            if netdevs:
                from .linux import netdev
                netdev.move(netdevs, init_pid)
            payload = b""
            if ctx.seccomp is not None and ctx.seccomp.listener_path:
                from .linux import seccomp
                payload = seccomp.listener_state(ctx.seccomp, init_pid,
                                                 _hook_state(state, init_pid, "creating"))
            psock.send(b"G" + payload)
        elif msg == b"W":
            return init_pid
        else:
            raise SetupError(f"internal: unexpected message {msg[:40]!r} from the init")


def _hook_state(state: dict, pid: int, status: str) -> dict:
    out = {"ociVersion": state["ociVersion"], "id": state["id"], "status": status,
           "pid": pid, "bundle": state["bundle"]}
    if state.get("annotations"):
        out["annotations"] = state["annotations"]
    return out


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    _reap(pid)


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        return
    # The init is not our child (C1 forked it); if we are its subreaper, reap it.
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        # Someone else reaps it; wait until it is gone so cgroup removal succeeds.
        for _ in range(200):
            st = proc_stat(pid)
            if st is None or st[0] in ("Z", "X"):
                return
            time.sleep(0.005)


class _ChildContext:
    def __init__(self, req, cfg, rootfs, ns_fds, new, csock_fd, psock_fd, init_memfd, dirfd,
                 console_fd, mgr):
        self.req = req
        self.cfg = cfg
        self.rootfs = rootfs
        self.ns_fds = ns_fds
        self.new = new
        self.csock_fd = csock_fd
        self.psock_fd = psock_fd
        self.init_memfd = init_memfd
        self.dirfd = dirfd
        self.console_fd = console_fd
        self.mgr = mgr
        self.seccomp = None
        self.listener_fd = -1
        self.bounding: "int | None" = None
        self.join_fds: "list[int]" = []
        self.birth_fd: "int | None" = None  # mgr.birth_cgroup_fd(), for C2


def _send(fd: int, data: bytes) -> None:
    os.write(fd, data)  # one write on a SOCK_SEQPACKET socket = one message


def _recv(fd: int) -> bytes:
    return os.read(fd, 65536)


def _fail_child(fd: int, e: BaseException) -> None:
    if isinstance(e, PyruntimeError):
        msg = e.msg
    elif isinstance(e, OSError):
        msg = (e.strerror or str(e)) if not e.filename else f"{e.filename}: {e.strerror}"
        msg = str(e.args[1]) if len(e.args) > 1 and isinstance(e.args[1], str) else msg
    else:
        msg = f"internal error: {type(e).__name__}: {e}"
    try:
        _send(fd, b"E" + msg.encode("utf-8", "replace")[:60000])
    except OSError:
        pass


def _child1(ctx: _ChildContext) -> None:
    """Namespaces. Never returns: any failure is reported and the process exits."""
    code = 1
    try:
        from .linux import namespaces, shim
        os.close(ctx.psock_fd)
        fd = ctx.csock_fd
        shim.prctl(shim.PR_SET_DUMPABLE, 0)
        _preimport_child2(ctx)  # before the user namespace: see there
        namespaces.join([x for x in ctx.ns_fds if x[0] == "user"])
        if "user" in ctx.new:
            shim.unshare(shim.CLONE_NEWUSER)
            _send(fd, b"userns")
            if _recv(fd) != b"ok":
                os._exit(1)
        if "user" in ctx.new or any(t == "user" for t, _ in ctx.ns_fds):
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        namespaces.join(ctx.ns_fds, skip=("user",))
        # The cgroup namespace is unshared by the C stage, after it joined its cgroup.
        flags = namespaces.unshare_flags(ctx.new - {"user", "cgroup"})
        if flags:
            shim.unshare(flags)
        if "time" in ctx.new:
            _write_time_offsets((ctx.cfg.get("linux") or {}).get("timeOffsets") or {})
        gate_r, gate_w = os.pipe2(os.O_CLOEXEC)
        from . import cgroups
        pid2, born_in = cgroups.fork_into(ctx.birth_fd)
        if pid2 == 0:
            os.close(gate_w)
            os.read(gate_r, 1)  # until C1 has reported our pid
            os.close(gate_r)
            _child2(ctx)
        os.close(gate_r)
        _send(fd, f"pid {pid2}{' born' if born_in else ''}".encode())
        os.close(gate_w)
        code = 0
    except BaseException as e:
        _fail_child(ctx.csock_fd, e)
    finally:
        os._exit(code)


def _preimport_child2(ctx: _ChildContext) -> None:
    """Import what C2 needs while still the host's root: once in a user namespace
    we are its mapped root, which may not read the interpreter's files (e.g. a
    Python under /root, mode 0700), so a later import fails."""
    import fcntl, stat, struct  # noqa: F401,E401
    from .linux import process, rootfs, terminal  # noqa: F401
    proc = ctx.cfg.get("process") or {}
    if (ctx.cfg.get("hooks") or {}).get("createContainer"):
        from . import hooks  # noqa: F401
    if proc.get("terminal"):
        import termios  # noqa: F401
    process.preimport(proc, (ctx.cfg.get("linux") or {}).get("personality"))
    if (ctx.cfg.get("linux") or {}).get("memoryPolicy"):
        from .linux import mempolicy  # noqa: F401


def _write_time_offsets(offsets: dict) -> None:
    lines = []
    for clock, name in (("monotonic", "monotonic"), ("boottime", "boottime")):
        o = offsets.get(clock)
        if o:
            lines.append(f"{name} {int(o.get('secs', 0))} {int(o.get('nanosecs', 0))}\n")
    if lines:
        with open("/proc/self/timens_offsets", "w") as f:
            f.write("".join(lines))


def _child2(ctx: _ChildContext) -> None:
    """The container's filesystem and process; ends by exec'ing the C stage."""
    try:
        _setup_container(ctx)
    except BaseException as e:
        _fail_child(ctx.csock_fd, e)
    os._exit(1)


def _setup_container(ctx: _ChildContext) -> None:
    # What this needs after pivot_root was imported by _preimport_child2 (in C1):
    # an import there would search the container's filesystem.
    from .linux import process as procmod
    from .linux import shim, terminal  # noqa: F401
    from .linux.rootfs import Rootfs
    cfg_hooks = ctx.cfg.get("hooks") or {}
    if cfg_hooks.get("createContainer"):
        from . import hooks

    fd = ctx.csock_fd
    cfg = ctx.cfg
    req = ctx.req
    proc = cfg.get("process") or {}
    linux = cfg.get("linux") or {}
    procmod.preimport(proc, linux.get("personality"))
    os.setsid()

    in_userns = "user" in ctx.new or any(t == "user" for t, _ in ctx.ns_fds)
    rootfs = Rootfs(ctx.rootfs, cfg, ctx.mgr.mount_sources(), in_userns=in_userns)
    rootfs.prepare()
    cfg_hooks = cfg.get("hooks") or {}
    if cfg_hooks.get("prestart") or cfg_hooks.get("createRuntime"):
        _send(fd, b"hooks")
        if _recv(fd) != b"ok":
            os._exit(1)
    if cfg_hooks.get("createContainer"):
        hooks.run_hooks("createContainer", cfg_hooks["createContainer"],
                        {"ociVersion": cfg.get("ociVersion", ""), "id": req.id,
                         "status": "creating", "pid": os.getpid(), "bundle": req.bundle,
                         "annotations": cfg.get("annotations") or {}})
    rootfs.pivot(req.no_pivot)
    proc_mnt = _check_proc()
    for key, value in (linux.get("sysctl") or {}).items():
        _write_sysctl(key, value, proc_mnt)
    rootfs.finish()  # after the sysctls: readonlyPaths usually has /proc/sys (as runc)
    if proc.get("terminal"):
        from .linux import terminal
        master, slave, name = terminal.open_pty()
        terminal.set_size(master, proc.get("consoleSize"))
        _bind_console(rootfs, name)
        terminal.send_fd(ctx.console_fd, master, name)
        os.close(master)
        os.close(ctx.console_fd)
        terminal.make_controlling(slave)
    if (cfg.get("root") or {}).get("readonly"):
        rootfs.readonly_root()
    rootfs.close()
    if "uts" in ctx.new:
        if cfg.get("hostname"):
            shim.sethostname(cfg["hostname"])
        if cfg.get("domainname"):
            shim.setdomainname(cfg["domainname"])
    procmod.apply_rlimits(proc.get("rlimits"))
    if proc.get("oomScoreAdj") is not None:
        procmod.set_oom_score_adj(proc["oomScoreAdj"])
    if linux.get("memoryPolicy"):
        from .linux import mempolicy
        mempolicy.apply(linux["memoryPolicy"])
    # execCPUAffinity is for processes started by exec, not the init (config.md).
    init_proc = {k: v for k, v in proc.items() if k != "execCPUAffinity"}
    extra = procmod.process_records(init_proc, ctx.seccomp, ctx.listener_fd,
                                    linux.get("personality"))
    extra.extend(("cgroup_fd", f) for f in ctx.join_fds)
    start_hooks = cfg_hooks.get("startContainer")
    if start_hooks:
        extra.extend(procmod.hook_records(start_hooks, {
            "ociVersion": cfg.get("ociVersion", ""), "id": req.id, "status": "created",
            "pid": 1, "bundle": req.bundle, "annotations": cfg.get("annotations") or {}}))
    if not req.no_new_keyring:
        try:
            shim.keyctl_join(f"_ses.{req.id}")
        except OSError as e:
            if e.errno not in (38, 1):  # ENOSYS / EPERM (keyrings disabled or in userns)
                raise SetupError(f"cannot create a session keyring: {os.strerror(e.errno).lower()}")
    cwd = proc.get("cwd") or "/"
    try:
        try:
            os.chdir(cwd)
        except FileNotFoundError:
            os.makedirs(cwd, 0o755, exist_ok=True)  # as runc: a missing cwd is created
            os.chdir(cwd)
    except OSError as e:
        raise SetupError(f'chdir to cwd ("{cwd}") set in config.json failed: '
                         f"{e.strerror.lower()}") from None
    try:
        here = os.getcwd()
    except FileNotFoundError:  # glibc's answer to the kernel's "(unreachable)/..."
        here = ""
    if not here.startswith("/") or here.startswith("(unreachable)"):
        raise SetupError(f"process.cwd {cwd!r} is outside the container's root")
    umask = (proc.get("user") or {}).get("umask")  # process.user.umask (config.md)
    if umask is not None:  # unset: the caller's umask stays (config.md, process.user)
        os.umask(int(umask) & 0o777)  # uint32 in the spec; the kernel keeps 0777 (as runc)
    # The C stage waits for `start` holding only an O_PATH fd of exec.fifo (it
    # re-opens it through /proc/self/fd), never the state directory: a process of
    # the container able to ptrace it must not find a host directory there.
    fifo_dirfd = ctx.dirfd
    keep = [ctx.listener_fd, *ctx.join_fds]
    if proc_mnt is not None:
        fifo_fd = os.open(FIFO, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW, dir_fd=ctx.dirfd)
        extra.append(("fifo_fd", fifo_fd))
        keep.append(fifo_fd)
        os.close(ctx.dirfd)
        fifo_dirfd = -1
    procmod.exec_c_stage(proc, sock_fd=fd, init_memfd=ctx.init_memfd,
                         preserve_fds=req.preserve_fds, fifo_dirfd=fifo_dirfd,
                         cgroupns="cgroup" in ctx.new, extra=extra,
                         bounding_limit=ctx.bounding, keep_fds=keep)


def _check_proc() -> "int | None":
    """Refuse to write to a /proc that is not procfs (a bind or tmpfs planted
    there would swallow or redirect sysctl and LSM writes: CVE-2019-16884).
    Returns the mount id of /proc (None: the container has no /proc)."""
    from .linux import shim
    try:
        fd = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None  # no /proc in the container: nothing will be written there
    try:
        if shim.fs_magic(fd) != shim.PROC_SUPER_MAGIC:
            raise SetupError("/proc in the container is not a procfs mount")
        return _mnt_id(fd)
    finally:
        os.close(fd)


def _mnt_id(fd: int) -> "int | None":
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("mnt_id:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _write_sysctl(key: str, value: str, proc_mnt: "int | None" = None) -> None:
    from .linux import shim
    path = "/proc/sys/" + key.replace(".", "/")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as e:
        raise SetupError(f"linux.sysctl: cannot set {key}: {e.strerror.lower()}") from None
    try:
        # Not a file of the container's own /proc mount (something mounted over
        # /proc/sys or under it): the write would go elsewhere (CVE-2025-52881).
        if shim.fs_magic(fd) != shim.PROC_SUPER_MAGIC or _mnt_id(fd) != proc_mnt:
            raise SetupError(f"linux.sysctl: cannot set {key}: {path} is not on the "
                             "container's procfs mount")
        os.write(fd, str(value).encode())
    except OSError as e:
        raise SetupError(f"linux.sysctl: cannot set {key}={value}: {e.strerror.lower()}") \
            from None
    finally:
        os.close(fd)


def _bind_console(rootfs, pty_name: str) -> None:
    from .linux import shim
    from .linux.rootfs import fd_path, mkdir_in_root
    fd = mkdir_in_root(rootfs.rootfd, "/dev/console", file_leaf=True)
    try:
        shim.mount(pty_name, fd_path(fd), None, shim.MS_BIND)
    finally:
        os.close(fd)
