"""Managers on real cgroups: create/apply/destroy, every linux.resources field
set and read back from the files, limits enforced on a real process, freeze,
stats. Runs on the host's cgroup version and (test_in_v2_guest.py) in the v2
guest; what a kernel lacks is skipped with the reason."""
import errno
import json
import mmap
import os
import struct
import time

import pytest

from pyruntime import cgroups
from pyruntime.cgroups import CgroupError
from pyruntime.cgroups import common as cm

from cgsupport import wait_until


def V2(layout) -> bool:
    return layout.mode == "v2"


def cdir(m, controller: str) -> "str | None":
    """The directory holding `controller`'s files for manager m."""
    if m.version == 2:
        return m.dir
    return m.dir_of(controller)


def rd(m, controller: str, name: str) -> str:
    d = cdir(m, controller)
    assert d, f"no {controller} hierarchy"
    with open(f"{d}/{name}") as f:
        return f.read().strip()


def has(m, controller: str, name: str) -> bool:
    d = cdir(m, controller)
    return bool(d) and os.path.exists(f"{d}/{name}")


def need(m, controller: str, name: str):
    if not has(m, controller, name):
        pytest.skip(f"this kernel/host has no {controller} file {name}")


def one_line(e: Exception) -> str:
    s = str(e)
    assert "\n" not in s, s
    return s


def block_device() -> "tuple[int, int] | None":
    """(major, minor) of a real whole disk, for throttle rules."""
    try:
        with open("/proc/partitions") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return None
    for ln in lines:
        p = ln.split()
        if len(p) == 4 and p[2] != "0" and not p[3].startswith(("loop", "ram", "zram")):
            return int(p[0]), int(p[1])
    return None


# -- lifecycle ------------------------------------------------------------------------------

def test_create_apply_pids_destroy(make_mgr, spawn, layout):
    m = make_mgr()
    dirs = [d for _, d in m.mount_sources()] if m.version == 1 else [m.dir]
    assert dirs and all(os.path.isdir(d) for d in dirs)
    h = spawn()
    m.apply(h.pid)
    for d in dirs:
        assert h.pid in cm.procs(d)
    with open(f"/proc/{h.pid}/cgroup") as f:
        assert m.path in f.read()
    assert m.pids() == [h.pid]
    assert m.exists()
    m.destroy()
    assert h.wait(5) != 0  # killed
    assert not any(os.path.isdir(d) for d in dirs)
    assert not m.exists()
    m.destroy()  # idempotent


def test_destroy_only_what_it_created(make_mgr, layout, prefix):
    outer = make_mgr(path=f"{prefix}/outer")
    inner = make_mgr(path=f"{prefix}/outer/inner")
    assert all(d.endswith("/outer/inner") for d in inner.created)
    inner.destroy()
    assert outer.exists() and not inner.exists()
    # a manager for a cgroup that already existed removes nothing
    again = make_mgr(path=f"{prefix}/outer")
    assert again.created == []
    again.destroy()
    assert outer.exists()


def test_destroy_removes_nested_cgroups_and_their_processes(make_mgr, spawn, layout):
    m = make_mgr()
    h = spawn()
    m.apply(h.pid)
    sub = os.path.join(cdir(m, "pids"), "nested")
    assert h.cmd(f"mkcg {sub}") == "ok"  # the container made its own sub-cgroup
    assert h.pid in cm.procs(sub)
    m.destroy()
    assert h.wait(5) != 0
    assert not os.path.exists(sub) and not m.exists()


def test_state_roundtrip(make_mgr, spawn, layout):
    m = make_mgr()
    h = spawn()
    m.apply(h.pid)
    st = json.loads(json.dumps(m.to_state()))
    m2 = cgroups.manager_from_state(st)
    assert m2.pids() == [h.pid]
    assert m2.mount_sources() == m.mount_sources()
    assert not cgroups.is_frozen_from_state(st)
    m2.freeze()
    assert cgroups.is_frozen_from_state(st) and m.is_frozen()
    m2.thaw()
    assert not cgroups.is_frozen_from_state(st)
    m2.destroy()
    assert not m.exists()


