"""config-linux.md#control-groups: cgroupsPath and resources, read back on the host from the
container init's cgroup (found through /proc/<pid>/cgroup)."""
import os
import secrets

from conformance.harness import Fail, Skip, spec_test, parse_multi
from conformance.tests.common import read

CL = "config-linux.md"
MiB = 1024 * 1024


def _container(t, resources=None, mutate=None):
    b = t.checker_bundle("pause")
    if resources:
        b.linux["resources"].update(resources)
    if mutate:
        mutate(b)
    b.write()
    cid, _ = t.create(b)
    pid = t.pids.get(cid) or t.state(cid)["pid"]
    return cid, pid


def _read(t, pid, controller, v1file, v2file):
    ver, _ = t.host.controller_root(controller)
    f = v1file if ver == 1 else v2file
    if f is None:
        raise Skip(f"cgroup v{ver} has no equivalent of this setting")
    path = t.host.cgroup_file(pid, controller, f)
    val = read(path)
    if val is None:
        raise Fail(f"{path} does not exist")
    return ver, val.strip()


def resource_test(name, statement, controller, v1file, v2file, resources, expect, probe_value="0",
                  level="MUST", skip_v2=False):
    """``expect(version, text) -> None or message``."""
    @spec_test(f"{CL}#{name.split('.')[0]}", level, statement, name=name.split(".", 1)[1])
    def _t(t):
        ver, _ = t.host.controller_root(controller)
        if ver is None:
            raise Skip(f"this host has no {controller} cgroup controller")
        if ver == 2 and t.host.v1:
            raise Skip(f"the {controller} controller is only in the cgroup2 hierarchy of this hybrid host")
        probe_file = v1file if ver == 1 else v2file
        if probe_file is None:
            raise Skip(f"cgroup v{ver} has no equivalent of this setting")
        t.host.require_cgroup_file(controller, probe_file, probe_value)
        res = resources(t) if callable(resources) else resources
        _, pid = _container(t, res)
        ver, val = _read(t, pid, controller, v1file, v2file)
        msg = expect(ver, val)
        if msg:
            raise Fail(f"{probe_file}: {msg}")
    return _t


def equals(v1, v2=None):
    def check(ver, val):
        want = v1 if ver == 1 else (v2 if v2 is not None else v1)
        if val != str(want):
            return f"reads {val!r}, expected {want!r}"
    return check


# -- memory --------------------------------------------------------------------------------------

M = "configLinuxMemory"
resource_test("memory.memory_limit", "`limit` (int64, OPTIONAL) - sets limit of memory usage", "memory",
              "memory.limit_in_bytes", "memory.max", {"memory": {"limit": 64 * MiB}}, equals(64 * MiB),
              probe_value=str(64 * MiB))
resource_test("memory.memory_limit_unlimited", "Values for memory specify the limit in bytes, or `-1` for "
              "unlimited memory.", "memory", "memory.limit_in_bytes", "memory.max",
              {"memory": {"limit": -1}},
              lambda ver, val: None if (val == "max" or (val.isdigit() and int(val) >= 2 ** 62))
              else f"reads {val!r}, expected unlimited", probe_value="-1")
resource_test("memory.memory_reservation", "`reservation` (int64, OPTIONAL) - sets soft limit of memory usage",
              "memory", "memory.soft_limit_in_bytes", "memory.low", {"memory": {"reservation": 32 * MiB}},
              equals(32 * MiB), probe_value=str(32 * MiB))
resource_test("memory.memory_swap", "`swap` (int64, OPTIONAL) - sets limit of memory+Swap usage", "memory",
              "memory.memsw.limit_in_bytes", "memory.swap.max",
              {"memory": {"limit": 64 * MiB, "swap": 128 * MiB}}, equals(128 * MiB, 64 * MiB),
              probe_value="-1")
resource_test("memory.memory_kernel_tcp", "`kernelTCP` (int64, OPTIONAL, NOT RECOMMENDED) - sets hard limit for "
              "kernel TCP buffer memory", "memory", "memory.kmem.tcp.limit_in_bytes", None,
              {"memory": {"kernelTCP": 16 * MiB}}, equals(16 * MiB), probe_value=str(16 * MiB), level="MAY")
