"""`ps` lists the container's processes (host pids), `events --stats` prints
one runc-shaped stats object, `events --interval` a stream of them."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

import cgenv
from rsupport import M, json_lines, stop_proc
from support.checks import assert_one_line_error, wait_for

THREE = ["sh", "-c", "sleep 1001 & sleep 1002 & wait"]


def _three(ctr):
    c = ctr.run(THREE)
    wait_for(lambda: len(c.cg.procs()) == 3, 10, what="3 processes in the container")
    return c


def test_ps_json_lists_the_container_pids(ctr, rt):
    c = _three(ctr)
    r = rt("ps", "--format", "json", c.id)
    assert r.rc == 0, r
    pids = json.loads(r.out)
    assert isinstance(pids, list) and all(isinstance(p, int) for p in pids), r.out
    assert set(pids) == c.cg.procs(), (pids, c.cg.procs())
    assert c.pid in pids
    cmds = set()
    for p in pids:
        with open(f"/proc/{p}/cmdline", "rb") as f:
            cmds.add(f.read().split(b"\0")[:2][-1].decode())
    assert {"1001", "1002"} <= cmds, cmds  # host pids of this container's sleeps
    # -f is --format for ps, as in runc
    r2 = rt("ps", "-f", "json", c.id)
    assert r2.rc == 0 and set(json.loads(r2.out)) == set(pids), r2


def test_ps_table_filters_to_the_container(ctr, rt):
    probe = subprocess.run(["ps", "-ef"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"ps(1) itself fails here: {probe.stderr.strip()!r} (procps in UML)")
    c = _three(ctr)
    r = rt("ps", c.id)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    head = lines[0].split()
    assert "PID" in head and "CMD" in head, lines[0]
    col = head.index("PID")
    got = {int(ln.split()[col]) for ln in lines[1:]}
    assert got == c.cg.procs(), (r.out, c.cg.procs())
    # ps options after the ID go to ps(1)
    r = rt("ps", c.id, "-o", "pid,comm")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"], lines[0]
    assert {int(ln.split()[0]) for ln in lines[1:]} == c.cg.procs()
    assert sorted(ln.split()[1] for ln in lines[1:]) == ["sh", "sleep", "sleep"], r.out


def test_ps_errors(ctr, rt):
    c = ctr.run()
    assert_one_line_error(rt("ps", "--format", "yaml", c.id), r"format|yaml")
    assert_one_line_error(rt("ps", c.id + "-nope"), r"does not exist|not exist|not found")


@pytest.mark.runtime_pyruntime_only(reason="runc 1.1 prints an empty list (just the header) "
                                           "for a stopped container")
def test_ps_of_a_stopped_container_fails(ctr, rt, reaper):
    c = ctr.run()
    assert rt("kill", c.id, "KILL").rc == 0
    reaper.wait_pid(c.pid)
    rt.wait_status(c.id, "stopped")
    assert_one_line_error(rt("ps", c.id), r"stopped|not running")
    assert_one_line_error(rt("ps", "--format", "json", c.id), r"stopped|not running")


def _assert_stats_shape(obj, cid, cgh, runtime_is_runc, limits=None):
    assert obj["type"] == "stats" and obj["id"] == cid, obj
    d = obj["data"]
    for k in ("cpu", "memory", "pids", "blkio"):
        assert k in d, f"stats data lacks {k}: {sorted(d)}"
    # runc's CpuUsage: total/percpu are omitempty (a fresh idle container may
    # show none, e.g. in UML with tick-based accounting), kernel/user never are
    assert {"kernel", "user"} <= set(d["cpu"]["usage"]), d["cpu"]
    assert isinstance(d["cpu"]["usage"].get("total", 0), int), d["cpu"]
    mem = d["memory"]
    assert mem["usage"]["usage"] > 0 and "limit" in mem["usage"], mem["usage"]
    assert isinstance(mem.get("raw"), dict) and mem["raw"], "memory.raw (memory.stat) missing"
    assert d["pids"]["current"] >= 1
    if limits:
        assert d["pids"]["limit"] == limits["pids"]
        assert mem["usage"]["limit"] == limits["memory"]


def test_events_stats_once(ctr, cgh, rt, runtime_is_runc):
    c = _three(ctr)
    r = rt("events", "--stats", c.id)
    assert r.rc == 0, r
    lines = [ln for ln in r.out.splitlines() if ln.strip()]
    assert len(lines) == 1, f"--stats prints one JSON object: {r.out!r}"
    obj = json.loads(lines[0])
    _assert_stats_shape(obj, c.id, cgh, runtime_is_runc)
    assert obj["data"]["pids"]["current"] == 3


def test_events_stats_report_the_limits(ctr, cgh, rt, runtime_is_runc):
    c = ctr.run(resources={"pids": {"limit": 33}, "memory": {"limit": 48 * M}})
    r = rt("events", "--stats", c.id)
    assert r.rc == 0, r
    _assert_stats_shape(json.loads(r.out), c.id, cgh, runtime_is_runc,
                        limits={"pids": 33, "memory": 48 * M})


@pytest.mark.runtime_pyruntime_only(reason="runc 1.1 events keeps running after the "
                                           "container stopped")
def test_events_interval_stream_and_end(ctr, cgh, rt, reaper):
    c = ctr.run()
    ev = rt.popen("events", "--interval", "200ms", c.id, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    try:
        t0 = time.monotonic()
        seen = json_lines(ev, lambda o: False, 1.5)
        took = time.monotonic() - t0
        stats = [o for o in seen if o.get("type") == "stats"]
        assert len(stats) >= 3, f"{len(stats)} stats in {took:.1f}s at --interval 200ms: {seen}"
        assert all(o["id"] == c.id for o in stats)
        # the stream ends once the container has stopped
        assert rt("kill", c.id, "KILL").rc == 0
        reaper.wait_pid(c.pid)
        ev.wait(10)
        assert ev.returncode == 0, ev.stderr.read()
    finally:
        stop_proc(ev)
        ev.stderr.close()


def test_events_errors(ctr, rt):
    c = ctr.run()
    assert_one_line_error(rt("events", "--interval", "soon", c.id), r"interval|soon|duration")
    assert_one_line_error(rt("events", "--stats", c.id + "-nope"),
                          r"does not exist|not exist|not found")


def test_stats_match_runc(ctr, cgh, rt, make_rt, runc_bin, runtime_is_runc, new_id, reaper):
    """Same bundle under runc and under the runtime: `events --stats` has the
    same structure (the always-present keys), the same limits."""
    if runtime_is_runc:
        pytest.skip("the runtime under test is runc itself")
    if cgenv.IN_GUEST:
        pytest.skip("compared on the host only (runc is not run in the v2 guest)")
    runc = make_rt(runc_bin, "runc")
    b = ctr.bundle(resources={"pids": {"limit": 20}, "memory": {"limit": 64 * M}})
    ours = ctr.run(bundle=b)
    cid = new_id("runc")
    assert runc("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        got = {}
        for name, r, i in (("ours", rt, ours.id), ("runc", runc, cid)):
            res = r("events", "--stats", i)
            assert res.rc == 0, res
            got[name] = json.loads(res.out)
        o, t = got["ours"]["data"], got["runc"]["data"]
        assert set(o) == set(t), f"data keys: ours {sorted(o)}, runc {sorted(t)}"
        assert set(o["memory"]) - {"cache"} == set(t["memory"]) - {"cache"}
        for k in ("usage", "swap"):
            assert set(o["memory"][k]) == set(t["memory"][k]), (k, o["memory"][k],
                                                                t["memory"][k])
        assert {"kernel", "user"} <= set(o["cpu"]["usage"]) & set(t["cpu"]["usage"])
        assert o["pids"] == t["pids"] == {"current": 1, "limit": 20}
        assert o["memory"]["usage"]["limit"] == t["memory"]["usage"]["limit"] == 64 * M
        assert set(o["memory"]["raw"]) == set(t["memory"]["raw"])
    finally:
        runc("delete", "--force", cid)
