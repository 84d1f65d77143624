"""What this host's cgroups offer, and where a running container's cgroup
files are -- found independently of pyruntime (from /proc/self/mountinfo,
/proc/<pid>/cgroup and probe directories), so the tests also judge runc.

* ``host()`` -> :class:`CgHost` (cached): ``mode`` "v1" | "hybrid" | "v2",
  the mount of every v1 controller and of the unified hierarchy, which files a
  fresh cgroup has (a probe dir made once and removed), huge page sizes, a
  real block device for throttle rules.
* ``CgDirs(pid)`` -> the container's directory per controller (read while the
  init is alive; the paths stay usable after it exits), ``read(spec)`` where
  spec is "memory.max" (v2), "memory.limit_in_bytes" (v1: the hierarchy comes
  from the file's prefix), or "unified:cgroup.max.descendants" (hybrid).
"""
from __future__ import annotations

import os
import secrets

from support.leaks import unescape_mountinfo

IN_GUEST = os.environ.get("PYRT_IN_V2_GUEST") == "1"

#: file prefix -> v1 controller
PREFIX = {"memory": "memory", "cpu": "cpu", "cpuacct": "cpuacct", "cpuset": "cpuset",
          "blkio": "blkio", "pids": "pids", "devices": "devices", "freezer": "freezer",
          "hugetlb": "hugetlb", "net_cls": "net_cls", "net_prio": "net_prio", "rdma": "rdma",
          "perf_event": "perf_event"}


def _read(path: str, default: "str | None" = None) -> "str | None":
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


class CgHost:
    def __init__(self) -> None:
        self.v1: "dict[str, tuple[str, str]]" = {}   # controller -> (mountpoint, mount root)
        self.v1_names: "dict[str, str]" = {}          # hierarchy name ("cpu,cpuacct") -> mountpoint
        self.unified: "str | None" = None
        self.unified_root = "/"
        known = set()
        for ln in (_read("/proc/cgroups", "") or "").splitlines()[1:]:
            if ln.split():
                known.add(ln.split()[0])
        with open("/proc/self/mountinfo") as f:
            for line in f.read().splitlines():
                pre, _, post = line.partition(" - ")
                fields, tail = pre.split(), post.split()
                if len(tail) < 3:
                    continue
                mnt, root = unescape_mountinfo(fields[4]), unescape_mountinfo(fields[3])
                if tail[0] == "cgroup2":
                    if self.unified is None or mnt == "/sys/fs/cgroup":
                        self.unified, self.unified_root = mnt, root
                elif tail[0] == "cgroup":
                    opts = tail[2].split(",")
                    ctrls = [o for o in opts if o in known or o.startswith("name=")]
                    if not ctrls:
                        continue
                    name = ",".join(ctrls)
                    if name in self.v1_names:
                        continue
                    self.v1_names[name] = mnt
                    for c in ctrls:
                        self.v1[c] = (mnt, root)
        real = [c for c in self.v1 if not c.startswith("name=")]
        if self.unified == "/sys/fs/cgroup" or (self.unified and not real):
            self.mode = "v2"
            self.v1 = {}
            self.v1_names = {}
        elif real:
            self.mode = "hybrid" if self.unified else "v1"
        else:
            raise RuntimeError("no cgroup filesystem mounted")
        self.files: "dict[str, set[str]]" = {}   # controller ("" = unified) -> files of a fresh cgroup
        self._probe()
        self.hugepage_sizes = _hugepage_sizes()
        self.block_device = _block_device()
        self.bfq_device = _bfq_device()

    # -- what is there ---------------------------------------------------------
    @property
    def is_v2(self) -> bool:
        return self.mode == "v2"

    def unified_controllers(self) -> "set[str]":
        if not self.unified:
            return set()
        return set((_read(os.path.join(self.unified, "cgroup.controllers"), "") or "").split())

    def has_controller(self, c: str) -> bool:
        """Usable by a container: a mounted v1 hierarchy, or (v2) offered by the root."""
        if self.is_v2:
            return c in self.unified_controllers()
        return c in self.v1

    def has_file(self, name: str) -> bool:
        """Does a fresh (non-root) cgroup have this file?"""
        if self.is_v2:
            return name in self.files.get("", set())
        ctrl = PREFIX.get(name.split(".", 1)[0])
        return name in self.files.get(ctrl, set())

    def _probe(self) -> None:
        tag = f"pyrt-res-probe-{secrets.token_hex(4)}"
        if self.is_v2:
            self.files[""] = _probe_dir(self.unified, tag)
            return
        for name, mnt in self.v1_names.items():
            files = _probe_dir(mnt, tag)
            for c in name.split(","):
                self.files[c] = files
        if self.unified:
            self.files[""] = _probe_dir(self.unified, tag)

    def describe(self) -> str:
        ctr = sorted(self.unified_controllers()) if self.is_v2 else sorted(self.v1)
        return f"cgroup {self.mode}; controllers: {' '.join(ctr)}"


