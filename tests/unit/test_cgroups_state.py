"""Manager state (to_state / manager_from_state / is_frozen_from_state), the
import-lightness `pyruntime state` relies on, and the cgroupspy extensions on
a fake cgroup directory."""
import json
import os
import subprocess
import sys

import pytest

from pyruntime import cgroups
from pyruntime.cgroups import CgroupError, Hierarchy, Layout

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def hybrid_layout():
    return Layout("hybrid", [Hierarchy("cpu,cpuacct", ("cpu", "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct", "/"),
                             Hierarchy("freezer", ("freezer",), "/sys/fs/cgroup/freezer", "/"),
                             Hierarchy("name=systemd", ("name=systemd",), "/sys/fs/cgroup/systemd", "/")],
                  "/sys/fs/cgroup/unified")


def test_v1_state_roundtrip():
    m = cgroups.new_manager("/a/b", hybrid_layout())
    st = json.loads(json.dumps(m.to_state()))
    assert st["version"] == 1 and st["mode"] == "hybrid" and st["path"] == "/a/b"
    assert st["unified"] == "/sys/fs/cgroup/unified/a/b"
    assert st["freeze_file"] == "/sys/fs/cgroup/freezer/a/b/freezer.self_freezing"
    m2 = cgroups.manager_from_state(st)
    assert m2.to_state() == st
    assert m2.mount_sources() == [("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/a/b"),
                                  ("freezer", "/sys/fs/cgroup/freezer/a/b"),
                                  ("systemd", "/sys/fs/cgroup/systemd/a/b")]
    assert m2.dir_of("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct/a/b"


def test_v2_state_roundtrip():
    m = cgroups.new_manager("/x", Layout("v2", [], "/sys/fs/cgroup"))
    st = json.loads(json.dumps(m.to_state()))
    assert st == {"version": 2, "mode": "v2", "path": "/x", "mount": "/sys/fs/cgroup", "dir": "/sys/fs/cgroup/x",
                  "created": [], "freeze_file": "/sys/fs/cgroup/x/cgroup.freeze"}
    assert cgroups.manager_from_state(st).mount_sources() == [("", "/sys/fs/cgroup/x")]


def test_root_path():
    m = cgroups.new_manager("/", Layout("v2", [], "/sys/fs/cgroup"))
    assert m.dir == "/sys/fs/cgroup"


@pytest.mark.parametrize("bad", [None, {}, {"version": 3}, []])
def test_bad_state(bad):
    with pytest.raises(CgroupError):
        cgroups.manager_from_state(bad)


def test_is_frozen_from_state(tmp_path):
    f = tmp_path / "cgroup.freeze"
    assert not cgroups.is_frozen_from_state({"freeze_file": str(f)})  # missing
    f.write_text("1\n")
    assert cgroups.is_frozen_from_state({"freeze_file": str(f)})
    f.write_text("0\n")
    assert not cgroups.is_frozen_from_state({"freeze_file": str(f)})
    assert not cgroups.is_frozen_from_state({"freeze_file": None})
    assert not cgroups.is_frozen_from_state({})


def test_import_is_light():
    """`pyruntime state` path: no cgroupspy, no re, no json, no v1/v2 modules."""
    code = ("import sys; sys.path.insert(0, %r); import pyruntime.cgroups as c; "
            "c.is_frozen_from_state({'freeze_file': '/nonexistent'}); "
            "bad = [m for m in ('cgroupspy', 're', 'json', 'pyruntime.cgroups.v1', 'pyruntime.cgroups.v2', "
            "'pyruntime.cgroups.common') if m in sys.modules]; print(bad)") % REPO
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_destroy_path_never_imports_cgroupspy():
    code = ("import sys, json; sys.path.insert(0, %r); import pyruntime.cgroups as c; "
            "m = c.manager_from_state(json.loads(sys.argv[1])); m.destroy(); m.pids(); m.is_frozen(); "
            "print('cgroupspy' in sys.modules)") % REPO
    st = cgroups.new_manager("/pyrt-never-created", hybrid_layout()).to_state()
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, json.dumps(st)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


# -- cgroupspy extensions on a fake directory ----------------------------------------------------

def test_cgroupspy_nodes_and_fixed_files(tmp_path):
    from pyruntime.cgroups import _cgroupspy_ext as ext
    mnt = tmp_path / "cpu,cpuacct"
    (mnt / "a" / "b").mkdir(parents=True)
    node = ext.node_for(str(mnt), "/a/b", ("cpu", "cpuacct"))
    assert node.full_path == str(mnt / "a" / "b").encode()
    ctrl = node.controller
    assert isinstance(ctrl, ext.CpuController) and isinstance(ctrl, ext.CpuAcctController)
    ctrl.shares = 512
    ctrl.cfs_burst_us = 1000
    assert (mnt / "a/b/cpu.shares").read_text() == "512"
    assert (mnt / "a/b/cpu.cfs_burst_us").read_text() == "1000"

    bl = ext.node_for(str(tmp_path / "blkio"), "/", ("blkio",))
    (tmp_path / "blkio").mkdir()
    bl.controller.throttle_write_bps_device = ext._ct.DeviceThrottle(5, 8, 0)
    assert (tmp_path / "blkio/blkio.throttle.write_bps_device").read_text() == "8:0 5"  # no trailing space
    bl.controller.bfq_weight_device = ext.DeviceWeight(8, 0, 300)
    assert (tmp_path / "blkio/blkio.bfq.weight_device").read_text() == "8:0 300"
    (tmp_path / "blkio/blkio.bfq.weight_device").write_text("default 100\n8:0 300\n")
    assert bl.controller.bfq_weight_device == [ext.DeviceWeight(8, 0, 300)]

    pids = ext.node_for(str(tmp_path / "pids"), "/", ("pids",))
    (tmp_path / "pids").mkdir()
    pids.controller.max = -1
    assert (tmp_path / "pids/pids.max").read_text() == "max"
    assert pids.controller.max == -1

    assert str(ext.Device("a", None, None, 7)) == "a"
    assert str(ext.Device("c", 1, None, 3)) == "c 1:* rw"

    named = ext.node_for(str(tmp_path), "/", ("name=systemd",))
    assert type(named.controller).__name__ == "Controller"


def test_cgroupspy_children(tmp_path):
    from pyruntime.cgroups import _cgroupspy_ext as ext
    (tmp_path / "x" / "y").mkdir(parents=True)
    (tmp_path / "x" / "z").mkdir()
    root = ext.node_for(str(tmp_path), "/x", ("memory",)).load_children()
    assert sorted(n.name for n in root.children) == [b"y", b"z"]
    kid = root.create_cgroup("w")
    assert (tmp_path / "x" / "w").is_dir() and isinstance(kid.controller, ext.MemoryController)
