"""Where cgroupspy (0.2.x) falls short for a container runtime, and what we
add. Imported only by the v1 manager's set()/stats() (never by `state`,
`kill`, `delete`, `pause`).

cgroupspy gives us the tree (``nodes.Node``: a cgroup directory with a
``controller`` exposing typed file properties) and the controllers' typed
files (``IntegerFile``, ``FlagFile``, ``DictFile``, ``TypedFile`` with
``DeviceAccess``/``DeviceThrottle``...). Its gaps, filled here:

* ``Node`` picks its controller class from the *directory name* under
  /sys/fs/cgroup, so co-mounted hierarchies ("cpu,cpuacct"), named ones
  ("name=systemd") and mounts elsewhere get no controller: ``PyrtNode`` takes
  the controller class from the mount's real controller list (combined
  classes for co-mounts) and builds only the chain down to our cgroup
  (``BaseTree`` scans the whole hierarchy first).
* No pids, freezer, hugetlb or rdma controllers: added.
* Missing files: memory.kmem.* and memory.kmem.tcp.*, cpu.cfs_burst_us,
  cpu.idle, cpuacct.usage_percpu_{sys,user}, blkio.weight_device,
  blkio.leaf_weight_device, blkio.bfq.weight{,_device}: added.
* Bugs: BlkIOController.throttle_write_{bps,iops}_device name the file with a
  trailing space (always ENOENT): redefined. ``DeviceAccess`` prints type
  "a" as "all" (the kernel reads the first letter only, so it works by luck):
  ``Device`` prints "a". ``Node.delete_cgroup`` calls ``.encode()`` on bytes.
* Multi-entry files: ``TypedFile(many=True)`` writes all entries in one
  write(2), but blkio.throttle.*, *weight_device, net_prio.ifpriomap and
  devices.allow/deny take ONE entry per write: the manager sets one entry at
  a time.
* ``IntegerFile`` reads -1 as None and cannot write "max": ``MaxIntegerFile``.
* ``CommaDashSetFile`` (cpuset.cpus/mems) wants a set of ints, the spec gives
  a list string ("0-3,7"): ``StrFile`` writes it verbatim.
"""
from __future__ import annotations

from cgroupspy import contenttypes as _ct
from cgroupspy import controllers as _c
from cgroupspy import interfaces as _i
from cgroupspy import nodes as _n


class StrFile(_i.BaseFileInterface):
    """A file read and written verbatim (stripped on read)."""


class MaxIntegerFile(_i.BaseFileInterface):
    """An integer file where "max" means unlimited (-1)."""

    def sanitize_get(self, value):
        value = value.strip()
        return -1 if value == "max" else int(value)

    def sanitize_set(self, value):
        return "max" if value is None or int(value) < 0 else int(value)


class Device(_ct.DeviceAccess):
    """DeviceAccess that prints the "all" type the way the kernel documents it."""

    def __str__(self):
        if self.dev_type in ("a", self.TYPE_ALL) and self.major == "*" and self.minor == "*":
            return "a"
        return super().__str__()


class DeviceWeight(_ct.BaseContentType):
    """"major:minor weight" (blkio.weight_device, blkio.bfq.weight_device)."""

    def __init__(self, major, minor, weight):
        self.major, self.minor, self.weight = int(major), int(minor), int(weight)

    def __str__(self):
        return f"{self.major}:{self.minor} {self.weight}"

    def __eq__(self, other):
        return isinstance(other, DeviceWeight) and str(self) == str(other)

    @classmethod
    def from_string(cls, value):
        mm, w = value.split()
        ma, mi = mm.split(":")
        return cls(ma, mi, w)


class DeviceWeightFile(_i.TypedFile):
    """*weight_device files; reading skips the "default N" line bfq prints."""

    def sanitize_get(self, value):
        return [DeviceWeight.from_string(ln) for ln in value.splitlines()
                if ln.strip() and not ln.startswith("default")]


class CpuController(_c.CpuController):
    cfs_burst_us = _i.IntegerFile("cpu.cfs_burst_us")
    idle = _i.IntegerFile("cpu.idle")


class CpuAcctController(_c.CpuAcctController):
    usage_percpu_sys = _i.IntegerListFile("cpuacct.usage_percpu_sys", readonly=True)
    usage_percpu_user = _i.IntegerListFile("cpuacct.usage_percpu_user", readonly=True)


class CpuSetController(_c.CpuSetController):
    cpus_list = StrFile("cpuset.cpus")
    mems_list = StrFile("cpuset.mems")


class MemoryController(_c.MemoryController):
    kmem_limit_in_bytes = _i.IntegerFile("memory.kmem.limit_in_bytes")
    kmem_usage_in_bytes = _i.IntegerFile("memory.kmem.usage_in_bytes", readonly=True)
    kmem_max_usage_in_bytes = _i.IntegerFile("memory.kmem.max_usage_in_bytes", readonly=True)
    kmem_failcnt = _i.IntegerFile("memory.kmem.failcnt", readonly=True)
    kmem_tcp_limit_in_bytes = _i.IntegerFile("memory.kmem.tcp.limit_in_bytes")
    kmem_tcp_usage_in_bytes = _i.IntegerFile("memory.kmem.tcp.usage_in_bytes", readonly=True)
    kmem_tcp_max_usage_in_bytes = _i.IntegerFile("memory.kmem.tcp.max_usage_in_bytes", readonly=True)
    kmem_tcp_failcnt = _i.IntegerFile("memory.kmem.tcp.failcnt", readonly=True)
    oom_kill_disable = _i.FlagFile("memory.oom_control", writeonly=True)


