"""Every linux.resources field, through the CLI: set in config.json (`run`),
read back from the container's cgroup files on the host, changed with
`update --resources FILE`, read back, changed back with `update --resources -`
(stdin), read back. A field this host cannot honour must make `create` fail
with a one-line error naming the field and leave nothing behind; the test
checks that, then skips with what the host lacks.

Values are checked against the files of the cgroup version in use (v1 /
hybrid on this host, v2 in the guest): runc's v1 -> v2 conversions for
cpu.shares, blockIO weights and memory.swap."""
from __future__ import annotations

import os

import pytest

import cgenv
from fieldtable import FIELDS, Field, WarnOr, _lacks, _match
from rsupport import M, field_re
from support.checks import assert_one_line_error


def _check(c, f: Field, h, phase: int, res) -> None:
    exp = (f.v2 if h.is_v2 else f.v1)(h) if (f.v2 if h.is_v2 else f.v1) else []
    what = ("after run (config.json)", "after update --resources FILE",
            "after update --resources - (stdin)")[phase if phase < 2 else 2]
    for spec, *vals in exp:
        want = vals[0 if phase != 1 else 1]
        if isinstance(want, WarnOr):
            got = c.read(spec) if spec and c.cg.exists(spec) else None
            if got is not None and want.value is not None and got == str(want.value):
                continue
            warned = [ln for ln in res.err.splitlines()
                      if "warning" in ln and f"linux.resources.{want.name}" in ln]
            assert warned, (f"{f.name} {what}: {spec} reads {got!r}, not {want.value}, and "
                            f"no warning names linux.resources.{want.name}: {res!r}")
            continue
        got = c.read(spec)
        assert _match(got, want), f"{f.name} {what}: {spec} = {got!r}, expected {want!r}"


@pytest.mark.parametrize("f", FIELDS, ids=[f.name for f in FIELDS])
def test_field(f: Field, ctr, cgh, runtime_is_runc, request):
    h = cgh
    if runtime_is_runc and f.runc:
        pytest.skip(f"runc: {f.runc}")
    lacking = _lacks(f, h)
    cfg, upd = f.resolve(f.cfg, h), f.resolve(f.upd, h)
    if lacking:
        if runtime_is_runc:
            pytest.skip(lacking)
        ctr.create_fails(field_re(f.err or f.name), resources=cfg)
        pytest.skip(f"{lacking} -- checked: create fails with a one-line error naming "
                    f"linux.resources.{f.err or f.name} and leaves nothing")
    if f.name == "hugepageLimits" and not h.is_v2:
        request.getfixturevalue("restore_unified_subtree")
    c = ctr.run(resources=cfg)
    _check(c, f, h, 0, c.res)
    if runtime_is_runc and f.runc_update:
        pytest.skip(f"runc: {f.runc_update} (config.json part checked)")
    r = c.update(resources=upd)
    assert r.rc == 0, f"update --resources FILE failed: {r!r}"
    _check(c, f, h, 1, r)
    if f.roundtrip:
        r = c.update(resources=cfg, stdin=True)
        assert r.rc == 0, f"update --resources - failed: {r!r}"
        _check(c, f, h, 2, r)
    assert c.alive()
    ctr.cleanup()  # before restore_unified_subtree's teardown
    if h.is_v2 and f.readback_v2:
        pytest.skip(f.readback_v2)


@pytest.fixture
def restore_unified_subtree(cgh):
    """Hybrid hosts: hugepageLimits enable hugetlb in the unified hierarchy's
    cgroup.subtree_control of the container's ancestors; put them back."""
    if not cgh.unified:
        yield
        return
    before = {}
    for dirpath, dirnames, files in os.walk(cgh.unified):
        if "cgroup.subtree_control" in files and dirpath.count("/") <= \
                cgh.unified.count("/") + 3:
            with open(os.path.join(dirpath, "cgroup.subtree_control")) as fh:
                before[dirpath] = set(fh.read().split())
        if dirpath.count("/") > cgh.unified.count("/") + 3:
            dirnames[:] = []
    yield
    for d in sorted(before, key=len, reverse=True):
        try:
            with open(os.path.join(d, "cgroup.subtree_control")) as fh:
                now = set(fh.read().split())
        except OSError:
            continue
        for c in now - before[d]:
            try:
                with open(os.path.join(d, "cgroup.subtree_control"), "w") as fh:
                    fh.write("-" + c)
            except OSError:
                pass


# -- fields that need more than set/update/read back -----------------------------------------

