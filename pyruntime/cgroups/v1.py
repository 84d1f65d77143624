"""cgroup v1 (and hybrid) manager.

One directory per mounted hierarchy (cpu, memory, ..., name=systemd), all at
the same cgroup path; in hybrid mode the container also joins the unified
(cgroup2) hierarchy at that path, as runc does. Resources are set through
cgroupspy's typed controllers (extended in _cgroupspy_ext.py, imported only by
set() and stats()); create/apply/destroy/freeze/pids use plain file I/O so
that `kill`, `delete`, `pause` and `resume` never import cgroupspy.
"""
from __future__ import annotations

import errno
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


def _ext():
    from . import _cgroupspy_ext
    return _cgroupspy_ext


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

    def _ctrl(self, controller: str):
        """cgroupspy controller object of the hierarchy holding `controller`."""
        for h in self.hier:
            if controller in h["controllers"]:
                return _ext().node_for(h["mount"], _below(h["dir"], h["mount"]),
                                       h["controllers"]).controller
        return None

    def set(self, resources: dict) -> None:
        res = resources or {}
        if not isinstance(res, dict):
            raise CgroupError(f"{R}: expected an object")
        self._set_cpuset(res)
        self._set_devices(res)
        self._set_memory(res)
        self._set_cpu(res)
        self._set_pids(res)
        self._set_blkio(res)
        self._set_hugetlb(res)
        self._set_network(res)
        self._set_rdma(res)
        self._set_unified(res)
        self._fresh = False

    @staticmethod
    def _prop(ctrl, attr: str, value, field: str, shown=None) -> None:
        try:
            setattr(ctrl, attr, value)
        except OSError as e:
            raise cm.error(field, value if shown is None else shown, _path_of(ctrl, attr), e) from None

    def _need(self, controller: str, field: str):
        ctrl = self._ctrl(controller)
        if ctrl is None:
            raise CgroupError(f"{field}: the {controller} cgroup controller is not mounted on this host")
        return ctrl

    # cpuset
    def _set_cpuset(self, res: dict) -> None:
        cpu = cm.section(res, "cpu")
        cpus = cm.opt_str(cpu, "cpus", f"{R}.cpu.cpus")
        mems = cm.opt_str(cpu, "mems", f"{R}.cpu.mems")
        if not cpus and not mems:
            return
        ctrl = self._need("cpuset", f"{R}.cpu.{'cpus' if cpus else 'mems'}")
        if cpus:
            self._prop(ctrl, "cpus_list", cpus, f"{R}.cpu.cpus")
        if mems:
            self._prop(ctrl, "mems_list", mems, f"{R}.cpu.mems")

    # devices
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

    # memory
    def _set_memory(self, res: dict) -> None:
        mem = cm.section(res, "memory")
        if not mem:
            return
        F = f"{R}.memory"
        (limit, reservation, swap, kernel, ktcp, swappiness, oom_off, hier,
         check) = cm.memory_fields(mem, F)
        if not (limit or reservation or swap or kernel or ktcp) and swappiness is None \
                and oom_off is None and hier is None:
            return
        ctrl = self._need("memory", F)
        d = self.dir_of("memory")
        has_memsw = cm.exists(d, "memory.memsw.limit_in_bytes")
        if limit == -1 and swap == 0 and has_memsw:
            swap = -1  # unlimited memory means unlimited swap too (runc)
        if swap and not has_memsw:
            if swap != -1:
                raise CgroupError(f"{F}.swap: cannot set {swap}: this kernel has no swap accounting "
                                  f"({d}/memory.memsw.limit_in_bytes is missing; boot with swapaccount=1)")
            swap = 0
        if check and limit > 0:
            usage = cm.read_uint(d, "memory.usage_in_bytes")
            if usage >= limit:
                raise CgroupError(f"{F}.limit: rejecting memory limit {limit} below the current usage "
                                  f"{usage} (checkBeforeUpdate)")
        if limit and swap:
            # the kernel wants limit <= memsw at every step: order the writes
            cur = cm.read_uint(d, "memory.limit_in_bytes")
            if swap == -1 or cur < swap:
                self._memsw(ctrl, d, swap)
                self._mem_limit(ctrl, d, limit)
            else:
                self._mem_limit(ctrl, d, limit)
                self._memsw(ctrl, d, swap)
        elif limit:
            self._mem_limit(ctrl, d, limit)
        elif swap:
            self._memsw(ctrl, d, swap)
        for val, attr, fname, fld in ((kernel, "kmem_limit_in_bytes", "memory.kmem.limit_in_bytes", "kernel"),
                                      (ktcp, "kmem_tcp_limit_in_bytes", "memory.kmem.tcp.limit_in_bytes",
                                       "kernelTCP")):
            if not val:
                continue
            if cm.exists(d, fname):
                self._prop(ctrl, attr, val, f"{F}.{fld}")
                got = cm.read_uint(d, fname)
                page = os.sysconf("SC_PAGE_SIZE")
                if val > 0 and got != val // page * page:  # the kernel rounds to pages
                    warn(f"{F}.{fld}: {val} was accepted but ignored by this kernel "
                         f"({fname} still reads {got}; kernel memory limits are deprecated)")
            else:
                warn(f"{F}.{fld}: ignored: this kernel has no {fname} (kernel memory limits are gone)")
        if reservation:
            self._prop(ctrl, "soft_limit_in_bytes", reservation, F + ".reservation")
        if oom_off is not None:
            self._prop(ctrl, "oom_kill_disable", oom_off, F + ".disableOOMKiller")
        if hier is not None:
            try:
                ctrl.use_hierarchy = hier
            except OSError as e:
                hint = " (this kernel's memory accounting is always hierarchical)" \
                    if e.errno == errno.EINVAL and not hier else ""
                raise CgroupError(cm._msg(F + ".useHierarchy", str(hier).lower(),
                                          f"{d}/memory.use_hierarchy", e) + hint) from None
        if swappiness is not None:
            self._prop(ctrl, "swappiness", swappiness, F + ".swappiness")

    def _mem_limit(self, ctrl, d: str, limit: int) -> None:
        try:
            ctrl.limit_in_bytes = limit
        except OSError as e:
            msg = cm._msg(f"{R}.memory.limit", limit, f"{d}/memory.limit_in_bytes", e)
            if e.errno == errno.EBUSY:
                msg += (f" (current usage {cm.read_uint(d, 'memory.usage_in_bytes')}, "
                        f"peak usage {cm.read_uint(d, 'memory.max_usage_in_bytes')})")
            raise CgroupError(msg) from None

    def _memsw(self, ctrl, d: str, swap: int) -> None:
        self._prop(ctrl, "memsw_limit_in_bytes", swap, f"{R}.memory.swap")

    # cpu
    def _set_cpu(self, res: dict) -> None:
        cpu = cm.section(res, "cpu")
        if not cpu:
            return
        F = f"{R}.cpu"
        shares, quota, period, burst, rt_runtime, rt_period, idle = cm.cpu_fields(cpu, F)
        if quota > 0 and burst and burst > quota:
            raise CgroupError(f"{F}.burst: {burst} is larger than quota {quota}")
        if not (shares or quota or period or rt_runtime or rt_period) and burst is None and idle is None:
            return
        ctrl = self._need("cpu", F)
        d = self.dir_of("cpu")
        if rt_period:
            self._prop(ctrl, "rt_period_us", rt_period, F + ".realtimePeriod")
        if rt_runtime:
            self._prop(ctrl, "rt_runtime_us", rt_runtime, F + ".realtimeRuntime")
        if shares and idle != 1:  # an idle group has the minimum weight (and refuses shares)
            self._prop(ctrl, "shares", shares, F + ".shares")
            got = ctrl.shares
            if got != shares:
                lim = "maximum" if shares > got else "minimum"
                raise CgroupError(f"{F}.shares: {shares} is out of range: the {lim} allowed cpu-shares is {got}")
        pending_period = pending_burst = None
        if period:
            try:
                ctrl.cfs_period_us = period
            except OSError as e:
                # a shorter period can be refused until the new quota is in
                if e.errno != errno.EINVAL or not quota:
                    raise cm.error(F + ".period", period, f"{d}/cpu.cfs_period_us", e) from None
                pending_period = period
        if burst is not None:
            if not cm.exists(d, "cpu.cfs_burst_us"):
                if burst:
                    raise CgroupError(f"{F}.burst: this kernel has no {d}/cpu.cfs_burst_us (Linux >= 5.14 needed)")
            else:
                try:
                    ctrl.cfs_burst_us = burst
                except OSError as e:
                    if e.errno != errno.EINVAL or not quota:
                        raise cm.error(F + ".burst", burst, f"{d}/cpu.cfs_burst_us", e) from None
                    pending_burst = burst
        if quota:
            self._prop(ctrl, "cfs_quota_us", quota, F + ".quota")
            if pending_period is not None:
                self._prop(ctrl, "cfs_period_us", pending_period, F + ".period")
            if pending_burst is not None:
                self._prop(ctrl, "cfs_burst_us", pending_burst, F + ".burst")
        if idle is not None:
            if cm.exists(d, "cpu.idle"):
                self._prop(ctrl, "idle", idle, F + ".idle")
            elif idle:
                raise CgroupError(f"{F}.idle: this kernel has no {d}/cpu.idle (Linux >= 5.15 needed)")

    # pids
    def _set_pids(self, res: dict) -> None:
        pids = cm.section(res, "pids")
        limit = cm.opt_int(pids, "limit", f"{R}.pids.limit")
        if limit is None:
            return
        ctrl = self._need("pids", f"{R}.pids.limit")
        self._prop(ctrl, "max", limit, f"{R}.pids.limit", shown="max" if limit < 0 else limit)

    # blkio
    def _set_blkio(self, res: dict) -> None:
        bio = cm.section(res, "blockIO")
        if not bio:
            return
        F = f"{R}.blockIO"
        weight = cm.opt_int(bio, "weight", F + ".weight", 0, 65535) or 0
        leaf = cm.opt_int(bio, "leafWeight", F + ".leafWeight", 0, 65535) or 0
        wdev = cm.list_of(bio, "weightDevice", F + ".weightDevice")
        thr = [(k, cm.list_of(bio, k, f"{F}.{k}")) for k in (
            "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice")]
        if not (weight or leaf or wdev or any(v for _, v in thr)):
            return
        ext = _ext()
        ctrl = self._need("blkio", F)
        d = self.dir_of("blkio")
        cfq = cm.exists(d, "blkio.weight")
        w_attr, wd_attr = ("weight", "weight_device") if cfq else ("bfq_weight", "bfq_weight_device")
        if weight:
            if not cfq and not cm.exists(d, "blkio.bfq.weight"):
                raise CgroupError(f"{F}.weight: no proportional-weight I/O scheduler here ({d} has neither "
                                  "blkio.weight (CFQ) nor blkio.bfq.weight (BFQ))")
            self._prop(ctrl, w_attr, weight, F + ".weight")
        if leaf:
            if cm.exists(d, "blkio.leaf_weight"):
                self._prop(ctrl, "leaf_weight", leaf, F + ".leafWeight")
            else:
                warn(f"{F}.leafWeight: ignored: no CFQ scheduler ({d}/blkio.leaf_weight is missing)")
        for i, e in enumerate(wdev):
            f = f"{F}.weightDevice[{i}]"
            key = cm.dev_key(e, f)
            w = cm.opt_int(e, "weight", f + ".weight", 0, 65535)
            lw = cm.opt_int(e, "leafWeight", f + ".leafWeight", 0, 65535)
            ma, mi = key.split(":")
            if w:
                fname = "blkio.weight_device" if cfq else "blkio.bfq.weight_device"
                if not cm.exists(d, fname):
                    raise CgroupError(f"{f}.weight: {d}/{fname} is missing (no CFQ/BFQ group scheduling)")
                self._prop(ctrl, wd_attr, ext.DeviceWeight(ma, mi, w), f + ".weight", shown=f"{key} {w}")
            if lw:
                if cm.exists(d, "blkio.leaf_weight_device"):
                    self._prop(ctrl, "leaf_weight_device", ext.DeviceWeight(ma, mi, lw), f + ".leafWeight",
                               shown=f"{key} {lw}")
                else:
                    warn(f"{f}.leafWeight: ignored: no CFQ scheduler ({d}/blkio.leaf_weight_device is missing)")
        attrs = {"throttleReadBpsDevice": "throttle_read_bps_device",
                 "throttleWriteBpsDevice": "throttle_write_bps_device",
                 "throttleReadIOPSDevice": "throttle_read_iops_device",
                 "throttleWriteIOPSDevice": "throttle_write_iops_device"}
        for k, entries in thr:
            for i, e in enumerate(entries):
                f = f"{F}.{k}[{i}]"
                key = cm.dev_key(e, f)
                rate = cm.opt_int(e, "rate", f + ".rate", 0)
                if rate is None:
                    raise CgroupError(f"{f}.rate: required")
                ma, mi = key.split(":")
                self._prop(ctrl, attrs[k], ext._ct.DeviceThrottle(rate, ma, mi), f, shown=f"{key} {rate}")

    # hugetlb
    def _set_hugetlb(self, res: dict) -> None:
        entries = cm.list_of(res, "hugepageLimits", f"{R}.hugepageLimits")
        if not entries:
            return
        sizes = cm.hugepage_sizes()
        ctrl = self._ctrl("hugetlb")
        for i, e in enumerate(entries):
            f = f"{R}.hugepageLimits[{i}]"
            if not isinstance(e, dict):
                raise CgroupError(f"{f}: expected an object")
            ps = cm.check_pagesize(e.get("pageSize"), f + ".pageSize", sizes)
            limit = cm.opt_int(e, "limit", f + ".limit")
            if limit is None:
                raise CgroupError(f"{f}.limit: required")
            if ctrl is not None:
                d = self.dir_of("hugetlb")
                try:
                    ctrl.set_limit(ps, limit)
                    if cm.exists(d, f"hugetlb.{ps}.rsvd.limit_in_bytes"):
                        ctrl.set_limit(ps, limit, rsvd=True)
                except OSError as ex:
                    raise cm.error(f + ".limit", limit, f"{d}/hugetlb.{ps}.limit_in_bytes", ex) from None
            elif self.unified and self._unified_has("hugetlb", f"hugetlb.{ps}.max"):
                cm.write(self.unified, f"hugetlb.{ps}.max", cm.v2_num(limit), f + ".limit", shown=limit)
                if cm.exists(self.unified, f"hugetlb.{ps}.rsvd.max"):
                    cm.write(self.unified, f"hugetlb.{ps}.rsvd.max", cm.v2_num(limit), f + ".limit", shown=limit)
            else:
                where = " nor enabled in the unified hierarchy" if self.unified else ""
                raise CgroupError(f"{f}: the hugetlb cgroup controller is not mounted on this host{where}")

    def _unified_has(self, controller: str, fname: str) -> bool:
        """Hybrid: is `fname` in our unified cgroup, enabling `controller` in
        the ancestors' cgroup.subtree_control if the kernel offers it there."""
        if cm.exists(self.unified, fname):
            return True
        enable_controllers(self.unified_mount, _below(self.unified, self.unified_mount),
                           only=[controller])
        return cm.exists(self.unified, fname)

    # net_cls / net_prio
    def _set_network(self, res: dict) -> None:
        net = cm.section(res, "network")
        if not net:
            return
        F = f"{R}.network"
        classid = cm.opt_int(net, "classID", F + ".classID", 0, 0xFFFFFFFF)
        prios = cm.list_of(net, "priorities", F + ".priorities")
        if classid:
            ctrl = self._need("net_cls", F + ".classID")
            self._prop(ctrl, "class_id", classid, F + ".classID")
        if prios:
            ctrl = self._need("net_prio", F + ".priorities")
            for i, p in enumerate(prios):
                f = f"{F}.priorities[{i}]"
                if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p.get("name"):
                    raise CgroupError(f"{f}.name: required")
                prio = cm.opt_int(p, "priority", f + ".priority", 0, 0xFFFFFFFF)
                if prio is None:
                    raise CgroupError(f"{f}.priority: required")
                self._prop(ctrl, "ifpriomap", {p["name"]: prio}, f, shown=f"{p['name']} {prio}")

    # rdma
    def _set_rdma(self, res: dict) -> None:
        lines = rdma_lines(res)
        if not lines:
            return
        ctrl = self._need("rdma", lines[0][0])
        for field, line in lines:
            self._prop(ctrl, "max", line, field)

    # unified
    def _set_unified(self, res: dict) -> None:
        uni = cm.section(res, "unified")
        if not uni:
            return
        for k, v in uni.items():
            f = f"{R}.unified.{k}"
            check_unified_key(k, v, f)
            if not self.unified:
                raise CgroupError(f"{f}: cgroup v2 settings need the unified hierarchy; this host is cgroup v1")
            ctl = k.split(".", 1)[0]
            if not self._unified_has(ctl, k):
                raise CgroupError(f"{f}: this host is cgroup v1 (hybrid) and its cgroup2 hierarchy "
                                  f"({self.unified_mount}) has no {k} (controller {ctl!r} not available there)")
            cm.write(self.unified, k, v, f)

    # -- stats --------------------------------------------------------------------------

    def stats(self) -> dict:
        return {"cpu": self._stats_cpu(), "cpuset": self._stats_cpuset(), "memory": self._stats_memory(),
                "pids": self._stats_pids(), "blkio": self._stats_blkio(), "hugetlb": self._stats_hugetlb()}

    def _stats_cpu(self) -> dict:
        usage: dict = {"kernel": 0, "user": 0}
        thr: dict = {}
        ca = self._ctrl("cpuacct")
        if ca is not None:
            try:
                usage["total"] = ca.usage
                usage["percpu"] = ca.usage_percpu
                d = self.dir_of("cpuacct")
                if cm.exists(d, "cpuacct.usage_percpu_sys"):
                    usage["percpu_kernel"] = ca.usage_percpu_sys
                    usage["percpu_user"] = ca.usage_percpu_user
                st = ca.acct_stat
                hz = os.sysconf("SC_CLK_TCK") or 100
                usage["kernel"] = st.get("system", 0) * 1_000_000_000 // hz
                usage["user"] = st.get("user", 0) * 1_000_000_000 // hz
            except (OSError, ValueError):
                pass
        c = self._ctrl("cpu")
        if c is not None:
            try:
                st = cm.read_kv(self.dir_of("cpu"), "cpu.stat")
                thr = {"periods": st.get("nr_periods", 0), "throttledPeriods": st.get("nr_throttled", 0),
                       "throttledTime": st.get("throttled_time", 0)}
            except OSError:
                pass
        return {"usage": _omit(usage, keep=("kernel", "user")), "throttling": _omit(thr)}

    def _stats_cpuset(self) -> dict:
        d = self.dir_of("cpuset")
        out: dict = {}
        if d is None:
            return out
        for key, f in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
            lst = parse_list_str(cm.read_or(d, f, "") or "")
            if lst:
                out[key] = lst
        for key, f in (("cpu_exclusive", "cpuset.cpu_exclusive"), ("mem_hardwall", "cpuset.mem_hardwall"),
                       ("mem_exclusive", "cpuset.mem_exclusive"), ("memory_migrate", "cpuset.memory_migrate"),
                       ("memory_spread_page", "cpuset.memory_spread_page"),
                       ("memory_spread_slab", "cpuset.memory_spread_slab"),
                       ("memory_pressure", "cpuset.memory_pressure"),
                       ("sched_load_balance", "cpuset.sched_load_balance"),
                       ("sched_relax_domain_level", "cpuset.sched_relax_domain_level")):
            out[key] = cm.read_uint(d, f)
        return out

    def _stats_memory(self) -> dict:
        d = self.dir_of("memory")
        if d is None:
            return {}

        def entry(prefix: str) -> dict:
            if not cm.exists(d, prefix + "usage_in_bytes"):
                return {"limit": 0, "failcnt": 0}
            return _omit({"limit": cm.read_uint(d, prefix + "limit_in_bytes"),
                          "usage": cm.read_uint(d, prefix + "usage_in_bytes"),
                          "max": cm.read_uint(d, prefix + "max_usage_in_bytes"),
                          "failcnt": cm.read_uint(d, prefix + "failcnt")}, keep=("limit", "failcnt"))
        raw = cm.read_kv(d, "memory.stat")
        out = {"usage": entry("memory."), "swap": entry("memory.memsw."), "kernel": entry("memory.kmem."),
               "kernelTCP": entry("memory.kmem.tcp."), "raw": raw}
        if raw.get("cache"):
            out["cache"] = raw["cache"]
        return out

    def _stats_pids(self) -> dict:
        d = self.dir_of("pids")
        if d is None:
            return {}
        lim = cm.read_uint(d, "pids.max")
        return _omit({"current": cm.read_uint(d, "pids.current"), "limit": 0 if lim < 0 else lim})

    def _stats_blkio(self) -> dict:
        d = self.dir_of("blkio")
        if d is None:
            return {}
        if cm.exists(d, "blkio.io_serviced_recursive"):  # CFQ
            files = {"ioServiceBytesRecursive": "blkio.io_service_bytes_recursive",
                     "ioServicedRecursive": "blkio.io_serviced_recursive",
                     "ioQueueRecursive": "blkio.io_queued_recursive",
                     "ioServiceTimeRecursive": "blkio.io_service_time_recursive",
                     "ioWaitTimeRecursive": "blkio.io_wait_time_recursive",
                     "ioMergedRecursive": "blkio.io_merged_recursive",
                     "ioTimeRecursive": "blkio.time_recursive",
                     "sectorsRecursive": "blkio.sectors_recursive"}
        elif cm.exists(d, "blkio.bfq.io_serviced_recursive"):
            files = {"ioServiceBytesRecursive": "blkio.bfq.io_service_bytes_recursive",
                     "ioServicedRecursive": "blkio.bfq.io_serviced_recursive"}
        else:
            files = {"ioServiceBytesRecursive": "blkio.throttle.io_service_bytes_recursive",
                     "ioServicedRecursive": "blkio.throttle.io_serviced_recursive"}
        out = {}
        for key, f in files.items():
            entries = parse_blkio(cm.read_or(d, f, "") or "")
            if entries:
                out[key] = entries
        return out

    def _stats_hugetlb(self) -> dict:
        out = {}
        d = self.dir_of("hugetlb")
        for ps in cm.hugepage_sizes():
            if d is not None:
                out[ps] = _omit({"usage": cm.read_uint(d, f"hugetlb.{ps}.usage_in_bytes"),
                                 "max": cm.read_uint(d, f"hugetlb.{ps}.max_usage_in_bytes"),
                                 "failcnt": cm.read_uint(d, f"hugetlb.{ps}.failcnt")}, keep=("failcnt",))
            elif self.unified and cm.exists(self.unified, f"hugetlb.{ps}.current"):
                out[ps] = _omit({"usage": cm.read_uint(self.unified, f"hugetlb.{ps}.current"),
                                 "failcnt": cm.read_kv(self.unified, f"hugetlb.{ps}.events").get("max", 0)},
                                keep=("failcnt",))
        return out


