#!/usr/bin/env python3
"""Where does pyruntime's time go?  Profiles `state`, `create`, `start`,
`delete` and `run` of /bin/true:

* wall-clock phases: interpreter start-up (the console script's own
  interpreter and flags running ``pass``), imports (``-X importtime``, split
  into what start-up imports anyway and what pyruntime adds), and the rest;
* the heaviest imports (cumulative, top-level) and the heaviest modules (self);
* ``strace -f -c -w``: the syscalls that take the most wall time, and how many
  processes the command runs (``-e trace=process``);
* ``cProfile`` of the command's main process: the heaviest functions.

    python3 benchmarks/profile.py [--runs N] [--pyruntime PATH] [--no-strace]
                                  [--json FILE] [--commands state,create,...]

Needs root.  Leaves nothing behind (containers deleted, temp dirs removed).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import harness  # noqa: E402
from benchmarks.run import find_pyruntime, median  # noqa: E402

COMMANDS = ("state", "create", "start", "delete", "run")


def shebang(exe):
    """(interpreter, [flags]) of a console script, or (None, []) for a binary."""
    with open(exe, "rb") as f:
        head = f.read(256)
    if not head.startswith(b"#!"):
        return None, []
    parts = head[2:].split(b"\n", 1)[0].decode().split()
    return parts[0], parts[1:]


def python_half(work):
    """How the native front end (pyruntime/front.c) runs the Python CLI, as
    (interpreter, [flags], [script]): this interpreter with -I -S and its
    install directory on sys.path (what setup.py builds into the front end),
    as a script file so that cProfile can run it too."""
    import sysconfig
    script = os.path.join(work, "pyruntime-cli.py")
    with open(script, "w") as f:
        f.write(f"import sys\nsys.path.insert(0, {sysconfig.get_path('platlib')!r})\n"
                "from pyruntime.cli import entry, main\n"
                "# entry() leaves by os._exit: under a profiler return, so it can report\n"
                "main() if sys.getprofile() else entry()\n")
    return sys.executable, ["-IS"], [script]


class Profiler:
    def __init__(self, args, exe, work):
        self.args, self.exe, self.work = args, exe, work
        self.root = os.path.join(work, "root")
        self.interp, self.flags = shebang(exe)
        self.script = [exe]
        if self.interp is None:  # the native front end: profile its Python half
            self.interp, self.flags, self.script = python_half(work)
        self.spawner = harness.Spawner(os.path.join(work, "cmd.log"))
        self.n = 0
        from tools.mkbundle import build_bundle
        self.bundle = build_bundle(os.path.join(work, "bundle"), ["/bin/true"])

    def cid(self):
        self.n += 1
        return f"pyrtprof-{os.getpid()}-{self.n}"

    def rt(self, *a):
        return [self.exe, "--root", self.root, *a]

    # scenario set-up: returns (args after the executable, clean-up callable)
    def prepare(self, cmd):
        cid = self.cid()
        pidfile = os.path.join(self.work, cid + ".pid")
        created = []

        def create():
            self.spawner.run(self.rt("create", "--bundle", self.bundle, "--pid-file", pidfile, cid))
            created.append(int(open(pidfile).read()))

        def cleanup():
            self.spawner.run(self.rt("delete", "--force", cid), check=False)
            for pid in created:
                harness.wait_pid(pid, 10)
            harness.reap_strays()

        if cmd == "state":
            create()
            return ["state", cid], cleanup
        if cmd == "create":
            return ["create", "--bundle", self.bundle, "--pid-file", pidfile, cid], cleanup
        if cmd == "start":
            create()
            return ["start", cid], cleanup
        if cmd == "delete":
            create()
            self.spawner.run(self.rt("start", cid))
            harness.wait_pid(created[0], 10)
            created.clear()
            return ["delete", cid], cleanup
        if cmd == "run":
            return ["run", "--bundle", self.bundle, cid], cleanup
        raise ValueError(cmd)

    def timed(self, cmd, runs):
        xs = []
        for _ in range(runs):
            args, cleanup = self.prepare(cmd)
            try:
                xs.append(self.spawner.run(self.rt(*args)).ms)
            finally:
                cleanup()
        return median(xs)

    def with_prefix(self, cmd, prefix, after_interp=()):
        """Run the command as PREFIX + interpreter + flags + AFTER + script + args;
        return its output (stdout+stderr).  A strace prefix runs detached
        (-D: the command keeps the pid we spawned, strace is a grandchild) so
        the command's end is seen even while strace still follows a container
        init; strace is waited for after the scenario's clean-up."""
        args, cleanup = self.prepare(cmd)
        before = set(harness.children_of(os.getpid()))
        try:
            argv = list(prefix) + [self.interp, *self.flags, *after_interp, *self.script] + \
                self.rt(*args)[1:]
            self.spawner.run(argv, timeout=120, check=False)
            return self.spawner.output()
        finally:
            tracers = [p for p in harness.children_of(os.getpid()) if p not in before
                       and _comm(p) == "strace"]
            cleanup()
            for p in tracers:
                harness.wait_pid(p, 30)

    def startup_ms(self, flags, code="pass", runs=7):
        xs = [self.spawner.run([self.interp, *flags, "-c", code]).ms for _ in range(runs)]
        return median(xs)


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


