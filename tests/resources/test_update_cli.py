"""`update` through runc's flags (--memory, --memory-swap, --memory-reservation,
--cpu-shares, --cpu-quota, --cpu-period, --cpuset-cpus, --cpuset-mems,
--pids-limit, --blkio-weight), flags combined with --resources, and the
errors: every failure is one line, changes nothing, and names what is wrong."""
from __future__ import annotations

import json
import os

import pytest

from rsupport import M, field_re
from support.checks import assert_one_line_error
from fieldtable import FIELDS, _lacks, _last_cpu, cpu_weight, io_weight


def _weight(h):
    if h.is_v2:
        if h.has_file("io.bfq.weight"):
            return "io.bfq.weight", "default 500"
        return "io.weight", f"default {io_weight(500)}"
    if h.has_file("blkio.weight"):
        return "blkio.weight", "500"
    return "blkio.bfq.weight", "500"


def _lacks_weight(h):
    return next(f for f in FIELDS if f.name == "blockIO.weight").lacks(h)


def _lacks_cpuset(h):
    return None if h.has_controller("cpuset") else \
        f"{h.mode}: no cpuset controller (UML has no SMP, so no cpuset)"


def _lacks_swap(h):
    return next(f for f in FIELDS if f.name == "memory.swap").lacks(h)


# (id, flag args, config resources, lacks, fn(host) -> [(file spec, expected)])
FLAGS = [
    ("memory", ["--memory", "128m"], {"memory": {"limit": 64 * M}}, None,
     lambda h: [("memory.max" if h.is_v2 else "memory.limit_in_bytes", str(128 * M))]),
    ("memory-swap", ["--memory-swap", "256m"], {"memory": {"limit": 64 * M, "swap": 128 * M}},
     _lacks_swap,
     lambda h: [("memory.swap.max", str(192 * M))] if h.is_v2 else
     [("memory.memsw.limit_in_bytes", str(256 * M))]),
    ("memory+swap", ["--memory", "100m", "--memory-swap", "300m"],
     {"memory": {"limit": 64 * M, "swap": 128 * M}}, _lacks_swap,
     lambda h: [("memory.max", str(100 * M)), ("memory.swap.max", str(200 * M))] if h.is_v2 else
     [("memory.limit_in_bytes", str(100 * M)), ("memory.memsw.limit_in_bytes", str(300 * M))]),
    ("memory-reservation", ["--memory-reservation", "16m"], None, None,
     lambda h: [("memory.low" if h.is_v2 else "memory.soft_limit_in_bytes", str(16 * M))]),
    ("cpu-share", ["--cpu-share", "1024"], None, None,
     lambda h: [("cpu.weight", str(cpu_weight(1024)))] if h.is_v2 else
     [("cpu.shares", "1024")]),
    ("cpu-quota", ["--cpu-quota", "30000"], None, None,
     lambda h: [("cpu.max", "30000 100000")] if h.is_v2 else [("cpu.cfs_quota_us", "30000")]),
    ("cpu-period", ["--cpu-period", "50000"], {"cpu": {"quota": 20000, "period": 100000}}, None,
     lambda h: [("cpu.max", "20000 50000")] if h.is_v2 else
     [("cpu.cfs_period_us", "50000"), ("cpu.cfs_quota_us", "20000")]),
    ("cpu-quota+period", ["--cpu-quota", "10000", "--cpu-period", "20000"], None, None,
     lambda h: [("cpu.max", "10000 20000")] if h.is_v2 else
     [("cpu.cfs_period_us", "20000"), ("cpu.cfs_quota_us", "10000")]),
    ("cpuset-cpus", ["--cpuset-cpus", _last_cpu()], None, _lacks_cpuset,
     lambda h: [("cpuset.cpus", _last_cpu())]),
    ("cpuset-mems", ["--cpuset-mems", "0"], None, _lacks_cpuset,
     lambda h: [("cpuset.mems", "0")]),
    ("pids-limit", ["--pids-limit", "20"], {"pids": {"limit": 10}}, None,
     lambda h: [("pids.max", "20")]),
    ("pids-limit-unlimited", ["--pids-limit", "-1"], {"pids": {"limit": 10}}, None,
     lambda h: [("pids.max", "max")]),
    ("blkio-weight", ["--blkio-weight", "500"], None, _lacks_weight,
     lambda h: [_weight(h)]),
]


def _line_in(content: str, want: str) -> bool:
    norm = " ".join(want.split())
    return content.strip() == want or norm in (" ".join(ln.split()) for ln in
                                               content.splitlines())