class BlkIOController(_c.BlkIOController):
    # upstream's file names end in a space
    throttle_write_bps_device = _i.TypedFile("blkio.throttle.write_bps_device",
                                             contenttype=_ct.DeviceThrottle, many=True)
    throttle_write_iops_device = _i.TypedFile("blkio.throttle.write_iops_device",
                                              contenttype=_ct.DeviceThrottle, many=True)
    weight_device = DeviceWeightFile("blkio.weight_device", contenttype=DeviceWeight, many=True)
    leaf_weight_device = DeviceWeightFile("blkio.leaf_weight_device", contenttype=DeviceWeight, many=True)
    bfq_weight = _i.IntegerFile("blkio.bfq.weight")
    bfq_weight_device = DeviceWeightFile("blkio.bfq.weight_device", contenttype=DeviceWeight, many=True)


class DevicesController(_c.DevicesController):
    allow = _i.TypedFile("devices.allow", Device, writeonly=True)
    deny = _i.TypedFile("devices.deny", Device, writeonly=True)
    list = _i.TypedFile("devices.list", Device, readonly=True, many=True)


class PidsController(_c.Controller):
    max = MaxIntegerFile("pids.max")
    current = _i.IntegerFile("pids.current", readonly=True)
    events = _i.DictFile("pids.events", readonly=True)


class FreezerController(_c.Controller):
    state = StrFile("freezer.state")
    self_freezing = _i.FlagFile("freezer.self_freezing", readonly=True)
    parent_freezing = _i.FlagFile("freezer.parent_freezing", readonly=True)


class HugetlbController(_c.Controller):
    """hugetlb.<size>.* files: the size is part of the name, so methods."""

    def limit_file(self, size: str, rsvd: bool = False) -> str:
        return f"hugetlb.{size}.{'rsvd.' if rsvd else ''}limit_in_bytes"

    def set_limit(self, size: str, value: int, rsvd: bool = False):
        self.set_property(self.limit_file(size, rsvd).encode(), int(value))

    def get(self, size: str, what: str) -> int:
        return int(self.get_property(f"hugetlb.{size}.{what}".encode()))


class RdmaController(_c.Controller):
    max = StrFile("rdma.max")
    current = StrFile("rdma.current", readonly=True)


class NetClsController(_c.NetClsController):
    pass


class NetPrioController(_c.NetPrioController):
    pass


CONTROLLER_CLASSES = {
    "cpu": CpuController,
    "cpuacct": CpuAcctController,
    "cpuset": CpuSetController,
    "memory": MemoryController,
    "blkio": BlkIOController,
    "devices": DevicesController,
    "pids": PidsController,
    "freezer": FreezerController,
    "hugetlb": HugetlbController,
    "rdma": RdmaController,
    "net_cls": NetClsController,
    "net_prio": NetPrioController,
}

_combined: dict = {}


def controller_class(controllers) -> type:
    """The controller class for a hierarchy mounting `controllers` together."""
    key = tuple(c for c in controllers if c in CONTROLLER_CLASSES)
    if not key:
        return _c.Controller
    if len(key) == 1:
        return CONTROLLER_CLASSES[key[0]]
    cls = _combined.get(key)
    if cls is None:
        cls = type("Controller_" + "_".join(key), tuple(CONTROLLER_CLASSES[k] for k in key), {})
        _combined[key] = cls
    return cls


class PyrtNode(_n.Node):
    """A cgroupspy Node whose controller class comes from the hierarchy's
    controller list rather than from the directory's name."""

    def __init__(self, name, parent=None, controller_cls=None):
        if controller_cls is None and parent is not None:
            controller_cls = getattr(parent, "_ccls", None)
        self._ccls = controller_cls
        super().__init__(name, parent=parent)

    def _get_controller_type(self):
        return b"pyruntime" if self._ccls is not None else None

    def _get_controller(self):
        return self._ccls(self) if self._ccls is not None else None

    def create_cgroup(self, name):
        import os
        if isinstance(name, str):
            name = name.encode()
        node = PyrtNode(name, parent=self)
        try:
            os.mkdir(node.full_path)
        except FileExistsError:
            pass
        self.children.append(node)
        return node

    def load_children(self):
        """Fill .children from the file system (cgroupspy's BaseTree._init_children)."""
        import os
        self.children = []
        for name in sorted(os.listdir(self.full_path)):
            if os.path.isdir(os.path.join(self.full_path, name)):
                kid = PyrtNode(name, parent=self)
                self.children.append(kid)
                kid.load_children()
        return self


def node_for(mountpoint: str, cgroup_path: str, controllers) -> PyrtNode:
    """The Node of cgroup_path in the hierarchy mounted at mountpoint."""
    node = PyrtNode(mountpoint.rstrip("/").encode() or b"/", controller_cls=controller_class(controllers))
    for comp in [c for c in cgroup_path.split("/") if c]:
        kid = PyrtNode(comp.encode(), parent=node)
        node.children.append(kid)
        node = kid
    return node