def test_memory_use_hierarchy(ctr, cgh, runtime_is_runc):
    """true: v1 memory.use_hierarchy 1 (v2: always hierarchical, a no-op). false:
    refused with a one-line error naming the field where the kernel (or v2)
    does not allow it; else it reads 0."""
    c = ctr.run(resources={"memory": {"useHierarchy": True}})
    if not cgh.is_v2:
        assert c.read("memory.use_hierarchy") == "1"
    if runtime_is_runc:
        pytest.skip("runc 1.1 update ignores useHierarchy (config.json part checked)")
    r = c.update(resources={"memory": {"useHierarchy": False}})
    if r.rc == 0:
        assert not cgh.is_v2, "v2 cannot turn hierarchical accounting off"
        assert c.read("memory.use_hierarchy") == "0"
    elif not runtime_is_runc:
        assert_one_line_error(r, field_re("memory.useHierarchy"))
    assert c.alive()


@pytest.mark.runtime_pyruntime_only(reason="runc 1.1 ignores checkBeforeUpdate (on v1 the "
                                           "kernel then refuses the limit: EBUSY, 2 log lines)")
def test_memory_check_before_update(ctr, cgh):
    """checkBeforeUpdate: a limit below the current usage is refused (one line,
    naming memory.limit), the old limit stays; one above the usage is applied."""
    c = ctr.run(resources={"memory": {"limit": 64 * M, "checkBeforeUpdate": True}})
    f = "memory.max" if cgh.is_v2 else "memory.limit_in_bytes"
    assert c.read(f) == str(64 * M)
    r = c.update(resources={"memory": {"limit": 4096, "checkBeforeUpdate": True}})
    assert_one_line_error(r, field_re("memory.limit"), r"usage")
    assert c.read(f) == str(64 * M)
    assert c.alive(), "the container was OOM-killed: the check did not happen"
    r = c.update(resources={"memory": {"limit": 32 * M, "checkBeforeUpdate": True}})
    assert r.rc == 0, r
    assert c.read(f) == str(32 * M)


def test_cpu_realtime_runtime(ctr, cgh, rt, runtime_is_runc):
    """cpu.realtimeRuntime needs an RT budget in the parent: under the runtime's
    own cgroup (no budget) the kernel refuses it (one-line error naming the
    field, nothing left); directly under the root (absolute cgroupsPath) it
    is set, and `update` changes it."""
    res = {"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 1000}}
    if cgh.is_v2:
        if runtime_is_runc:
            pytest.skip("v2: no per-cgroup realtime bandwidth")
        ctr.create_fails(field_re("cpu.realtime"), resources=res)
        pytest.skip("v2: no per-cgroup realtime bandwidth (cpu.rt_*) -- checked: create "
                    "fails with a one-line error naming the field")
    if not cgh.has_file("cpu.rt_runtime_us"):
        pytest.skip(f"{cgh.mode}: no cpu.rt_runtime_us (CONFIG_RT_GROUP_SCHED off)")
    own = cgenv.proc_cgroup(os.getpid())
    cpu_rel = next((p for k, p in own.items() if "cpu" in k.split(",")), "/")
    base = os.path.join(cgh.v1["cpu"][0], cpu_rel.lstrip("/"))
    with open(os.path.join(base, "cpu.rt_runtime_us")) as fh:
        budget = int(fh.read())
    if budget == 0 and not runtime_is_runc:
        ctr.create_fails(field_re("cpu.realtimeRuntime"), resources=res)
    cid = ctr.new_id("rt")
    b = ctr.bundle(resources=res)
    b.edit(lambda cfg: cfg["linux"].__setitem__("cgroupsPath", f"/{cid}-rt"))
    c = ctr.run(bundle=b, cid=cid)
    assert c.read("cpu.rt_period_us") == "1000000"
    assert c.read("cpu.rt_runtime_us") == "1000"
    r = c.update(resources={"cpu": {"realtimeRuntime": 2000}})
    assert r.rc == 0, r
    assert c.read("cpu.rt_runtime_us") == "2000"
    r = c.update("--cpu-rt-runtime", "3000", "--cpu-rt-period", "900000")
    assert r.rc == 0, r
    assert c.read("cpu.rt_runtime_us") == "3000"
    assert c.read("cpu.rt_period_us") == "900000"
    dirs = c.cg.all_dirs()
    assert rt("delete", "--force", c.id).rc == 0
    assert not [d for d in dirs if os.path.isdir(d)]