resource_test("memory.memory_kernel", "`kernel` (int64, OPTIONAL, NOT RECOMMENDED) - sets hard limit for kernel "
              "memory", "memory", "memory.kmem.limit_in_bytes", None,
              {"memory": {"kernel": 32 * MiB}}, equals(32 * MiB), probe_value=str(32 * MiB), level="MAY")
resource_test("memory.memory_swappiness", "`swappiness` (uint64, OPTIONAL) - sets swappiness parameter of vmscan",
              "memory", "memory.swappiness", None, {"memory": {"swappiness": 17}}, equals(17), probe_value="17")
resource_test("memory.memory_disable_oom_killer", "`disableOOMKiller` (bool, OPTIONAL) - enables or disables the "
              "OOM killer ... To disable it, specify a value of `true`.", "memory", "memory.oom_control", None,
              {"memory": {"disableOOMKiller": True}},
              lambda ver, val: None if "oom_kill_disable 1" in val else f"reads {val!r}", probe_value="1")
resource_test("memory.memory_use_hierarchy", "`useHierarchy` (bool, OPTIONAL) - enables or disables hierarchical "
              "memory accounting.", "memory", "memory.use_hierarchy", None, {"memory": {"useHierarchy": True}},
              equals(1), probe_value="1")

# -- cpu -----------------------------------------------------------------------------------------

