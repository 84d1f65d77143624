"""The linux.resources fields: what to put in config.json and in an update,
which cgroup files must then read what (v1/hybrid and v2), and what a host
must have for each (else the error path is what gets tested)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from rsupport import M

# -- matchers -----------------------------------------------------------------------------


class Line:
    """The file has this line (whitespace-normalised)."""

    def __init__(self, text: str):
        self.text = " ".join(str(text).split())

    def ok(self, content: str) -> bool:
        return self.text in (" ".join(ln.split()) for ln in content.splitlines())

    def __repr__(self):
        return f"a line {self.text!r}"


class Has:
    """The file has a line containing all these words."""

    def __init__(self, *words: str):
        self.words = words

    def ok(self, content: str) -> bool:
        return any(all(w in ln.split() for w in self.words) for ln in content.splitlines())

    def __repr__(self):
        return f"a line with {' and '.join(self.words)}"


class WarnOr:
    """The file reads `value`, or (kernel ignores/lacks it) `run`/`update` warned
    naming the field (and still succeeded)."""

    def __init__(self, value, name: str):
        self.value = value
        self.name = name


def _match(content: str, want) -> bool:
    if hasattr(want, "ok"):
        return want.ok(content)
    return content.strip() == str(want)


def io_weight(w: int) -> int:
    """runc's blkio weight -> io.weight conversion."""
    return 1 + (w - 10) * 9999 // 990


def cpu_weight(shares: int) -> int:
    """runc's cpu.shares -> cpu.weight conversion."""
    return 1 + (shares - 2) * 9999 // 262142


# -- the fields -----------------------------------------------------------------------------

@dataclass
class Field:
    name: str                  # under linux.resources
    cfg: object                # resources for config.json (dict, or fn(host) -> dict)
    upd: object                # resources for update --resources FILE
    v1: object = None          # fn(host) -> [(file spec, after config, after update)]
    v2: object = None
    lacks: object = None       # fn(host) -> None, or what the host lacks (error path expected)
    roundtrip: bool = True     # update back to cfg through stdin
    runc: "str | None" = None  # set: runc does this differently (skipped with RUNTIME=runc)
    runc_update: "str | None" = None  # set: runc's update ignores it (config part only)
    err: "str | None" = None   # field named by the error, if not `name`
    readback_v2: "str | None" = None  # set: v2 has no file to read back (why)

    def resolve(self, v, h):
        return v(h) if callable(v) else v


def _need_ctrl(c: str, why: str = ""):
    def f(h):
        if h.has_controller(c):
            return None
        what = f"no {c} controller" + (f" ({why})" if why else "")
        return f"{h.mode}: {what}"
    return f


def _need_files(*names, why: str = ""):
    def f(h):
        for n in names:
            if not h.has_file(n):
                return f"{h.mode}: no {n} in a fresh cgroup" + (f" ({why})" if why else "")
        return None
    return f


def _v1_only(why: str, v1_need=None):
    def f(h):
        if h.is_v2:
            return f"v2: {why}"
        return v1_need(h) if v1_need else None
    return f


def _either(v1_need, v2_need):
    return lambda h: v2_need(h) if h.is_v2 else v1_need(h)


def _dev(h):
    return h.block_device or (0, 0)


def _blkio_weight_file(h) -> str:
    if h.is_v2:
        return "io.bfq.weight" if h.has_file("io.bfq.weight") else "io.weight"
    return "blkio.weight" if h.has_file("blkio.weight") else "blkio.bfq.weight"


def _blkio_weight_value(h, w):
    f = _blkio_weight_file(h)
    if f == "io.weight":
        return Line(f"default {io_weight(w)}")
    if f == "io.bfq.weight":
        return Line(f"default {w}")
    return str(w)


def _lacks_weight(h):
    if h.is_v2:
        if h.has_file("io.bfq.weight") or h.has_file("io.weight"):
            return None
        return "v2: no io.weight / io.bfq.weight (no io.cost, no BFQ; UML has neither)"
    if not h.has_controller("blkio"):
        return f"{h.mode}: no blkio controller"
    if h.has_file("blkio.weight") or h.has_file("blkio.bfq.weight"):
        return None
    return f"{h.mode}: no blkio.weight (CFQ) nor blkio.bfq.weight (BFQ)"


