"""``list``, ``spec``, ``features``, ``--version``, ``--help``."""
from __future__ import annotations

import json
import os
import re

import pytest

from support.checks import assert_one_line_error, parse_rfc3339
from support.schema import validation_errors

LIST_HEADER = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
CORE_COMMANDS = ["create", "start", "state", "kill", "delete", "run", "list", "spec", "features"]


@pytest.fixture
def two(rt, make_bundle, new_id):
    """One created and one running container."""
    b = make_bundle(["sleep", "1000"])
    c1, c2 = new_id("one"), new_id("two")
    assert rt("create", "--bundle", b.path, c1).rc == 0
    assert rt("create", "--bundle", b.path, c2).rc == 0
    assert rt("start", c2).rc == 0
    yield {c1: rt.state(c1), c2: rt.state(c2)}, b
    for c in (c1, c2):
        assert rt("delete", "--force", c).rc == 0


def test_list_table(rt, two):
    states, b = two
    res = rt("list")
    assert res.rc == 0, res
    lines = res.out.splitlines()
    assert lines[0].split() == LIST_HEADER, f"header: {lines[0]!r}"
    rows = {l.split()[0]: l.split() for l in lines[1:] if l.strip()}
    assert set(rows) == set(states)
    for cid, st in states.items():
        row = rows[cid]
        assert row[1] == str(st["pid"])
        assert row[2] == st["status"]
        assert row[3] == b.path
        parse_rfc3339(row[4])
        assert row[5] == "root"


def test_list_quiet(rt, two):
    states, _ = two
    res = rt("list", "-q")
    assert res.rc == 0, res
    assert sorted(res.out.split()) == sorted(states)
    res = rt("list", "--quiet")
    assert sorted(res.out.split()) == sorted(states)


@pytest.mark.parametrize("flag", [["--format", "json"], ["--format=json"], ["-f", "json"]],
                         ids=["sep", "eq", "short"])
def test_list_json(rt, two, flag):
    states, b = two
    res = rt("list", *flag)
    assert res.rc == 0, res
    arr = json.loads(res.out)
    assert isinstance(arr, list)
    by_id = {o["id"]: o for o in arr}
    assert set(by_id) == set(states)
    for cid, st in states.items():
        o = by_id[cid]
        for k in ("id", "pid", "status", "bundle", "created", "owner"):
            assert k in o, f"list --format json: no {k!r} in {o}"
        assert o["pid"] == st["pid"] and o["status"] == st["status"]
        assert o["bundle"] == b.path and o["owner"] == "root"
        parse_rfc3339(o["created"])


def test_list_empty(rt):
    res = rt("list")
    assert res.rc == 0, res
    assert [l.split() for l in res.out.splitlines() if l.strip()] == [LIST_HEADER]
    res = rt("list", "-q")
    assert res.rc == 0 and res.out.strip() == ""
    res = rt("list", "--format", "json")
    assert res.rc == 0, res
    assert json.loads(res.out) in (None, []), "runc prints null; [] is fine too"


def test_list_shows_stopped(rt, make_bundle, new_id, reaper):
    b = make_bundle(["true"])
    cid = new_id("stop")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]
    assert rt("start", cid).rc == 0
    reaper.wait_pid(pid)
    rt.wait_status(cid, "stopped")
    arr = json.loads(rt("list", "--format", "json").out)
    assert [(o["id"], o["status"]) for o in arr] == [(cid, "stopped")]
    assert rt("delete", cid).rc == 0


def test_spec_writes_a_valid_config(rt, testdir):
    d = os.path.join(testdir, "spec")
    os.makedirs(d)
    res = rt("spec", cwd=d)
    assert res.rc == 0, res
    assert res.out == ""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert not validation_errors(cfg, "config-schema.json"), validation_errors(
        cfg, "config-schema.json")
    assert cfg["root"]["path"] == "rootfs"
    assert cfg["process"]["args"] == ["sh"]
    assert cfg["process"]["terminal"] is True
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "mount", "ipc", "uts", "network"} <= types
    assert "user" not in types


def test_spec_refuses_to_overwrite(rt, testdir):
    d = os.path.join(testdir, "spec")
    os.makedirs(d)
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        f.write("precious")
    res = rt("spec", cwd=d)
    assert_one_line_error(res, r"exists")
    assert open(path).read() == "precious"


def test_spec_bundle_and_rootless(rt, testdir):
    d = os.path.join(testdir, "spec-rootless")
    os.makedirs(d)
    res = rt("spec", "--rootless", "--bundle", d)
    assert res.rc == 0, res
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert not validation_errors(cfg, "config-schema.json")
    linux = cfg["linux"]
    assert "user" in {n["type"] for n in linux["namespaces"]}
    assert "network" not in {n["type"] for n in linux["namespaces"]}
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": os.getegid(), "size": 1}]


def test_features(rt):
    res = rt("features")
    assert res.rc == 0, res
    feats = json.loads(res.out)
    errs = validation_errors(feats, "features-schema.json")
    assert not errs, f"features JSON violates features-schema.json: {errs}"
    for hook in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                 "poststop"):
        assert hook in feats.get("hooks", []), f"hook {hook} not listed"
    assert "bind" in feats.get("mountOptions", [])
    linux = feats.get("linux", {})
    assert {"pid", "mount", "network", "ipc", "uts", "user", "cgroup"} <= set(
        linux.get("namespaces", []))
    assert "CAP_SYS_ADMIN" in linux.get("capabilities", [])


def test_version(rt):
    res = rt("--version")
    assert res.rc == 0, res
    lines = res.out.splitlines()
    assert re.match(r"^\S+ version \S+", lines[0]), f"first line: {lines[0]!r}"
    spec = [l for l in lines if l.startswith("spec:")]
    assert spec and re.match(r"^spec: \d+\.\d+\.\d+", spec[0]), f"no 'spec: X.Y.Z' line: {lines}"


def test_version_short_flag(rt):
    res = rt("-v")
    assert res.rc == 0 and "version" in res.out


@pytest.mark.parametrize("how", [["--help"], ["-h"], ["help"]])
def test_help(rt, how):
    res = rt(*how)
    assert res.rc == 0, res
    assert "Traceback" not in res.out + res.err
    for cmd in CORE_COMMANDS:
        assert re.search(rf"^\s+{cmd}\b", res.out, re.M), f"--help does not list {cmd}"


@pytest.mark.parametrize("cmd", ["create", "kill", "delete", "state"])
def test_subcommand_help(rt, cmd):
    res = rt(cmd, "--help")
    assert res.rc == 0, res
    assert cmd in res.out
    assert "Traceback" not in res.out + res.err