IMPORT_RE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse_importtime(text):
    rows = []
    for line in text.splitlines():
        m = IMPORT_RE.match(line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    return rows


def parse_strace_c(text):
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and re.match(r"^\d+\.\d+$", parts[0]) and parts[-1] != "total":
            try:
                rows.append({"syscall": parts[-1], "pct": float(parts[0]),
                             "seconds": float(parts[1]), "calls": int(parts[3])})
            except ValueError:
                pass
    return rows


def min_importtime(texts):
    """Per-module minimum over several ``-X importtime`` runs (noise only ever
    adds time).  Returns rows (self_us, cumulative_us, depth, name) in the
    order of the first run."""
    runs = [parse_importtime(t) for t in texts]
    best = {}
    for rows in runs:
        for self_us, cum_us, depth, name in rows:
            b = best.get(name)
            best[name] = (min(b[0], self_us), min(b[1], cum_us), depth) if b else (self_us, cum_us, depth)
    seen, out = set(), []
    for rows in runs:
        for _s, _c, _d, name in rows:
            if name not in seen:
                seen.add(name)
                s_, c_, d_ = best[name]
                out.append((s_, c_, d_, name))
    return out


MARKERS = ("execve,execveat,clone,clone3,vfork,fork,unshare,setns,pivot_root,mkdir,rmdir,unlink,"
           "rename,renameat2,write,recvfrom,wait4,kill,exit_group")


def phases(lines):
    """From a sparse ``strace -f --seccomp-bpf -ttt`` trace: milliseconds from
    the command's execve to notable events of the main process and its
    children, and the teardown (last traced syscall of the main process to its
    exit_group: interpreter finalization)."""
    ev = []
    for ln in lines:
        parts = ln.split(None, 2)
        if len(parts) == 3 and re.match(r"^\d+\.\d+$", parts[1]):
            ev.append((parts[0], float(parts[1]), parts[2]))
    if not ev:
        return {}
    main_pid, t0 = ev[0][0], ev[0][1]
    ms = lambda t: round((t - t0) * 1000, 2)  # noqa: E731
    out = {}
    last_main = None
    for pid, t, call in ev:
        if pid == main_pid:
            if call.startswith("exit_group"):
                out["exit"] = ms(t)
                if last_main is not None:
                    out["teardown"] = round((t - last_main) * 1000, 2)
                break
            if not call.startswith(("+++", "---")):
                last_main = t
            if call.startswith("clone(") and "CLONE_THREAD" not in call and "fork" not in out:
                out["fork"] = ms(t)
            if call.startswith("<... recvfrom resumed>") and '"R"' in call:
                out["R received"] = ms(t)
            if call.startswith("recvfrom(") and '"W"' in call or \
                    call.startswith("<... recvfrom resumed>") and '"W"' in call:
                out["W received"] = ms(t)
        else:
            if call.startswith("unshare(") and "unshare" not in out:
                out["unshare"] = ms(t)
            if call.startswith("pivot_root(") and "pivot_root" not in out:
                out["pivot_root"] = ms(t)
            if call.startswith("execveat(") and "C stage exec" not in out:
                out["C stage exec"] = ms(t)
            if call.startswith("execve(") and "user program exec" not in out and \
                    "C stage exec" in out:
                out["user program exec"] = ms(t)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="profile pyruntime's commands")
    p.add_argument("--runs", type=int, default=9, help="repetitions of each measurement")
    p.add_argument("--pyruntime")
    p.add_argument("--no-strace", action="store_true")
    p.add_argument("--commands", default=",".join(COMMANDS))
    p.add_argument("--json")
    a = p.parse_args(argv)
    exe = a.pyruntime or find_pyruntime()
    if not exe:
        print("pyruntime is not installed", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("profile.py needs root", file=sys.stderr)
        return 2
    harness.set_child_subreaper()
    work = tempfile.mkdtemp(prefix="pyrtprof-")
    os.chdir(work)
    strace = None if a.no_strace else shutil.which("strace")
    out = {"exe": exe, "runs": a.runs, "loadavg": os.getloadavg(), "commands": {}}
    prof = None
    try:
        prof = Profiler(a, exe, work)
        base_names = set()
        if prof.interp is None:
            print("pyruntime is not a script; only wall times are measured", file=sys.stderr)
        else:
            out["interpreter"] = [prof.interp, *prof.flags]
            out["startup_ms"] = {
                "script flags, pass": prof.startup_ms(prof.flags, runs=a.runs),
                "-S (no site), pass": prof.startup_ms(["-S"], runs=a.runs),
                "-I -S, pass": prof.startup_ms(["-I", "-S"], runs=a.runs),
                "script flags, os._exit": prof.startup_ms(prof.flags, "import os; os._exit(0)",
                                                          runs=a.runs),
            }
            base = min_importtime([subprocess.run(
                [prof.interp, *prof.flags, "-X", "importtime", "-c", "pass"],
                capture_output=True, text=True).stderr for _ in range(a.runs)])
            out["startup_imports_ms"] = round(sum(r[1] for r in base if r[2] == 0) / 1000, 1)
            out["site_top"] = [(r[3], round(r[1] / 1000, 1)) for r in sorted(
                [r for r in base if r[2] <= 1], key=lambda r: -r[1])[:6]]
            base_names = {r[3] for r in base}
        for cmd in a.commands.split(","):
            res = {"wall_ms": prof.timed(cmd, a.runs)}
            if prof.interp:
                rows = min_importtime([prof.with_prefix(cmd, [], ["-X", "importtime"])
                                       for _ in range(a.runs)])
                top = [r for r in rows if r[2] == 0]
                extra = [r for r in top if r[3] not in base_names]
                res["imports_total_ms"] = round(sum(r[1] for r in top) / 1000, 1)
                res["imports_added_by_pyruntime_ms"] = round(sum(r[1] for r in extra) / 1000, 1)
                res["top_imports_cumulative"] = [(r[3], round(r[1] / 1000, 1)) for r in
                                                 sorted(extra, key=lambda r: -r[1])[:10]]
                res["top_modules_self"] = [(r[3], round(r[0] / 1000, 2)) for r in
                                           sorted([r for r in rows if r[3] not in base_names],
                                                  key=lambda r: -r[0])[:14]]
                res["modules_imported"] = len([r for r in rows if r[3] not in base_names])
                cprof = prof.with_prefix(cmd, [], ["-m", "cProfile", "-s", "cumulative"])
                lines = cprof.splitlines()
                try:
                    k = next(i for i, ln in enumerate(lines) if ln.strip().startswith("ncalls"))
                    res["cprofile_top"] = [ln.rstrip() for ln in lines[k:k + 26]]
                except StopIteration:
                    res["cprofile_top"] = lines[-20:]
            if strace:
                fn = os.path.join(work, "strace.out")
                prof.with_prefix(cmd, [strace, "-D", "-f", "-c", "-w", "-o", fn])
                sc = parse_strace_c(open(fn).read())
                res["strace_top"] = sorted(sc, key=lambda r: -r["seconds"])[:12]
                res["strace_top_calls"] = [(r["syscall"], r["calls"]) for r in
                                           sorted(sc, key=lambda r: -r["calls"])[:10]]
                res["syscalls_total"] = sum(r["calls"] for r in sc)
                prof.with_prefix(cmd, [strace, "-D", "-f", "-ttt", "-e", "trace=process", "-o", fn])
                ev = [ln.split(None, 2) for ln in open(fn).read().splitlines()]
                ev = [e for e in ev if len(e) == 3 and re.match(r"^\d+\.\d+$", e[1])]
                spawn = [e for e in ev if re.match(r"(clone3?|v?fork)\(", e[2])
                         and "CLONE_THREAD" not in e[2]]
                res["processes"] = 1 + len(spawn)
                res["execve"] = [e[2].split('"')[1] for e in ev
                                 if e[2].startswith(("execve(", "execveat(")) and '"' in e[2]]
                # phases: sparse tracing (seccomp-bpf) disturbs the timing little
                runs = []
                for _ in range(a.runs):
                    prof.with_prefix(cmd, [strace, "-D", "-f", "--seccomp-bpf", "-ttt",
                                           "-e", "trace=" + MARKERS, "-o", fn])
                    runs.append(phases(open(fn).read().splitlines()))
                keys = [k for k in runs[0] if all(k in r for r in runs)]
                res["phases_ms"] = {k: round(median([r[k] for r in runs]), 2) for k in keys}
            out["commands"][cmd] = res
            print(f"-- {cmd}: {res['wall_ms']:.1f} ms", file=sys.stderr, flush=True)
    finally:
        if prof is not None:
            for cid in (os.listdir(prof.root) if os.path.isdir(prof.root) else []):
                prof.spawner.run(prof.rt("delete", "--force", cid), check=False)
            prof.spawner.close()
        harness.kill_descendants()
        harness.remove_cgroups_named(f"pyrtprof-{os.getpid()}")
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)
    report(out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


def report(out):
    print(f"pyruntime: {out['exe']}  interpreter: {' '.join(out.get('interpreter', []))}")
    print(f"medians / per-module minima over {out['runs']} runs; load {out['loadavg'][0]:.2f}")
    for k, v in out.get("startup_ms", {}).items():
        print(f"  interpreter start-up ({k}): {v:.1f} ms")
    if "startup_imports_ms" in out:
        print(f"  imports done by start-up itself: {out['startup_imports_ms']} ms; "
              f"heaviest: {out['site_top']}")
    for cmd, r in out["commands"].items():
        print(f"\n== {cmd}: wall {r['wall_ms']:.1f} ms (median)")
        if "phases_ms" in r:
            print("  phases (ms since execve; sparse strace):",
                  ", ".join(f"{k} {v}" for k, v in r["phases_ms"].items()))
        if "imports_total_ms" in r:
            print(f"  imports: {r['imports_total_ms']} ms in all, "
                  f"{r['imports_added_by_pyruntime_ms']} ms beyond start-up's own "
                  f"({r['modules_imported']} modules)")
            print("  heaviest top-level imports (cumulative ms):", r["top_imports_cumulative"])
            print("  heaviest modules (self ms):", r["top_modules_self"])
        if "strace_top" in r:
            print(f"  processes: {r['processes']}, execs: {r['execve']}")
            print(f"  syscalls: {r['syscalls_total']} in all; most frequent: {r['strace_top_calls']}")
            print("  syscalls by wall time (strace -f -c -w; blocking calls included):")
            for s in r["strace_top"]:
                print(f"    {s['syscall']:<18} {s['seconds'] * 1000:8.2f} ms {s['calls']:6d} calls")
        if "cprofile_top" in r:
            print("  cProfile (main process, cumulative):")
            for ln in r["cprofile_top"]:
                print("    " + ln)


if __name__ == "__main__":
    sys.exit(main())
