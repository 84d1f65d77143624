"""Capabilities beyond the spec (CVE-2022-29162 class): the inheritable and
ambient sets of the container's process and of an exec'd process are exactly
what the spec says; `exec --cap` never puts anything in the inheritable set and
never grants more than the container's bounding set; neither does --process.
"""
from __future__ import annotations

import json
import os

import pytest

CAP = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13,
       "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}

BOUNDING = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_AUDIT_WRITE"]
PERMITTED = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]


def mask(names) -> int:
    m = 0
    for n in names:
        m |= 1 << CAP[n]
    return m


def names(m: int) -> "list[str]":
    inv = {v: k for k, v in CAP.items()}
    return [inv.get(i, str(i)) for i in range(64) if m >> i & 1]


def caps_of(out: str) -> "dict[str, int]":
    caps = {}
    for line in out.splitlines():
        if line.startswith("Cap"):
            k, v = line.split(":")
            caps[k] = int(v, 16)
    assert set(caps) >= {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}, out
    return caps


def _config(inheritable, ambient, uid=1000):
    def edit(c):
        c["process"]["user"] = {"uid": uid, "gid": uid}
        caps = {"bounding": list(BOUNDING), "effective": list(PERMITTED),
                "permitted": list(PERMITTED)}
        if inheritable is not None:
            caps["inheritable"] = list(inheritable)
        if ambient is not None:
            caps["ambient"] = list(ambient)
        c["process"]["capabilities"] = caps
    return edit


SHOW = ["grep", "^Cap", "/proc/self/status"]


def _show(rt, cid, *flags):
    res = rt("exec", *flags, cid, *SHOW)
    assert res.rc == 0, res
    return caps_of(res.out)


@pytest.mark.defence("exec_cap_inheritable")
@pytest.mark.parametrize("inheritable", [None, [], ["CAP_NET_BIND_SERVICE"]],
                         ids=["no-inheritable", "empty-inheritable", "nbs-inheritable"])
def test_inheritable_and_ambient_exactly_as_configured(sec, make_bundle, new_id, inheritable):
    rt = sec.rt
    if sec.expect_escape and inheritable is None:
        pytest.skip("the old exec --cap code only added to an inheritable set the spec has")
    ambient = ["CAP_NET_BIND_SERVICE"]
    b = make_bundle(["sh", "-c", "grep ^Cap /proc/self/status; exec sleep 1000"],
                    edit=_config(inheritable, ambient))
    cid = new_id("caps")
    out_path = os.path.join(b.path, "init.out")
    with open(out_path, "w") as out:
        assert rt("run", "-d", "--bundle", b.path, cid, stdout=out).rc == 0
    try:
        import time
        for _ in range(200):
            with open(out_path) as f:
                text = f.read()
            if "CapAmb" in text:
                break
            time.sleep(0.02)
        init = caps_of(text)
        plain = _show(rt, cid)
        raw = _show(rt, cid, "--cap", "CAP_NET_RAW")
        root_raw = _show(rt, cid, "--user", "0:0", "--cap", "CAP_NET_RAW")
    finally:
        rt("delete", "--force", cid)
    want_inh = mask(inheritable or [])
    # the kernel keeps an ambient capability only if permitted AND inheritable
    want_amb = mask(ambient) & want_inh & mask(PERMITTED)

    def exact():
        for who, caps in (("init", init), ("exec", plain), ("exec --cap", raw),
                          ("exec --user 0 --cap", root_raw)):
            assert caps["CapInh"] == want_inh, \
                (f"{who}: CapInh {names(caps['CapInh'])}, spec says {names(want_inh)} "
                 "(CVE-2022-29162: exec --cap must not add inheritable capabilities)")
            assert caps["CapBnd"] == mask(BOUNDING), f"{who}: CapBnd {names(caps['CapBnd'])}"
            if who != "exec --user 0 --cap":
                assert caps["CapAmb"] == want_amb, \
                    f"{who}: CapAmb {names(caps['CapAmb'])}, expected {names(want_amb)}"
                # a non-root process holds only its ambient set after execve
                assert caps["CapPrm"] == want_amb and caps["CapEff"] == want_amb, \
                    f"{who}: CapPrm {names(caps['CapPrm'])} CapEff {names(caps['CapEff'])}"
    sec.check(exact)


@pytest.mark.defence("exec_cap_bounding")
def test_exec_never_exceeds_the_bounding_set(sec, make_bundle, new_id, testdir):
    rt = sec.rt
    b = make_bundle(["sleep", "1000"], edit=_config(["CAP_KILL"], [], uid=0))
    cid = new_id("capbnd")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    every = sorted(CAP)
    proc = {"args": SHOW, "cwd": "/", "env": ["PATH=/bin:/usr/bin"],
            "user": {"uid": 0, "gid": 0},
            "capabilities": {k: every for k in ("bounding", "effective", "permitted",
                                                "inheritable", "ambient")}}
    pf = os.path.join(testdir, "process.json")
    with open(pf, "w") as f:
        json.dump(proc, f)
    try:
        seen = {"--cap SYS_ADMIN": _show(rt, cid, "--cap", "CAP_SYS_ADMIN", "--cap", "SYS_PTRACE")}
        res = rt("exec", "--process", pf, cid)
        assert res.rc == 0, res
        seen["--process (all caps)"] = caps_of(res.out)
    finally:
        rt("delete", "--force", cid)
    bnd = mask(BOUNDING)

    def within():
        for who, caps in seen.items():
            for k, v in caps.items():
                extra = v & ~bnd
                assert not extra, (f"exec {who}: {k} has {names(extra)}, beyond the "
                                   f"container's bounding set {names(bnd)}")
    sec.check(within)
