#!/usr/bin/env python3
"""pyruntime benchmarks: pyruntime against runc (and crun) side by side.

    python3 benchmarks/run.py [--runs N] [--quick] [--json FILE]
                              [--runtimes pyruntime,runc,crun]

Every timed figure is measured INTERLEAVED: each iteration runs the step once
per runtime (A, B, C, then B, C, A, ... the order rotates so no runtime always
goes first), after warm-up iterations that are not recorded.  Medians and p90s
are over the iterations.  See docs/performance.md for what each figure means.

Needs root.  Exit status: 0 when every selected runtime completed every step,
1 when a runtime command failed (the table still shows what was measured),
2 on bad usage (e.g. a runtime named in --runtimes is not installed).
``--quick --runtimes pyruntime`` is the CI smoke test: it checks that run,
create/state/start/delete, exec, parallel runs and memory limits all work, and
asserts nothing about timings.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import harness  # noqa: E402
from benchmarks.harness import CommandFailed  # noqa: E402

KIB = 1024
ALL_RUNTIMES = ("pyruntime", "runc", "crun")

# metric -> (label, unit, lower-is-better)
METRICS = [
    ("run_ms", "run /bin/true", "ms"),
    ("create_ms", "create", "ms"),
    ("start_ms", "start", "ms"),
    ("wait_ms", "wait (start returned -> init reaped)", "ms"),
    ("delete_ms", "delete", "ms"),
    ("csd_ms", "create+start+delete", "ms"),
    ("lifecycle_ms", "create+start+wait+delete", "ms"),
    ("state_ms", "state (created container)", "ms"),
    ("exec_ms", "exec /bin/true (running container)", "ms"),
    ("seq_wall_s", "{n} sequential runs, wall", "s"),
    ("par_wall_s", "{n} runs on 2 workers, wall", "s"),
    ("create_peak_rss_kib", "peak RSS of create", "KiB"),
    ("init_rss_kib", "RSS of the waiting init", "KiB"),
    ("cgroup_mem_kib", "memory cgroup charge after create", "KiB"),
    ("min_mem_limit_kib", "smallest memory.limit that starts", "KiB"),
]

# metric -> (kind, bound): "ratio" = pyruntime/runc <= bound; "abs" = value <= bound
TARGETS = {
    "run_ms": ("ratio", 0.6),
    "csd_ms": ("ratio", 0.7),
    "state_ms": ("ratio", 1.0),
    "create_peak_rss_kib": ("ratio", 1.0),
    "min_mem_limit_kib": ("abs", 512),
}


# ---------------------------------------------------------------------------
# statistics

def median(xs):
    return quantile(xs, 0.5)


def quantile(xs, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not xs:
        return None
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# ---------------------------------------------------------------------------
# runtimes

def find_pyruntime():
    """The console script next to the real interpreter, never a pyenv shim
    (a shim adds 50-100 ms to every call)."""
    cands = [os.path.join(os.path.dirname(os.path.realpath(sys.executable)), "pyruntime"),
             "/root/.pyenv/versions/3.11.7/bin/pyruntime"]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and "/shims" not in d:
            cands.append(os.path.join(d, "pyruntime"))
    for c in cands:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def find_exe(name, override=None):
    if override:
        return override if os.access(override, os.X_OK) else None
    if name == "pyruntime":
        return find_pyruntime()
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin:/sbin")


def is_hybrid_cgroup_host():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if pre.split()[4] == "/sys/fs/cgroup/unified" and post.split()[:1] == ["cgroup2"]:
                return True
    return False


def cgroup_mode():
    v1 = v2 = False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            post = line.partition(" - ")[2].split()[:1]
            v1 |= post == ["cgroup"]
            v2 |= post == ["cgroup2"]
    return "hybrid" if v1 and v2 else "v1" if v1 else "v2" if v2 else "none"


class LimitSearch:
    """Binary search for the smallest limit that starts: probe ``hi`` (must
    start, else the answer is None), then ``lo`` (if it starts, the answer is
    ``lo``), then bisect at ``step`` resolution.  ``result`` is the smallest
    limit seen to start so far (an upper bound while not ``done``)."""

    def __init__(self, lo, hi, step):
        self.lo, self.hi, self.step = lo, hi, step
        self.stage = "hi"
        self.result = None
        self.done = False
        self.history = []

    def next_probe(self):
        if self.stage == "hi":
            return self.hi
        if self.stage == "lo":
            return self.lo
        mid = (self.lo + self.hi) // 2 // self.step * self.step
        return mid if mid > self.lo else self.lo + self.step

    def record(self, limit, ok):
        self.history.append((limit, ok))
        if self.stage == "hi":
            if not ok:
                self.done = True
                return
            self.result, self.stage = self.hi, "lo"
        elif self.stage == "lo":
            self.stage = "bisect"
            if ok:
                self.result, self.done = self.lo, True
                return
        elif ok:
            self.hi = self.result = limit
        else:
            self.lo = limit
        if self.stage == "bisect" and self.hi - self.lo <= self.step:
            self.done = True


class Runtime:
    def __init__(self, name, exe, work):
        self.name, self.exe = name, exe
        self.root = os.path.join(work, "root-" + name)
        os.makedirs(self.root, exist_ok=True)
        self.bundles = {}
        self.ns = None          # PrivateCgroupNS for crun on a hybrid host
        self.error = None       # first failure; the runtime is dropped after it
        self.version = ""

    def cmd(self, *args):
        return [self.exe, "--root", self.root, *args]

    def __repr__(self):
        return self.name


# ---------------------------------------------------------------------------
# the benchmark

class Bench:
    def __init__(self, args, runtimes, work):
        self.args, self.runtimes, self.work = args, runtimes, work
        self.spawner = harness.Spawner(os.path.join(work, "cmd.log"))
        self.prefix = f"pyrtbench-{os.getpid()}"
        self.seq = 0
        self.samples = {rt.name: {m[0]: [] for m in METRICS} for rt in runtimes}
        self.notes = {rt.name: [] for rt in runtimes}
        self.info = {}
        self.quick = args.quick
        self.warmup = 1 if self.quick else 3
        self.runs = args.runs
        self.batch = args.batch
        self.cmd_timeout = 30.0

    # -- helpers -----------------------------------------------------------

    def new_id(self, rt, what):
        self.seq += 1
        return f"{self.prefix}-{rt.name[:2]}{what}{self.seq}"

    def active(self):
        return [rt for rt in self.runtimes if rt.error is None]

    def order(self, i):
        act = self.active()
        if not act:
            return []
        k = i % len(act)
        return act[k:] + act[:k]

    def run_cmd(self, rt, *args, timeout=None, check=True):
        return self.spawner.run(rt.cmd(*args), timeout=timeout or self.cmd_timeout, ns=rt.ns,
                                check=check)

    def fail(self, rt, phase, exc):
        msg = f"{phase}: {exc}"
        print(f"  !! {rt.name} failed in {msg}", file=sys.stderr)
        rt.error = msg
        self.force_delete_all(rt)

    def force_delete(self, rt, cid):
        if os.path.isdir(os.path.join(rt.root, cid)):
            try:
                self.run_cmd(rt, "delete", "--force", cid, timeout=15, check=False)
            except CommandFailed:
                pass
        harness.reap_strays()

    def force_delete_all(self, rt):
        try:
            names = os.listdir(rt.root)
        except OSError:
            return
        for cid in names:
            if os.path.isdir(os.path.join(rt.root, cid)):
                self.force_delete(rt, cid)

    def read_pid(self, path):
        with open(path) as f:
            return int(f.read().strip())

    def phase(self, name, budget_s):
        print(f"== {name} (budget {budget_s:.0f} s)", file=sys.stderr, flush=True)
        return time.monotonic() + budget_s

    def iterations(self, deadline, min_runs=3, runs=None):
        """Yield (index, recorded?) for warm-up + measured iterations, stopping
        early (at an iteration boundary, so every runtime has as many samples)
        when the phase's time budget is spent."""
        total = self.warmup + (runs or self.runs)
        for i in range(total):
            measured = i - self.warmup
            if measured >= min_runs and time.monotonic() > deadline:
                print(f"   (budget spent after {measured} measured iterations)", file=sys.stderr)
                return
            if not self.active():
                return
            yield i, i >= self.warmup

    # -- setup ---------------------------------------------------------------

    def make_bundles(self):
        from tools.mkbundle import build_rootfs, default_config
        rootfs = os.path.join(self.work, "rootfs")
        build_rootfs(rootfs)
        for rt in self.runtimes:
            for kind, argv in (("true", ["/bin/true"]), ("sleep", ["/bin/sleep", "3600"]),
                               ("mem", ["/bin/true"])):
                b = os.path.join(self.work, "bundles", rt.name, kind)
                os.makedirs(b, exist_ok=True)
                self.write_config(rt, b, default_config(argv), rootfs)
                rt.bundles[kind] = b
        self.rootfs = rootfs

    def write_config(self, rt, bundle, cfg, rootfs=None):
        cfg["root"]["path"] = rootfs or self.rootfs
        if rt.name == "crun":
            cfg["ociVersion"] = "1.0.2"   # crun 1.8 rejects newer spec versions
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(cfg, f)

    def probe_versions(self):
        for rt in self.runtimes:
            try:
                r = self.spawner.run([rt.exe, "--version"], timeout=15, check=False)
                rt.version = (self.spawner.output().strip().splitlines() or [""])[0]
                if r.rc != 0:
                    rt.version = f"(--version exited {r.rc})"
            except CommandFailed as e:
                rt.version = f"(--version: {e})"

    def smoke(self):
        """One checked `run` per runtime before anything is timed."""
        for rt in self.active():
            cid = self.new_id(rt, "s")
            try:
                self.run_cmd(rt, "run", "--bundle", rt.bundles["true"], cid)
            except CommandFailed as e:
                self.fail(rt, "first run", e)
            self.force_delete(rt, cid)

    # -- phases --------------------------------------------------------------

    def bench_run(self, budget):
        deadline = self.phase("run /bin/true", budget)
        for i, rec in self.iterations(deadline):
            for rt in self.order(i):
                cid = self.new_id(rt, "r")
                try:
                    r = self.run_cmd(rt, "run", "--bundle", rt.bundles["true"], cid)
                except CommandFailed as e:
                    self.fail(rt, "run", e)
                    continue
                if os.path.isdir(os.path.join(rt.root, cid)):
                    self.note(rt, "`run` left its container behind (deleted by the benchmark)")
                    self.force_delete(rt, cid)
                if rec:
                    self.samples[rt.name]["run_ms"].append(r.ms)
            harness.reap_strays()

    def note(self, rt, text):
        if text not in self.notes[rt.name]:
            self.notes[rt.name].append(text)

    def lifecycle_once(self, rt, rec, check_state):
        s = self.samples[rt.name]
        cid = self.new_id(rt, "c")
        pidfile = os.path.join(self.work, cid + ".pid")
        pidfd = None
        try:
            c = self.run_cmd(rt, "create", "--bundle", rt.bundles["true"], "--pid-file", pidfile, cid)
            pid = self.read_pid(pidfile)
            pidfd = harness.pidfd_open(pid)
            st = self.run_cmd(rt, "state", cid)
            if check_state:
                state = json.loads(self.spawner.output())
                if state.get("status") != "created" or state.get("pid") != pid:
                    raise CommandFailed(["state", cid], 0,
                                        f"unexpected state {state!r} (pid file says {pid})")
            sta = self.run_cmd(rt, "start", cid)
            t_started = self.spawner.last_end_ns
            status = harness.wait_pid(pid, self.cmd_timeout, pidfd)
            t_reaped = time.perf_counter_ns()
            if status is None:
                raise CommandFailed(["wait", str(pid)], -1, "container init did not exit", True)
            if harness.exit_code(status) != 0:
                raise CommandFailed(["container /bin/true"], harness.exit_code(status), "")
            d = self.run_cmd(rt, "delete", cid)
        except CommandFailed as e:
            self.fail(rt, "create/start/delete", e)
            return
        finally:
            if pidfd is not None:
                os.close(pidfd)
            try:
                os.unlink(pidfile)
            except OSError:
                pass
        if os.path.isdir(os.path.join(rt.root, cid)):
            self.note(rt, "`delete` left the state dir behind")
            self.force_delete(rt, cid)
        if not rec:
            return
        wait_ms = (t_reaped - t_started) / 1e6
        s["create_ms"].append(c.ms)
        s["state_ms"].append(st.ms)
        s["start_ms"].append(sta.ms)
        s["wait_ms"].append(wait_ms)
        s["delete_ms"].append(d.ms)
        s["csd_ms"].append(c.ms + sta.ms + d.ms)
        s["lifecycle_ms"].append(c.ms + sta.ms + wait_ms + d.ms)

    def bench_lifecycle(self, budget):
        deadline = self.phase("create / state / start / wait / delete", budget)
        for i, rec in self.iterations(deadline):
            for rt in self.order(i):
                self.lifecycle_once(rt, rec, check_state=(i == 0))
            harness.reap_strays()

    def build_maxrss(self):
        """Compile benchmarks/maxrss.c (see there why a C wrapper); returns
        its path, or None without a C compiler."""
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            return None
        out = os.path.join(self.work, "maxrss")
        src = os.path.join(HERE, "maxrss.c")
        for extra in (["-static"], []):
            r = subprocess.run([cc, "-O2", *extra, "-o", out, src], capture_output=True)
            if r.returncode == 0:
                return out
        return None

    @staticmethod
    def parse_maxrss(output):
        val = None
        for line in output.splitlines():
            if line.startswith("PYRTBENCH_MAXRSS="):
                val = int(line.split("=", 1)[1])
        return val

    def bench_memory(self, budget):
        deadline = self.phase("memory: peak RSS of create, init RSS, cgroup charge", budget)
        wrapper = self.build_maxrss()
        if wrapper is None:
            for rt in self.active():
                self.note(rt, "no C compiler: peak RSS of create not measured")
        else:
            # the floor: the wrapper measuring a second copy of itself (prints usage, exits 2)
            self.spawner.run([wrapper, wrapper], check=False)
            self.info["maxrss_floor_kib"] = self.parse_maxrss(self.spawner.output())
        for i, rec in self.iterations(deadline, min_runs=2, runs=min(self.runs, 10)):
            for rt in self.order(i):
                cid = self.new_id(rt, "k")
                pidfile = os.path.join(self.work, cid + ".pid")
                try:
                    argv = rt.cmd("create", "--bundle", rt.bundles["true"], "--pid-file", pidfile, cid)
                    if wrapper:
                        argv = [wrapper] + argv
                    self.spawner.run(argv, timeout=self.cmd_timeout, ns=rt.ns)
                    maxrss = self.parse_maxrss(self.spawner.output()) if wrapper else None
                    pid = self.read_pid(pidfile)
                    rss = harness.vm_rss_kib(pid)
                    cg, where = harness.cgroup_memory_usage(pid)
                    self.run_cmd(rt, "delete", "--force", cid)
                except CommandFailed as e:
                    self.fail(rt, "memory figures", e)
                    continue
                finally:
                    try:
                        os.unlink(pidfile)
                    except OSError:
                        pass
                if harness.wait_pid(pid, 10) is None:
                    self.fail(rt, "memory figures", "container init still alive after delete --force")
                    continue
                self.force_delete(rt, cid)
                if cg is None:
                    self.note(rt, f"cgroup charge unavailable: {where}")
                if not rec:
                    continue
                s = self.samples[rt.name]
                if maxrss is not None:
                    s["create_peak_rss_kib"].append(maxrss)
                if rss is not None:
                    s["init_rss_kib"].append(rss)
                if cg is not None:
                    s["cgroup_mem_kib"].append(cg / KIB)
            harness.reap_strays()

    def bench_exec(self, budget):
        deadline = self.phase("exec /bin/true", budget)
        running = {}
        for rt in self.active():
            cid = self.new_id(rt, "x")
            pidfile = os.path.join(self.work, cid + ".pid")
            try:
                self.run_cmd(rt, "create", "--bundle", rt.bundles["sleep"], "--pid-file", pidfile, cid)
                pid = self.read_pid(pidfile)
                self.run_cmd(rt, "start", cid)
                running[rt.name] = (cid, pid)
            except CommandFailed as e:
                self.fail(rt, "exec setup", e)
        try:
            for i, rec in self.iterations(deadline):
                for rt in self.order(i):
                    cid, _ = running[rt.name]
                    try:
                        r = self.run_cmd(rt, "exec", cid, "/bin/true")
                    except CommandFailed as e:
                        self.fail(rt, "exec", e)
                        continue
                    if rec:
                        self.samples[rt.name]["exec_ms"].append(r.ms)
                harness.reap_strays()
        finally:
            for rt in self.runtimes:
                if rt.name in running:
                    cid, pid = running[rt.name]
                    try:
                        self.run_cmd(rt, "delete", "--force", cid, timeout=15)
                    except CommandFailed as e:
                        if rt.error is None:
                            self.fail(rt, "delete --force of the exec container", e)
                    if harness.wait_pid(pid, 10) is None:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                        harness.wait_pid(pid, 5)
                    self.force_delete(rt, cid)

    def _batch_worker(self, rt, n, tag, deadline):
        """Run `run` n times; return (completed, seconds)."""
        t0 = time.perf_counter()
        done = 0
        for j in range(n):
            if time.monotonic() > deadline:
                break
            cid = f"{self.prefix}-{rt.name[:2]}{tag}{j}"
            self.run_cmd(rt, "run", "--bundle", rt.bundles["true"], cid)
            harness.reap_strays()
            done += 1
        return done, time.perf_counter() - t0

    def bench_batches(self, budget):
        deadline = self.phase(f"{self.batch} runs, sequential and on 2 workers", budget)
        # each (kind, runtime) batch gets a share of what is left of the budget in
        # proportion to its expected duration
        tasks = [(kind, rt) for kind in ("seq", "par") for rt in self.order(0)]
        def expected(kind, rt):  # seconds, from the `run` phase's median if there is one
            xs = self.samples[rt.name]["run_ms"]
            per = median(xs) / 1000 if xs else 0.1
            return self.batch * per / (1.6 if kind == "par" else 1.0)

        for k, (kind, rt) in enumerate(tasks):
            if rt.error:
                continue
            rest = [expected(kd, r) for kd, r in tasks[k:] if not r.error]
            share = max(deadline - time.monotonic(), 1.0) * expected(kind, rt) / sum(rest)
            limit = time.monotonic() + share
            try:
                if kind == "seq":
                    done, secs = self._batch_worker(rt, self.batch, f"q{self.seq}_", limit)
                else:
                    done, secs = self._parallel(rt, limit)
            except CommandFailed as e:
                self.fail(rt, f"{kind} batch", e)
                continue
            if done < self.batch:
                self.note(rt, f"{kind} batch cut by the time budget after {done} runs; "
                              f"wall time extrapolated to {self.batch}")
                secs = secs * self.batch / max(done, 1)
            self.samples[rt.name][f"{kind}_wall_s"].append(secs)
            self.seq += 1

    def _parallel(self, rt, limit):
        halves = [self.batch - self.batch // 2, self.batch // 2]
        rfds = []
        pids = []
        t0 = time.perf_counter()
        for w, n in enumerate(halves):
            r, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:  # worker
                code = 0
                try:
                    os.close(r)
                    harness.set_child_subreaper()
                    self.spawner = harness.Spawner(os.path.join(self.work, f"worker{w}.log"))
                    done, _ = self._batch_worker(rt, n, f"p{self.seq}w{w}_", limit)
                    os.write(wfd, f"{done}\n".encode())
                except BaseException as e:  # noqa: BLE001
                    try:
                        os.write(wfd, f"ERR {e}\n".encode()[:4000])
                    except OSError:
                        pass
                    code = 1
                finally:
                    try:
                        harness.kill_descendants(2)
                    finally:
                        os._exit(code)
            os.close(wfd)
            rfds.append(r)
            pids.append(pid)
        statuses = [harness.wait_pid(p, self.cmd_timeout * 4 + 60) for p in pids]
        secs = time.perf_counter() - t0
        done = 0
        errs = []
        for r in rfds:
            out = os.read(r, 8192).decode(errors="replace").strip()
            os.close(r)
            if out.startswith("ERR") or not out:
                errs.append(out or "worker died")
            else:
                done += int(out)
        if errs or any(s is None or harness.exit_code(s) != 0 for s in statuses):
            raise CommandFailed(["parallel run"], 1, "; ".join(errs))
        return done, secs

    def bench_memlimit(self, budget):
        deadline = self.phase("smallest memory limit that starts /bin/true", budget)
        lo0, hi0 = 64 * KIB, 16 * KIB * KIB
        step = (256 if self.quick else 4) * KIB
        tries = 2 if self.quick else 3
        searches = {rt.name: LimitSearch(lo0, hi0, step) for rt in self.active()}
        while True:
            todo = [(n, s) for n, s in searches.items() if not s.done and self.rt(n).error is None]
            if not todo:
                break
            if time.monotonic() > deadline:
                for name, s in todo:
                    self.note(self.rt(name), "memory-limit search cut by the time budget: "
                                             "the figure is an upper bound")
                break
            for name, s in todo:   # interleaved: one probe per runtime in turn
                rt = self.rt(name)
                limit = s.next_probe()
                ok = False
                for _ in range(tries):
                    ok = self._probe(rt, limit)
                    if ok or rt.error:
                        break
                s.record(limit, ok)
        for name, s in searches.items():
            rt = self.rt(name)
            if rt.error:
                continue
            if s.result is None and s.done:
                self.note(rt, "does not start even with a 16 MiB limit")
            elif s.result == lo0:
                self.note(rt, "starts with the smallest limit tried (64 KiB)")
            if s.result is not None:
                self.samples[name]["min_mem_limit_kib"].append(s.result / KIB)
            self.info.setdefault("memlimit_probes", {})[name] = [
                [lim // KIB, ok] for lim, ok in s.history]
        self.info["memlimit"] = {"low_kib": lo0 // KIB, "high_kib": hi0 // KIB,
                                 "resolution_kib": step // KIB, "tries_per_point": tries}

    def rt(self, name):
        return next(r for r in self.runtimes if r.name == name)

    def _probe(self, rt, limit):
        from tools.mkbundle import default_config
        cfg = default_config(["/bin/true"])
        cfg["linux"].setdefault("resources", {})["memory"] = {"limit": limit}
        self.write_config(rt, rt.bundles["mem"], cfg)
        cid = self.new_id(rt, "m")
        try:
            r = self.run_cmd(rt, "run", "--bundle", rt.bundles["mem"], cid, timeout=20, check=False)
            ok = r.rc == 0
        except CommandFailed:  # timed out
            ok = False
        self.force_delete(rt, cid)
        return ok

    # -- cleanup -------------------------------------------------------------

    def cleanup(self):
        for rt in self.runtimes:
            self.force_delete_all(rt)
        killed = harness.kill_descendants()
        if killed:
            print(f"clean-up: killed {len(killed)} leftover process(es)", file=sys.stderr)
        removed = harness.remove_cgroups_named(self.prefix)
        if removed:
            print(f"clean-up: removed {len(removed)} leftover cgroup dir(s)", file=sys.stderr)
        for rt in self.runtimes:
            if rt.ns is not None:
                rt.ns.close()
        self.spawner.close()


# ---------------------------------------------------------------------------
# report

def summarize(bench, runtimes, skipped):
    out = {}
    for rt in runtimes:
        ms = {}
        for key, _label, unit in METRICS:
            xs = bench.samples[rt.name][key]
            if xs:
                ms[key] = {"unit": unit, "n": len(xs), "median": median(xs),
                           "p90": quantile(xs, 0.9), "min": min(xs), "max": max(xs),
                           "samples": [round(x, 3) for x in xs]}
        out[rt.name] = {"exe": rt.exe, "version": rt.version, "error": rt.error,
                        "notes": bench.notes[rt.name], "metrics": ms}
    for name, why in skipped.items():
        out[name] = {"exe": None, "version": None, "error": None, "skipped": why,
                     "notes": [], "metrics": {}}
    return out


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "ms":
        return f"{v:.1f}" if v < 100 else f"{v:.0f}"
    if unit == "s":
        return f"{v:.2f}"
    return f"{v:.0f}"


def ratio(res, name, key, stat="median"):
    a = res.get(name, {}).get("metrics", {}).get(key)
    b = res.get("runc", {}).get("metrics", {}).get(key)
    if not a or not b or not b[stat]:
        return None
    return a[stat] / b[stat]


def target_status(res, key):
    t = TARGETS.get(key)
    if not t or "pyruntime" not in res or not res["pyruntime"]["metrics"].get(key):
        return ""
    kind, bound = t
    if kind == "ratio":
        r = ratio(res, "pyruntime", key)
        if r is None:
            return f"<= {bound}x runc"
        return f"<= {bound}x: {'met' if r <= bound else 'MISSED'}"
    v = res["pyruntime"]["metrics"][key]["median"]
    return f"<= {bound} KiB: {'met' if v <= bound else 'MISSED'}"


def table(res, names, batch):
    others = [n for n in names if n != "runc" and "runc" in names]
    head = ["figure"] + names + [f"{n}/runc" for n in others] + (
        ["target (pyruntime)"] if "pyruntime" in names else [])
    rows = []
    for key, label, unit in METRICS:
        label = label.format(n=batch)
        cells = [f"{label} [{unit}]"]
        for n in names:
            r = res[n]
            if r.get("skipped"):
                cells.append("n/a")
                continue
            m = r["metrics"].get(key)
            if not m:
                cells.append("-")
            elif m["n"] > 1 and unit in ("ms", "KiB") and key != "min_mem_limit_kib":
                cells.append(f"{fmt(m['median'], unit)} ({fmt(m['p90'], unit)})")
            else:
                cells.append(fmt(m["median"], unit))
        for n in others:
            q = ratio(res, n, key)
            cells.append("-" if q is None else f"{q:.2f}")
        if "pyruntime" in names:
            cells.append(target_status(res, key))
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, help="measured iterations per figure "
                   "(default 100; 5 with --quick)")
    p.add_argument("--batch", type=int, help="runs in the sequential / 2-worker batches "
                   "(default 100; 10 with --quick)")
    p.add_argument("--quick", action="store_true", help="smoke-test mode, < 1 minute")
    p.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"),
                   help="where to write the JSON results (default: %(default)s)")
    p.add_argument("--runtimes", help="comma-separated subset of pyruntime,runc,crun "
                   "(default: all that are installed)")
    p.add_argument("--pyruntime", help="path of the pyruntime executable")
    p.add_argument("--runc", help="path of runc")
    p.add_argument("--crun", help="path of crun")
    p.add_argument("--budget", type=float, help="overall time budget in seconds "
                   "(default 240; 45 with --quick)")
    p.add_argument("--only", help="comma-separated phases: run,lifecycle,exec,batch,memory,limit")
    a = p.parse_args(argv)
    a.runs = a.runs or (5 if a.quick else 100)
    a.batch = a.batch or (10 if a.quick else 100)
    a.budget = a.budget or (45.0 if a.quick else 240.0)
    if a.runs < 1 or a.batch < 2:
        p.error("--runs must be >= 1 and --batch >= 2")
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("run.py needs root (namespaces, cgroups)", file=sys.stderr)
        return 2
    explicit = args.runtimes is not None
    names = [n.strip() for n in (args.runtimes or ",".join(ALL_RUNTIMES)).split(",") if n.strip()]
    bad = [n for n in names if n not in ALL_RUNTIMES]
    if bad:
        print(f"unknown runtime(s): {', '.join(bad)}", file=sys.stderr)
        return 2

    harness.set_child_subreaper()
    t_start = time.monotonic()
    work = tempfile.mkdtemp(prefix="pyrtbench-")
    os.chdir(work)
    skipped = {}
    runtimes = []
    for n in names:
        exe = find_exe(n, getattr(args, n))
        if exe is None:
            if explicit:
                print(f"{n} is not installed", file=sys.stderr)
                shutil.rmtree(work, ignore_errors=True)
                return 2
            skipped[n] = "not installed"
            continue
        runtimes.append(Runtime(n, exe, work))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    bench = Bench(args, runtimes, work)
    load0 = os.getloadavg()
    interrupted = False
    try:
        for rt in runtimes:
            if rt.name == "crun" and is_hybrid_cgroup_host():
                try:
                    rt.ns = harness.PrivateCgroupNS(work)
                except OSError as e:
                    rt.error = f"setup: {e}"
        bench.make_bundles()
        bench.probe_versions()
        bench.smoke()
        for rt in runtimes:
            if rt.error and rt.name == "crun" and not explicit:
                skipped["crun"] = f"does not work here: {rt.error}"
        runtimes_ok = [rt for rt in runtimes if rt.name not in skipped]
        bench.runtimes = runtimes_ok
        only = set((args.only or "run,lifecycle,exec,batch,memory,limit").split(","))
        b = args.budget
        phases = [("run", bench.bench_run, 0.15), ("lifecycle", bench.bench_lifecycle, 0.22),
                  ("exec", bench.bench_exec, 0.10), ("batch", bench.bench_batches, 0.28),
                  ("memory", bench.bench_memory, 0.08), ("limit", bench.bench_memlimit, 0.17)]
        for key, fn, share in phases:
            if key in only:
                fn(b * share)
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: cleaning up", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.cleanup()
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)

    runtimes_ok = [rt for rt in runtimes if rt.name not in skipped]
    res = summarize(bench, runtimes_ok, skipped)
    order = [n for n in names if n in res]
    tbl = table(res, order, args.batch)
    doc = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
            "cgroup": cgroup_mode(), "loadavg_start": load0, "loadavg_end": os.getloadavg(),
            "quick": args.quick, "runs": args.runs, "warmup": bench.warmup, "batch": args.batch,
            "duration_s": round(time.monotonic() - t_start, 1), "interrupted": interrupted,
            **bench.info,
        },
        "targets": {k: {"kind": v[0], "bound": v[1]} for k, v in TARGETS.items()},
        "ratios_to_runc": {n: {k: ratio(res, n, k) for k, _l, _u in METRICS}
                           for n in order if n != "runc" and "runc" in order},
        "runtimes": res,
    }
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    print()
    print(tbl)
    print()
    print(f"median (p90) over {args.runs} interleaved runs after {bench.warmup} warm-up; "
          f"{doc['meta']['cpus']} CPUs, cgroup {doc['meta']['cgroup']}, "
          f"load {load0[0]:.2f} -> {doc['meta']['loadavg_end'][0]:.2f}, "
          f"{doc['meta']['duration_s']} s")
    for n in order:
        r = res[n]
        line = f"  {n}: {r.get('version') or ''} {r.get('exe') or ''}".rstrip()
        if r.get("skipped"):
            line += f"  [skipped: {r['skipped']}]"
        print(line)
        if r.get("error"):
            print(f"    FAILED: {r['error']}")
        for note in r.get("notes", []):
            print(f"    note: {note}")
    if args.json:
        print(f"JSON: {args.json}")
    failed = [rt.name for rt in runtimes_ok if rt.error]
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
