"""The container's root filesystem: mounts, /dev, pivot_root, masked and
read-only paths.

Every path inside the rootfs is resolved fd-relative with openat2(RESOLVE_IN_ROOT)
and mounted through /proc/self/fd/N, so a symlink planted in the image at a mount
destination cannot redirect a mount to the host (CVE-2021-30465 and kin).
"""
import os
import stat

from ..errors import SetupError
from . import shim
from .shim import (MNT_DETACH, MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE,
                   MS_RDONLY, MS_REC, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_UNBINDABLE)

# option -> (clear?, flag)  (runc's table)
MOUNT_FLAGS = {
    "async": (True, shim.MS_SYNCHRONOUS), "atime": (True, shim.MS_NOATIME),
    "bind": (False, MS_BIND), "defaults": (False, 0), "dev": (True, MS_NODEV),
    "diratime": (True, shim.MS_NODIRATIME), "dirsync": (False, shim.MS_DIRSYNC),
    "exec": (True, MS_NOEXEC), "mand": (False, shim.MS_MANDLOCK),
    "noatime": (False, shim.MS_NOATIME), "nodev": (False, MS_NODEV),
    "nodiratime": (False, shim.MS_NODIRATIME), "noexec": (False, MS_NOEXEC),
    "nomand": (True, shim.MS_MANDLOCK), "norelatime": (True, shim.MS_RELATIME),
    "nostrictatime": (True, shim.MS_STRICTATIME), "nosuid": (False, MS_NOSUID),
    "nosymfollow": (False, shim.MS_NOSYMFOLLOW), "rbind": (False, MS_BIND | MS_REC),
    "relatime": (False, shim.MS_RELATIME), "remount": (False, MS_REMOUNT),
    "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY), "strictatime": (False, shim.MS_STRICTATIME),
    "suid": (True, MS_NOSUID), "sync": (False, shim.MS_SYNCHRONOUS),
    "lazytime": (False, shim.MS_LAZYTIME), "nolazytime": (True, shim.MS_LAZYTIME),
    "symfollow": (True, shim.MS_NOSYMFOLLOW),
    "iversion": (False, 1 << 23), "noiversion": (True, 1 << 23),
    "silent": (False, shim.MS_SILENT), "loud": (True, shim.MS_SILENT),
}
PROPAGATION = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
    "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
    "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}
# Recursive attributes (mount_setattr): handled by the isolation layer.
RECURSIVE = {"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
             "rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime", "ratime",
             "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow"}
IGNORED = {"tmpcopyup", "idmap", "ridmap"}  # handled by name, not as mount flags


def parse_options(options: "list[str]") -> "tuple[int, int, list[str], list[str]]":
    """-> (flags, propagation flags, data options, recursive attrs)"""
    flags, prop, data, rec = 0, 0, [], []
    for opt in options or ():
        if opt in MOUNT_FLAGS:
            clear, f = MOUNT_FLAGS[opt]
            flags = flags & ~f if clear else flags | f
        elif opt in PROPAGATION:
            prop |= PROPAGATION[opt]
        elif opt in RECURSIVE:
            rec.append(opt)
        elif opt in IGNORED:
            continue
        else:
            data.append(opt)
    return flags, prop, data, rec


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


def open_in_root(rootfd: int, path: str, flags: int = os.O_PATH) -> int:
    """Open ``path`` inside the root, symlinks resolved as if the root were /."""
    return shim.openat2(rootfd, path.lstrip("/") or ".", flags | os.O_CLOEXEC, 0,
                        shim.RESOLVE_IN_ROOT | shim.RESOLVE_NO_MAGICLINKS)


def mkdir_in_root(rootfd: int, path: str, mode: int = 0o755, file_leaf: bool = False) -> int:
    """Create ``path`` (and missing parents) inside the root, never following a
    symlink out of it; return an O_PATH fd of the result."""
    try:
        return open_in_root(rootfd, path)
    except FileNotFoundError:
        pass
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise SetupError(f"destination {path!r} must not contain '..'")
    for i, name in enumerate(parts):
        prefix = "/".join(parts[:i + 1])
        try:
            fd = open_in_root(rootfd, prefix)
        except FileNotFoundError:
            parent = open_in_root(rootfd, "/".join(parts[:i]), os.O_PATH | os.O_DIRECTORY)
            try:
                if i == len(parts) - 1 and file_leaf:
                    os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC
                                     | os.O_NOFOLLOW, 0o644, dir_fd=parent))
                else:
                    os.mkdir(name, mode, dir_fd=parent)
            except FileExistsError:
                # A dangling symlink: resolving it inside the root found nothing.
                raise SetupError(f"destination {path!r}: /{prefix} is a dangling symlink") \
                    from None
            except NotADirectoryError:
                raise SetupError(f"destination {path!r}: a parent is not a directory") from None
            finally:
                os.close(parent)
            fd = open_in_root(rootfd, prefix)
        if i == len(parts) - 1:
            return fd
        os.close(fd)
    return open_in_root(rootfd, ".")