# -- helpers shared with v2 ------------------------------------------------------------------

def _path_of(ctrl, attr: str) -> str:
    for k in type(ctrl).__mro__:
        desc = k.__dict__.get(attr)
        if desc is not None and hasattr(desc, "filename"):
            fn = desc.filename
            fp = ctrl.filepath(fn)
            return fp.decode(errors="replace") if isinstance(fp, bytes) else fp
    return f"{ctrl.node.full_path.decode(errors='replace')}/?"


def _omit(d: dict, keep=()) -> dict:
    """Go's omitempty: drop zero values (except `keep`)."""
    return {k: v for k, v in d.items() if v or k in keep}


def parse_list_str(s: str) -> "list[int]":
    """"0-3,7" -> [0, 1, 2, 3, 7]."""
    out = []
    for part in s.strip().split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def parse_blkio(text: str) -> "list[dict]":
    out = []
    for line in text.splitlines():
        p = line.split()
        if len(p) != 3 or ":" not in p[0]:
            continue
        ma, mi = p[0].split(":", 1)
        try:
            out.append(_omit({"major": int(ma), "minor": int(mi), "op": p[1], "value": int(p[2])}))
        except ValueError:
            continue
    return out


def rdma_lines(res: dict) -> "list[tuple[str, str]]":
    rd = cm.section(res, "rdma")
    out = []
    for name, lim in rd.items():
        f = f"{R}.rdma.{name}"
        if not isinstance(lim, dict):
            raise CgroupError(f"{f}: expected an object")
        h = cm.opt_int(lim, "hcaHandles", f + ".hcaHandles", 0, 0xFFFFFFFF)
        o = cm.opt_int(lim, "hcaObjects", f + ".hcaObjects", 0, 0xFFFFFFFF)
        if h is None and o is None:
            raise CgroupError(f"{f}: at least one of hcaHandles, hcaObjects is required")
        parts = [name]
        if h is not None:
            parts.append(f"hca_handle={h}")
        if o is not None:
            parts.append(f"hca_object={o}")
        out.append((f, " ".join(parts)))
    return out


def check_unified_key(k, v, field: str) -> None:
    if not isinstance(k, str) or not k or "/" in k or k in (".", "..") or "." not in k:
        raise CgroupError(f"{field}: a unified key must be a file name CONTROLLER.PARAMETER (no slashes)")
    if not isinstance(v, str):
        raise CgroupError(f"{field}: expected a string value, got {v!r}")
