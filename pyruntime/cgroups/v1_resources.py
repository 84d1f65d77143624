"""cgroup v1 (and hybrid) resources: linux.resources written through
cgroupspy's typed controllers (extended in _cgroupspy_ext.py), and the stats
read back. v1.py creates, joins, freezes and removes the cgroups and writes the
default device rules itself; it loads this module only for a container with
other resources, for `update` and for stats, so a plain create, `kill` or
`delete` does not pay for it (~90 KiB and ~0.4 ms of imports)."""
import errno
import os

from ..errors import CgroupError
from . import common as cm
from . import warn
from .v1 import R, _below, enable_controllers

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time: for the type checker only
    from .v1 import V1Manager


def _ext():
    from . import _cgroupspy_ext
    return _cgroupspy_ext


def apply(mgr: "V1Manager", res: dict) -> None:
    """Set linux.resources, in runc's order (the device rules by v1.py)."""
    _set_cpuset(mgr, res)
    mgr._set_devices(res)
    _set_memory(mgr, res)
    _set_cpu(mgr, res)
    _set_pids(mgr, res)
    _set_blkio(mgr, res)
    _set_hugetlb(mgr, res)
    _set_network(mgr, res)
    _set_rdma(mgr, res)
    _set_unified(mgr, res)


def stats(mgr: "V1Manager") -> dict:
    return {"cpu": _stats_cpu(mgr), "cpuset": _stats_cpuset(mgr), "memory": _stats_memory(mgr),
            "pids": _stats_pids(mgr), "blkio": _stats_blkio(mgr), "hugetlb": _stats_hugetlb(mgr)}


def _ctrl(mgr, controller: str):
    """cgroupspy controller object of the hierarchy holding `controller`."""
    for h in mgr.hier:
        if controller in h["controllers"]:
            return _ext().node_for(h["mount"], _below(h["dir"], h["mount"]),
                                   h["controllers"]).controller
    return None


def _prop(ctrl, attr: str, value, field: str, shown=None) -> None:
    try:
        setattr(ctrl, attr, value)
    except OSError as e:
        raise cm.error(field, value if shown is None else shown, _path_of(ctrl, attr), e) from None


def _need(mgr, controller: str, field: str):
    ctrl = _ctrl(mgr, controller)
    if ctrl is None:
        raise CgroupError(f"{field}: the {controller} cgroup controller is not mounted on this host")
    return ctrl


# cpuset
def _set_cpuset(mgr, res: dict) -> None:
    cpu = cm.section(res, "cpu")
    cpus = cm.opt_str(cpu, "cpus", f"{R}.cpu.cpus")
    mems = cm.opt_str(cpu, "mems", f"{R}.cpu.mems")
    if not cpus and not mems:
        return
    ctrl = _need(mgr, "cpuset", f"{R}.cpu.{'cpus' if cpus else 'mems'}")
    if cpus:
        _prop(ctrl, "cpus_list", cpus, f"{R}.cpu.cpus")
    if mems:
        _prop(ctrl, "mems_list", mems, f"{R}.cpu.mems")


