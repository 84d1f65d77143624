"""runc's v1 -> v2 conversions and value checks (pyruntime.cgroups.common)."""
import pytest

from pyruntime.cgroups import CgroupError
from pyruntime.cgroups import common as cm


@pytest.mark.parametrize("shares,weight", [
    (0, 0), (2, 1), (1024, 39), (262144, 10000), (1, 1), (10 ** 9, 10000), (512, 20), (100000, 3815)])
def test_cpu_shares_to_weight(shares, weight):
    assert cm.cpu_shares_to_weight(shares) == weight


@pytest.mark.parametrize("blkio,io", [(0, 0), (10, 1), (500, 4950), (1000, 10000), (5, 1), (2000, 10000)])
def test_blkio_weight_to_io_weight(blkio, io):
    assert cm.blkio_weight_to_io_weight(blkio) == io


@pytest.mark.parametrize("swap,memory,expected", [
    (0, 0, 0),              # nothing set
    (0, -1, -1),            # memory unlimited and swap unset -> swap unlimited
    (-1, 1000, -1),         # unlimited stays unlimited
    (0, 1000, 0),           # unset stays unset
    (2000, -1, 2000),       # unlimited memory: swap as is
    (3000, 1000, 2000),     # v2 swap = memory+swap - memory
    (1000, 1000, 0),        # same value: no swap at all
])
def test_swap_to_v2(swap, memory, expected):
    assert cm.swap_to_v2(swap, memory) == expected


@pytest.mark.parametrize("swap,memory,why", [
    (1000, 0, "without memory limit"),
    (1000, 2000, ">= memory limit"),
    (1000, -5, "invalid memory value"),
])
def test_swap_to_v2_errors(swap, memory, why):
    with pytest.raises(ValueError) as ei:
        cm.swap_to_v2(swap, memory)
    assert why in str(ei.value)


def test_v2_num():
    assert cm.v2_num(-1) == "max" and cm.v2_num(0) == "0" and cm.v2_num(5) == "5"


def test_parse_uint():
    assert cm.parse_uint("max\n") == -1 and cm.parse_uint(" 42\n") == 42


@pytest.mark.parametrize("kb,name", [(64, "64KB"), (2048, "2MB"), (1048576, "1GB"), (32768, "32MB"),
                                     (16777216, "16GB"), (1536, "1MB")])
def test_kb_to_pagesize(kb, name):
    assert cm.kb_to_pagesize(kb) == name


def test_hugepage_sizes(tmp_path):
    for n in ("hugepages-1048576kB", "hugepages-2048kB", "other"):
        (tmp_path / n).mkdir()
    assert cm.hugepage_sizes(str(tmp_path)) == ["2MB", "1GB"]
    assert cm.hugepage_sizes(str(tmp_path / "missing")) == []


def test_check_pagesize():
    assert cm.check_pagesize("2MB", "f", ["2MB"]) == "2MB"
    with pytest.raises(CgroupError) as ei:
        cm.check_pagesize("3MB", "linux.resources.hugepageLimits[0].pageSize", ["2MB", "1GB"])
    assert str(ei.value) == ("linux.resources.hugepageLimits[0].pageSize: invalid hugepage size '3MB' "
                             "(this host has: 2MB, 1GB)")
    with pytest.raises(CgroupError):
        cm.check_pagesize(2, "f", ["2MB"])


def test_opt_int_and_bool():
    assert cm.opt_int({}, "x", "f") is None
    assert cm.opt_int({"x": None}, "x", "f") is None
    assert cm.opt_int({"x": 5}, "x", "f", 0, 10) == 5
    for bad in (True, "5", 5.0):
        with pytest.raises(CgroupError) as ei:
            cm.opt_int({"x": bad}, "x", "linux.resources.x")
        assert str(ei.value).startswith("linux.resources.x: expected an integer")
    with pytest.raises(CgroupError) as ei:
        cm.opt_int({"x": 11}, "x", "f", 0, 10)
    assert "out of range" in str(ei.value)
    assert cm.opt_bool({"b": False}, "b", "f") is False
    with pytest.raises(CgroupError):
        cm.opt_bool({"b": 1}, "b", "f")


def test_swappiness():
    assert cm.swappiness({}, "f") is None
    assert cm.swappiness({"swappiness": -1}, "f") is None            # docker's "unset"
    assert cm.swappiness({"swappiness": (1 << 64) - 1}, "f") is None
    assert cm.swappiness({"swappiness": 0}, "f") == 0
    with pytest.raises(CgroupError) as ei:
        cm.swappiness({"swappiness": 101}, "linux.resources.memory.swappiness")
    assert "0-100" in str(ei.value)


def test_dev_key():
    assert cm.dev_key({"major": 8, "minor": 16}, "f") == "8:16"
    with pytest.raises(CgroupError) as ei:
        cm.dev_key({"major": 8}, "linux.resources.blockIO.weightDevice[0]")
    assert str(ei.value).startswith("linux.resources.blockIO.weightDevice[0]: major and minor")


def test_write_error_is_one_line(tmp_path):
    with pytest.raises(CgroupError) as ei:
        cm.write(str(tmp_path / "nope"), "memory.max", "1\n2", "linux.resources.memory.limit", shown=1234)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg == (f"linux.resources.memory.limit: cannot set 1234 in {tmp_path}/nope/memory.max: "
                   "No such file or directory")


def test_mkdir_p_and_rmdir(tmp_path):
    (tmp_path / "a").mkdir()
    made = cm.mkdir_p(str(tmp_path), "/a/b/c")
    assert made == [str(tmp_path / "a/b"), str(tmp_path / "a/b/c")]
    assert cm.mkdir_p(str(tmp_path), "/a/b/c") == []
    (tmp_path / "a/b/c/d").mkdir()
    assert cm.walk_dirs(str(tmp_path / "a/b")) == [str(tmp_path / p) for p in ("a/b", "a/b/c", "a/b/c/d")]
    assert cm.rmdir_tree(str(tmp_path / "a/b"), timeout=0.1)
    assert (tmp_path / "a").is_dir() and not (tmp_path / "a/b").exists()
    assert cm.rmdir_tree(str(tmp_path / "a/b"), timeout=0.1)  # already gone: fine
