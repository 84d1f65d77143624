"""Python face of the cffi shim (``pyruntime._shim``): each call raises OSError
with a message naming the operation, instead of returning -errno."""
import os

from .._shim import ffi, lib  # noqa: F401  (ffi re-exported for callers)

# mount(2) flags
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC = 16, 32, 64, 128
MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_BIND = 256, 1024, 2048, 4096
MS_MOVE, MS_REC, MS_SILENT = 8192, 16384, 32768
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME, MS_LAZYTIME = 1 << 21, 1 << 24, 1 << 25
MNT_DETACH = 2

# namespaces
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# prctl
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36

# openat2 resolve flags
RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS = 0x01, 0x02, 0x04
RESOLVE_BENEATH, RESOLVE_IN_ROOT = 0x08, 0x10

PROC_SUPER_MAGIC = 0x9FA0


def _check(ret: int, what: str) -> int:
    if ret < 0:
        raise OSError(-ret, f"{what}: {os.strerror(-ret)}")
    return ret


def _b(s: "str | bytes | None"):
    if s is None:
        return ffi.NULL
    return s.encode() if isinstance(s, str) else s


def mount(source, target, fstype, flags: int = 0, data=None) -> None:
    _check(lib.shim_mount(_b(source), _b(target), _b(fstype), flags, _b(data)),
           f"mount {fstype or ''} {source or ''} on {target}".replace("  ", " "))


def umount2(target, flags: int = 0) -> None:
    _check(lib.shim_umount2(_b(target), flags), f"umount {target}")


def pivot_root(new_root, put_old) -> None:
    _check(lib.shim_pivot_root(_b(new_root), _b(put_old)), "pivot_root")


def unshare(flags: int) -> None:
    _check(lib.shim_unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(lib.shim_setns(fd, nstype), "setns")


def sethostname(name: str) -> None:
    b = name.encode()
    _check(lib.shim_sethostname(b, len(b)), "sethostname")


def setdomainname(name: str) -> None:
    b = name.encode()
    _check(lib.shim_setdomainname(b, len(b)), "setdomainname")


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    return _check(lib.shim_prctl(option, a2, a3, a4, a5), f"prctl({option})")


def openat2(dirfd: int, path, flags: int, mode: int = 0, resolve: int = 0) -> int:
    return _check(lib.shim_openat2(dirfd, _b(path), flags, mode, resolve), f"open {path}")


def keyctl_join(name: str) -> None:
    r = lib.shim_keyctl_join(name.encode())
    if r < 0:
        raise OSError(-r, f"join session keyring: {os.strerror(-r)}")


def personality(persona: int) -> None:
    _check(lib.shim_personality(persona), "personality")


def fork_into_cgroup(cgroup_fd: int) -> int:
    """os.fork(), with the child born in the cgroup v2 directory ``cgroup_fd``
    (no cgroup.procs write afterwards). OSError if the kernel cannot (< 5.7)."""
    return _check(lib.shim_fork_into_cgroup(cgroup_fd), "clone3(CLONE_INTO_CGROUP)")


def fs_magic(fd: int) -> int:
    out = ffi.new("long *")
    _check(lib.shim_fstatfs_magic(fd, out), "fstatfs")
    return out[0] & 0xFFFFFFFF
