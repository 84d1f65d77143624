"""Limits are enforced on real containers: a pids limit stops a (bounded) fork
bomb, a memory limit OOM-kills a hog and `events` reports {"type":"oom"},
device rules make open(2) fail with EPERM."""
from __future__ import annotations

import json
import subprocess

import pytest

from rsupport import M, json_lines, stop_proc
from support.checks import wait_file


# -- pids ------------------------------------------------------------------------------

def test_pids_limit_stops_a_fork_bomb(ctr, cgh, rt):
    """50 background sleeps under pids.max 10: forks fail with EAGAIN, the
    cgroup never holds more than 10 tasks; `update --pids-limit` lifts it."""
    limit = 10
    script = ("( i=0; while [ $i -lt 50 ]; do sleep 1000 & i=$((i+1)); done ) 2>/shared/err; "
              "echo $? > /shared/rc; exec sleep 1000")
    c = ctr.run(["sh", "-c", script], resources={"pids": {"limit": limit}}, shared=True)
    wait_file(c.bundle.shared_file("rc"), timeout=30)
    err = c.bundle.read_shared("err") or ""
    assert "fork" in err.lower() or "resource temporarily unavailable" in err.lower(), \
        f"no fork failure reported: {err!r}"
    cur = int(c.read("pids.current"))
    assert 1 <= cur <= limit, f"pids.current {cur} with pids.max {limit}"
    assert len(c.cg.procs()) <= limit
    res = rt("ps", "--format", "json", c.id)
    assert res.rc == 0, res
    assert len(json.loads(res.out)) <= limit
    # raise the limit: forks work again (through exec; runc's exec runs a Go init with
    # several threads in the container's cgroup first, hence the generous margin)
    assert c.update("--pids-limit", str(limit + 40)).rc == 0
    assert c.read("pids.max") == str(limit + 40)
    r = rt("exec", c.id, "sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo forked")
    assert r.rc == 0 and "forked" in r.out, r
    # pids.events counts the refused forks (v1 and v2 both have it)
    if c.cg.exists("pids.events"):
        assert int(c.read("pids.events").split()[-1]) > 0


# -- memory / OOM --------------------------------------------------------------------------

def _oom_ctr(ctr, script: str, mem: dict):
    """The OOM tests' container sits under an absolute cgroupsPath (/<id>), not
    under the test runner's own cgroup: an OOM kill is also counted in the
    ancestors' memory events, which a supervisor of the runner may watch
    (tests/cgroups does the same with /pyrt-cgtest-*)."""
    cid = ctr.new_id("oom")
    b = ctr.bundle(["sh", "-c", script], resources={"memory": mem}, shared=True)
    b.edit(lambda cfg: cfg["linux"].__setitem__("cgroupsPath", f"/{cid}"))
    return ctr.run(bundle=b, cid=cid)


def test_memory_limit_oom_kills_and_events_reports_it(ctr, cgh, rt):
    """A 64 MiB allocation under a 32 MiB limit (no swap allowed) is OOM-killed;
    `events` (running in the background) prints {"type":"oom","id":...}."""
    mem = {"limit": 32 * M}
    if (cgh.is_v2 and cgh.has_file("memory.swap.max")) or \
            (not cgh.is_v2 and cgh.has_file("memory.memsw.limit_in_bytes")):
        mem["swap"] = 32 * M  # memory+swap == memory: no swapping out of the OOM
    script = ("while [ ! -e /shared/go ]; do sleep 0.05; done; "
              "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/shared/dd.err; "
              "echo $? > /shared/rc; exec sleep 1000")
    c = _oom_ctr(ctr, script, mem)
    ev = rt.popen("events", "--interval", "1s", c.id, stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL)
    try:
        first = json_lines(ev, lambda o: o.get("type") == "stats", 15)
        assert first and first[-1]["type"] == "stats", f"events printed no stats: {first}"
        assert first[-1]["id"] == c.id
        open(c.bundle.shared_file("go"), "w").close()
        seen = json_lines(ev, lambda o: o.get("type") == "oom", 20)
        ooms = [o for o in seen if o.get("type") == "oom"]
        assert ooms, f"no oom event within 20s; saw {[o.get('type') for o in seen]}"
        assert ooms[0] == {"type": "oom", "id": c.id} or \
            (ooms[0]["id"] == c.id and not ooms[0].get("data")), ooms[0]
    finally:
        stop_proc(ev)
    rc = wait_file(c.bundle.shared_file("rc"), timeout=10).strip()
    assert rc == "137", f"dd was not SIGKILLed by the OOM killer: rc {rc}"
    if cgh.is_v2:
        events = dict(ln.split() for ln in c.read("memory.events").splitlines())
        assert int(events["oom_kill"]) >= 1, events
    else:
        ctl = dict(ln.split() for ln in c.read("memory.oom_control").splitlines())
        assert int(ctl.get("oom_kill", ctl.get("under_oom", 0))) >= 1 or \
            int(c.read("memory.failcnt")) > 0, ctl
    assert c.alive()  # only the hog died


