"""Control groups: detection, path semantics and the per-version managers.

Import-light on purpose (``pyruntime state`` imports this on every call): only
``os`` and ``sys`` at import time; no cgroupspy, no ``re``. The managers live in
``v1.py`` (cgroup v1 and hybrid, via cgroupspy) and ``v2.py`` (unified) and are
imported on first use. See docs/cgroups.md.

Interface used by the core runtime::

    detect() -> Layout                      # cached
    resolve_path(cgroups_path, container_id) -> str   # absolute cgroup path
    new_manager(path, layout=None) -> Manager
    manager_from_state(d) -> Manager        # d = Manager.to_state()
    is_frozen_from_state(d) -> bool         # one file read
"""

import os
import sys

from ..errors import CgroupError

__all__ = ["CgroupError", "Layout", "Hierarchy", "Manager", "detect", "resolve_path",
           "new_manager", "manager_from_state", "is_frozen_from_state", "warn"]

# The usual places; detection reads /proc/self/mountinfo, these only break ties.
DEFAULT_ROOT = "/sys/fs/cgroup"
HYBRID_UNIFIED = "/sys/fs/cgroup/unified"


def warn(msg: str) -> None:
    """A warning through pyruntime.log (so it lands in --log), else on stderr."""
    try:
        from .. import log
        fn = getattr(log, "warning", None)
    except ImportError:
        fn = None
    if fn is not None:
        fn(msg)
    else:
        sys.stderr.write(f"pyruntime: warning: {msg}\n")


# -- detection -----------------------------------------------------------------

class Hierarchy:
    """One mounted cgroup v1 hierarchy: ``name`` is the mount's controller list
    as /proc/self/cgroup spells it ("cpu,cpuacct", "memory", "name=systemd")."""

    __slots__ = ("name", "controllers", "mountpoint", "root")

    def __init__(self, name: str, controllers: "tuple[str, ...]", mountpoint: str, root: str):
        self.name = name
        self.controllers = controllers
        self.mountpoint = mountpoint
        self.root = root  # the hierarchy path mounted there ("/" normally)

    def __repr__(self) -> str:
        return f"Hierarchy({self.name!r}, {self.mountpoint!r}, root={self.root!r})"


class Layout:
    """What this host mounts. ``mode``: "v1" (v1 controllers only), "hybrid" (v1
    controllers plus a cgroup2 mount, e.g. /sys/fs/cgroup/unified) or "v2"."""

    def __init__(self, mode: str, hierarchies: "list[Hierarchy]", unified: "str | None",
                 unified_root: str = "/"):
        self.mode = mode
        self.hierarchies = hierarchies
        self.unified = unified
        self.unified_root = unified_root
        self._own: "dict[str, str] | None" = None

    def __repr__(self) -> str:
        return f"Layout({self.mode!r}, {self.hierarchies!r}, unified={self.unified!r})"

    @property
    def mountpoints(self) -> "dict[str, str]":
        """controller -> mountpoint (v1 hierarchies; "" -> the unified mount)."""
        out = {}
        for h in self.hierarchies:
            for c in h.controllers:
                out[c] = h.mountpoint
        if self.unified:
            out[""] = self.unified
        return out

    def hierarchy(self, controller: str) -> "Hierarchy | None":
        for h in self.hierarchies:
            if controller in h.controllers:
                return h
        return None

    def own_cgroups(self) -> "dict[str, str]":
        """hierarchy name ("" = unified) -> this process's cgroup, relative to
        that hierarchy's mount (i.e. with the mount's root stripped)."""
        if self._own is None:
            self._own = _own_cgroups(self)
        return self._own


