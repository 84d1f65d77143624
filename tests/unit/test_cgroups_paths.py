"""cgroup detection and linux.cgroupsPath semantics (pure; no cgroups touched)."""
import pytest

from pyruntime import cgroups
from pyruntime.cgroups import CgroupError, Hierarchy, Layout

SUBSYS = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
          "net_cls", "net_prio", "perf_event", "rdma", "misc"}

HYBRID = """\
25 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
35 30 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
"""

V1_COMOUNT = """\
31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
32 30 0:28 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
35 30 0:29 / /mnt/again/memory rw - cgroup cgroup rw,memory
"""

V2 = """\
30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
40 30 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
"""


def test_hybrid():
    lay = cgroups.parse_mountinfo(HYBRID, SUBSYS)
    assert lay.mode == "hybrid"
    assert lay.unified == "/sys/fs/cgroup/unified"
    assert [h.name for h in lay.hierarchies] == ["cpu", "cpuacct", "memory", "name=systemd"]
    assert lay.mountpoints["memory"] == "/sys/fs/cgroup/memory"
    assert lay.mountpoints[""] == "/sys/fs/cgroup/unified"
    assert lay.hierarchy("name=systemd").mountpoint == "/sys/fs/cgroup/systemd"


def test_v1_comounted_and_bind_root():
    lay = cgroups.parse_mountinfo(V1_COMOUNT, SUBSYS)
    assert lay.mode == "v1" and lay.unified is None
    cpu = lay.hierarchy("cpuacct")
    assert cpu.name == "cpu,cpuacct" and cpu.controllers == ("cpu", "cpuacct")
    assert lay.hierarchy("pids").root == "/docker/abc"
    # the second mount of the memory hierarchy is a bind: the first wins
    assert lay.hierarchy("memory").mountpoint == "/sys/fs/cgroup/memory"
    assert len(lay.hierarchies) == 4


def test_v2_ignores_named_v1():
    lay = cgroups.parse_mountinfo(V2, SUBSYS)
    assert lay.mode == "v2" and lay.unified == "/sys/fs/cgroup" and lay.hierarchies == []


def test_v2_elsewhere_and_escapes():
    lay = cgroups.parse_mountinfo("30 25 0:26 / /mnt/my\\040cg rw - cgroup2 none rw\n", SUBSYS)
    assert lay.mode == "v2" and lay.unified == "/mnt/my cg"


def test_no_cgroups():
    with pytest.raises(CgroupError):
        cgroups.parse_mountinfo("25 1 254:0 / / rw - ext4 /dev/vda rw\n", SUBSYS)


def test_detect_is_cached():
    assert cgroups.detect() is cgroups.detect()
    assert cgroups.detect().mode in ("v1", "hybrid", "v2")


def test_parse_proc_cgroup():
    got = cgroups.parse_proc_cgroup("12:cpu,cpuacct:/a\n1:name=systemd:/user.slice\n0::/x/y\n")
    assert got == {"cpu,cpuacct": "/a", "name=systemd": "/user.slice", "": "/x/y"}


def test_clean_path():
    c = cgroups.clean_path
    assert c("/a/b/../c") == "/a/c"
    assert c("/../../etc") == "/etc"
    assert c("//a//b/") == "/a/b"
    assert c("a/../../b") == "b"  # relative never climbs out of its base
    assert c("../../x/./y") == "x/y"
    assert c("") == ""


def _layout(mode, own):
    hs = [Hierarchy("cpu", ("cpu",), "/sys/fs/cgroup/cpu", "/"),
          Hierarchy("memory", ("memory",), "/sys/fs/cgroup/memory", "/")] if mode != "v2" else []
    lay = Layout(mode, hs, "/sys/fs/cgroup" if mode == "v2" else None)
    lay._own = own
    return lay


def test_relative_base():
    v1 = _layout("v1", {"cpu": "/", "memory": "/sandbox/abc"})
    assert cgroups.relative_base(v1) == "/sandbox/abc"
    v2 = _layout("v2", {"": "/user.slice/session-1.scope"})
    assert cgroups.relative_base(v2) == "/user.slice"
    assert cgroups.relative_base(_layout("v2", {"": "/"})) == "/"
    assert cgroups.relative_base(_layout("v2", {"": "/init.scope"})) == "/"


@pytest.mark.parametrize("path,expected", [
    ("/default/abc", "/default/abc"),               # containerd: /<namespace>/<id>
    ("/a/../b/./c", "/b/c"),
    ("libpod_parent/libpod-abc", "/user.slice/libpod_parent/libpod-abc"),  # podman cgroupfs
    ("../../escape", "/user.slice/escape"),
    (None, "/user.slice/ctr1"),                     # runc's default: "<id>", relative
    ("", "/user.slice/ctr1"),
])
def test_resolve_path_v2(path, expected):
    lay = _layout("v2", {"": "/user.slice/session-3.scope"})
    assert cgroups.resolve_path(path, "ctr1", lay) == expected


def test_resolve_path_v1_uses_deepest_own_cgroup():
    lay = _layout("hybrid", {"cpu": "/", "memory": "/sandbox/abc"})
    assert cgroups.resolve_path(None, "c", lay) == "/sandbox/abc/c"
    assert cgroups.resolve_path("/abs", "c", lay) == "/abs"


@pytest.mark.parametrize("bad", [42, "a\0b", "x\ny"])
def test_resolve_path_invalid(bad):
    with pytest.raises(CgroupError) as ei:
        cgroups.resolve_path(bad, "c", _layout("v2", {"": "/"}))
    assert "linux.cgroupsPath" in str(ei.value)


def test_new_manager_needs_absolute():
    with pytest.raises(CgroupError):
        cgroups.new_manager("rel/path", _layout("v2", {"": "/"}))