@pytest.mark.runtime_pyruntime_only(reason="runc 1.1 events reports the oom but keeps "
                                           "running after the container stopped")
def test_events_reports_an_oom_that_kills_the_init(ctr, cgh, rt):
    """The hog is the container's init: the OOM kill stops the container. The
    oom event must still be printed before `events` exits."""
    mem = {"limit": 32 * M}
    if (cgh.is_v2 and cgh.has_file("memory.swap.max")) or \
            (not cgh.is_v2 and cgh.has_file("memory.memsw.limit_in_bytes")):
        mem["swap"] = 32 * M
    script = ("while [ ! -e /shared/go ]; do sleep 0.05; done; "
              "exec dd if=/dev/zero of=/dev/null bs=64M count=1")
    c = _oom_ctr(ctr, script, mem)
    ev = rt.popen("events", "--interval", "1s", c.id, stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL)
    try:
        assert json_lines(ev, lambda o: o.get("type") == "stats", 15), "events printed nothing"
        open(c.bundle.shared_file("go"), "w").close()
        seen = json_lines(ev, lambda o: o.get("type") == "oom", 20)
        assert any(o.get("type") == "oom" for o in seen), \
            f"no oom event; saw {[o.get('type') for o in seen]}"
        ev.wait(10)  # and events ends once the container has stopped
    finally:
        stop_proc(ev)
    assert ev.returncode == 0
    rt.wait_status(c.id, "stopped")


# -- devices ----------------------------------------------------------------------------------

FUSE = {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666,
        "uid": 0, "gid": 0}
PROBE = ("for d in fuse zero null; do ( : < /dev/$d ) 2>/shared/$d.err; echo $? > /shared/$d.rc; "
         "done; echo done > /shared/done; exec sleep 1000")


def _add_fuse(cfg):
    cfg["linux"].setdefault("devices", []).append(dict(FUSE))


def _open(rt, cid, dev: str):
    """exec `: < /dev/DEV` in the container -> (rc, stderr)."""
    r = rt("exec", cid, "sh", "-c", f": < /dev/{dev}")
    return r.rc, r.err


def test_device_rules_enforced(ctr, cgh, rt, runtime_is_runc):
    """Default deny: /dev/fuse (c 10:229, created through linux.devices but not in
    runc's allowed list) cannot be opened: EPERM. A deny rule for c 1:5 does
    NOT block /dev/zero: runc appends its default allowed devices (null, zero,
    full, tty, random, urandom, ptmx, pts) after the config's rules, so they
    always win; we do the same. `update` with an allow rule opens /dev/fuse
    (the driver may still be missing: ENODEV/ENXIO, never EPERM), a later deny
    rule closes it again."""
    deny_zero = {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
    c = ctr.run(["sh", "-c", PROBE], shared=True, edit=_add_fuse,
                resources={"devices": [{"allow": False, "access": "rwm"}, deny_zero]})
    wait_file(c.bundle.shared_file("done"), timeout=20)
    rd = c.bundle.read_shared
    assert rd("fuse.rc").strip() != "0", "opening /dev/fuse was not denied"
    assert "Operation not permitted" in rd("fuse.err"), rd("fuse.err")
    assert rd("null.rc").strip() == "0", rd("null.err")
    assert rd("zero.rc").strip() == "0", \
        f"runc's default allowed devices come after the config's rules: {rd('zero.err')}"
    if not cgh.is_v2:
        lst = c.read("devices.list").splitlines()
        assert "c 10:229 rwm" not in lst and "a *:* rwm" not in lst, lst
        assert "c 1:5 rwm" in lst and "c 1:3 rwm" in lst, lst
    if runtime_is_runc:
        return  # runc update does not touch device rules
    allow = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]
    assert c.update(resources={"devices": allow}).rc == 0
    rc, err = _open(rt, c.id, "fuse")
    assert "Operation not permitted" not in err, f"still denied after the allow rule: {err!r}"
    assert rc == 0 or "No such device" in err, (rc, err)
    deny = [{"allow": False, "access": "rwm"},
            {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]
    assert c.update(resources={"devices": deny}, stdin=True).rc == 0
    rc, err = _open(rt, c.id, "fuse")
    assert rc != 0 and "Operation not permitted" in err, (rc, err)
    if not cgh.is_v2:
        assert "c 10:229 rwm" not in c.read("devices.list").splitlines()


def test_device_access_bits(ctr, cgh, rt):
    """An "r" rule: /dev/fuse opens for reading, not for writing (EPERM)."""
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]
    c = ctr.run(edit=_add_fuse, resources={"devices": rules})
    r = rt("exec", c.id, "sh", "-c", ": < /dev/fuse")
    assert "Operation not permitted" not in r.err, r
    r = rt("exec", c.id, "sh", "-c", ": > /dev/fuse")
    assert r.rc != 0 and "Operation not permitted" in r.err, r
    if not cgh.is_v2:
        assert "c 10:229 r" in c.read("devices.list").splitlines()