# memory
def _set_memory(mgr, res: dict) -> None:
    mem = cm.section(res, "memory")
    if not mem:
        return
    F = f"{R}.memory"
    (limit, reservation, swap, kernel, ktcp, swappiness, oom_off, hier,
     check) = cm.memory_fields(mem, F)
    if not (limit or reservation or swap or kernel or ktcp) and swappiness is None \
            and oom_off is None and hier is None:
        return
    ctrl = _need(mgr, "memory", F)
    d = mgr.dir_of("memory")
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
            _memsw(mgr, ctrl, d, swap)
            _mem_limit(mgr, ctrl, d, limit)
        else:
            _mem_limit(mgr, ctrl, d, limit)
            _memsw(mgr, ctrl, d, swap)
    elif limit:
        _mem_limit(mgr, ctrl, d, limit)
    elif swap:
        _memsw(mgr, ctrl, d, swap)
    for val, attr, fname, fld in ((kernel, "kmem_limit_in_bytes", "memory.kmem.limit_in_bytes", "kernel"),
                                  (ktcp, "kmem_tcp_limit_in_bytes", "memory.kmem.tcp.limit_in_bytes",
                                   "kernelTCP")):
        if not val:
            continue
        if cm.exists(d, fname):
            _prop(ctrl, attr, val, f"{F}.{fld}")
            got = cm.read_uint(d, fname)
            page = os.sysconf("SC_PAGE_SIZE")
            if val > 0 and got != val // page * page:  # the kernel rounds to pages
                warn(f"{F}.{fld}: {val} was accepted but ignored by this kernel "
                     f"({fname} still reads {got}; kernel memory limits are deprecated)")
        else:
            warn(f"{F}.{fld}: ignored: this kernel has no {fname} (kernel memory limits are gone)")
    if reservation:
        _prop(ctrl, "soft_limit_in_bytes", reservation, F + ".reservation")
    if oom_off is not None:
        _prop(ctrl, "oom_kill_disable", oom_off, F + ".disableOOMKiller")
    if hier is not None:
        try:
            ctrl.use_hierarchy = hier
        except OSError as e:
            hint = " (this kernel's memory accounting is always hierarchical)" \
                if e.errno == errno.EINVAL and not hier else ""
            raise CgroupError(cm._msg(F + ".useHierarchy", str(hier).lower(),
                                      f"{d}/memory.use_hierarchy", e) + hint) from None
    if swappiness is not None:
        _prop(ctrl, "swappiness", swappiness, F + ".swappiness")


def _mem_limit(mgr, ctrl, d: str, limit: int) -> None:
    try:
        ctrl.limit_in_bytes = limit
    except OSError as e:
        msg = cm._msg(f"{R}.memory.limit", limit, f"{d}/memory.limit_in_bytes", e)
        if e.errno == errno.EBUSY:
            msg += (f" (current usage {cm.read_uint(d, 'memory.usage_in_bytes')}, "
                    f"peak usage {cm.read_uint(d, 'memory.max_usage_in_bytes')})")
        raise CgroupError(msg) from None


def _memsw(mgr, ctrl, d: str, swap: int) -> None:
    _prop(ctrl, "memsw_limit_in_bytes", swap, f"{R}.memory.swap")


# cpu
def _set_cpu(mgr, res: dict) -> None:
    cpu = cm.section(res, "cpu")
    if not cpu:
        return
    F = f"{R}.cpu"
    shares, quota, period, burst, rt_runtime, rt_period, idle = cm.cpu_fields(cpu, F)
    if quota > 0 and burst and burst > quota:
        raise CgroupError(f"{F}.burst: {burst} is larger than quota {quota}")
    if not (shares or quota or period or rt_runtime or rt_period) and burst is None and idle is None:
        return
    ctrl = _need(mgr, "cpu", F)
    d = mgr.dir_of("cpu")
    if rt_period:
        _prop(ctrl, "rt_period_us", rt_period, F + ".realtimePeriod")
    if rt_runtime:
        _prop(ctrl, "rt_runtime_us", rt_runtime, F + ".realtimeRuntime")
    if shares and idle != 1:  # an idle group has the minimum weight (and refuses shares)
        _prop(ctrl, "shares", shares, F + ".shares")
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
        _prop(ctrl, "cfs_quota_us", quota, F + ".quota")
        if pending_period is not None:
            _prop(ctrl, "cfs_period_us", pending_period, F + ".period")
        if pending_burst is not None:
            _prop(ctrl, "cfs_burst_us", pending_burst, F + ".burst")
    if idle is not None:
        if cm.exists(d, "cpu.idle"):
            _prop(ctrl, "idle", idle, F + ".idle")
        elif idle:
            raise CgroupError(f"{F}.idle: this kernel has no {d}/cpu.idle (Linux >= 5.15 needed)")


# pids
def _set_pids(mgr, res: dict) -> None:
    pids = cm.section(res, "pids")
    limit = cm.opt_int(pids, "limit", f"{R}.pids.limit")
    if limit is None:
        return
    ctrl = _need(mgr, "pids", f"{R}.pids.limit")
    _prop(ctrl, "max", limit, f"{R}.pids.limit", shown="max" if limit < 0 else limit)


