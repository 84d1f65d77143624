"""Idmapped bind mounts: mounts[].uidMappings/gidMappings with the ``idmap`` /
``ridmap`` options (config.md "Mounts").

    open_tree(source, OPEN_TREE_CLONE [| AT_RECURSIVE for rbind])
    mount_setattr(tree, MOUNT_ATTR_IDMAP, userns_fd [, AT_RECURSIVE for ridmap])
    move_mount(tree -> the destination, opened inside the rootfs)

The user namespace carrying the mapping belongs to a short-lived child that
unshares CLONE_NEWUSER; we write its maps ("containerID hostID size", as given)
and keep an fd of /proc/<child>/ns/user.

mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the user namespace of
the source's superblock (the host's): a setup process inside the container's
user namespace does not have it. So the runtime process builds the detached
trees before forking (prepare(), called by create.py) and the container's setup
process only attaches them (attach()). Without a container user namespace,
Rootfs can also build them in place (build()).
"""
import os

from ..errors import SetupError

OPEN_TREE_CLONE = 1
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOUNT_ATTR_IDMAP = 0x00100000
MOVE_MOUNT_F_EMPTY_PATH = 0x04
MOVE_MOUNT_T_EMPTY_PATH = 0x40

#: mount index -> detached idmapped tree fd, made by prepare() in the runtime
#: process and inherited (fork) by the container's setup process
PREPARED: "dict[int, int]" = {}


def wants_idmap(m: dict) -> "str | None":
    """'idmap', 'ridmap' or None."""
    opts = m.get("options") or ()
    if "ridmap" in opts:
        return "ridmap"
    if "idmap" in opts:
        return "idmap"
    return None


def is_bind(m: dict) -> bool:
    return m.get("type") == "bind" or any(o in ("bind", "rbind") for o in m.get("options") or ())


def mappings(m: dict, linux: dict, where: str) -> "tuple[list, list]":
    """The mount's own mappings, else the container's user namespace mappings."""
    uids, gids = m.get("uidMappings"), m.get("gidMappings")
    if uids or gids:
        if not (uids and gids):
            raise SetupError(f"{where}: uidMappings and gidMappings must be given together")
        return uids, gids
    uids, gids = linux.get("uidMappings"), linux.get("gidMappings")
    if not (uids and gids):
        raise SetupError(f"{where}: {wants_idmap(m)} needs uidMappings and gidMappings (on the "
                         "mount, or the container's user namespace mappings)")
    return uids, gids


def _host_pid(pid: int) -> int:
    """``pid`` (in our pid namespace) as numbered by the /proc we can see (they
    differ in a new pid namespace whose /proc is still the host's)."""
    try:
        pfd = os.pidfd_open(pid)
    except OSError:
        return pid
    try:
        with open(f"/proc/self/fdinfo/{pfd}") as f:
            for line in f:
                if line.startswith("Pid:"):
                    n = int(line.split()[1])
                    return n if n > 0 else pid
    except (OSError, ValueError):
        pass
    finally:
        os.close(pfd)
    return pid


def _fmt(maps: list) -> bytes:
    return "".join(f"{int(x['containerID'])} {int(x['hostID'])} {int(x['size'])}\n"
                   for x in maps).encode()


