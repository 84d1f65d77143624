"""cgroup v1 (and hybrid) manager.

One directory per mounted hierarchy (cpu, memory, ..., name=systemd), all at
the same cgroup path; in hybrid mode the container also joins the unified
(cgroup2) hierarchy at that path, as runc does. This module creates, joins,
freezes and removes the cgroups and writes the device rules, with plain file
I/O; the other resources and the stats are v1_resources.py's (through
cgroupspy), loaded only when a container has them, so that a plain create,
`kill`, `delete`, `pause` and `resume` load neither.
"""
import os
import time

from ..errors import CgroupError
from . import Layout, Manager, warn
from . import common as cm
from . import devices as dv

R = "linux.resources"


def _below(d: str, mount: str) -> str:
    """The cgroup path of directory d inside the hierarchy mounted at mount."""
    return d[len(mount.rstrip("/")):] or "/"


def enable_controllers(mount: str, path: str, only=None) -> None:
    """cgroup2: enable controllers in cgroup.subtree_control of every ancestor
    of mount+path (all available ones, or `only`); errors are ignored (a
    missing file then says which controller is unavailable)."""
    comps = [c for c in path.split("/") if c]
    cur = mount.rstrip("/")
    for comp in comps:
        avail = (cm.read_or(cur, "cgroup.controllers", "") or "").split()
        on = (cm.read_or(cur, "cgroup.subtree_control", "") or "").split()
        want = [c for c in avail if c not in on and (only is None or c in only)]
        if want:
            try:
                cm.write(cur, "cgroup.subtree_control", " ".join("+" + c for c in want), "cgroup")
            except CgroupError:
                for c in want:
                    try:
                        cm.write(cur, "cgroup.subtree_control", "+" + c, "cgroup")
                    except CgroupError:
                        pass
        cur = f"{cur}/{comp}"


