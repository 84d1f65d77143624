#!/usr/bin/env python3
"""Run the OCI runtime conformance suite against one runtime.

    RUNTIME=/usr/sbin/runc python3 -m conformance [--json FILE] [-k PATTERN]...
    python3 conformance/run.py --runtime crun --hide-cgroup2

Output: TAP 13 on stdout (one line per test, naming the spec statement), then a
summary. Exit status 1 when a MUST / MUST NOT statement failed or a test leaked
(processes, mounts, cgroups); SHOULD and MAY failures are reported but do not
change the exit status.
"""
import argparse
import json
import os
import platform
import signal
import sys
import time
import traceback

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from conformance import harness  # noqa: E402
from conformance.harness import Fail, Skip, Suite, Runtime, T, select_tests  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m conformance", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", default=os.environ.get("RUNTIME", "runc"),
                    help="runtime binary (default: $RUNTIME, else runc)")
    ap.add_argument("--runtime-arg", action="append", default=[],
                    help="extra global argument for the runtime (repeatable)")
    ap.add_argument("-k", "--select", action="append", default=[],
                    help="run tests whose id or spec anchor contains PATTERN (glob allowed)")
    ap.add_argument("--json", metavar="FILE", help="write machine-readable results here")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("--hide-cgroup2", action="store_true",
                    help="in the runner's private mount namespace, unmount /sys/fs/cgroup/unified "
                         "and mount a throw-away tmpfs there (crun 1.8 refuses hybrid hosts)")
    ap.add_argument("--no-isolate", action="store_true",
                    help="do not enter a private mount+network namespace (not recommended)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no TAP on stdout, summary only")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo every runtime command")
    return ap.parse_args(argv)


def statement_count(tests):
    return len({t.statement_key for t in tests})


def main(argv=None):
    args = parse_args(argv)
    tests = select_tests(args.select)
    if args.list:
        for t in tests:
            print(f"{t.id:55} {t.level:10} {t.spec}")
        print(f"# {len(tests)} tests, {statement_count(tests)} distinct statements")
        return 0
    if os.geteuid() != 0:
        print("conformance: must run as root", file=sys.stderr)
        return 2
    results = run(args, tests)
    return 1 if results["summary"]["must_failed"] or results["summary"]["leaks"] else 0


def run(args, tests):
    out = (lambda *a: None) if args.quiet else (lambda s: print(s, flush=True))
    if not args.no_isolate:
        harness.isolate(hide_cgroup2=args.hide_cgroup2)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    harness.set_subreaper()
    # An oom_score_adj the runtime must leave alone when process.oomScoreAdj is unset.
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(harness.RUNNER_OOM_SCORE_ADJ))
    except OSError:
        pass
    t_start = time.monotonic()
    runtime = Runtime(args.runtime, args.runtime_arg)
    suite = Suite(runtime, verbose=args.verbose)
    results = []
    try:
        calibrated = suite.calibrate()
        out("TAP version 13")
        out(f"# runtime: {runtime.path} ({runtime.version()})")
        out(f"# config ociVersion: {suite.config_version}"
            + (f" ({suite.config_version_why})" if suite.config_version_why else ""))
        out(f"# host: {platform.release()}, cgroup v1 controllers: {','.join(sorted(suite.host.v1)) or '-'}; "
            f"cgroup2: {suite.host.v2 or '-'} [{','.join(sorted(suite.host.v2_controllers))}]"
            + ("; cgroup2 hidden (--hide-cgroup2)" if args.hide_cgroup2 else ""))
        out(f"1..{len(tests)}")
        for n, case in enumerate(tests, 1):
            res = run_one(suite, case)
            results.append(res)
            line = f"{'ok' if res['status'] != 'fail' else 'not ok'} {n} - {case.spec} {case.level}: {case.id}"
            if res["status"] == "skip":
                line += f" # SKIP {res['reason']}"
            out(line)
            if res["status"] == "fail":
                out("  ---")
                out(f"  statement: {json.dumps(case.statement)}")
                out(f"  message: {json.dumps(res['reason'])}")
                out("  ...")
    finally:
        suite.cleanup()
    duration = time.monotonic() - t_start
    summary = summarize(results)
    summary["duration"] = round(duration, 1)
    doc = {
        "runtime": runtime.path, "runtime_version": runtime.version(),
        "runtime_args": runtime.global_args,
        "config_oci_version": suite.config_version, "config_oci_version_note": suite.config_version_why,
        "features": {k: v for k, v in suite.features().items()},
        "host": {"kernel": platform.release(), "cgroup_v1": sorted(suite.host.v1),
                 "cgroup_v2": suite.host.v2, "cgroup_v2_controllers": sorted(suite.host.v2_controllers),
                 "hide_cgroup2": args.hide_cgroup2, "apparmor": suite.host.apparmor,
                 "selinux": suite.host.selinux, "resctrl": suite.host.resctrl,
                 "missing_caps": sorted(set(harness.CAP_NAMES[:cap_last() + 1])
                                        - harness.host_caps().get("bounding", set()))},
        "spec_version": harness.SPEC_VERSION,
        "summary": summary, "results": results,
    }
    print_summary(doc, quiet=args.quiet)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return doc


