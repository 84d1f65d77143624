"""cgroup v2 (unified hierarchy) manager: one directory; linux.resources are
converted from their v1 shapes as runc does (cpu.shares -> cpu.weight,
blkio weight -> io.bfq.weight / io.weight, memory.swap = swap - limit, -1 ->
"max"); devices are enforced by an eBPF program (devicefilter.py)."""
from __future__ import annotations

import os
import time

from ..errors import CgroupError
from . import Layout, Manager, warn
from . import common as cm
from . import devices as dv
from .v1 import R, enable_controllers
from .v1_resources import _omit, check_unified_key, parse_list_str, rdma_lines

# file prefix -> controller (to explain a missing file)
_PREFIX_CTRL = {"cpu": "cpu", "cpuset": "cpuset", "memory": "memory", "io": "io", "pids": "pids",
                "hugetlb": "hugetlb", "rdma": "rdma", "misc": "misc"}


class V2Manager(Manager):
    version = 2

    def __init__(self, path: str, layout: "Layout | None" = None):
        self.path = path
        self.mount = layout.unified if layout is not None else None
        self.dir = self._join(self.mount) if self.mount else None
        self.created: "list[str]" = []
        self._fresh = False

    def _join(self, mount: str) -> str:
        return mount.rstrip("/") + (self.path if self.path != "/" else "")

    @classmethod
    def from_state(cls, d: dict) -> "V2Manager":
        m = cls(d["path"])
        m.mount = d["mount"]
        m.dir = d["dir"]
        m.created = list(d.get("created", []))
        return m

    def to_state(self) -> dict:
        return {"version": 2, "mode": "v2", "path": self.path, "mount": self.mount, "dir": self.dir,
                "created": list(self.created), "freeze_file": f"{self.dir}/cgroup.freeze"}

    def __repr__(self) -> str:
        return f"V2Manager({self.path!r})"

    def exists(self) -> bool:
        return os.path.isdir(self.dir)

    def mount_sources(self) -> "list[tuple[str, str]]":
        return [("", self.dir)]

    def controllers(self) -> "list[str]":
        return (cm.read_or(self.dir, "cgroup.controllers", "") or "").split()

    # -- lifecycle ----------------------------------------------------------------------

    def create(self) -> None:
        made = cm.mkdir_p(self.mount, self.path)
        self.created.extend(d for d in made if d not in self.created)
        enable_controllers(self.mount, self.path)
        self._fresh = True

    def apply(self, pid: int) -> None:
        cm.add_proc(self.dir, pid)

    def pids(self) -> "list[int]":
        return sorted(set(cm.procs_recursive(self.dir)))

    def destroy(self) -> None:
        owned = self.dir in self.created
        if owned and not cm.try_rmdir(self.dir):  # fast path: empty, no children
            self._kill_all()
            if not cm.rmdir_tree(self.dir, timeout=2.0):
                raise CgroupError(f"cannot remove cgroup {self.dir}: still busy "
                                  f"(processes: {cm.procs_recursive(self.dir)[:8]})")
        for d in reversed(self.created):
            if d != self.dir:
                cm.rmdir_quiet(d)
        self.created = [d for d in self.created if os.path.isdir(d)]

    def _kill_all(self) -> None:
        if not cm.procs_recursive(self.dir):
            return
        if cm.exists(self.dir, "cgroup.kill"):
            try:
                cm.write(self.dir, "cgroup.kill", "1", "cgroup.kill")
            except CgroupError:
                cm.kill_pids(cm.procs_recursive(self.dir))
        else:
            frozen = False
            try:
                cm.write(self.dir, "cgroup.freeze", "1", "cgroup.freeze")
                frozen = True
            except CgroupError:
                pass
            cm.kill_pids(cm.procs_recursive(self.dir))
            if frozen:
                try:
                    cm.write(self.dir, "cgroup.freeze", "0", "cgroup.freeze")
                except CgroupError:
                    pass
        if not cm.wait_empty([self.dir], 1.0):
            cm.kill_pids(cm.procs_recursive(self.dir))
            cm.wait_empty([self.dir], 2.0)

    # -- freezer ------------------------------------------------------------------------

    def freeze(self) -> None:
        self._need_file("cgroup.freeze", "freeze", "Linux >= 5.2 needed")
        cm.write(self.dir, "cgroup.freeze", "1", "cgroup.freeze")
        if not self._wait_events("frozen 1", 5.0):
            try:
                cm.write(self.dir, "cgroup.freeze", "0", "cgroup.freeze")
            except CgroupError:
                pass
            raise CgroupError(f"cannot freeze cgroup {self.dir}: not frozen after 5s")

    def thaw(self) -> None:
        self._need_file("cgroup.freeze", "thaw", "Linux >= 5.2 needed")
        cm.write(self.dir, "cgroup.freeze", "0", "cgroup.freeze")
        # (an ancestor may still hold it frozen: that is not ours to undo)
        self._wait_events("frozen 0", 0.5)

    def _need_file(self, name: str, what: str, why: str) -> None:
        if not cm.exists(self.dir, name):
            raise CgroupError(f"cannot {what} cgroup {self.dir}: no {name} ({why})")

    def _wait_events(self, want: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            if want in (cm.read_or(self.dir, "cgroup.events", "") or "").splitlines():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.01)

    def is_frozen(self) -> bool:
        return (cm.read_or(self.dir, "cgroup.freeze", "") or "").strip() == "1"

    def oom_count(self) -> int:
        return cm.read_kv(self.dir, "memory.events").get("oom_kill", 0)

    # -- resources ------------------------------------------------------------------------

    def _w(self, name: str, value, field: str, shown=None) -> None:
        """Write one file; a missing file names the controller that is not enabled."""
        if not cm.exists(self.dir, name):
            ctl = _PREFIX_CTRL.get(name.split(".", 1)[0], name.split(".", 1)[0])
            have = " ".join(self.controllers()) or "none"
            raise CgroupError(f"{field}: {self.dir}/{name} does not exist: the {ctl} controller is not "
                              f"available here (cgroup.controllers: {have})")
        cm.write(self.dir, name, value, field, shown=shown)

    def set(self, resources: dict) -> None:
        res = resources or {}
        if not isinstance(res, dict):
            raise CgroupError(f"{R}: expected an object")
        self._set_pids(res)
        self._set_memory(res)
        self._set_io(res)
        self._set_cpu(res)
        self._set_devices(res)
        self._set_cpuset(res)
        self._set_hugetlb(res)
        self._set_rdma(res)
        self._set_network(res)
        self._set_unified(res)
        self._fresh = False

    def _set_pids(self, res: dict) -> None:
        limit = cm.opt_int(cm.section(res, "pids"), "limit", f"{R}.pids.limit")
        if limit is not None:
            self._w("pids.max", cm.v2_num(limit), f"{R}.pids.limit", shown=limit)

    def _set_memory(self, res: dict) -> None:
        mem = cm.section(res, "memory")
        if not mem:
            return
        F = f"{R}.memory"
        (limit, reservation, swap, kernel, ktcp, swappiness, oom_off, hier,
         check) = cm.memory_fields(mem, F)
        for val, name in ((kernel, "kernel"), (ktcp, "kernelTCP")):
            if val:
                warn(f"{F}.{name}: ignored: cgroup v2 has no kernel memory limit (it is part of memory.max)")
        if swappiness is not None:
            raise CgroupError(f"{F}.swappiness: cannot set {swappiness}: cgroup v2 has no per-cgroup swappiness")
        if oom_off:
            raise CgroupError(f"{F}.disableOOMKiller: cannot disable the OOM killer: cgroup v2 has no "
                              "memory.oom_control")
        if hier is False:
            raise CgroupError(f"{F}.useHierarchy: cannot set false: cgroup v2 memory accounting is always "
                              "hierarchical")
        if not (limit or reservation or swap):
            return
        if not cm.exists(self.dir, "memory.max"):
            have = " ".join(self.controllers()) or "none"
            fld = "limit" if limit else ("reservation" if reservation else "swap")
            raise CgroupError(f"{F}.{fld}: the memory controller is not available in {self.dir} "
                              f"(cgroup.controllers: {have})")
        if check and limit > 0:
            usage = cm.read_uint(self.dir, "memory.current")
            if usage >= limit:
                raise CgroupError(f"{F}.limit: rejecting memory limit {limit} below the current usage "
                                  f"{usage} (checkBeforeUpdate)")
        if swap:
            mlim = limit
            if not mlim:  # update of swap alone: use the limit in place
                mlim = cm.read_uint(self.dir, "memory.max", -1)
            try:
                v2swap = cm.swap_to_v2(swap, mlim)
            except ValueError as e:
                raise CgroupError(f"{F}.swap: cannot set {swap}: {e}") from None
        else:
            v2swap = -1 if limit == -1 else 0
        if v2swap or swap > 0:  # (swap == limit: 0, i.e. no swap at all)
            sval = cm.v2_num(v2swap)
            if cm.exists(self.dir, "memory.swap.max"):
                cm.write(self.dir, "memory.swap.max", sval, F + ".swap", shown=swap or sval)
            elif sval not in ("max", "0"):
                raise CgroupError(f"{F}.swap: cannot set {swap}: {self.dir}/memory.swap.max does not exist "
                                  "(no swap accounting in this kernel)")
        if limit:
            self._w("memory.max", cm.v2_num(limit), F + ".limit", shown=limit)
        if reservation:
            self._w("memory.low", cm.v2_num(reservation), F + ".reservation", shown=reservation)

    def _set_io(self, res: dict) -> None:
        bio = cm.section(res, "blockIO")
        if not bio:
            return
        F = f"{R}.blockIO"
        weight, leaf, wdev = cm.blkio_fields(bio, F)
        bfq = cm.exists(self.dir, "io.bfq.weight")
        plain = cm.exists(self.dir, "io.weight")
        if weight:
            if bfq:
                cm.write(self.dir, "io.bfq.weight", weight, F + ".weight")
            elif plain:
                cm.write(self.dir, "io.weight", cm.blkio_weight_to_io_weight(weight), F + ".weight",
                         shown=f"{weight} (io.weight {cm.blkio_weight_to_io_weight(weight)})")
            else:
                raise CgroupError(f"{F}.weight: cannot set {weight}: {self.dir} has neither io.bfq.weight "
                                  "nor io.weight (no BFQ, no io.cost)")
        if leaf:
            warn(f"{F}.leafWeight: ignored: cgroup v2 has no leaf weight")
        for i, e in enumerate(wdev):
            f = f"{F}.weightDevice[{i}]"
            key = cm.dev_key(e, f)
            w = cm.opt_int(e, "weight", f + ".weight", 0, 65535)
            if cm.opt_int(e, "leafWeight", f + ".leafWeight", 0, 65535):
                warn(f"{f}.leafWeight: ignored: cgroup v2 has no leaf weight")
            if not w:
                continue
            if bfq:
                cm.write(self.dir, "io.bfq.weight", f"{key} {w}", f + ".weight")
            elif plain:
                cw = cm.blkio_weight_to_io_weight(w)
                cm.write(self.dir, "io.weight", f"{key} {cw}", f + ".weight", shown=f"{key} {w} (io.weight {cw})")
            else:
                raise CgroupError(f"{f}.weight: cannot set {key} {w}: {self.dir} has neither io.bfq.weight "
                                  "nor io.weight")
        for k, op in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                      ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
            for i, e in enumerate(cm.list_of(bio, k, f"{F}.{k}")):
                f = f"{F}.{k}[{i}]"
                key = cm.dev_key(e, f)
                rate = cm.opt_int(e, "rate", f + ".rate", 0)
                if rate is None:
                    raise CgroupError(f"{f}.rate: required")
                # v1 takes 0 as "no limit"; v2 spells that "max"
                self._w("io.max", f"{key} {op}={rate if rate else 'max'}", f)

    def _set_cpu(self, res: dict) -> None:
        cpu = cm.section(res, "cpu")
        if not cpu:
            return
        F = f"{R}.cpu"
        shares, quota, period, burst, rt_runtime, rt_period, idle = cm.cpu_fields(cpu, F)
        if rt_runtime or rt_period:
            fld = "realtimeRuntime" if rt_runtime else "realtimePeriod"
            raise CgroupError(f"{F}.{fld}: cannot set {rt_runtime or rt_period}: cgroup v2 has no "
                              "per-cgroup realtime bandwidth (cpu.rt_*)")
        if quota > 0 and burst and burst > quota:
            raise CgroupError(f"{F}.burst: {burst} is larger than quota {quota}")
        if idle is not None:
            if cm.exists(self.dir, "cpu.idle"):
                cm.write(self.dir, "cpu.idle", idle, F + ".idle")
            elif idle:
                raise CgroupError(f"{F}.idle: cannot set {idle}: {self.dir}/cpu.idle does not exist "
                                  "(Linux >= 5.15 and the cpu controller needed)")
        if shares and idle != 1:  # an idle group has the minimum weight already
            weight = cm.cpu_shares_to_weight(shares)
            self._w("cpu.weight", weight, F + ".shares", shown=f"{shares} (cpu.weight {weight})")
        pending_burst = None
        if burst is not None:
            if not cm.exists(self.dir, "cpu.max.burst"):
                if burst:
                    raise CgroupError(f"{F}.burst: cannot set {burst}: {self.dir}/cpu.max.burst does not exist")
            else:
                try:
                    cm.write(self.dir, "cpu.max.burst", burst, F + ".burst")
                except CgroupError:
                    if not quota:
                        raise
                    pending_burst = burst  # may need the new quota first
        if quota or period:
            cur = (cm.read_or(self.dir, "cpu.max", "") or "").split()
            q = str(quota) if quota > 0 else ("max" if quota < 0 or not cur else cur[0])
            p = period or (int(cur[1]) if len(cur) == 2 else 100000)
            self._w("cpu.max", f"{q} {p}", F + (".quota" if quota else ".period"))
            if pending_burst is not None:
                cm.write(self.dir, "cpu.max.burst", pending_burst, F + ".burst")

    def _set_devices(self, res: dict) -> None:
        if "devices" not in res and not self._fresh:
            return
        target = dv.target_state(res.get("devices"))
        from . import devicefilter
        devicefilter.attach(self.dir, devicefilter.program(target))

    def _set_cpuset(self, res: dict) -> None:
        cpu = cm.section(res, "cpu")
        cpus = cm.opt_str(cpu, "cpus", f"{R}.cpu.cpus")
        mems = cm.opt_str(cpu, "mems", f"{R}.cpu.mems")
        if cpus:
            self._w("cpuset.cpus", cpus, f"{R}.cpu.cpus")
        if mems:
            self._w("cpuset.mems", mems, f"{R}.cpu.mems")

    def _set_hugetlb(self, res: dict) -> None:
        for f, ps, limit in cm.hugepage_limits(res):
            self._w(f"hugetlb.{ps}.max", cm.v2_num(limit), f + ".limit", shown=limit)
            if cm.exists(self.dir, f"hugetlb.{ps}.rsvd.max"):
                cm.write(self.dir, f"hugetlb.{ps}.rsvd.max", cm.v2_num(limit), f + ".limit", shown=limit)

    def _set_rdma(self, res: dict) -> None:
        for field, line in rdma_lines(res):
            self._w("rdma.max", line, field)

    def _set_network(self, res: dict) -> None:
        net = cm.section(res, "network")
        F = f"{R}.network"
        if net.get("classID"):
            raise CgroupError(f"{F}.classID: cannot set {net['classID']}: net_cls is a cgroup v1 controller "
                              "(cgroup v2 has none; use an eBPF or tc classifier)")
        if net.get("priorities"):
            raise CgroupError(f"{F}.priorities: net_prio is a cgroup v1 controller (cgroup v2 has none)")

    def _set_unified(self, res: dict) -> None:
        uni = cm.section(res, "unified")
        for k, v in uni.items():
            f = f"{R}.unified.{k}"
            check_unified_key(k, v, f)
            ctl = k.split(".", 1)[0]
            if not cm.exists(self.dir, k):
                if ctl != "cgroup" and ctl not in self.controllers():
                    have = " ".join(self.controllers()) or "none"
                    raise CgroupError(f"{f}: the {ctl} controller is not available in {self.dir} "
                                      f"(cgroup.controllers: {have})")
                raise CgroupError(f"{f}: {self.dir}/{k} does not exist")
            cm.write(self.dir, k, v, f)

    # -- stats ----------------------------------------------------------------------------

    def stats(self) -> dict:
        d = self.dir
        st = cm.read_kv(d, "cpu.stat")
        cpu = {"usage": _omit({"total": st.get("usage_usec", 0) * 1000,
                               "kernel": st.get("system_usec", 0) * 1000,
                               "user": st.get("user_usec", 0) * 1000}, keep=("kernel", "user")),
               "throttling": _omit({"periods": st.get("nr_periods", 0),
                                    "throttledPeriods": st.get("nr_throttled", 0),
                                    "throttledTime": st.get("throttled_usec", 0) * 1000})}
        cpuset = {}
        for key, f in (("cpus", "cpuset.cpus.effective"), ("mems", "cpuset.mems.effective")):
            lst = parse_list_str(cm.read_or(d, f, "") or "")
            if lst:
                cpuset[key] = lst
        memory: dict = {}
        if cm.exists(d, "memory.current"):
            raw = cm.read_kv(d, "memory.stat")
            ev = cm.read_kv(d, "memory.events")
            usage = cm.read_uint(d, "memory.current")
            limit = cm.read_uint(d, "memory.max", -1)
            limit = (1 << 64) - 1 if limit < 0 else limit
            swap_usage = cm.read_uint(d, "memory.swap.current")
            swap_lim = cm.read_uint(d, "memory.swap.max", -1)
            # as runc: report swap as memory+swap, like v1's memsw
            swap_lim = (1 << 64) - 1 if swap_lim < 0 or limit == (1 << 64) - 1 else swap_lim + limit
            memory = {"usage": _omit({"limit": limit, "usage": usage, "max": cm.read_uint(d, "memory.peak"),
                                      "failcnt": ev.get("max", 0)}, keep=("limit", "failcnt")),
                      "swap": _omit({"limit": swap_lim, "usage": swap_usage + usage, "failcnt": 0},
                                    keep=("limit", "failcnt")),
                      "kernel": {"limit": 0, "failcnt": 0}, "kernelTCP": {"limit": 0, "failcnt": 0},
                      "raw": raw}
            if raw.get("file"):
                memory["cache"] = raw["file"]
        pids = {}
        if cm.exists(d, "pids.current"):
            lim = cm.read_uint(d, "pids.max", -1)
            pids = _omit({"current": cm.read_uint(d, "pids.current"), "limit": 0 if lim < 0 else lim})
        blkio: dict = {}
        for line in (cm.read_or(d, "io.stat", "") or "").splitlines():
            p = line.split()
            if not p or ":" not in p[0]:
                continue
            ma, mi = (int(x) for x in p[0].split(":", 1))
            for item in p[1:]:
                k, _, v = item.partition("=")
                table = {"rbytes": ("ioServiceBytesRecursive", "Read"), "wbytes": ("ioServiceBytesRecursive", "Write"),
                         "rios": ("ioServicedRecursive", "Read"), "wios": ("ioServicedRecursive", "Write")}.get(k)
                if table and v.isdigit():
                    blkio.setdefault(table[0], []).append(
                        _omit({"major": ma, "minor": mi, "op": table[1], "value": int(v)}))
        hugetlb = {}
        for ps in cm.hugepage_sizes():
            if cm.exists(d, f"hugetlb.{ps}.current"):
                hugetlb[ps] = _omit({"usage": cm.read_uint(d, f"hugetlb.{ps}.current"),
                                     "failcnt": cm.read_kv(d, f"hugetlb.{ps}.events").get("max", 0)},
                                    keep=("failcnt",))
        return {"cpu": cpu, "cpuset": cpuset, "memory": memory, "pids": pids, "blkio": blkio,
                "hugetlb": hugetlb}
