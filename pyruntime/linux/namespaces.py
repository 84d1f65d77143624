"""Namespaces: the config's types, their clone flags and /proc/<pid>/ns names,
joining by path, and writing user-namespace id mappings."""
import os

from ..errors import SetupError

# config type -> (clone flag, /proc/<pid>/ns/<name>). The flags are linux/sched.h's
# (shim.CLONE_NEW*): create's runtime process uses this module without the cffi
# shim, which only the forked setup processes need (~0.35 MiB of RSS).
TYPES = {
    "user": (0x10000000, "user"),
    "pid": (0x20000000, "pid"),
    "network": (0x40000000, "net"),
    "ipc": (0x08000000, "ipc"),
    "uts": (0x04000000, "uts"),
    "mount": (0x00020000, "mnt"),
    "cgroup": (0x02000000, "cgroup"),
    "time": (0x00000080, "time"),
}
# Join order: user first (it owns the others), mount last (paths resolve in the old one).
JOIN_ORDER = ("user", "pid", "network", "ipc", "uts", "cgroup", "time", "mount")


def split(namespaces: list) -> "tuple[dict[str, str], set[str]]":
    """-> ({type: path to join}, {types to create})"""
    join, new = {}, set()
    for ns in namespaces or ():
        if ns.get("path"):
            join[ns["type"]] = ns["path"]
        else:
            new.add(ns["type"])
    return join, new


def open_paths(join: "dict[str, str]") -> "list[tuple[str, int]]":
    """Open every namespace path now (in the runtime's mount namespace), checking
    it is a namespace of the right type; returns [(type, fd)] in join order."""
    fds = []
    try:
        for t in JOIN_ORDER:
            if t not in join:
                continue
            path = join[t]
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as e:
                raise SetupError(f"linux.namespaces: cannot open {t} namespace path {path}: "
                                 f"{e.strerror.lower()}") from None
            fds.append((t, fd))
            # setns with the type checks that the file is a namespace of that type.
        return fds
    except BaseException:
        for _, fd in fds:
            os.close(fd)
        raise


def join(fds: "list[tuple[str, int]]", skip: "tuple[str, ...]" = ()) -> None:
    from . import shim
    for t, fd in fds:
        if t in skip:
            continue
        try:
            shim.setns(fd, TYPES[t][0])
        except OSError as e:
            if e.errno == 22:  # EINVAL: not a namespace, or of another type
                raise SetupError(f"linux.namespaces: the path for the {t} namespace is not a "
                                 f"{t} namespace") from None
            raise SetupError(f"linux.namespaces: cannot join the {t} namespace: "
                             f"{os.strerror(e.errno).lower()}") from None


def unshare_flags(new: "set[str]") -> int:
    flags = 0
    for t in new:
        flags |= TYPES[t][0]
    return flags


def write_id_maps(pid: int, uid_maps: list, gid_maps: list) -> None:
    """Write /proc/<pid>/{uid_map,setgroups,gid_map} for a process that has just
    unshared its user namespace (done by the parent, as the spec requires)."""
    def fmt(maps: list) -> bytes:
        return "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps).encode()
    try:
        if uid_maps:
            with open(f"/proc/{pid}/uid_map", "wb") as f:
                f.write(fmt(uid_maps))
        if gid_maps:
            with open(f"/proc/{pid}/gid_map", "wb") as f:
                f.write(fmt(gid_maps))
    except OSError as e:
        raise SetupError(f"linux.uidMappings/gidMappings: cannot write the id mappings: "
                         f"{e.strerror.lower()}") from None