def cap_last():
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(harness.CAP_NAMES) - 1


def run_one(suite, case):
    t0 = time.monotonic()
    t = T(suite, case)
    status, reason = "pass", ""
    leaks = []
    try:
        try:
            case.func(t)
        except Skip as e:
            status, reason = "skip", str(e)
        except Fail as e:
            status, reason = "fail", str(e)
        except Exception as e:  # a bug in the test or an unexpected runtime answer
            tb = traceback.extract_tb(e.__traceback__)[-1]
            status, reason = "fail", f"{type(e).__name__}: {e} [{os.path.basename(tb.filename)}:{tb.lineno}]"
    finally:
        try:
            leaks = t.teardown()
        except Exception as e:
            leaks = [f"teardown error: {e}"]
    if leaks:
        reason = (reason + "; " if status == "fail" and reason else "") + "LEAK: " + "; ".join(leaks)
        status = "fail"
    return {"id": case.id, "area": case.area, "spec": case.spec, "level": case.level,
            "statement": case.statement, "since": case.since, "status": status,
            "reason": reason, "leak": bool(leaks), "duration": round(time.monotonic() - t0, 3)}


def summarize(results):
    s = {"total": len(results), "pass": 0, "fail": 0, "skip": 0, "must_failed": 0, "leaks": 0,
         "by_level": {}, "statements": len({(r["spec"], r["statement"]) for r in results})}
    for r in results:
        s[r["status"]] += 1
        lv = s["by_level"].setdefault(r["level"], {"pass": 0, "fail": 0, "skip": 0})
        lv[r["status"]] += 1
        if r["status"] == "fail" and r["level"] in ("MUST", "MUST NOT"):
            s["must_failed"] += 1
        if r["leak"]:
            s["leaks"] += 1
    return s


def print_summary(doc, quiet=False):
    s = doc["summary"]
    p = lambda x="": print(("# " + x) if not quiet else x, flush=True)  # noqa: E731
    p()
    p(f"runtime {doc['runtime']} ({doc['runtime_version']}), {s['total']} tests, "
      f"{s['statements']} distinct spec statements, {s['duration']}s")
    for lv, c in sorted(doc["summary"]["by_level"].items()):
        p(f"  {lv:10} pass {c['pass']:3}  fail {c['fail']:3}  skip {c['skip']:3}")
    fails = [r for r in doc["results"] if r["status"] == "fail"]
    skips = [r for r in doc["results"] if r["status"] == "skip"]
    if fails:
        p("failed:")
        for r in fails:
            p(f"  FAIL {r['level']:8} {r['spec']:48} {r['id']}: {r['reason'][:220]}")
    if skips:
        p("skipped:")
        for r in skips:
            p(f"  SKIP {r['spec']:48} {r['id']}: {r['reason'][:160]}")
    print(f"conformance: {s['pass']} passed, {s['fail']} failed, {s['skip']} skipped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
