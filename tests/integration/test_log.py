"""``--log FILE --log-format json|text``: what podman and containerd read back."""
from __future__ import annotations

import json
import os

from support.checks import assert_one_line_error, parse_rfc3339


def json_records(path: str) -> "list[dict]":
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    recs = []
    for l in lines:
        try:
            rec = json.loads(l)
        except ValueError as e:
            raise AssertionError(f"log line is not JSON ({e}): {l!r}")
        assert isinstance(rec, dict), f"log line is not a JSON object: {l!r}"
        for k in ("level", "msg", "time"):
            assert k in rec, f"log record without {k!r}: {l!r}"
        parse_rfc3339(rec["time"])        # must parse, or containerd drops the whole log
        recs.append(rec)
    return recs


def last_error(recs: "list[dict]") -> str:
    errs = [r for r in recs if r["level"] == "error"]
    assert errs, f"no level=error record in {recs}"
    return errs[-1]["msg"]


def test_json_log_on_error(rt, testdir, new_id):
    log = os.path.join(testdir, "log.json")
    res = rt("--log", log, "--log-format", "json", "state", new_id("ghost"))
    assert_one_line_error(res, r"does not exist")      # also on stderr
    recs = json_records(log)
    assert "does not exist" in last_error(recs)


def test_json_log_is_appended_and_the_last_error_is_the_latest(rt, make_bundle, testdir, new_id):
    log = os.path.join(testdir, "log.json")
    assert rt("--log", log, "--log-format", "json", "kill", new_id("ghost"), "9").rc != 0
    b = make_bundle(["no-such-program"])
    cid = new_id("noexec")
    res = rt("--log", log, "--log-format", "json", "create", "--bundle", b.path, cid)
    assert res.rc != 0
    recs = json_records(log)
    assert len([r for r in recs if r["level"] == "error"]) >= 2, "the log was truncated"
    assert "executable file not found" in last_error(recs)


def test_json_log_on_a_bad_config(rt, make_bundle, testdir, new_id):
    """containerd: "OCI runtime create failed: <last error msg in log.json>"."""
    b = make_bundle(["true"])
    b.edit(lambda c: c["process"].update(args=[]))
    log = os.path.join(b.path, "log.json")
    res = rt("--log", log, "--log-format", "json", "create", "--bundle", b.path,
             "--pid-file", os.path.join(b.path, "init.pid"), new_id("badcfg"))
    assert res.rc != 0
    assert "args" in last_error(json_records(log))


def test_json_log_on_success_has_no_error(rt, make_bundle, testdir, new_id):
    log = os.path.join(testdir, "log.json")
    b = make_bundle(["true"])
    cid = new_id("ok")
    for args in (["create", "--bundle", b.path, cid], ["delete", "--force", cid]):
        res = rt("--log", log, "--log-format", "json", *args)
        assert res.rc == 0, res
        assert res.out == "" and res.err == ""
    if os.path.exists(log):
        assert not [r for r in json_records(log) if r["level"] == "error"]


def test_text_log_is_the_default(rt, testdir, new_id):
    for fmt in ([], ["--log-format", "text"]):
        log = os.path.join(testdir, f"log{len(fmt)}.txt")
        res = rt("--log", log, *fmt, "state", new_id("ghost"))
        assert_one_line_error(res, r"does not exist")
        with open(log) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        assert lines, "nothing logged"
        assert "does not exist" in lines[-1]
        try:
            json.loads(lines[-1])
        except ValueError:
            pass
        else:
            raise AssertionError(f"text log line is JSON: {lines[-1]!r}")