def _lacks_weight_device(h):
    w = _lacks_weight(h)
    if w:
        return w
    if h.is_v2:
        return None if h.block_device else "v2: no block device"
    if h.has_file("blkio.weight_device"):
        return None if h.block_device else f"{h.mode}: no block device"
    if h.bfq_device:
        return None
    return f"{h.mode}: no disk uses the BFQ scheduler (blkio.bfq.weight_device refuses others)"


def _wdev(h):
    if not h.is_v2 and not h.has_file("blkio.weight_device") and h.bfq_device:
        return h.bfq_device
    return _dev(h)


def _weight_device_expect(h):
    ma, mi = _wdev(h)
    f = _blkio_weight_file(h)
    if f == "io.weight":
        return [(f, Line(f"{ma}:{mi} {io_weight(200)}"), Line(f"{ma}:{mi} {io_weight(400)}"))]
    if f == "io.bfq.weight":
        return [(f, Line(f"{ma}:{mi} 200"), Line(f"{ma}:{mi} 400"))]
    wf = "blkio.weight_device" if f == "blkio.weight" else "blkio.bfq.weight_device"
    return [(wf, Line(f"{ma}:{mi} 200"), Line(f"{ma}:{mi} 400"))]


def _lacks_throttle(h):
    if not h.block_device:
        return f"{h.mode}: no block device"
    if h.is_v2:
        return None if h.has_file("io.max") else "v2: no io controller"
    return None if h.has_controller("blkio") else f"{h.mode}: no blkio controller"


THROTTLE = [("throttleReadBpsDevice", "read_bps_device", "rbps", 1 * M, 2 * M),
            ("throttleWriteBpsDevice", "write_bps_device", "wbps", 3 * M, 4 * M),
            ("throttleReadIOPSDevice", "read_iops_device", "riops", 100, 200),
            ("throttleWriteIOPSDevice", "write_iops_device", "wiops", 300, 400)]


def _throttle_field(key, v1file, v2op, a, b) -> Field:
    def cfg(rate):
        return lambda h: {"blockIO": {key: [{"major": _dev(h)[0], "minor": _dev(h)[1],
                                              "rate": rate}]}}

    def v1(h):
        ma, mi = _dev(h)
        return [(f"blkio.throttle.{v1file}", Line(f"{ma}:{mi} {a}"), Line(f"{ma}:{mi} {b}"))]

    def v2(h):
        ma, mi = _dev(h)
        return [("io.max", Has(f"{ma}:{mi}", f"{v2op}={a}"), Has(f"{ma}:{mi}", f"{v2op}={b}"))]
    return Field(f"blockIO.{key}", cfg(a), cfg(b), v1=v1, v2=v2, lacks=_lacks_throttle,
                 err=f"blockIO.{key}", runc_update="runc 1.1 update ignores blkio throttling")


def _huge_ps(h) -> str:
    return h.hugepage_sizes[0] if h.hugepage_sizes else "2MB"


def _huge_bytes(ps: str) -> int:
    n, unit = int(ps[:-2]), ps[-2:]
    return n << {"KB": 10, "MB": 20, "GB": 30}[unit]


def _lacks_hugetlb(h):
    if not h.hugepage_sizes:
        return f"{h.mode}: no huge pages in this kernel (UML has no hugetlb)"
    if h.is_v2:
        return None if "hugetlb" in h.unified_controllers() else "v2: no hugetlb controller"
    if h.has_controller("hugetlb") or "hugetlb" in h.unified_controllers():
        return None
    return f"{h.mode}: hugetlb neither mounted (v1) nor in the unified hierarchy"


def _huge_cfg(n):
    return lambda h: {"hugepageLimits": [{"pageSize": _huge_ps(h),
                                          "limit": n * _huge_bytes(_huge_ps(h))}]}


def _huge_expect(h):
    ps = _huge_ps(h)
    a, b = 4 * _huge_bytes(ps), 8 * _huge_bytes(ps)
    if h.is_v2:
        return [(f"hugetlb.{ps}.max", a, b)]
    if h.has_controller("hugetlb"):
        return [(f"hugetlb.{ps}.limit_in_bytes", a, b)]
    return [(f"unified:hugetlb.{ps}.max", a, b)]


