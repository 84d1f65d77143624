"""The OCI conformance suite (conformance/) as part of the test suite: pyruntime
must pass every test this host supports, and runc is run too, to keep the
tests honest: each runc failure must be one that conformance/explanations.py
explains (a runc bug, a predating release, a deliberate deviation), never an
unexplained failure that would point at a wrong test."""
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO) if REPO not in sys.path else None

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _pyruntime() -> str:
    cand = os.path.join(os.path.dirname(os.path.realpath(sys.executable)), "pyruntime")
    return cand if os.path.exists(cand) else (shutil.which("pyruntime") or "pyruntime")


def _run(runtime):
    if os.geteuid() != 0:
        pytest.skip("the conformance suite runs real containers: needs root")
    from conformance import run_suite
    return run_suite(runtime)


def _failures(results):
    return [r for r in results if r["status"] == "fail" or r.get("leak")]


def test_pyruntime_passes_every_supported_statement():
    results = _run(os.environ.get("RUNTIME") or _pyruntime())
    assert len(results) >= 150
    bad = _failures(results)
    assert not bad, "\n".join(f"{r['id']} ({r['spec']}, {r['level']}): {r['reason']}"
                              for r in bad)


def test_runc_failures_are_all_explained():
    runc = shutil.which("runc")
    if not runc:
        pytest.skip("runc is not installed")
    from conformance.explanations import E
    results = _run(runc)
    unexplained = [r for r in _failures(results) if "runc" not in E.get(r["id"], {})]
    assert not unexplained, "runc fails tests nobody explained (a wrong test?):\n" + "\n".join(
        f"{r['id']} ({r['spec']}): {r['reason']}" for r in unexplained)
