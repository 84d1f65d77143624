"""pyruntime's OCI runtime-spec conformance suite (runnable against any runtime
that speaks runc's command language). See docs/conformance.md.

    RUNTIME=/usr/sbin/runc python3 -m conformance --json results.json

From Python (e.g. a pytest wrapper)::

    from conformance import run_suite
    results = run_suite("/usr/sbin/runc", select=["lifecycle"])
    failed = [r for r in results if r["status"] == "fail"]
"""
import json
import os
import subprocess
import sys
import tempfile

__all__ = ["run_suite"]


def run_suite(runtime, select=None, extra_args=(), timeout=1800):
    """Run the suite against ``runtime`` (path or name on PATH) in a child
    process (it enters private namespaces and becomes a child subreaper, which
    should not happen to the caller) and return the list of per-test result
    dicts: ``id, area, spec, level, statement, since, status (pass|fail|skip),
    reason, leak, duration``. ``select``: list of patterns (substring or glob
    on the test id or spec anchor)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory(prefix="conformance-") as d:
        out = os.path.join(d, "results.json")
        argv = [sys.executable, "-m", "conformance", "--runtime", runtime, "--json", out, "-q",
                *extra_args]
        for p in select or ():
            argv += ["-k", p]
        env = dict(os.environ)
        env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        subprocess.run(argv, cwd=here, env=env, timeout=timeout, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)["results"]