resource_test("cpu.cpu_shares", "`shares` (uint64, OPTIONAL) - specifies a relative share of CPU time available "
              "to the tasks in a cgroup", "cpu", "cpu.shares", "cpu.weight", {"cpu": {"shares": 512}},
              equals(512, 1 + ((512 - 2) * 9999) // 262142), probe_value="512")
resource_test("cpu.cpu_quota", "`quota` (int64, OPTIONAL) - specifies the total amount of time in microseconds "
              "for which all tasks in a cgroup can run during one period", "cpu", "cpu.cfs_quota_us", "cpu.max",
              {"cpu": {"quota": 50000, "period": 100000}}, equals(50000, "50000 100000"), probe_value="50000")
resource_test("cpu.cpu_period", "`period` (uint64, OPTIONAL) - specifies a period of time in microseconds for how "
              "regularly a cgroup's access to CPU resources should be reallocated", "cpu", "cpu.cfs_period_us",
              "cpu.max", {"cpu": {"quota": 30000, "period": 250000}}, equals(250000, "30000 250000"),
              probe_value="250000")
resource_test("cpu.cpu_burst", "`burst` (uint64, OPTIONAL) - specifies the maximum amount of accumulated time in "
              "microseconds for which all tasks in a cgroup can run additionally for burst during one period",
              "cpu", "cpu.cfs_burst_us", "cpu.max.burst", {"cpu": {"quota": 50000, "period": 100000, "burst": 20000}},
              equals(20000), probe_value="0")
resource_test("cpu.cpu_realtime_runtime", "`realtimeRuntime` (int64, OPTIONAL) - specifies a period of time in "
              "microseconds for the longest continuous period in which the tasks in a cgroup have access to CPU "
              "resources", "cpu", "cpu.rt_runtime_us", None, {"cpu": {"realtimeRuntime": 10000}}, equals(10000),
              probe_value="0")
resource_test("cpu.cpu_realtime_period", "`realtimePeriod` (uint64, OPTIONAL) - same as `period` but applies to "
              "realtime scheduler only", "cpu", "cpu.rt_period_us", None, {"cpu": {"realtimePeriod": 500000}},
              equals(500000), probe_value="500000")
resource_test("cpu.cpu_cpus", "`cpus` (string, OPTIONAL) - list of CPUs the container will run on.", "cpuset",
              "cpuset.cpus", "cpuset.cpus", {"cpu": {"cpus": "0"}}, equals("0"), probe_value="0")
resource_test("cpu.cpu_mems", "`mems` (string, OPTIONAL) - list of memory nodes the container will run on.",
              "cpuset", "cpuset.mems", "cpuset.mems", {"cpu": {"mems": "0"}}, equals("0"), probe_value="0")
resource_test("cpu.cpu_idle", "`idle` (int64, OPTIONAL) - cgroups are configured with minimum weight, 0: default "
              "behavior, 1: SCHED_IDLE.", "cpu", "cpu.idle", "cpu.idle", {"cpu": {"idle": 1}}, equals(1),
              probe_value="0")

# -- pids ----------------------------------------------------------------------------------------

resource_test("pids.pids_limit", "`limit` (int64, OPTIONAL) - specifies the maximum number of tasks in the cgroup",
              "pids", "pids.max", "pids.max", {"pids": {"limit": 123}}, equals(123), probe_value="123")
resource_test("pids.pids_limit_unlimited", "`limit` ... with `-1` indicating no limit (`max`).", "pids",
              "pids.max", "pids.max", {"pids": {"limit": -1}}, equals("max"), probe_value="max")
resource_test("pids.pids_limit_zero", "Even though it may superficially seem redundant, `0` is a valid limit value "
              "for the `pids` cgroup controller from the kernel's perspective and SHOULD be treated as such by "
              "runtimes.", "pids", "pids.max", "pids.max", {"pids": {"limit": 0}}, equals(0), probe_value="0",
              level="SHOULD")

# -- block IO --------------------------------------------------------------------------------------


def _blk(t):
    dev = t.host.block_device()
    if dev is None:
        raise Skip("no block device on this host")
    return dev


def _throttle(field, v1file, v2key):
    def resources(t):
        ma, mi = _blk(t)
        return {"blockIO": {field: [{"major": ma, "minor": mi, "rate": 1048576}]}}

    def check(ver, val):
        if ver == 1:
            if not any(line.split()[-1] == "1048576" for line in val.splitlines() if line.strip()):
                return f"reads {val!r}"
        elif f"{v2key}=1048576" not in val:
            return f"reads {val!r}"
    resource_test(f"blockIO.blkio_{field}", f"`{field}` (array of objects, OPTIONAL) - an array of per-device "
                  f"{'bandwidth' if 'Bps' in field else 'IO'} rate limits (`major`, `minor`, `rate`).", "blkio",
                  v1file, "io.max", resources, check, probe_value="")


_throttle("throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps")
_throttle("throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps")
_throttle("throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops")
_throttle("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops")


def _weight_file(t):
    ver, root = t.host.controller_root("blkio" if "blkio" in t.host.v1 else "io")
    for f in (("blkio.weight", "blkio.bfq.weight") if ver == 1 else ("io.weight", "io.bfq.weight")):
        if root and os.path.exists(os.path.join(root, f)) or (ver == 2 and root):
            return ver, f
    raise Skip("this kernel has no block IO weight (needs the BFQ or CFQ scheduler)")


@spec_test(f"{CL}#block-io", "MUST", "`weight` (uint16, OPTIONAL) - specifies per-cgroup weight.")
def blkio_weight(t):
    ver, f = _weight_file(t)
    _, pid = _container(t, {"blockIO": {"weight": 300}})
    val = read(t.host.cgroup_file(pid, "blkio" if ver == 1 else "io", f), "")
    if "300" not in val.split():
        raise Fail(f"{f} reads {val.strip()!r}")


@spec_test(f"{CL}#block-io", "MUST", "`leafWeight` (uint16, OPTIONAL) - equivalents of `weight` for the purpose of "
           "deciding how much weight tasks in the given cgroup has while competing with the cgroup's child cgroups.")
def blkio_leaf_weight(t):
    ver, root = t.host.controller_root("blkio")
    if ver != 1 or not os.path.exists(os.path.join(root, "blkio.leaf_weight")):
        raise Skip("this kernel has no blkio.leaf_weight (CFQ only)")
    _, pid = _container(t, {"blockIO": {"leafWeight": 300}})
    val = read(t.host.cgroup_file(pid, "blkio", "blkio.leaf_weight"), "")
    if val.strip() != "300":
        raise Fail(f"blkio.leaf_weight reads {val.strip()!r}")


@spec_test(f"{CL}#block-io", "MUST", "`weightDevice` (array of objects, OPTIONAL) - an array of per-device bandwidth "
           "weights.")
def blkio_weight_device(t):
    ver, f = _weight_file(t)
    ma, mi = _blk(t)
    _, pid = _container(t, {"blockIO": {"weightDevice": [{"major": ma, "minor": mi, "weight": 321}]}})
    fname = f + "_device" if ver == 1 else f
    val = read(t.host.cgroup_file(pid, "blkio" if ver == 1 else "io", fname), "")
    if f"{ma}:{mi} 321" not in val:
        raise Fail(f"{fname} reads {val.strip()!r}")


# -- huge pages, network, rdma -----------------------------------------------------------------------

@spec_test(f"{CL}#huge-page-limits", "MUST", "`hugepageLimits` (array of objects, OPTIONAL) represents the "
           "`hugetlb` controller which allows to limit the HugeTLB reservations (if supported) or usage.")
def hugepage_limits(t):
    ver, root = t.host.controller_root("hugetlb")
    if ver is None:
        raise Skip("this host has no hugetlb cgroup controller")
    if ver == 2 and t.host.v1:
        raise Skip("the hugetlb controller is only in the cgroup2 hierarchy of this hybrid host")
    if not os.path.isdir("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        raise Skip("no 2MB huge pages on this host")
    _, pid = _container(t, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * 2 * MiB}]})
    names = ("hugetlb.2MB.rsvd.limit_in_bytes", "hugetlb.2MB.limit_in_bytes") if ver == 1 else \
        ("hugetlb.2MB.rsvd.max", "hugetlb.2MB.max")
    vals = [read(t.host.cgroup_file(pid, "hugetlb", n), "").strip() for n in names]
    if str(8 * MiB) not in vals:
        raise Fail(f"{names}: {vals}")