def test_mount_sources(make_mgr, layout):
    m = make_mgr()
    src = m.mount_sources()
    if m.version == 2:
        assert src == [("", m.dir)]
    else:
        names = [n for n, _ in src]
        assert len(names) == len(layout.hierarchies)
        for n, d in src:
            assert d.endswith(m.path) and os.path.isdir(d) and "/" not in n


def test_apply_dead_pid_fails(make_mgr):
    m = make_mgr()
    with pytest.raises(CgroupError) as ei:
        m.apply(2 ** 22 + 12345)
    assert "cgroup" in one_line(ei.value)


def test_relative_path_is_under_own_cgroup(layout, prefix):
    rel = prefix.lstrip("/") + "-rel/c1"
    path = cgroups.resolve_path(rel, "ignored", layout)
    base = cgroups.relative_base(layout)
    assert path == (base.rstrip("/") + "/" + rel)
    m = cgroups.new_manager(path, layout)
    try:
        m.create()
        assert m.exists()
    finally:
        m.destroy()
    assert not m.exists()
    # nothing left of the new parents either
    top = (base.rstrip("/") + "/" + rel).rsplit("/", 1)[0]
    for mnt in [h.mountpoint for h in layout.hierarchies] + ([layout.unified] if layout.unified else []):
        assert not os.path.exists(mnt.rstrip("/") + top)


# -- memory ---------------------------------------------------------------------------------