class V1Manager(Manager):
    version = 1

    def __init__(self, path: str, layout: "Layout | None" = None):
        self.path = path
        self.hier: "list[dict]" = []
        self.unified = self.unified_mount = None
        self.mode = "v1"
        self.created: "list[str]" = []
        self._fresh = False
        if layout is not None:
            self.mode = layout.mode
            for h in layout.hierarchies:
                self.hier.append({"name": h.name, "controllers": list(h.controllers),
                                  "mount": h.mountpoint, "dir": self._join(h.mountpoint)})
            if layout.mode == "hybrid" and layout.unified:
                self.unified_mount = layout.unified
                self.unified = self._join(layout.unified)

    def rebase(self, own: "dict[str, str]", rel: str) -> None:
        """Per-hierarchy placement of a relative path: <own cgroup there>/<rel>."""
        for h in self.hier:
            base = (own.get(h["name"]) or "/").rstrip("/")
            h["dir"] = f"{h['mount'].rstrip('/')}{base}/{rel}"
        if self.unified_mount:
            base = (own.get("") or "/").rstrip("/")
            self.unified = f"{self.unified_mount.rstrip('/')}{base}/{rel}"

    def _join(self, mount: str) -> str:
        return mount.rstrip("/") + (self.path if self.path != "/" else "")

    @classmethod
    def from_state(cls, d: dict) -> "V1Manager":
        m = cls(d["path"])
        m.mode = d.get("mode", "v1")
        m.hier = [dict(h) for h in d.get("hierarchies", [])]
        m.unified = d.get("unified")
        m.unified_mount = d.get("unified_mount")
        m.created = list(d.get("created", []))
        return m

    def to_state(self) -> dict:
        fz = self.dir_of("freezer")
        return {"version": 1, "mode": self.mode, "path": self.path,
                "hierarchies": [dict(h) for h in self.hier],
                "unified": self.unified, "unified_mount": self.unified_mount,
                "created": list(self.created),
                "freeze_file": f"{fz}/freezer.self_freezing" if fz else None}

    def __repr__(self) -> str:
        return f"V1Manager({self.path!r}, {self.mode})"

    # -- where -------------------------------------------------------------------

    def dir_of(self, controller: str) -> "str | None":
        for h in self.hier:
            if controller in h["controllers"]:
                return h["dir"]
        return None

    def _dirs(self) -> "list[str]":
        out = [h["dir"] for h in self.hier]
        if self.unified:
            out.append(self.unified)
        return out

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self._dirs())

    def mount_sources(self) -> "list[tuple[str, str]]":
        return [(os.path.basename(h["mount"].rstrip("/")), h["dir"]) for h in self.hier]

    # -- lifecycle ------------------------------------------------------------------

    def create(self) -> None:
        new: "list[str]" = []
        try:
            for h in self.hier:
                made = cm.mkdir_p(h["mount"], _below(h["dir"], h["mount"]))
                new.extend(made)
                if "cpuset" in h["controllers"]:
                    self._cpuset_fill(h["dir"], made)
            if self.unified:
                try:
                    new.extend(cm.mkdir_p(self.unified_mount,
                                          _below(self.unified, self.unified_mount)))
                except CgroupError as e:
                    warn(f"hybrid cgroup2 hierarchy not joined: {e}")
                    self.unified = None
        except BaseException:
            self.created.extend(d for d in new if d not in self.created)
            raise
        self.created.extend(d for d in new if d not in self.created)
        self._fresh = True

    def _cpuset_fill(self, leaf: str, made: "list[str]") -> None:
        """A new v1 cpuset cgroup starts with empty cpus/mems (no task can
        join it): copy them down from the nearest ancestor, as runc does."""
        # Every level from the mount down, not only the ones we made: a
        # pre-existing parent may be empty too (runc fills those as well).
        mount = next((h["mount"] for h in self.hier if h["dir"] == leaf), None)
        chain = [leaf]
        while mount and os.path.dirname(chain[-1]).startswith(mount.rstrip("/") + "/"):
            chain.append(os.path.dirname(chain[-1]))
        for d in reversed(chain):
            for f in ("cpuset.cpus", "cpuset.mems"):
                if (cm.read_or(d, f, "") or "").strip():
                    continue
                parent = os.path.dirname(d)
                val = (cm.read_or(parent, f, "") or "").strip()
                if val:
                    cm.write(d, f, val, f"cgroup {f}")

    def self_join_files(self) -> "list[str]":
        return [os.path.join(h["dir"], "tasks") for h in self.hier]

    def apply_early(self, pid: int) -> None:
        # The hybrid unified hierarchy has no memory controller here: joining it
        # early (and paying its grace period in parallel with the setup) is free.
        if self.unified:
            try:
                cm.add_proc(self.unified, pid)
            except CgroupError as e:
                warn(f"hybrid cgroup2 hierarchy not joined: {e}")

    def birth_cgroup_fd(self) -> "int | None":
        if not self.unified:  # the hybrid unified hierarchy charges no memory
            return None
        try:
            return os.open(self.unified, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return None

    def apply_late(self, pid: int) -> None:
        pass  # the init joined every v1 hierarchy itself (self_join_files)

    def apply(self, pid: int) -> None:
        for h in self.hier:
            cm.add_proc(h["dir"], pid)
        if self.unified:
            try:
                cm.add_proc(self.unified, pid)
            except CgroupError as e:
                warn(f"hybrid cgroup2 hierarchy not joined: {e}")

    def pids(self) -> "list[int]":
        seen: "set[int]" = set()
        for d in self._dirs():
            seen.update(cm.procs_recursive(d))
        return sorted(seen)

    def destroy(self) -> None:
        owned = [d for d in self._dirs() if d in self.created]
        # Fast path: an empty cgroup without children just goes (one rmdir each);
        # only what refuses is searched for leftovers, killed and removed deepest first.
        busy = [d for d in owned if not cm.try_rmdir(d)]
        if busy:
            self._kill_all(busy)
        leftover = []
        for d in busy:
            if not cm.rmdir_tree(d, timeout=2.0):
                leftover.append(d)
        for d in reversed(self.created):
            if d not in owned:
                cm.rmdir_quiet(d)
        self.created = [d for d in self.created if os.path.isdir(d)]
        if leftover:
            raise CgroupError(f"cannot remove cgroup {leftover[0]}: still busy "
                              f"(processes: {cm.procs_recursive(leftover[0])[:8]})")

    def _kill_all(self, owned: "list[str]") -> None:
        pids = set()
        for d in owned:
            pids.update(cm.procs_recursive(d))
        if not pids:
            return
        fz = self.dir_of("freezer")
        frozen = False
        if fz in owned:
            # freeze so nothing forks while we kill; SIGKILL is delivered on thaw
            try:
                cm.write(fz, "freezer.state", "FROZEN", "freezer")
                frozen = True
                pids.update(cm.procs_recursive(fz))
            except CgroupError:
                pass
        cm.kill_pids(pids)
        if frozen:
            try:
                cm.write(fz, "freezer.state", "THAWED", "freezer")
            except CgroupError:
                pass
        if not cm.wait_empty(owned, 1.0):
            for d in owned:  # a fork raced the kill
                cm.kill_pids(cm.procs_recursive(d))
            cm.wait_empty(owned, 2.0)

    # -- freezer ---------------------------------------------------------------------

    def _freezer(self) -> str:
        d = self.dir_of("freezer")
        if d is None:
            raise CgroupError("the freezer cgroup controller is not mounted on this host")
        return d

    def freeze(self) -> None:
        d = self._freezer()
        cm.write(d, "freezer.state", "FROZEN", "freezer.state")
        deadline = time.monotonic() + 5.0
        delay, n = 0.0005, 0
        while True:
            st = cm.read(d, "freezer.state").strip()
            if st == "FROZEN":
                return
            n += 1
            if time.monotonic() > deadline:
                try:
                    cm.write(d, "freezer.state", "THAWED", "freezer.state")
                except CgroupError:
                    pass
                raise CgroupError(f"cannot freeze cgroup {d}: still {st} after 5s")
            if n % 50 == 0:
                # a task stuck in the kernel can stall freezing: kick it, as runc does
                cm.write(d, "freezer.state", "THAWED", "freezer.state")
                cm.write(d, "freezer.state", "FROZEN", "freezer.state")
            time.sleep(delay)
            delay = min(delay * 2, 0.01)

    def thaw(self) -> None:
        d = self._freezer()
        cm.write(d, "freezer.state", "THAWED", "freezer.state")
        deadline = time.monotonic() + 5.0
        while cm.read(d, "freezer.state").strip() != "THAWED":
            if time.monotonic() > deadline:
                raise CgroupError(f"cannot thaw cgroup {d}")
            time.sleep(0.001)

    def is_frozen(self) -> bool:
        d = self.dir_of("freezer")
        if d is None:
            return False
        st = (cm.read_or(d, "freezer.state", "") or "").strip()
        return st == "FROZEN" and (cm.read_or(d, "freezer.self_freezing", "") or "").strip() == "1"

    # -- OOM -----------------------------------------------------------------------------

    def oom_count(self) -> int:
        d = self.dir_of("memory")
        if d is None:
            return 0
        kv = cm.read_kv(d, "memory.oom_control")
        return kv.get("oom_kill", kv.get("under_oom", 0))

    # -- resources ----------------------------------------------------------------------

    def set(self, resources: dict) -> None:
        res = resources or {}
        if not isinstance(res, dict):
            raise CgroupError(f"{R}: expected an object")
        if any(k != "devices" for k in res):
            from .v1_resources import apply  # cgroupspy's controllers: only when needed
            apply(self, res)
        else:
            self._set_devices(res)  # every create: the default device rules
        self._fresh = False

    def _set_devices(self, res: dict) -> None:
        if "devices" not in res and not self._fresh:
            return
        rules = res.get("devices")
        target = dv.target_state(rules)
        d = self.dir_of("devices")
        if d is None:
            if rules:
                raise CgroupError(f"{R}.devices: the devices cgroup controller is not mounted on this host")
            return
        # Plain writes, not cgroupspy: every create sets the default device rules,
        # and importing cgroupspy (logging, re, collections) costs ~10 ms a call.
        current = dv.parse_list(cm.read(d, "devices.list"))
        for r in dv.transition(current, target):
            cm.write(d, "devices.allow" if r.allow else "devices.deny", r.cgroup_string(),
                     f"{R}.devices")

    def stats(self) -> dict:
        from .v1_resources import stats
        return stats(self)