def _lacks_unified(h):
    return None if h.unified else "v1: no unified hierarchy (pure cgroup v1)"


def _unified_cfg(v):
    def f(h):
        if h.is_v2:
            return {"unified": {"memory.high": str(v * M)}}
        return {"unified": {"cgroup.max.descendants": str(v)}}
    return f


def _rdma_lacks(h):
    if not h.has_controller("rdma"):
        return f"{h.mode}: no rdma controller (v2 in UML: none either)"
    try:
        if os.listdir("/sys/class/infiniband"):
            return None
    except OSError:
        pass
    return f"{h.mode}: no RDMA device"


def _last_cpu() -> str:
    return str(max(os.sched_getaffinity(0)))


FIELDS = [
    Field("memory.limit", {"memory": {"limit": 64 * M}}, {"memory": {"limit": 96 * M}},
          v1=lambda h: [("memory.limit_in_bytes", 64 * M, 96 * M)],
          v2=lambda h: [("memory.max", 64 * M, 96 * M)], lacks=_need_ctrl("memory")),
    Field("memory.reservation", {"memory": {"reservation": 32 * M}},
          {"memory": {"reservation": 16 * M}},
          v1=lambda h: [("memory.soft_limit_in_bytes", 32 * M, 16 * M)],
          v2=lambda h: [("memory.low", 32 * M, 16 * M)], lacks=_need_ctrl("memory")),
    Field("memory.swap", {"memory": {"limit": 64 * M, "swap": 128 * M}},
          {"memory": {"limit": 64 * M, "swap": 192 * M}},
          v1=lambda h: [("memory.limit_in_bytes", 64 * M, 64 * M),
                        ("memory.memsw.limit_in_bytes", 128 * M, 192 * M)],
          # v2's memory.swap.max is swap alone: OCI swap - limit (runc's conversion)
          v2=lambda h: [("memory.max", 64 * M, 64 * M), ("memory.swap.max", 64 * M, 128 * M)],
          lacks=_either(_need_files("memory.memsw.limit_in_bytes", why="no swap accounting"),
                        _need_files("memory.swap.max", why="no swap accounting"))),
    Field("memory.swappiness", {"memory": {"swappiness": 10}}, {"memory": {"swappiness": 30}},
          v1=lambda h: [("memory.swappiness", 10, 30)],
          lacks=_v1_only("no per-cgroup swappiness in cgroup v2", _need_ctrl("memory")),
          runc_update="runc 1.1 update ignores it"),
    Field("memory.disableOOMKiller", {"memory": {"disableOOMKiller": True}},
          {"memory": {"disableOOMKiller": False}},
          v1=lambda h: [("memory.oom_control", Line("oom_kill_disable 1"),
                         Line("oom_kill_disable 0"))],
          lacks=_v1_only("no memory.oom_control: the OOM killer cannot be disabled",
                         _need_ctrl("memory")),
          runc_update="runc 1.1 update ignores it"),
    Field("memory.kernel", {"memory": {"kernel": 64 * M}}, {"memory": {"kernel": 128 * M}},
          v1=lambda h: [("memory.kmem.limit_in_bytes", WarnOr(64 * M, "memory.kernel"),
                         WarnOr(128 * M, "memory.kernel"))],
          v2=lambda h: [(None, WarnOr(None, "memory.kernel"), WarnOr(None, "memory.kernel"))],
          lacks=_need_ctrl("memory"),
          runc="runc 1.1 writes memory.kmem.limit_in_bytes and prints no warning when the "
               "kernel ignores it"),
    Field("memory.kernelTCP", {"memory": {"kernelTCP": 16 * M}},
          {"memory": {"kernelTCP": 32 * M}},
          v1=lambda h: [("memory.kmem.tcp.limit_in_bytes", WarnOr(16 * M, "memory.kernelTCP"),
                         WarnOr(32 * M, "memory.kernelTCP"))],
          v2=lambda h: [(None, WarnOr(None, "memory.kernelTCP"),
                         WarnOr(None, "memory.kernelTCP"))],
          lacks=_need_ctrl("memory"),
          runc="runc 1.1 ignores every kernel memory setting (one generic warning), even "
               "where memory.kmem.tcp.limit_in_bytes still works"),
    Field("cpu.shares", {"cpu": {"shares": 512}}, {"cpu": {"shares": 2048}},
          v1=lambda h: [("cpu.shares", 512, 2048)],
          v2=lambda h: [("cpu.weight", cpu_weight(512), cpu_weight(2048))],
          lacks=_need_ctrl("cpu")),
    Field("cpu.quota", {"cpu": {"quota": 50000}}, {"cpu": {"quota": 20000}},
          v1=lambda h: [("cpu.cfs_quota_us", 50000, 20000)],
          v2=lambda h: [("cpu.max", "50000 100000", "20000 100000")],
          lacks=_need_ctrl("cpu")),
    Field("cpu.period", {"cpu": {"period": 200000}}, {"cpu": {"period": 50000}},
          v1=lambda h: [("cpu.cfs_period_us", 200000, 50000), ("cpu.cfs_quota_us", -1, -1)],
          v2=lambda h: [("cpu.max", "max 200000", "max 50000")],
          lacks=_need_ctrl("cpu")),
    Field("cpu.burst", {"cpu": {"quota": 50000, "period": 100000, "burst": 10000}},
          {"cpu": {"burst": 20000}},
          v1=lambda h: [("cpu.cfs_burst_us", 10000, 20000), ("cpu.cfs_quota_us", 50000, 50000)],
          v2=lambda h: [("cpu.max.burst", 10000, 20000), ("cpu.max", "50000 100000",
                                                           "50000 100000")],
          lacks=_either(_need_files("cpu.cfs_burst_us", why="Linux >= 5.14"),
                        _need_files("cpu.max.burst", why="Linux >= 5.14")),
          runc="runc 1.1 has no cpu.burst (added in 1.2)"),
    Field("cpu.realtimePeriod", {"cpu": {"realtimePeriod": 500000}},
          {"cpu": {"realtimePeriod": 800000}},
          v1=lambda h: [("cpu.rt_period_us", 500000, 800000)],
          lacks=_v1_only("no per-cgroup realtime bandwidth (cpu.rt_*) in cgroup v2",
                         _need_files("cpu.rt_period_us", why="CONFIG_RT_GROUP_SCHED"))),
    Field("cpu.cpus", {"cpu": {"cpus": "0"}}, lambda h: {"cpu": {"cpus": _last_cpu()}},
          v1=lambda h: [("cpuset.cpus", "0", _last_cpu())],
          v2=lambda h: [("cpuset.cpus", "0", _last_cpu())],
          lacks=_need_ctrl("cpuset", "UML has no SMP, so no cpuset")),
    Field("cpu.mems", {"cpu": {"mems": "0"}}, {"cpu": {"mems": "0"}},
          v1=lambda h: [("cpuset.mems", "0", "0")],
          v2=lambda h: [("cpuset.mems", "0", "0")],
          lacks=_need_ctrl("cpuset", "UML has no SMP, so no cpuset")),
    Field("cpu.idle", {"cpu": {"idle": 1}}, {"cpu": {"idle": 0}},
          v1=lambda h: [("cpu.idle", 1, 0)], v2=lambda h: [("cpu.idle", 1, 0)],
          lacks=_need_files("cpu.idle", why="Linux >= 5.15"),
          runc="runc 1.1 has no cpu.idle (added in 1.2)"),
    Field("pids.limit", {"pids": {"limit": 50}}, {"pids": {"limit": 100}},
          v1=lambda h: [("pids.max", 50, 100)], v2=lambda h: [("pids.max", 50, 100)],
          lacks=_need_ctrl("pids")),
    Field("blockIO.weight", {"blockIO": {"weight": 300}}, {"blockIO": {"weight": 500}},
          v1=lambda h: [(_blkio_weight_file(h), _blkio_weight_value(h, 300),
                         _blkio_weight_value(h, 500))],
          v2=lambda h: [(_blkio_weight_file(h), _blkio_weight_value(h, 300),
                         _blkio_weight_value(h, 500))],
          lacks=_lacks_weight),
    Field("blockIO.leafWeight", {"blockIO": {"leafWeight": 300}},
          {"blockIO": {"leafWeight": 500}},
          v1=lambda h: [("blkio.leaf_weight", WarnOr(300, "blockIO.leafWeight"),
                         WarnOr(500, "blockIO.leafWeight"))],
          v2=lambda h: [(None, WarnOr(None, "blockIO.leafWeight"),
                         WarnOr(None, "blockIO.leafWeight"))],
          lacks=_either(_need_ctrl("blkio"), lambda h: None),
          runc="runc 1.1 writes blkio.leaf_weight, gone with CFQ: its create fails"),
    Field("blockIO.weightDevice",
          lambda h: {"blockIO": {"weightDevice": [{"major": _wdev(h)[0], "minor": _wdev(h)[1],
                                                   "weight": 200}]}},
          lambda h: {"blockIO": {"weightDevice": [{"major": _wdev(h)[0], "minor": _wdev(h)[1],
                                                   "weight": 400}]}},
          v1=_weight_device_expect, v2=_weight_device_expect, lacks=_lacks_weight_device,
          err="blockIO.weightDevice[0]",
          runc_update="runc 1.1 update ignores it"),
    *[_throttle_field(*t) for t in THROTTLE],
    Field("hugepageLimits", _huge_cfg(4), _huge_cfg(8), v1=_huge_expect, v2=_huge_expect,
          lacks=_lacks_hugetlb, err="hugepageLimits[0]",
          runc="runc 1.1 needs a v1 hugetlb hierarchy on v1/hybrid hosts"),
    Field("network.classID", {"network": {"classID": 0x100001}},
          {"network": {"classID": 0x100002}},
          v1=lambda h: [("net_cls.classid", 0x100001, 0x100002)],
          lacks=_v1_only("net_cls is a cgroup v1 controller",
                         _need_ctrl("net_cls", "not mounted on this host")),
          runc_update="runc 1.1 update ignores it"),
    Field("network.priorities", {"network": {"priorities": [{"name": "lo", "priority": 5}]}},
          {"network": {"priorities": [{"name": "lo", "priority": 7}]}},
          v1=lambda h: [("net_prio.ifpriomap", Line("lo 5"), Line("lo 7"))],
          lacks=_v1_only("net_prio is a cgroup v1 controller",
                         _need_ctrl("net_prio", "not mounted on this host")),
          err="network.priorities",
          runc_update="runc 1.1 update ignores it"),
    Field("rdma", {"rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 1000}}},
          {"rdma": {"mlx5_0": {"hcaHandles": 4, "hcaObjects": 2000}}},
          v1=lambda h: [("rdma.max", Has("mlx5_0", "hca_handle=3"), Has("mlx5_0", "hca_handle=4"))],
          v2=lambda h: [("rdma.max", Has("mlx5_0", "hca_handle=3"), Has("mlx5_0", "hca_handle=4"))],
          lacks=_rdma_lacks, err="rdma.mlx5_0",
          runc_update="runc 1.1 update ignores it"),
    Field("unified", _unified_cfg(100), _unified_cfg(200),
          v1=lambda h: [("unified:cgroup.max.descendants", 100, 200)],
          v2=lambda h: [("memory.high", 100 * M, 200 * M)],
          lacks=_lacks_unified, err="unified",
          runc="runc 1.1 refuses linux.resources.unified on v1/hybrid hosts"),
    Field("devices",
          {"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]},
          {"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]},
          v1=lambda h: [("devices.list", Line("c 10:229 rwm"), Line("c 10:229 r")),
                        ("devices.list", Line("c 1:3 rwm"), Line("c 1:3 rwm"))],
          v2=lambda h: [],
          readback_v2="v2 device rules are an eBPF program, there is no file to read back "
                      "(test_enforced.py::test_device_rules_enforced checks them)",
          lacks=_either(_need_ctrl("devices"), lambda h: None),
          runc="runc update does not change device rules"),
]




def _lacks(f: Field, h):
    return f.lacks(h) if f.lacks else None