@spec_test(f"{CL}#network", "MUST", "`classID` (uint32, OPTIONAL) - is the network class identifier the cgroup's "
           "network packets will be tagged with.")
def net_cls_classid(t):
    if "net_cls" not in t.host.v1:
        raise Skip("this host has no net_cls cgroup controller")
    _, pid = _container(t, {"network": {"classID": 1048577}})
    val = read(t.host.cgroup_file(pid, "net_cls", "net_cls.classid"), "").strip()
    if val != "1048577":
        raise Fail(f"net_cls.classid reads {val!r}")


@spec_test(f"{CL}#network", "MUST", "`priorities` (array of objects, OPTIONAL) - specifies a list of objects of the "
           "priorities assigned to traffic originating from processes in the group.")
def net_prio(t):
    if "net_prio" not in t.host.v1:
        raise Skip("this host has no net_prio cgroup controller")
    _, pid = _container(t, {"network": {"priorities": [{"name": "lo", "priority": 7}]}})
    val = read(t.host.cgroup_file(pid, "net_prio", "net_prio.ifpriomap"), "")
    if "lo 7" not in val:
        raise Fail(f"net_prio.ifpriomap reads {val.strip()!r}")


@spec_test(f"{CL}#rdma", "MUST", "`rdma` (object, OPTIONAL) represents the cgroup subsystem `rdma`.")
def rdma_limits(t):
    ver, _ = t.host.controller_root("rdma")
    if ver is None:
        raise Skip("this host has no rdma cgroup controller")
    if not os.path.isdir("/sys/class/infiniband") or not os.listdir("/sys/class/infiniband"):
        raise Skip("this host has no RDMA device")
    dev = sorted(os.listdir("/sys/class/infiniband"))[0]
    _, pid = _container(t, {"rdma": {dev: {"hcaHandles": 3, "hcaObjects": 100}}})
    val = read(t.host.cgroup_file(pid, "rdma", "rdma.max"), "")
    if "hca_handle=3" not in val:
        raise Fail(f"rdma.max reads {val.strip()!r}")


# -- unified ------------------------------------------------------------------------------------------

@spec_test(f"{CL}#unified", "MUST", "`unified` (object, OPTIONAL) allows cgroup v2 parameters to be set and "
           "modified for the container. Each key in the map refers to a file in the cgroup unified hierarchy.")
def unified_write(t):
    if t.host.v1 or "pids" not in t.host.v2_controllers:
        raise Skip("needs a cgroup v2 (unified-only) host with the pids controller")
    _, pid = _container(t, {"unified": {"pids.max": "42"}})
    val = read(t.host.cgroup_file(pid, "pids", "pids.max"), "").strip()
    if val != "42":
        raise Fail(f"pids.max reads {val!r}")