# blkio
def _set_blkio(mgr, res: dict) -> None:
    bio = cm.section(res, "blockIO")
    if not bio:
        return
    F = f"{R}.blockIO"
    weight, leaf, wdev = cm.blkio_fields(bio, F)
    thr = [(k, cm.list_of(bio, k, f"{F}.{k}")) for k in (
        "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice")]
    if not (weight or leaf or wdev or any(v for _, v in thr)):
        return
    ext = _ext()
    ctrl = _need(mgr, "blkio", F)
    d = mgr.dir_of("blkio")
    cfq = cm.exists(d, "blkio.weight")
    w_attr, wd_attr = ("weight", "weight_device") if cfq else ("bfq_weight", "bfq_weight_device")
    if weight:
        if not cfq and not cm.exists(d, "blkio.bfq.weight"):
            raise CgroupError(f"{F}.weight: no proportional-weight I/O scheduler here ({d} has neither "
                              "blkio.weight (CFQ) nor blkio.bfq.weight (BFQ))")
        _prop(ctrl, w_attr, weight, F + ".weight")
    if leaf:
        if cm.exists(d, "blkio.leaf_weight"):
            _prop(ctrl, "leaf_weight", leaf, F + ".leafWeight")
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
            _prop(ctrl, wd_attr, ext.DeviceWeight(ma, mi, w), f + ".weight", shown=f"{key} {w}")
        if lw:
            if cm.exists(d, "blkio.leaf_weight_device"):
                _prop(ctrl, "leaf_weight_device", ext.DeviceWeight(ma, mi, lw), f + ".leafWeight",
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
            _prop(ctrl, attrs[k], ext._ct.DeviceThrottle(rate, ma, mi), f, shown=f"{key} {rate}")


# hugetlb
def _set_hugetlb(mgr, res: dict) -> None:
    limits = cm.hugepage_limits(res)
    ctrl = _ctrl(mgr, "hugetlb") if limits else None
    for f, ps, limit in limits:
        if ctrl is not None:
            d = mgr.dir_of("hugetlb")
            try:
                ctrl.set_limit(ps, limit)
                if cm.exists(d, f"hugetlb.{ps}.rsvd.limit_in_bytes"):
                    ctrl.set_limit(ps, limit, rsvd=True)
            except OSError as ex:
                raise cm.error(f + ".limit", limit, f"{d}/hugetlb.{ps}.limit_in_bytes", ex) from None
        elif mgr.unified and _unified_has(mgr, "hugetlb", f"hugetlb.{ps}.max"):
            cm.write(mgr.unified, f"hugetlb.{ps}.max", cm.v2_num(limit), f + ".limit", shown=limit)
            if cm.exists(mgr.unified, f"hugetlb.{ps}.rsvd.max"):
                cm.write(mgr.unified, f"hugetlb.{ps}.rsvd.max", cm.v2_num(limit), f + ".limit", shown=limit)
        else:
            where = " nor enabled in the unified hierarchy" if mgr.unified else ""
            raise CgroupError(f"{f}: the hugetlb cgroup controller is not mounted on this host{where}")


def _unified_has(mgr, controller: str, fname: str) -> bool:
    """Hybrid: is `fname` in our unified cgroup, enabling `controller` in
    the ancestors' cgroup.subtree_control if the kernel offers it there."""
    if cm.exists(mgr.unified, fname):
        return True
    enable_controllers(mgr.unified_mount, _below(mgr.unified, mgr.unified_mount),
                       only=[controller])
    return cm.exists(mgr.unified, fname)


# net_cls / net_prio
def _set_network(mgr, res: dict) -> None:
    net = cm.section(res, "network")
    if not net:
        return
    F = f"{R}.network"
    classid = cm.opt_int(net, "classID", F + ".classID", 0, 0xFFFFFFFF)
    prios = cm.list_of(net, "priorities", F + ".priorities")
    if classid:
        ctrl = _need(mgr, "net_cls", F + ".classID")
        _prop(ctrl, "class_id", classid, F + ".classID")
    if prios:
        ctrl = _need(mgr, "net_prio", F + ".priorities")
        for i, p in enumerate(prios):
            f = f"{F}.priorities[{i}]"
            if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p.get("name"):
                raise CgroupError(f"{f}.name: required")
            prio = cm.opt_int(p, "priority", f + ".priority", 0, 0xFFFFFFFF)
            if prio is None:
                raise CgroupError(f"{f}.priority: required")
            _prop(ctrl, "ifpriomap", {p["name"]: prio}, f, shown=f"{p['name']} {prio}")


# rdma
def _set_rdma(mgr, res: dict) -> None:
    lines = rdma_lines(res)
    if not lines:
        return
    ctrl = _need(mgr, "rdma", lines[0][0])
    for field, line in lines:
        _prop(ctrl, "max", line, field)


# unified
def _set_unified(mgr, res: dict) -> None:
    uni = cm.section(res, "unified")
    if not uni:
        return
    for k, v in uni.items():
        f = f"{R}.unified.{k}"
        check_unified_key(k, v, f)
        if not mgr.unified:
            raise CgroupError(f"{f}: cgroup v2 settings need the unified hierarchy; this host is cgroup v1")
        ctl = k.split(".", 1)[0]
        if not _unified_has(mgr, ctl, k):
            raise CgroupError(f"{f}: this host is cgroup v1 (hybrid) and its cgroup2 hierarchy "
                              f"({mgr.unified_mount}) has no {k} (controller {ctl!r} not available there)")
        cm.write(mgr.unified, k, v, f)


# -- stats --------------------------------------------------------------------------

def _stats_cpu(mgr) -> dict:
    usage: dict = {"kernel": 0, "user": 0}
    thr: dict = {}
    ca = _ctrl(mgr, "cpuacct")
    if ca is not None:
        try:
            usage["total"] = ca.usage
            usage["percpu"] = ca.usage_percpu
            d = mgr.dir_of("cpuacct")
            if cm.exists(d, "cpuacct.usage_percpu_sys"):
                usage["percpu_kernel"] = ca.usage_percpu_sys
                usage["percpu_user"] = ca.usage_percpu_user
            st = ca.acct_stat
            hz = os.sysconf("SC_CLK_TCK") or 100
            usage["kernel"] = st.get("system", 0) * 1_000_000_000 // hz
            usage["user"] = st.get("user", 0) * 1_000_000_000 // hz
        except (OSError, ValueError):
            pass
    c = _ctrl(mgr, "cpu")
    if c is not None:
        try:
            st = cm.read_kv(mgr.dir_of("cpu"), "cpu.stat")
            thr = {"periods": st.get("nr_periods", 0), "throttledPeriods": st.get("nr_throttled", 0),
                   "throttledTime": st.get("throttled_time", 0)}
        except OSError:
            pass
    return {"usage": _omit(usage, keep=("kernel", "user")), "throttling": _omit(thr)}


def _stats_cpuset(mgr) -> dict:
    d = mgr.dir_of("cpuset")
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


def _stats_memory(mgr) -> dict:
    d = mgr.dir_of("memory")
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


def _stats_pids(mgr) -> dict:
    d = mgr.dir_of("pids")
    if d is None:
        return {}
    lim = cm.read_uint(d, "pids.max")
    return _omit({"current": cm.read_uint(d, "pids.current"), "limit": 0 if lim < 0 else lim})


def _stats_blkio(mgr) -> dict:
    d = mgr.dir_of("blkio")
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


def _stats_hugetlb(mgr) -> dict:
    out = {}
    d = mgr.dir_of("hugetlb")
    for ps in cm.hugepage_sizes():
        if d is not None:
            out[ps] = _omit({"usage": cm.read_uint(d, f"hugetlb.{ps}.usage_in_bytes"),
                             "max": cm.read_uint(d, f"hugetlb.{ps}.max_usage_in_bytes"),
                             "failcnt": cm.read_uint(d, f"hugetlb.{ps}.failcnt")}, keep=("failcnt",))
        elif mgr.unified and cm.exists(mgr.unified, f"hugetlb.{ps}.current"):
            out[ps] = _omit({"usage": cm.read_uint(mgr.unified, f"hugetlb.{ps}.current"),
                             "failcnt": cm.read_kv(mgr.unified, f"hugetlb.{ps}.events").get("max", 0)},
                            keep=("failcnt",))
    return out


# -- helpers (also used by v2.py) --------------------------------------------------------------

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
