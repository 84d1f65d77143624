"""Concurrency and load: many lifecycles at once, two creates racing for one
ID, commands racing with the container's own exit, 200 containers alive at
once. Every command ends in success or a one-line error, never a traceback,
and nothing is left behind (autouse leak check)."""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor


from support.checks import assert_one_line_error, pid_alive
from support.leaks import cgroup_dirs_named


def _ok_or_one_line(res) -> None:
    assert "Traceback" not in res.err + res.out, res
    if res.rc != 0:
        assert_one_line_error(res)


def test_50_parallel_lifecycles(rt, make_bundle, new_id, reaper):
    b = make_bundle(["sh", "-c", "exit 7"])
    ids = [new_id(f"par{i}") for i in range(50)]

    def lifecycle(cid):
        res = rt("create", "--bundle", b.path, cid)
        assert res.rc == 0, res
        st = rt.state(cid)
        assert st["status"] == "created", st
        pid = st["pid"]
        assert rt("start", cid).rc == 0
        code = reaper.wait_pid(pid, timeout=30)
        assert code == 7, (cid, code)
        assert rt.wait_status(cid, "stopped", timeout=30)["status"] == "stopped"
        res = rt("delete", cid)
        assert res.rc == 0, res
        return pid

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as ex:
        pids = list(ex.map(lifecycle, ids))
    took = time.monotonic() - t0
    print(f"\n[50 parallel lifecycles] {took:.1f}s")
    assert len(set(pids)) == 50
    assert rt("list", "-q").out.strip() == ""


def test_two_creates_race_for_one_id(rt, make_bundle, new_id, testdir):
    a = make_bundle(["sleep", "1000"], name="a")
    b = make_bundle(["sleep", "1000"], name="b")
    for round_ in range(15):
        cid = new_id(f"race{round_}")
        barrier = threading.Barrier(2)
        results = {}

        def go(bundle):
            barrier.wait()
            results[bundle.path] = rt("create", "--bundle", bundle.path, cid)
        threads = [threading.Thread(target=go, args=(x,)) for x in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [p for p, r in results.items() if r.rc == 0]
        assert len(won) == 1, f"round {round_}: {results}"
        loser = results[a.path if won[0] == b.path else b.path]
        assert_one_line_error(loser, "exists")
        # the loser removed nothing of the winner's
        st = rt.state(cid)
        assert st["status"] == "created" and st["bundle"] == won[0], st
        assert pid_alive(st["pid"])
        assert os.path.exists(os.path.join(rt.root, cid, "exec.fifo"))
        assert cgroup_dirs_named({cid}), "the winner's cgroup is gone"
        assert rt("start", cid).rc == 0
        assert rt.state(cid)["status"] == "running"
        assert rt("delete", "--force", cid).rc == 0


def test_commands_race_with_container_exit(rt, make_bundle, new_id):
    """state/kill/ps/delete/list hammered while the container exits by itself."""
    failures = []
    for round_ in range(8):
        b = make_bundle(["sh", "-c", f"sleep 0.{round_ + 1}"], name=f"r{round_}")
        cid = new_id(f"exit{round_}")
        assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
        stop = time.monotonic() + 0.15 * (round_ + 1) + 0.4
        results = []

        def hammer(cmd):
            while time.monotonic() < stop:
                results.append(rt(*cmd))

        cmds = [["state", cid], ["kill", cid, "0"], ["ps", cid], ["delete", cid],
                ["list", "--format", "json"], ["kill", cid, "TERM"] if round_ % 2 else
                ["state", cid]]
        threads = [threading.Thread(target=hammer, args=(c,)) for c in cmds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for res in results:
            try:
                _ok_or_one_line(res)
            except AssertionError as e:
                failures.append(str(e))
        res = rt("delete", "--force", cid)
        assert res.rc == 0, res
    assert not failures, failures[:3]


def test_delete_force_races_exit(rt, make_bundle, new_id):
    for round_ in range(10):
        b = make_bundle(["sh", "-c", "sleep 0.05"], name=f"d{round_}")
        cid = new_id(f"delx{round_}")
        assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
        time.sleep(0.01 * round_)
        res = rt("delete", "--force", cid)
        assert res.rc == 0, res
        assert rt("state", cid).rc != 0


def test_200_containers_alive(rt, make_bundle, new_id):
    """~10 s here: not marked slow (the issue's bar is 60 s)."""
    n = int(os.environ.get("PYRT_LOAD_CONTAINERS", "200"))
    b = make_bundle(["sleep", "1000"])
    ids = [new_id(f"load{i}") for i in range(n)]
    t0 = time.monotonic()

    def up(cid):
        r = rt("create", "--bundle", b.path, cid)
        assert r.rc == 0, r
        r = rt("start", cid)
        assert r.rc == 0, r

    try:
        with ThreadPoolExecutor(max_workers=8) as ex:
            list(ex.map(up, ids))
        t_up = time.monotonic() - t0
        res = rt("list", "--format", "json")
        assert res.rc == 0, res
        states = json.loads(res.out)
        running = [s for s in states if s["status"] == "running"]
        assert len(running) == n, f"{len(running)} of {n} running"
        assert len({s["pid"] for s in running}) == n
        rss = 0
        for s in running:
            with open(f"/proc/{s['pid']}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
    finally:
        t1 = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as ex:
            dels = list(ex.map(lambda c: rt("delete", "--force", c), ids))
        t_down = time.monotonic() - t1
    assert all(r.rc == 0 for r in dels), [r for r in dels if r.rc][:3]
    print(f"\n[{n} containers] up {t_up:.1f}s, down {t_down:.1f}s, "
          f"inits' RSS {rss / n:.0f} KiB each")