def test_memory_readback(make_mgr, layout):
    m = make_mgr()
    m.set({"memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 96 << 20}})
    if m.version == 2:
        assert rd(m, "memory", "memory.max") == str(64 << 20)
        assert rd(m, "memory", "memory.low") == str(32 << 20)
        if has(m, "memory", "memory.swap.max"):
            assert rd(m, "memory", "memory.swap.max") == str(32 << 20)  # swap - limit
    else:
        assert rd(m, "memory", "memory.limit_in_bytes") == str(64 << 20)
        assert rd(m, "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
        if has(m, "memory", "memory.memsw.limit_in_bytes"):
            assert rd(m, "memory", "memory.memsw.limit_in_bytes") == str(96 << 20)
    # update: lower, then unlimited (memory and swap)
    m.set({"memory": {"limit": 48 << 20, "swap": 48 << 20}})
    if m.version == 2:
        assert rd(m, "memory", "memory.max") == str(48 << 20)
        if has(m, "memory", "memory.swap.max"):
            assert rd(m, "memory", "memory.swap.max") == "0"
    else:
        assert rd(m, "memory", "memory.limit_in_bytes") == str(48 << 20)
    m.set({"memory": {"limit": -1}})
    if m.version == 2:
        assert rd(m, "memory", "memory.max") == "max"
        if has(m, "memory", "memory.swap.max"):
            assert rd(m, "memory", "memory.swap.max") == "max"
    else:
        assert int(rd(m, "memory", "memory.limit_in_bytes")) > 1 << 60


def test_memory_v1_knobs(make_mgr, layout):
    m = make_mgr()
    if m.version == 2:
        for mem, word in (({"swappiness": 10}, "swappiness"), ({"disableOOMKiller": True}, "OOM"),
                          ({"useHierarchy": False}, "hierarchical")):
            with pytest.raises(CgroupError) as ei:
                m.set({"memory": mem})
            assert word in one_line(ei.value) and "linux.resources.memory." in str(ei.value)
        m.set({"memory": {"useHierarchy": True, "swappiness": -1}})  # no-op / docker's "unset"
        return
    m.set({"memory": {"swappiness": 17, "disableOOMKiller": True, "useHierarchy": True}})
    assert rd(m, "memory", "memory.swappiness") == "17"
    assert "oom_kill_disable 1" in rd(m, "memory", "memory.oom_control")
    assert rd(m, "memory", "memory.use_hierarchy") == "1"
    m.set({"memory": {"disableOOMKiller": False}})
    assert "oom_kill_disable 0" in rd(m, "memory", "memory.oom_control")
    with pytest.raises(CgroupError) as ei:
        m.set({"memory": {"swappiness": 200}})
    assert "linux.resources.memory.swappiness" in one_line(ei.value)


def test_memory_kernel_is_a_warning(make_mgr, layout, monkeypatch):
    seen = []
    from pyruntime import log
    monkeypatch.setattr(log, "warning", seen.append)
    m = make_mgr()
    m.set({"memory": {"kernel": 128 << 20, "kernelTCP": 64 << 20}})
    if m.version == 1 and has(m, "memory", "memory.kmem.limit_in_bytes") and \
            rd(m, "memory", "memory.kmem.limit_in_bytes") == str(128 << 20):
        assert rd(m, "memory", "memory.kmem.tcp.limit_in_bytes") == str(64 << 20)
    else:
        assert seen and all("linux.resources.memory.kernel" in s for s in seen)


def test_memory_check_before_update(make_mgr, spawn, layout):
    m = make_mgr()
    h = spawn()
    m.apply(h.pid)
    assert h.cmd("alloc 24") == "ok"
    with pytest.raises(CgroupError) as ei:
        m.set({"memory": {"limit": 4 << 20, "checkBeforeUpdate": True}})
    assert "rejecting memory limit" in one_line(ei.value)
    assert h.alive()


def test_memory_limit_oom_kills(make_mgr, spawn, layout):
    m = make_mgr()
    mem = {"limit": 48 << 20}
    if (m.version == 1 and has(m, "memory", "memory.memsw.limit_in_bytes")) or \
            (m.version == 2 and has(m, "memory", "memory.swap.max")):
        mem["swap"] = 48 << 20  # no swapping out of the limit
    m.set({"memory": mem})
    h = spawn()
    m.apply(h.pid)
    assert m.oom_count() == 0
    assert h.cmd("alloc 200", timeout=60) is None  # killed while allocating
    assert h.wait(10) == -9
    assert wait_until(lambda: m.oom_count() >= 1)


# -- cpu --------------------------------------------------------------------------------------

def test_cpu_readback(make_mgr, layout):
    m = make_mgr()
    m.set({"cpu": {"shares": 512, "quota": 50000, "period": 200000}})
    if m.version == 2:
        assert rd(m, "cpu", "cpu.weight") == str(cm.cpu_shares_to_weight(512)) == "20"
        assert rd(m, "cpu", "cpu.max") == "50000 200000"
        m.set({"cpu": {"quota": 70000}})  # keeps the period
        assert rd(m, "cpu", "cpu.max") == "70000 200000"
        m.set({"cpu": {"quota": -1}})
        assert rd(m, "cpu", "cpu.max") == "max 200000"
    else:
        assert rd(m, "cpu", "cpu.shares") == "512"
        assert rd(m, "cpu", "cpu.cfs_quota_us") == "50000"
        assert rd(m, "cpu", "cpu.cfs_period_us") == "200000"
        # a shorter period than quota/period allows needs the quota first (runc's retry)
        m.set({"cpu": {"quota": 1000, "period": 10000}})
        assert rd(m, "cpu", "cpu.cfs_period_us") == "10000"
        m.set({"cpu": {"quota": -1}})
        assert rd(m, "cpu", "cpu.cfs_quota_us") == "-1"


def test_cpu_shares_out_of_range(make_mgr, layout):
    m = make_mgr()
    if m.version == 2:
        m.set({"cpu": {"shares": 10 ** 7}})  # clamped to the maximum weight, as runc
        assert rd(m, "cpu", "cpu.weight") == "10000"
        return
    with pytest.raises(CgroupError) as ei:
        m.set({"cpu": {"shares": 10 ** 7}})
    assert "linux.resources.cpu.shares" in one_line(ei.value) and "262144" in str(ei.value)


def test_cpu_burst_and_idle(make_mgr, layout):
    m = make_mgr()
    burst = "cpu.max.burst" if m.version == 2 else "cpu.cfs_burst_us"
    need(m, "cpu", burst)
    m.set({"cpu": {"quota": 50000, "period": 100000, "burst": 20000}})
    assert rd(m, "cpu", burst) == "20000"
    with pytest.raises(CgroupError) as ei:
        m.set({"cpu": {"quota": 1000, "burst": 5000}})
    assert "burst" in one_line(ei.value)
    if has(m, "cpu", "cpu.idle"):
        m.set({"cpu": {"idle": 1, "shares": 2048}})
        assert rd(m, "cpu", "cpu.idle") == "1"
        m.set({"cpu": {"idle": 0}})
        assert rd(m, "cpu", "cpu.idle") == "0"


def test_cpu_realtime(make_mgr, layout):
    m = make_mgr()
    if m.version == 2:
        with pytest.raises(CgroupError) as ei:
            m.set({"cpu": {"realtimeRuntime": 1000, "realtimePeriod": 100000}})
        assert "realtime" in one_line(ei.value)
        return
    need(m, "cpu", "cpu.rt_period_us")
    m.set({"cpu": {"realtimePeriod": 500000}})
    assert rd(m, "cpu", "cpu.rt_period_us") == "500000"
    # our fresh parent has no RT budget to hand down: the kernel says no
    with pytest.raises(CgroupError) as ei:
        m.set({"cpu": {"realtimeRuntime": 10000}})
    assert "linux.resources.cpu.realtimeRuntime" in one_line(ei.value)


def test_cpuset(make_mgr, layout):
    m = make_mgr()
    if not has(m, "cpuset", "cpuset.cpus"):
        with pytest.raises(CgroupError) as ei:
            m.set({"cpu": {"cpus": "0"}})
        assert "linux.resources.cpu.cpus" in one_line(ei.value) and "cpuset" in str(ei.value)
        pytest.skip("no cpuset controller here (UML has no SMP): error path checked")
    m.set({"cpu": {"cpus": "0", "mems": "0"}})
    assert rd(m, "cpuset", "cpuset.cpus") == "0"
    assert rd(m, "cpuset", "cpuset.mems") == "0"


# -- pids -------------------------------------------------------------------------------------

def test_pids_limit_stops_forks(make_mgr, spawn, layout):
    m = make_mgr()
    m.set({"pids": {"limit": 3}})
    assert rd(m, "pids", "pids.max") == "3"
    h = spawn()
    m.apply(h.pid)
    out = h.cmd("fork 5")
    assert out == f"forked 2 err {errno.EAGAIN}", out
    assert h.cmd("reap") == "ok"
    m.set({"pids": {"limit": -1}})
    assert rd(m, "pids", "pids.max") == "max"
    assert h.cmd("fork 5") == "forked 5"
    assert h.cmd("reap") == "ok"
    m.set({"pids": {"limit": 0}})  # the spec: 0 is a valid limit
    assert rd(m, "pids", "pids.max") == "0"


# -- block I/O -----------------------------------------------------------------------------

def test_blkio_weight(make_mgr, layout):
    m = make_mgr()
    if m.version == 2:
        if not (has(m, "io", "io.bfq.weight") or has(m, "io", "io.weight")):
            with pytest.raises(CgroupError) as ei:
                m.set({"blockIO": {"weight": 300}})
            assert "linux.resources.blockIO.weight" in one_line(ei.value)
            pytest.skip("no io.weight / io.bfq.weight here (UML): error path checked")
        m.set({"blockIO": {"weight": 300}})
        if has(m, "io", "io.bfq.weight"):
            assert "300" in rd(m, "io", "io.bfq.weight")
        else:
            assert rd(m, "io", "io.weight").split()[-1] == str(cm.blkio_weight_to_io_weight(300))
        return
    f = "blkio.weight" if has(m, "blkio", "blkio.weight") else "blkio.bfq.weight"
    need(m, "blkio", f)
    m.set({"blockIO": {"weight": 300}})
    assert rd(m, "blkio", f).split()[-1] == "300"


def test_blkio_leaf_weight_is_a_warning_without_cfq(make_mgr, layout, monkeypatch):
    m = make_mgr()
    if has(m, "blkio", "blkio.leaf_weight"):
        pytest.skip("CFQ present: leafWeight is real here")
    seen = []
    from pyruntime import log
    monkeypatch.setattr(log, "warning", seen.append)
    m.set({"blockIO": {"leafWeight": 300}})
    assert seen and "leafWeight" in seen[0]


def test_blkio_throttle(make_mgr, layout):
    dev = block_device()
    if dev is None:
        pytest.skip("no block device")
    ma, mi = dev
    m = make_mgr()
    res = {"blockIO": {"throttleReadBpsDevice": [{"major": ma, "minor": mi, "rate": 1048576}],
                       "throttleWriteBpsDevice": [{"major": ma, "minor": mi, "rate": 2097152}],
                       "throttleReadIOPSDevice": [{"major": ma, "minor": mi, "rate": 100}],
                       "throttleWriteIOPSDevice": [{"major": ma, "minor": mi, "rate": 200}]}}
    m.set(res)
    if m.version == 2:
        line = rd(m, "io", "io.max")
        assert line == f"{ma}:{mi} rbps=1048576 wbps=2097152 riops=100 wiops=200", line
        m.set({"blockIO": {"throttleReadBpsDevice": [{"major": ma, "minor": mi, "rate": 0}]}})
        assert "rbps=max" in rd(m, "io", "io.max")
    else:
        assert rd(m, "blkio", "blkio.throttle.read_bps_device") == f"{ma}:{mi} 1048576"
        assert rd(m, "blkio", "blkio.throttle.write_bps_device") == f"{ma}:{mi} 2097152"
        assert rd(m, "blkio", "blkio.throttle.read_iops_device") == f"{ma}:{mi} 100"
        assert rd(m, "blkio", "blkio.throttle.write_iops_device") == f"{ma}:{mi} 200"
    with pytest.raises(CgroupError) as ei:
        m.set({"blockIO": {"throttleReadBpsDevice": [{"major": 4095, "minor": 4095, "rate": 1}]}})
    assert "linux.resources.blockIO.throttleReadBpsDevice[0]" in one_line(ei.value)


# -- hugetlb, network, rdma, unified ----------------------------------------------------------

@pytest.fixture
def restore_unified_subtree(layout, prefix):
    """Hybrid: hugepageLimits may enable hugetlb in the cgroup2 hierarchy's
    cgroup.subtree_control files (root included); undo that afterwards. (Set
    up before make_mgr, so torn down after the managers are destroyed.)"""
    if layout.mode != "hybrid" or not layout.unified:
        yield
        return
    root = layout.unified
    before = set(cm.read(root, "cgroup.subtree_control").split())
    yield
    added = set(cm.read(root, "cgroup.subtree_control").split()) - before
    mine = root.rstrip("/") + prefix
    dirs = list(reversed(cm.walk_dirs(mine))) if os.path.isdir(mine) else []
    for d in dirs + [root]:
        for c in added:
            try:
                cm.write(d, "cgroup.subtree_control", "-" + c, "test")
            except CgroupError:
                pass


def test_hugetlb(restore_unified_subtree, make_mgr, layout):
    sizes = cm.hugepage_sizes()
    m = make_mgr()
    if not sizes:
        pytest.skip("this kernel has no huge pages")
    ps = sizes[0]
    with pytest.raises(CgroupError) as ei:
        m.set({"hugepageLimits": [{"pageSize": "3KB", "limit": 1}]})
    assert "pageSize" in one_line(ei.value)
    try:
        m.set({"hugepageLimits": [{"pageSize": ps, "limit": 4 << 20}]})
    except CgroupError as e:
        assert "hugetlb" in one_line(e)
        pytest.skip(f"no hugetlb controller here: {e}")
    if m.version == 1 and m.dir_of("hugetlb"):
        assert rd(m, "hugetlb", f"hugetlb.{ps}.limit_in_bytes") == str(4 << 20)
    else:
        d = m.dir if m.version == 2 else m.unified
        assert open(f"{d}/hugetlb.{ps}.max").read().strip() == str(4 << 20)
    assert ps in m.stats()["hugetlb"]


def test_network(make_mgr, layout):
    m = make_mgr()
    res = {"network": {"classID": 1048577, "priorities": [{"name": "lo", "priority": 5}]}}
    if m.version == 2 or not (m.dir_of("net_cls") and m.dir_of("net_prio")):
        with pytest.raises(CgroupError) as ei:
            m.set(res)
        assert "linux.resources.network" in one_line(ei.value)
        return
    m.set(res)
    assert rd(m, "net_cls", "net_cls.classid") == "1048577"
    assert "lo 5" in rd(m, "net_prio", "net_prio.ifpriomap")


def test_rdma(make_mgr, layout):
    m = make_mgr()
    res = {"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}
    with pytest.raises(CgroupError) as ei:
        m.set(res)  # no such device (or no rdma controller at all)
    assert "linux.resources.rdma.mlx5_1" in one_line(ei.value)
    with pytest.raises(CgroupError):
        m.set({"rdma": {"x": {}}})


def test_unified(make_mgr, layout):
    m = make_mgr()
    if m.version == 2:
        m.set({"unified": {"pids.max": "7", "memory.high": "max"}})
        assert rd(m, "pids", "pids.max") == "7"
        with pytest.raises(CgroupError) as ei:
            m.set({"unified": {"misc.max": "x 1"}})
        assert "misc" in one_line(ei.value) and "not available" in str(ei.value)
    elif layout.mode == "hybrid":
        m.set({"unified": {"cgroup.max.descendants": "5"}})
        assert open(f"{m.unified}/cgroup.max.descendants").read().strip() == "5"
        with pytest.raises(CgroupError) as ei:
            m.set({"unified": {"misc.max": "x 1"}})
        assert "hybrid" in one_line(ei.value)
    else:
        with pytest.raises(CgroupError) as ei:
            m.set({"unified": {"pids.max": "7"}})
        assert "cgroup v1" in one_line(ei.value)
    with pytest.raises(CgroupError) as ei:
        m.set({"unified": {"../x": "1"}})
    assert "slashes" in one_line(ei.value)


# -- devices ----------------------------------------------------------------------------------

@pytest.fixture
def devnodes(tmp_path):
    """Device nodes of our own: c 1:1 (/dev/mem) and b 7:0 (loop0): denied by
    the default rules; c 1:11 (/dev/kmsg)."""
    out = {}
    for name, kind, ma, mi in (("mem", "c", 1, 1), ("loop0", "b", 7, 0), ("kmsg", "c", 1, 11)):
        p = tmp_path / name
        try:
            os.mknod(p, 0o600 | (0o020000 if kind == "c" else 0o060000), os.makedev(ma, mi))
        except OSError as e:
            pytest.skip(f"cannot mknod in {tmp_path}: {e}")
        out[name] = str(p)
    return out


def test_devices_enforced(make_mgr, spawn, layout, devnodes, ebpf):
    m = make_mgr()
    m.set({"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"}]})
    h = spawn()
    m.apply(h.pid)
    eperm = f"err {errno.EPERM}"
    assert h.cmd("open /dev/null rw") == "ok"           # runc's default rules
    assert h.cmd(f"open {devnodes['kmsg']} r") == "ok"   # allowed: read
    assert h.cmd(f"open {devnodes['kmsg']} w") == eperm  # not write
    assert h.cmd(f"open {devnodes['mem']} r") == eperm
    assert h.cmd(f"open {devnodes['loop0']} r") == eperm
    if m.version == 1:
        lst = rd(m, "devices", "devices.list").splitlines()
        assert "c 1:11 r" in lst and "c 1:3 rwm" in lst and "a *:* rwm" not in lst
    else:
        from pyruntime.cgroups import devicefilter
        assert devicefilter.attached_count(m.dir) == 1
    # update: allow everything; replaces (never stacks) the program on v2
    m.set({"devices": [{"allow": True, "access": "rwm"}]})
    assert h.cmd(f"open {devnodes['loop0']} r") != eperm  # ok, or ENXIO without a loop driver
    assert h.cmd(f"open {devnodes['kmsg']} w") == "ok"
    if m.version == 2:
        from pyruntime.cgroups import devicefilter
        assert devicefilter.attached_count(m.dir) == 1
    # and back: deny c 1:11 w only
    m.set({"devices": [{"allow": True, "access": "rwm"},
                       {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "w"}]})
    assert h.cmd(f"open {devnodes['kmsg']} r") == "ok"
    assert h.cmd(f"open {devnodes['kmsg']} rw") == eperm


def test_devices_default_applied_on_first_set(make_mgr, spawn, layout, devnodes, ebpf):
    m = make_mgr()
    m.set({})  # no devices in the config: runc's defaults still apply (deny the rest)
    h = spawn()
    m.apply(h.pid)
    assert h.cmd("open /dev/null rw") == "ok"
    assert h.cmd(f"open {devnodes['mem']} r") == f"err {errno.EPERM}"
    m.set({"pids": {"limit": 100}})  # a later update without devices leaves them alone
    assert h.cmd(f"open {devnodes['mem']} r") == f"err {errno.EPERM}"


def test_devices_bad_rule(make_mgr, layout):
    m = make_mgr()
    with pytest.raises(CgroupError) as ei:
        m.set({"devices": [{"allow": True, "type": "x", "access": "r"}]})
    assert "linux.resources.devices[0].type" in one_line(ei.value)


# -- freezer ---------------------------------------------------------------------------------

def test_freeze_thaw_stops_a_counter(make_mgr, spawn, layout, tmp_path):
    m = make_mgr()
    h = spawn()
    m.apply(h.pid)
    f = tmp_path / "counter"
    f.write_bytes(b"\0" * 8)
    fd = os.open(f, os.O_RDWR)
    mm = mmap.mmap(fd, 8)
    os.close(fd)

    def count() -> int:
        return struct.unpack_from("<Q", mm, 0)[0]
    assert h.cmd(f"spin {f}") == "ok"
    assert wait_until(lambda: count() > 0)
    m.freeze()
    assert m.is_frozen() and cgroups.is_frozen_from_state(m.to_state())
    a = count()
    time.sleep(0.3)
    assert count() == a
    m.thaw()
    assert not m.is_frozen()
    assert wait_until(lambda: count() > a)
    # a frozen container can be destroyed
    m.freeze()
    m.destroy()
    assert h.wait(5) != 0
    mm.close()


# -- stats ------------------------------------------------------------------------------------

def test_stats_shape(make_mgr, spawn, layout):
    m = make_mgr()
    m.set({"pids": {"limit": 50}, "memory": {"limit": 256 << 20}})
    h = spawn()
    m.apply(h.pid)
    assert h.cmd("alloc 16") == "ok"
    st = m.stats()
    json.dumps(st)
    assert set(st) >= {"cpu", "memory", "pids", "blkio", "hugetlb"}
    assert st["pids"] == {"current": 1, "limit": 50}
    assert st["memory"]["usage"]["usage"] >= 16 << 20
    assert st["memory"]["usage"]["limit"] == 256 << 20
    assert isinstance(st["memory"]["raw"], dict) and st["memory"]["raw"]
    assert "usage" in st["cpu"] and "throttling" in st["cpu"]
    assert m.oom_count() == 0


def test_set_errors_name_the_field(make_mgr, layout):
    m = make_mgr()
    for res, field in (({"pids": {"limit": "x"}}, "linux.resources.pids.limit"),
                       ({"memory": {"limit": True}}, "linux.resources.memory.limit"),
                       ({"cpu": {"shares": -5}}, "linux.resources.cpu.shares"),
                       ({"blockIO": {"weightDevice": [{"weight": 5}]}}, "linux.resources.blockIO.weightDevice[0]")):
        with pytest.raises(CgroupError) as ei:
            m.set(res)
        assert one_line(ei.value).startswith(field), str(ei.value)