@spec_test(f"{CL}#unified", "MUST", "The runtime MUST generate an error when the configuration refers to a cgroup "
           "controller that is not present or that cannot be enabled.")
def unified_missing_controller(t):
    b = t.checker_bundle("exit", "0")
    b.linux["resources"]["unified"] = {"cfbogus.max": "1"}
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "unified settings for a controller that does not exist")


# -- cgroupsPath ----------------------------------------------------------------------------------------

def _paths(t, pid):
    out = {}
    for line in read(f"/proc/{pid}/cgroup", "").splitlines():
        hid, ctrls, path = line.split(":", 2)
        out[ctrls or "unified"] = path
    return out


@spec_test(f"{CL}#cgroups-path", "MUST", "In the case of an absolute path (starting with `/`), the runtime MUST take "
           "the path to be relative to the cgroups mount point.")
def cgroups_path_absolute(t):
    want = f"/{t.suite.cgroup_parent}/abs-{secrets.token_hex(3)}"
    _, pid = _container(t, mutate=lambda b: b.linux.update(cgroupsPath=want))
    paths = _paths(t, pid)
    bad = {c: p for c, p in paths.items() if c in ("pids", "memory", "cpu,cpuacct", "cpu", "devices", "unified")
           and (c != "unified" or not t.host.v1) and p != want}
    if bad:
        raise Fail(f"expected {want} in every hierarchy; got {bad}")
    t.cgroups.update(t.host.cgroup_paths(pid))


@spec_test(f"{CL}#cgroups-path", "MUST", "If the value is specified, the runtime MUST consistently attach to the same "
           "place in the cgroups hierarchy given the same value of `cgroupsPath`.")
def cgroups_path_consistent(t):
    rel = f"{t.suite.cgroup_parent}/same-{secrets.token_hex(3)}"
    cid1, pid1 = _container(t, mutate=lambda b: b.linux.update(cgroupsPath=rel))
    first = _paths(t, pid1)
    t.kill(cid1, "KILL")
    t.wait_status(cid1, "stopped")
    t.delete(cid1)
    _, pid2 = _container(t, mutate=lambda b: b.linux.update(cgroupsPath=rel))
    second = _paths(t, pid2)
    if first != second:
        raise Fail(f"first container: {first}; second: {second}")


@spec_test(f"{CL}#cgroups-path", "MAY", "In the case of a relative path (not starting with `/`), the runtime MAY "
           "interpret the path relative to a runtime-determined location in the cgroups hierarchy.")
def cgroups_path_relative(t):
    rel = f"{t.suite.cgroup_parent}/rel-{secrets.token_hex(3)}"
    _, pid = _container(t, mutate=lambda b: b.linux.update(cgroupsPath=rel))
    paths = _paths(t, pid)
    if not any(p.endswith("/" + rel) for p in paths.values()):
        raise Fail(f"no cgroup path ends with {rel}: {paths}")


@spec_test(f"{CL}#control-groups", "MUST", "The container process is placed in the cgroups the runtime configured "
           "(the cgroups will be created if they don't exist; `cgroup.procs` lists the container process).")
def cgroup_procs(t):
    _, pid = _container(t, {"pids": {"limit": 100}})
    f = t.host.cgroup_file(pid, "pids", "cgroup.procs")
    if str(pid) not in read(f, "").split():
        raise Fail(f"{f} does not list the container process {pid}")
    if read(t.host.cgroup_file(pid, "pids", "pids.max"), "").strip() != "100":
        raise Fail("the container process is not in the cgroup holding its limits")


@spec_test(f"{CL}#intelrdt", "MUST", "If no mounted `resctrl` pseudo-filesystem is available in the runtime mount "
           "namespace, the runtime MUST generate an error.")
def intelrdt_without_resctrl(t):
    if t.host.resctrl:
        raise Skip("resctrl is mounted on this host (the statement is about hosts without it)")
    b = t.checker_bundle("exit", "0")
    b.linux["intelRdt"] = {"closID": "cf-clos", "l3CacheSchema": "L3:0=f"}
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "intelRdt without a mounted resctrl filesystem")