class Rootfs:
    """Sets up the container's filesystem inside its (new) mount namespace."""

    def __init__(self, rootfs: str, cfg: dict, cgroup_sources=None, in_userns: bool = False):
        self.rootfs = rootfs
        self.cfg = cfg
        self.linux = cfg.get("linux") or {}
        self.cgroup_sources = cgroup_sources or []
        self.in_userns = in_userns
        self.rootfd = -1

    # -- before pivot_root --------------------------------------------------
    def prepare(self) -> None:
        prop = self.linux.get("rootfsPropagation")
        # Nothing we do may propagate back to the host.
        shim.mount(None, "/", None, MS_SLAVE | MS_REC)
        if prop in ("rprivate",):
            shim.mount(None, "/", None, PROPAGATION[prop])
        self._make_parent_private()
        shim.mount(self.rootfs, self.rootfs, None, MS_BIND | MS_REC)
        self.rootfd = os.open(self.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        mounts = self.cfg.get("mounts") or []
        dev_is_bind = False
        for i, m in enumerate(mounts):
            try:
                self.mount_one(m)
            except SetupError:
                raise
            except OSError as e:
                raise SetupError(f"mounts[{i}]: mount {m.get('source', '')} on "
                                 f"{m.get('destination')}: {e.strerror.lower()}") from None
            if m.get("destination") == "/dev" and m.get("type") in ("bind", "none", None) \
                    and "bind" in "".join(m.get("options") or []):
                dev_is_bind = True
        if not dev_is_bind:
            self.create_devices()
        self.create_config_devices()

    def _make_parent_private(self) -> None:
        """pivot_root refuses a new root whose parent mount is shared."""
        best, best_id = "", None
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                mp = fields[4].replace("\\040", " ")
                if (self.rootfs == mp or self.rootfs.startswith(mp.rstrip("/") + "/")) \
                        and len(mp) >= len(best):
                    best, best_id = mp, fields
        if best_id and any(o.startswith("shared:") for o in best_id[6:best_id.index("-")]):
            shim.mount(None, best, None, MS_PRIVATE)

    def mount_one(self, m: dict) -> None:
        dest = m.get("destination", "")
        mtype = m.get("type") or ""
        source = m.get("source") or ""
        flags, prop, data, rec = parse_options(m.get("options") or [])
        if mtype == "bind":
            flags |= MS_BIND
        if mtype == "cgroup":
            return self._mount_cgroup(dest, flags)
        is_bind = bool(flags & MS_BIND)
        if is_bind:
            if not os.path.isabs(source):
                source = os.path.join(os.path.dirname(self.rootfs), source)
            try:
                src_is_dir = stat.S_ISDIR(os.stat(source).st_mode)
            except OSError as e:
                raise SetupError(f"mount source {source} for {dest}: "
                                 f"{e.strerror.lower()}") from None
        try:
            fd = mkdir_in_root(self.rootfd, dest, file_leaf=is_bind and not src_is_dir)
        except OSError as e:
            raise SetupError(f"cannot create the mount point {dest} in the rootfs: "
                             f"{e.strerror.lower()}") from None
        try:
            target = fd_path(fd)
            label = self.linux.get("mountLabel")
            if label and not is_bind and mtype not in ("proc", "sysfs", "mqueue", "cgroup",
                                                        "cgroup2"):
                data = data + [f'context="{label}"']  # runc's label.FormatMountLabel
            datastr = ",".join(data) or None
            if is_bind:
                if "idmap" in (m.get("options") or ()) or "ridmap" in (m.get("options") or ()):
                    self._mount_idmapped(m, fd)
                else:
                    shim.mount(source, target, None, MS_BIND | (flags & MS_REC))
                extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
                if extra:
                    # Re-open: the fd refers to the directory *under* the new mount.
                    fd2 = open_in_root(self.rootfd, dest)
                    try:
                        self._remount_bind(fd_path(fd2), extra)
                    finally:
                        os.close(fd2)
            elif flags & MS_REMOUNT:
                # "remount": change the mount already at the destination, not stack one.
                fd2 = open_in_root(self.rootfd, dest)
                try:
                    shim.mount(None, fd_path(fd2), None, flags, datastr)
                finally:
                    os.close(fd2)
            elif mtype == "tmpfs" and "tmpcopyup" in (m.get("options") or ()):
                self._tmpfs_copyup(fd, source, flags, datastr)
            else:
                shim.mount(source or mtype, target, mtype, flags, datastr)
            if prop or rec:
                fd2 = open_in_root(self.rootfd, dest)
                try:
                    if prop:
                        shim.mount(None, fd_path(fd2), None, prop)
                    if rec:
                        apply_recursive_attrs(fd2, rec)
                finally:
                    os.close(fd2)
        finally:
            os.close(fd)

    def _tmpfs_copyup(self, fd: int, source: str, flags: int, data: "str | None") -> None:
        """tmpcopyup: the new tmpfs starts with a copy of what it covers."""
        import shutil
        lower = os.open(fd_path(fd), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            shim.mount(source or "tmpfs", fd_path(fd), "tmpfs", flags & ~MS_RDONLY, data)
            upper = os.open(fd_path(fd), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                shutil.copytree(fd_path(lower), fd_path(upper), symlinks=True,
                                dirs_exist_ok=True)
                if flags & MS_RDONLY:
                    shim.mount(None, fd_path(upper), None, MS_REMOUNT | flags, data)
            finally:
                os.close(upper)
        finally:
            os.close(lower)

    def _mount_idmapped(self, m: dict, target_fd: int) -> None:
        """An idmapped bind mount (``idmap``/``ridmap``): the detached tree the
        runtime built before forking (idmap.prepare), else built here, which
        only works outside a user namespace."""
        from . import idmap
        mounts = self.cfg.get("mounts") or []
        index = next((i for i, x in enumerate(mounts) if x is m), -1)
        where = f"mounts[{index}]"
        tree = idmap.PREPARED.pop(index, None)
        if tree is None:
            if self.in_userns:
                raise SetupError(f"{where}: the idmapped mount must be prepared by the runtime "
                                 "outside the container's user namespace")
            tree = idmap.build_for(m, self.linux, self.rootfs, where)
        try:
            idmap.attach(tree, target_fd, where)
        finally:
            os.close(tree)

    @staticmethod
    def _remount_bind(target: str, flags: int) -> None:
        try:
            shim.mount(None, target, None, MS_BIND | MS_REMOUNT | flags)
        except PermissionError:
            # Locked flags of the source mount (e.g. nodev in a user namespace) must be kept.
            st = os.statvfs(target)
            locked = st.f_flag & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048)
            shim.mount(None, target, None, MS_BIND | MS_REMOUNT | flags | locked)

    def _mount_cgroup(self, dest: str, flags: int) -> None:
        ro = flags & MS_RDONLY
        base = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        fd = mkdir_in_root(self.rootfd, dest)
        try:
            if len(self.cgroup_sources) == 1 and self.cgroup_sources[0][0] == "":
                # cgroup v2: the container's own cgroup directory as the root.
                shim.mount(self.cgroup_sources[0][1], fd_path(fd), None, MS_BIND)
                self._remount_bind(fd_path(open_in_root(self.rootfd, dest)), base | ro)
                return
            shim.mount("tmpfs", fd_path(fd), "tmpfs", base, "mode=755")
        finally:
            os.close(fd)
        for name, hostdir in self.cgroup_sources:
            sub = mkdir_in_root(self.rootfd, f"{dest}/{name}")
            try:
                shim.mount(hostdir, fd_path(sub), None, MS_BIND)
            finally:
                os.close(sub)
            sub = open_in_root(self.rootfd, f"{dest}/{name}")
            try:
                self._remount_bind(fd_path(sub), base | ro)
            finally:
                os.close(sub)
            if "," in name:  # co-mounted controllers: cpu,cpuacct -> cpu, cpuacct links
                for part in name.split(","):
                    d = open_in_root(self.rootfd, dest, os.O_DIRECTORY)
                    try:
                        os.symlink(name, part, dir_fd=d)
                    except FileExistsError:
                        pass
                    finally:
                        os.close(d)
        if ro:
            fd = open_in_root(self.rootfd, dest)
            try:
                shim.mount(None, fd_path(fd), None, MS_REMOUNT | MS_RDONLY | base, "mode=755")
            finally:
                os.close(fd)

    DEFAULT_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                       ("urandom", 1, 9), ("tty", 5, 0))

    def create_devices(self) -> None:
        """The default devices and /dev links of runtime-linux.md."""
        devfd = mkdir_in_root(self.rootfd, "/dev")
        try:
            dfd = os.open(fd_path(devfd), os.O_DIRECTORY | os.O_CLOEXEC)
        finally:
            os.close(devfd)
        try:
            for name, major, minor in self.DEFAULT_DEVICES:
                self._make_device(dfd, name, stat.S_IFCHR, major, minor, 0o666, 0, 0)
            for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                                 ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                                 ("ptmx", "pts/ptmx")):
                try:
                    os.symlink(target, name, dir_fd=dfd)
                except FileExistsError:
                    pass
            if os.path.exists("/proc/kcore"):
                try:
                    os.symlink("/proc/kcore", "core", dir_fd=dfd)
                except FileExistsError:
                    pass
        finally:
            os.close(dfd)

    def _make_device(self, dfd: int, name: str, kind: int, major: int, minor: int, mode: int,
                     uid: int, gid: int, host_path: "str | None" = None,
                     strict: bool = False) -> None:
        try:
            st = os.lstat(name, dir_fd=dfd)
            if (st.st_mode & 0o170000) == kind and st.st_rdev == os.makedev(major, minor):
                return
            if strict:  # config-linux.md#devices: an existing file that does not match
                raise SetupError(f"{host_path or name}: a file that is not the requested "
                                 "device already exists there")
            if stat.S_ISLNK(st.st_mode):
                os.unlink(name, dir_fd=dfd)
        except FileNotFoundError:
            pass
        if not self.in_userns:
            try:
                try:
                    os.unlink(name, dir_fd=dfd)
                except FileNotFoundError:
                    pass
                os.mknod(name, kind | (mode & 0o7777), os.makedev(major, minor), dir_fd=dfd)
                os.chmod(name, mode & 0o7777, dir_fd=dfd)  # umask-proof
                os.chown(name, uid, gid, dir_fd=dfd, follow_symlinks=False)
                return
            except PermissionError:
                pass
        # In a user namespace mknod is not allowed: bind-mount the host's device.
        host = host_path or f"/dev/{name}"
        if not os.path.exists(host):
            raise SetupError(f"cannot create device {host}: mknod not permitted and no "
                             "host device to bind")
        fd = os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644,
                     dir_fd=dfd)
        try:
            shim.mount(host, fd_path(fd), None, MS_BIND)
        finally:
            os.close(fd)

    def create_config_devices(self) -> None:
        kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
        for i, d in enumerate(self.linux.get("devices") or []):
            path = d["path"]
            parent, name = os.path.split(path)
            pfd = mkdir_in_root(self.rootfd, parent)
            try:
                dfd = os.open(fd_path(pfd), os.O_DIRECTORY | os.O_CLOEXEC)
            finally:
                os.close(pfd)
            try:
                mode = d.get("fileMode", 0o666)
                try:
                    self._make_device(dfd, name, kinds[d["type"]], d.get("major", 0),
                                      d.get("minor", 0), mode, d.get("uid", 0), d.get("gid", 0),
                                      host_path=path, strict=True)
                except OSError as e:
                    raise SetupError(f"linux.devices[{i}]: cannot create {path}: "
                                     f"{e.strerror.lower()}") from None
            finally:
                os.close(dfd)

    # -- switching root -------------------------------------------------------
    def pivot(self, no_pivot: bool = False) -> None:
        if self.rootfd >= 0:
            os.close(self.rootfd)
            self.rootfd = -1
        newroot = os.open(self.rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        oldroot = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fchdir(newroot)
            if no_pivot:
                shim.mount(self.rootfs, "/", None, MS_MOVE)
                os.chroot(".")
            else:
                shim.pivot_root(".", ".")
                # The old root is now stacked on the new one. Step onto it (as
                # runc does: "." from the new root's fd is the new root, and
                # making that rslave would wipe the mounts' propagation
                # settings), then detach it without propagating the unmount.
                os.fchdir(oldroot)
                shim.mount(None, ".", None, MS_SLAVE | MS_REC)
                shim.umount2(".", MNT_DETACH)
            os.chdir("/")
        finally:
            os.close(newroot)
            os.close(oldroot)
        self.rootfd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    # -- after pivot_root -----------------------------------------------------
    def finish(self) -> None:
        for p in self.linux.get("maskedPaths") or []:
            self.mask(p)
        for p in self.linux.get("readonlyPaths") or []:
            self.make_readonly(p)
        # On the container's root mount, after pivot_root (before it, "unbindable"
        # would forbid the rootfs bind mount, and "private" would miss the rootfs
        # mount, which stays a slave of a shared bundle mount).
        prop = self.linux.get("rootfsPropagation")
        if prop:
            shim.mount(None, "/", None, PROPAGATION[prop])

    def mask(self, path: str) -> None:
        try:
            fd = open_in_root(self.rootfd, path)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                shim.mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY)
            else:
                null = self._null_device()
                try:
                    shim.mount(fd_path(null), fd_path(fd), None, MS_BIND)
                finally:
                    os.close(null)
        except OSError as e:
            raise SetupError(f"linux.maskedPaths: cannot mask {path}: {e.strerror.lower()}") \
                from None
        finally:
            os.close(fd)

    def _null_device(self) -> int:
        """An O_PATH fd of the container's /dev/null, checked to BE the null
        device: a symlink or another file there (an image's /dev, a shared volume)
        would make a masked path a bind of a writable procfs file (CVE-2025-31133)."""
        try:
            fd = open_in_root(self.rootfd, "/dev/null")
        except OSError as e:
            raise SetupError(f"linux.maskedPaths: /dev/null: {e.strerror.lower()}") from None
        st = os.fstat(fd)
        if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
            os.close(fd)
            raise SetupError("linux.maskedPaths: /dev/null in the container is not the null "
                             "device (1:3): refusing to mask with it")
        return fd

    def make_readonly(self, path: str) -> None:
        try:
            fd = open_in_root(self.rootfd, path)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            shim.mount(fd_path(fd), fd_path(fd), None, MS_BIND | MS_REC)
        except OSError as e:
            os.close(fd)
            raise SetupError(f"linux.readonlyPaths: cannot bind {path}: {e.strerror.lower()}") \
                from None
        os.close(fd)
        fd = open_in_root(self.rootfd, path)
        try:
            self._remount_bind(fd_path(fd), MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as e:
            raise SetupError(f"linux.readonlyPaths: cannot make {path} read-only: "
                             f"{e.strerror.lower()}") from None
        finally:
            os.close(fd)

    def readonly_root(self) -> None:
        self._remount_bind("/", MS_RDONLY)

    def close(self) -> None:
        if self.rootfd >= 0:
            os.close(self.rootfd)
            self.rootfd = -1


def apply_recursive_attrs(fd: int, attrs: "list[str]") -> None:
    """rro, rnosuid, ... through mount_setattr(AT_RECURSIVE)."""
    MOUNT_ATTR = {"ro": 0x1, "nosuid": 0x2, "nodev": 0x4, "noexec": 0x8, "noatime": 0x10,
                  "strictatime": 0x20, "nodiratime": 0x80, "nosymfollow": 0x200000,
                  "relatime": 0x0, "atime": 0x0, "diratime": 0x0}
    aset = aclr = 0
    for a in attrs:
        name = a[1:]
        if name in ("rw", "suid", "dev", "exec", "symfollow"):
            aclr |= MOUNT_ATTR["no" + name if name != "rw" else "ro"]
        elif name in ("diratime",):
            aclr |= MOUNT_ATTR["nodiratime"]
        elif name in ("relatime", "norelatime", "strictatime", "nostrictatime", "atime",
                      "noatime"):
            aclr |= 0x70  # MOUNT_ATTR__ATIME
            aset |= {"relatime": 0x0, "strictatime": 0x20, "noatime": 0x10}.get(name, 0)
        else:
            aset |= MOUNT_ATTR[name]
    r = shim.lib.shim_mount_setattr(fd, b"", 0x1000 | 0x8000, aset, aclr, 0, 0)  # EMPTY_PATH|RECURSIVE
    if r < 0:
        raise OSError(-r, f"mount_setattr: {os.strerror(-r)}")
