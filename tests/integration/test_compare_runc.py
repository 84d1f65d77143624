"""The runtime under test against runc, step by step on the same bundle."""
from __future__ import annotations

import json

import pytest


def _walk(rt, bundle, cid, reaper) -> "list[tuple[str, str | None, frozenset]]":
    """create/start/kill/delete; after each step (step, status, state keys)."""
    steps = []

    def record(step):
        res = rt("state", cid)
        if res.rc != 0:
            steps.append((step, None, frozenset()))
            return None
        st = json.loads(res.out)
        steps.append((step, st.get("status"), frozenset(st)))
        return st

    assert rt("create", "--bundle", bundle.path, cid).rc == 0
    pid = record("create")["pid"]
    assert rt("start", cid).rc == 0
    record("start")
    assert rt("kill", cid, "KILL").rc == 0
    reaper.wait_pid(pid)
    rt.wait_status(cid, "stopped")
    record("kill")
    assert rt("delete", cid).rc == 0
    record("delete")
    return steps


def test_same_statuses_and_state_keys_as_runc(rt, make_rt, runc_bin, runtime_is_runc,
                                              make_bundle, new_id, reaper):
    if runtime_is_runc:
        pytest.skip("the runtime under test is runc itself")
    runc = make_rt(runc_bin, "runc")
    b = make_bundle(["sleep", "1000"])
    ours = _walk(rt, b, new_id("ours"), reaper)
    theirs = _walk(runc, b, new_id("runc"), reaper)
    assert [s[1] for s in ours] == [s[1] for s in theirs], \
        f"status sequence differs: ours {ours}, runc {theirs}"
    for (step, _, k_ours), (_, _, k_runc) in zip(ours, theirs):
        assert k_ours == k_runc, (f"after {step}: state keys differ: missing "
                                  f"{sorted(k_runc - k_ours)}, extra {sorted(k_ours - k_runc)}")


def test_same_list_columns_as_runc(rt, make_rt, runc_bin, runtime_is_runc, make_bundle, new_id):
    if runtime_is_runc:
        pytest.skip("the runtime under test is runc itself")
    runc = make_rt(runc_bin, "runc")
    b = make_bundle(["sleep", "1000"])
    out = {}
    for name, r in (("ours", rt), ("runc", runc)):
        cid = new_id(name)
        assert r("create", "--bundle", b.path, cid).rc == 0
        res = r("list", "--format", "json")
        assert res.rc == 0, res
        out[name] = json.loads(res.out)
        assert r("delete", "--force", cid).rc == 0
    assert set(out["ours"][0]) == set(out["runc"][0])