@pytest.mark.parametrize("fid,args,cfg,lacks,expect", FLAGS, ids=[f[0] for f in FLAGS])
def test_update_flag(fid, args, cfg, lacks, expect, ctr, cgh, runtime_is_runc):
    why = lacks(cgh) if lacks else None
    c = ctr.run(resources=cfg)
    if why:
        if runtime_is_runc:
            pytest.skip(why)
        r = c.update(*args)
        assert_one_line_error(r, r"linux\.resources\.")
        assert c.alive()
        pytest.skip(f"{why} -- checked: update {' '.join(args)} fails with a one-line error")
    r = c.update(*args)
    assert r.rc == 0, r
    assert r.out == "", r
    for spec, want in expect(cgh):
        got = c.read(spec)
        assert _line_in(got, want), f"update {' '.join(args)}: {spec} = {got!r}, expected {want!r}"


@pytest.mark.runtime_pyruntime_only(reason="--cpu-shares is pyruntime's alias")
def test_update_cpu_shares_alias(ctr, cgh):
    c = ctr.run()
    assert c.update("--cpu-shares", "1024").rc == 0
    assert c.read("cpu.weight" if cgh.is_v2 else "cpu.shares") == \
        (str(cpu_weight(1024)) if cgh.is_v2 else "1024")


def test_flags_are_ignored_with_resources(ctr, cgh, runtime_is_runc):
    """runc: with --resources the individual flags are ignored ("all other
    options are ignored", runc update --help); the file applies."""
    c = ctr.run(resources={"pids": {"limit": 10}})
    r = c.update("--pids-limit", "30", "--memory", "100m",
                 resources={"pids": {"limit": 20}, "cpu": {"shares": 512}})
    assert r.rc == 0, r
    assert c.read("pids.max") == "20"
    assert c.read("cpu.weight" if cgh.is_v2 else "cpu.shares") == \
        (str(cpu_weight(512)) if cgh.is_v2 else "512")
    assert c.read("memory.max" if cgh.is_v2 else "memory.limit_in_bytes") != str(100 * M)
    if not runtime_is_runc:
        assert "--pids-limit" in r.err and "ignored" in r.err, r  # a warning says so


def test_update_stdin_and_file_equivalent(ctr, cgh):
    c = ctr.run(resources={"pids": {"limit": 10}})
    assert c.update(resources={"pids": {"limit": 11}}).rc == 0
    assert c.read("pids.max") == "11"
    assert c.update(resources={"pids": {"limit": 12}}, stdin=True).rc == 0
    assert c.read("pids.max") == "12"
    # an update changes only what it carries
    assert c.update(resources={"memory": {"limit": 80 * M}}, stdin=True).rc == 0
    assert c.read("pids.max") == "12"


def test_update_errors_are_one_line_and_change_nothing(ctr, cgh, rt, testdir, runtime_is_runc):
    c = ctr.run(resources={"pids": {"limit": 10}, "memory": {"limit": 64 * M}})
    mem = "memory.max" if cgh.is_v2 else "memory.limit_in_bytes"
    cases = [
        ("missing file", ["--resources", os.path.join(testdir, "nope.json")], None,
         [r"nope\.json"]),
        ("bad JSON on stdin", ["--resources", "-"], "{not json", []),
        ("bad size", ["--memory", "lots"], None, [r"lots|invalid|memory"]),
        ("bad integer", ["--pids-limit", "many"], None, [r"many|pids"]),
    ]
    if not runtime_is_runc:
        cases += [
            ("wrong type in the file", ["--resources", "-"],
             json.dumps({"pids": {"limit": "ten"}}), [r"pids"]),
            ("nothing to update", [], None, [r"nothing to update"]),
        ]
    for what, args, inp, pats in cases:
        r = rt("update", *args, c.id, input=inp)
        assert_one_line_error(r, *pats)
        assert c.read("pids.max") == "10", what
        assert c.read(mem) == str(64 * M), what
    r = rt("update", "--pids-limit", "5", c.id + "-nonexistent")
    assert_one_line_error(r, r"does not exist|not exist|not found")
    assert c.alive()


def test_update_of_a_stopped_container_fails(ctr, rt, reaper):
    c = ctr.run()
    assert rt("kill", c.id, "KILL").rc == 0
    reaper.wait_pid(c.pid)
    rt.wait_status(c.id, "stopped")
    r = c.update("--pids-limit", "5")
    assert_one_line_error(r, r"stopped|not running")


@pytest.mark.runtime_pyruntime_only(reason="runc's update ignores most of these fields")
def test_update_of_a_field_the_host_lacks_fails_cleanly(ctr, cgh):
    """One running container; every field this host cannot honour is refused by
    `update` with a one-line error naming it, and the container keeps running
    with its limits unchanged."""
    lacking = [f for f in FIELDS if _lacks(f, cgh)]
    if not lacking:
        pytest.skip("this host honours every field")
    c = ctr.run(resources={"pids": {"limit": 10}})
    for f in lacking:
        r = c.update(resources=f.resolve(f.cfg, cgh))
        assert_one_line_error(r, field_re(f.err or f.name))
        assert c.read("pids.max") == "10"
    assert c.alive()