def userns_fd(uid_maps: list, gid_maps: list, where: str = "mounts") -> int:
    """An fd of a new user namespace with these mappings (O_CLOEXEC)."""
    from . import shim  # on use: create imports this module without needing the shim
    r1, w1 = os.pipe2(os.O_CLOEXEC)
    r2, w2 = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r1)
            os.close(w2)
            shim.unshare(shim.CLONE_NEWUSER)
            os.write(w1, b"1")
            os.read(r2, 1)  # until the parent has what it needs (EOF)
            code = 0
        finally:
            os._exit(code)
    os.close(w1)
    os.close(r2)
    try:
        if os.read(r1, 1) != b"1":
            raise SetupError(f"{where}: cannot create a user namespace for the idmapped mount")
        hp = _host_pid(pid)
        try:
            with open(f"/proc/{hp}/uid_map", "wb") as f:
                f.write(_fmt(uid_maps))
            with open(f"/proc/{hp}/setgroups", "wb") as f:
                f.write(b"deny")
            with open(f"/proc/{hp}/gid_map", "wb") as f:
                f.write(_fmt(gid_maps))
            return os.open(f"/proc/{hp}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise SetupError(f"{where}: cannot set up the mapping of the idmapped mount: "
                             f"{(e.strerror or str(e)).lower()}") from None
    finally:
        os.close(r1)
        os.close(w2)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def build(source: str, recursive_tree: bool, recursive_attr: bool, ns_fd: int,
          where: str = "mounts") -> int:
    """A detached clone of ``source`` with the idmapping of user namespace ``ns_fd``."""
    from . import shim
    tree = shim.lib.shim_open_tree(-100, source.encode(),
                                   OPEN_TREE_CLONE | os.O_CLOEXEC
                                   | (AT_RECURSIVE if recursive_tree else 0))
    if tree < 0:
        raise SetupError(f"{where}: open_tree {source}: {os.strerror(-tree).lower()}")
    r = shim.lib.shim_mount_setattr(tree, b"", AT_EMPTY_PATH
                                    | (AT_RECURSIVE if recursive_attr else 0),
                                    MOUNT_ATTR_IDMAP, 0, 0, ns_fd)
    if r < 0:
        os.close(tree)
        hint = ""
        if -r == 22:
            hint = " (the file system does not support idmapped mounts, or the mapping is " \
                   "the file system's own)"
        raise SetupError(f"{where}: cannot idmap {source}: {os.strerror(-r).lower()}{hint}")
    return tree


def attach(tree: int, target_fd: int, where: str = "mounts") -> None:
    """move_mount the detached ``tree`` onto ``target_fd`` (an O_PATH fd)."""
    from . import shim
    r = shim.lib.shim_move_mount(tree, b"", target_fd, b"",
                                 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
    if r < 0:
        raise SetupError(f"{where}: cannot attach the idmapped mount: {os.strerror(-r).lower()}")


def source_path(m: dict, rootfs: str) -> str:
    src = m.get("source") or ""
    return src if os.path.isabs(src) else os.path.join(os.path.dirname(rootfs), src)


def build_for(m: dict, linux: dict, rootfs: str, where: str,
              cache: "dict | None" = None) -> int:
    kind = wants_idmap(m)
    if not is_bind(m):
        raise SetupError(f"{where}: {kind} is only supported on bind mounts")
    uids, gids = mappings(m, linux, where)
    key = (_fmt(uids), _fmt(gids))
    ns = cache.get(key) if cache is not None else None
    own = ns is None
    if own:
        ns = userns_fd(uids, gids, where)
    try:
        rbind = "rbind" in (m.get("options") or ())
        return build(source_path(m, rootfs), rbind, kind == "ridmap", ns, where)
    finally:
        if own and cache is not None:
            cache[key] = ns
        elif own:
            os.close(ns)


def prepare(cfg: dict, rootfs: str) -> "list[int]":
    """Build every idmapped bind mount of ``cfg`` now (in the runtime's namespaces)
    into PREPARED; returns the fds, for the caller to close once the container's
    setup process has been forked."""
    PREPARED.clear()
    mounts = cfg.get("mounts") or []
    if not any(wants_idmap(m) for m in mounts):
        return []
    linux = cfg.get("linux") or {}
    cache: dict = {}
    fds = []
    try:
        for i, m in enumerate(mounts):
            if wants_idmap(m):
                fd = build_for(m, linux, rootfs, f"mounts[{i}]", cache)
                fds.append(fd)
                PREPARED[i] = fd
    except BaseException:
        for fd in fds:
            os.close(fd)
        PREPARED.clear()
        raise
    finally:
        for ns in cache.values():
            os.close(ns)
    return fds