def _probe_dir(mount: str, tag: str) -> "set[str]":
    d = os.path.join(mount, tag)
    try:
        os.mkdir(d)
    except OSError:
        return set()
    try:
        return set(os.listdir(d))
    finally:
        try:
            os.rmdir(d)
        except OSError:
            pass


def _hugepage_sizes() -> "list[str]":
    out = []
    try:
        names = os.listdir("/sys/kernel/mm/hugepages")
    except OSError:
        return out
    for n in names:
        if n.startswith("hugepages-") and n.endswith("kB"):
            kb = int(n[10:-2])
            b = kb * 1024
            out.append(f"{b >> 30}GB" if b >= 1 << 30 else f"{b >> 20}MB" if b >= 1 << 20
                       else f"{kb}KB")
    return sorted(out, key=lambda s: (s[-2:] != "KB", s[-2:] != "MB", int(s[:-2])))


def _block_devices() -> "list[tuple[str, int, int]]":
    out = []
    try:
        names = sorted(os.listdir("/sys/block"))
    except OSError:
        return out
    for n in names:
        dev = _read(f"/sys/block/{n}/dev")
        if dev and ":" in dev:
            ma, mi = dev.strip().split(":")
            out.append((n, int(ma), int(mi)))
    return out


def _block_device() -> "tuple[int, int] | None":
    """(major, minor) of a whole disk for throttle rules; real disks first."""
    devs = _block_devices()
    for n, ma, mi in devs:
        if not n.startswith(("loop", "ram", "zram", "nbd")):
            return ma, mi
    return (devs[0][1], devs[0][2]) if devs else None


def _bfq_device() -> "tuple[int, int] | None":
    """A disk whose I/O scheduler is BFQ (blkio.bfq.weight_device needs one)."""
    for n, ma, mi in _block_devices():
        sched = _read(f"/sys/block/{n}/queue/scheduler", "") or ""
        if "[bfq]" in sched:
            return ma, mi
    return None


_HOST: "CgHost | None" = None


def host() -> CgHost:
    global _HOST
    if _HOST is None:
        _HOST = CgHost()
    return _HOST


# -- a container's cgroups ---------------------------------------------------------

def proc_cgroup(pid: int) -> "dict[str, str]":
    """/proc/<pid>/cgroup -> {hierarchy name: path} ("" = unified)."""
    out = {}
    for line in (_read(f"/proc/{pid}/cgroup", "") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[parts[1]] = parts[2]
    return out


def _under(mount: str, root: str, path: str) -> str:
    if root not in ("", "/") and path.startswith(root.rstrip("/")):
        path = path[len(root.rstrip("/")):] or "/"
    return mount.rstrip("/") + ("" if path == "/" else path)


class CgDirs:
    """The cgroup directories of a (live) process, per controller."""

    def __init__(self, pid: int, h: "CgHost | None" = None) -> None:
        self.h = h or host()
        raw = proc_cgroup(pid)
        if not raw:
            raise AssertionError(f"pid {pid}: no /proc/{pid}/cgroup (process gone?)")
        self.raw = raw
        self.by_ctrl: "dict[str, str]" = {}
        self.unified: "str | None" = None
        if self.h.is_v2:
            self.unified = _under(self.h.unified, self.h.unified_root, raw.get("", "/"))
        else:
            for name, path in raw.items():
                if name == "":
                    if self.h.unified:
                        self.unified = _under(self.h.unified, self.h.unified_root, path)
                    continue
                for c in name.split(","):
                    if c in self.h.v1:
                        mnt, root = self.h.v1[c]
                        self.by_ctrl[c] = _under(mnt, root, path)

    def all_dirs(self) -> "list[str]":
        """Every directory (every hierarchy, unified included), deduplicated."""
        out = sorted(set(self.by_ctrl.values()))
        if self.unified:
            out.append(self.unified)
        return out

    def dir_for(self, spec: str) -> "tuple[str, str]":
        """spec -> (directory, file name)."""
        where, sep, name = spec.partition(":")
        if not sep:
            where, name = "", spec
        if self.h.is_v2 or where == "unified":
            assert self.unified, f"{spec}: no unified cgroup for this process"
            return self.unified, name
        ctrl = where or PREFIX.get(name.split(".", 1)[0])
        d = self.by_ctrl.get(ctrl)
        assert d, f"{spec}: the process is in no {ctrl} hierarchy ({self.raw})"
        return d, name

    def path(self, spec: str) -> str:
        d, name = self.dir_for(spec)
        return os.path.join(d, name)

    def read(self, spec: str) -> str:
        with open(self.path(spec)) as f:
            return f.read().strip()

    def exists(self, spec: str) -> bool:
        try:
            return os.path.exists(self.path(spec))
        except AssertionError:
            return False

    def procs(self) -> "set[int]":
        """Every pid in the container's cgroups (recursively, all hierarchies)."""
        pids: set[int] = set()
        for d in self.all_dirs():
            for dirpath, _, files in os.walk(d):
                if "cgroup.procs" in files:
                    txt = _read(os.path.join(dirpath, "cgroup.procs"), "") or ""
                    pids.update(int(p) for p in txt.split())
        return pids