def _unescape(s: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _known_subsystems() -> "set[str]":
    try:
        with open("/proc/cgroups") as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    return {ln.split()[0] for ln in lines[1:] if ln and not ln.startswith("#")}


def parse_mountinfo(text: str, subsystems: "set[str] | None" = None) -> Layout:
    """Build a Layout from /proc/self/mountinfo text (pure; unit-tested)."""
    if subsystems is None:
        subsystems = _known_subsystems()
    v1: "dict[str, Hierarchy]" = {}
    v2: "list[tuple[str, str]]" = []
    for line in text.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fields, tail = pre.split(), post.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype = tail[0]
        root, mnt = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            v2.append((mnt, root))
        elif fstype == "cgroup":
            opts = tail[2].split(",")
            ctrls = tuple(o for o in opts if o in subsystems or o.startswith("name="))
            if not ctrls:
                continue
            name = ",".join(ctrls)
            if name not in v1:  # first mount of a hierarchy wins (later ones are binds)
                v1[name] = Hierarchy(name, ctrls, mnt, root)
    unified, uroot = None, "/"
    if v2:
        by_mnt = dict(v2)
        for pref in (DEFAULT_ROOT, HYBRID_UNIFIED):
            if pref in by_mnt:
                unified, uroot = pref, by_mnt[pref]
                break
        else:
            unified, uroot = v2[0]
    real_v1 = [h for h in v1.values() if any(not c.startswith("name=") for c in h.controllers)]
    if unified is not None and (unified == DEFAULT_ROOT or not real_v1):
        return Layout("v2", [], unified, uroot)
    if real_v1:
        return Layout("hybrid" if unified else "v1", list(v1.values()), unified, uroot)
    raise CgroupError("no cgroup filesystem is mounted (see /proc/self/mountinfo)")


_LAYOUT: "Layout | None" = None


def detect(refresh: bool = False) -> Layout:
    """The host's cgroup layout (cached for the life of the process)."""
    global _LAYOUT
    if _LAYOUT is None or refresh:
        try:
            with open("/proc/self/mountinfo") as f:
                text = f.read()
        except OSError as e:
            raise CgroupError(f"cannot read /proc/self/mountinfo: {e.strerror}") from None
        _LAYOUT = parse_mountinfo(text)
    return _LAYOUT


def _strip_root(path: str, root: str) -> str:
    if root in ("", "/"):
        return path or "/"
    if path == root:
        return "/"
    if path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")):]
    return "/"  # outside the mounted subtree (cgroup namespace quirks)


def parse_proc_cgroup(text: str) -> "dict[str, str]":
    """/proc/<pid>/cgroup -> {hierarchy name: path}; the unified entry is ""."""
    out = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[parts[1]] = parts[2]
    return out


def _own_cgroups(layout: Layout) -> "dict[str, str]":
    try:
        with open("/proc/self/cgroup") as f:
            raw = parse_proc_cgroup(f.read())
    except OSError:
        raw = {}
    out = {}
    for h in layout.hierarchies:
        if h.name in raw:
            out[h.name] = _strip_root(raw[h.name], h.root)
    if layout.unified and "" in raw:
        out[""] = _strip_root(raw[""], layout.unified_root)
    return out


# -- path semantics ---------------------------------------------------------------

def clean_path(p: str) -> str:
    """runc's utils.CleanPath: lexical clean; a relative path stays relative but
    can never climb above its base ("../../x" -> "x")."""
    if not p:
        return ""
    if p.startswith("/"):
        return os.path.normpath(p).replace("//", "/")
    return os.path.normpath("/" + p).lstrip("/")


def relative_base(layout: Layout, own: "dict[str, str] | None" = None) -> str:
    """Where a relative cgroupsPath is anchored, as runc does: v2: the parent of
    the runtime's own cgroup (its own one has processes in it, so it cannot have
    controller-enabled children); v1: the runtime's own cgroup. On v1 runc
    resolves per controller; one path for all (the spec has no per-controller
    paths) is the deepest of the runtime's own v1 cgroups, which is where a
    resource limit placed on the runtime itself (a memory-limited sandbox) lives."""
    if own is None:
        own = layout.own_cgroups()
    if layout.mode == "v2":
        mine = own.get("", "/") or "/"
        return os.path.dirname(mine.rstrip("/")) or "/"
    best = "/"
    for h in layout.hierarchies:
        p = own.get(h.name)
        if p and len(p.rstrip("/").split("/")) > len(best.rstrip("/").split("/")):
            best = p
    return best


def resolve_path(cgroups_path: "str | None", container_id: str,
                 layout: "Layout | None" = None) -> str:
    """linux.cgroupsPath -> an absolute cgroup path (relative to the mount point
    of every hierarchy). Absolute: taken as is (cleaned). Relative: under the
    runtime's own cgroup (see relative_base). Absent: "<container_id>", relative,
    as runc does. Podman's cgroupfs "libpod_parent/libpod-<id>" is relative;
    containerd's "/<namespace>/<id>" is absolute."""
    if cgroups_path is not None and not isinstance(cgroups_path, str):
        raise CgroupError(f"linux.cgroupsPath: expected a string, got {cgroups_path!r}")
    p = cgroups_path or ""
    if "\0" in p or "\n" in p:
        raise CgroupError(f"linux.cgroupsPath: invalid path {p!r}")
    if p.startswith("/"):
        return clean_path(p)
    rel = clean_path(p) if p else clean_path(container_id)
    if not rel or rel == ".":
        raise CgroupError(f"linux.cgroupsPath: invalid path {p!r}")
    base = relative_base(layout or detect())
    return clean_path(base.rstrip("/") + "/" + rel)


# -- managers ------------------------------------------------------------------------

class Manager:
    """One container's cgroup(s). See v1.V1Manager / v2.V2Manager."""

    version = 0
    path = "/"

    def create(self) -> None:
        raise NotImplementedError

    def apply(self, pid: int) -> None:
        raise NotImplementedError

    # Joining the container's init, in three steps (see docs/architecture.md):
    # apply_early() while the Python setup still runs (hierarchies that charge no
    # memory), the init writes "0" to each self_join_files() fd itself after it
    # has exec'd the C stage (v1: a task moving itself skips the global
    # threadgroup lock and its RCU grace period, ~10-20 ms per create), and
    # apply_late() for what is left (v2: cgroup.procs).
    def self_join_files(self) -> "list[str]":
        return []

    def apply_early(self, pid: int) -> None:
        pass

    def birth_cgroup_fd(self) -> "int | None":
        """An fd of a cgroup v2 directory the setup processes can be born in
        (see fork_early) instead of being moved there by apply_early: only one
        that charges no memory. None if there is none."""
        return None

    def apply_late(self, pid: int) -> None:
        self.apply(pid)

    def set(self, resources: dict) -> None:
        raise NotImplementedError

    def destroy(self) -> None:
        raise NotImplementedError

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    def is_frozen(self) -> bool:
        raise NotImplementedError

    def pids(self) -> "list[int]":
        raise NotImplementedError

    def stats(self) -> dict:
        raise NotImplementedError

    def oom_count(self) -> int:
        raise NotImplementedError

    def mount_sources(self) -> "list[tuple[str, str]]":
        raise NotImplementedError

    def to_state(self) -> dict:
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError


def new_manager(path: str, layout: "Layout | None" = None) -> Manager:
    """A manager for the absolute cgroup path `path` (see resolve_path)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise CgroupError(f"cgroup path must be absolute, got {path!r}")
    layout = layout or detect()
    if layout.mode == "v2":
        from .v2 import V2Manager
        return V2Manager(clean_path(path), layout)
    from .v1 import V1Manager
    return V1Manager(clean_path(path), layout)


def fork_into(birth_fd: "int | None") -> "tuple[int, bool]":
    """os.fork() for a setup process: (pid, born_in). With born_in, the child
    was born in the cgroup ``birth_fd`` (a Manager's birth_cgroup_fd(); clone3
    CLONE_INTO_CGROUP), as will be everything it forks, so apply_early has
    nothing to do. A cgroup.procs write instead waits for an RCU grace period
    while holding the lock every other cgroup write needs: ~7 ms of `run` on a
    hybrid host."""
    if birth_fd is None:
        return os.fork(), False
    try:
        from ..linux import shim
        return shim.fork_into_cgroup(birth_fd), True
    except OSError:  # Linux < 5.7, or refused (e.g. from a user namespace):
        return os.fork(), False  # apply_early moves the child instead


def fork_early(mgr: "Manager | None") -> "tuple[int, bool]":
    """fork_into() the manager's birth cgroup (exec's C1, forked by P)."""
    fd = mgr.birth_cgroup_fd() if mgr is not None else None
    try:
        return fork_into(fd)
    finally:
        if fd is not None:
            os.close(fd)


def manager_for(cgroups_path: "str | None", container_id: str,
                layout: "Layout | None" = None) -> Manager:
    """The manager for a container's linux.cgroupsPath. On v1 a relative (or
    absent) path is resolved per hierarchy under the runtime's own cgroup in
    that hierarchy, as runc does: a caller whose memory cgroup is nested but
    whose cpu cgroup is the root gets the container's cpu cgroup at the root
    too (where, e.g., realtime CPU time can be given)."""
    layout = layout or detect()
    mgr = new_manager(resolve_path(cgroups_path, container_id, layout), layout)
    if layout.mode != "v2" and not (cgroups_path or "").startswith("/"):
        rel = clean_path(cgroups_path or container_id).strip("/")
        mgr.rebase(layout.own_cgroups(), rel)  # type: ignore[attr-defined]
    return mgr


def manager_from_state(d: dict) -> Manager:
    if not isinstance(d, dict) or d.get("version") not in (1, 2):
        raise CgroupError(f"invalid cgroup state: {d!r}")
    if d["version"] == 2:
        from .v2 import V2Manager
        return V2Manager.from_state(d)
    from .v1 import V1Manager
    return V1Manager.from_state(d)


def is_frozen_from_state(d: dict) -> bool:
    """Cheap: one read of the file recorded in the state (v1
    freezer.self_freezing, v2 cgroup.freeze). Missing -> False."""
    path = d.get("freeze_file") if isinstance(d, dict) else None
    if not path:
        return False
    try:
        with open(path, "rb") as f:
            return f.read(8).strip() == b"1"
    except OSError:
        return False
