#!/usr/bin/env python3
"""Soak pyruntime: N create/start/wait/delete cycles, and what is left after.

    python3 tools/soak.py --cycles 1000 [--mode cli|api] [--root DIR]
                          [--bundle DIR] [--runtime PATH] [--json]

``cli`` (default) drives the pyruntime binary as conmon/containerd do (one
process per command); ``api`` drives pyruntime.Runtime inside this process, as
a long-lived Python user would, so that fd and memory leaks of the library
show up in this process. Before and after the cycles it counts:

  fds         open fds of this process
  mounts      mounts (this mount namespace) under the root or the bundle
  cgroups     cgroup dirs (any hierarchy) named after a soak container
  zombies     zombie children of this process (a subreaper: inits are ours)
  state dirs  entries under --root
  processes   live processes whose root is the bundle's rootfs
  rss         VmRSS of this process (api), or the runtime's max RSS (cli:
              mean of the first and of the last 10 cycles, from wait4)

and exits 1 if any count grew, a cycle failed, or the memory grew more than
--max-rss-growth KiB. Needs root.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# -- measurements -------------------------------------------------------------------

def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib(pid: "int | str" = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _mountinfo() -> "list[str]":
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


def _cgroup_mounts() -> "list[str]":
    out = []
    for line in _mountinfo():
        pre, _, post = line.partition(" - ")
        if post.split()[:1] in (["cgroup"], ["cgroup2"]):
            out.append(pre.split()[4])
    return out or ["/sys/fs/cgroup"]


def _cgroups(tag: str) -> int:
    n = 0
    for hier in _cgroup_mounts():
        for _, dirnames, _ in os.walk(hier):
            n += sum(1 for d in dirnames if tag in d)
    return n


def _zombies() -> int:
    n = 0
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/children") as f:
                kids = f.read().split()
        except OSError:
            continue
        for k in kids:
            try:
                with open(f"/proc/{k}/stat", "rb") as f:
                    data = f.read()
                if data[data.rindex(b")") + 2:][:1] == b"Z":
                    n += 1
            except OSError:
                pass
    return n


def _processes_in(rootfs: str) -> int:
    st = os.stat(rootfs)
    want = (st.st_dev, st.st_ino)
    n = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            r = os.stat(f"/proc/{name}/root")
        except OSError:
            continue
        if (r.st_dev, r.st_ino) == want:
            n += 1
    return n


def snapshot(root: str, bundle: str, tag: str) -> dict:
    return {
        "fds": _fds(),
        "mounts": sum(1 for l in _mountinfo() if root in l or bundle in l),
        "cgroups": _cgroups(tag),
        "zombies": _zombies(),
        "state_dirs": len(os.listdir(root)) if os.path.isdir(root) else 0,
        "processes": _processes_in(os.path.join(bundle, "rootfs")),
        "rss_kib": _rss_kib(),
    }


# -- drivers ------------------------------------------------------------------------

def set_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


class CliDriver:
    def __init__(self, runtime: str, root: str):
        self.runtime = runtime
        self.root = root
        self.maxrss: "list[int]" = []   # KiB, per runtime invocation
        self.devnull = os.open(os.devnull, os.O_RDWR)

    def _run(self, *args: str) -> "tuple[int, str]":
        errf = tempfile.TemporaryFile()
        argv = [self.runtime, "--root", self.root, *args]
        pid = os.posix_spawn(self.runtime, argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, self.devnull, 0), (os.POSIX_SPAWN_DUP2, self.devnull, 1),
            (os.POSIX_SPAWN_DUP2, errf.fileno(), 2)])
        _, status, ru = os.wait4(pid, 0)
        self.maxrss.append(ru.ru_maxrss)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
        errf.close()
        return os.waitstatus_to_exitcode(status), err

    def cycle(self, cid: str, bundle: str) -> None:
        rc, err = self._run("create", "--bundle", bundle, cid)
        if rc != 0:
            raise RuntimeError(f"create {cid}: {err.strip()}")
        with open(os.path.join(self.root, cid, "state.json")) as f:
            pid = json.load(f)["pid"]
        rc, err = self._run("start", cid)
        if rc != 0:
            raise RuntimeError(f"start {cid}: {err.strip()}")
        _, status = os.waitpid(pid, 0)   # we are the subreaper: the init is ours
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{cid}: the container exited {status}")
        rc, err = self._run("delete", cid)
        if rc != 0:
            raise RuntimeError(f"delete {cid}: {err.strip()}")

    def memory(self) -> "tuple[float, float]":
        first = self.maxrss[:30] or [0]
        last = self.maxrss[-30:] or [0]
        return sum(first) / len(first), sum(last) / len(last)


class ApiDriver:
    def __init__(self, runtime: str, root: str):
        from pyruntime import Runtime
        self.rt = Runtime(root)
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.rss: "list[int]" = []

    def cycle(self, cid: str, bundle: str) -> None:
        c = self.rt.create(cid, bundle, stdin=self.devnull, stdout=self.devnull,
                           stderr=self.devnull)
        try:
            c.start()
            code = c.wait(timeout=30)
            if code != 0:
                raise RuntimeError(f"{cid}: the container exited {code}")
        finally:
            c.delete(force=True)
        self.rss.append(_rss_kib())

    def memory(self) -> "tuple[float, float]":
        first = self.rss[:10] or [0]
        last = self.rss[-10:] or [0]
        return sum(first) / len(first), sum(last) / len(last)


def find_runtime() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "pyruntime")
    if os.access(cand, os.X_OK):
        return cand
    found = shutil.which("pyruntime")
    if not found:
        raise SystemExit("soak: pyruntime not found (install it, or pass --runtime)")
    return found


def build_bundle(where: str) -> str:
    sys.path.insert(0, HERE)
    from mkbundle import build_rootfs, default_config
    path = os.path.join(where, "bundle")
    build_rootfs(os.path.join(path, "rootfs"))
    cfg = default_config(["true"])
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return path


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--mode", choices=("cli", "api"), default="cli")
    ap.add_argument("--root", help="--root for the runtime (default: a fresh dir in /run)")
    ap.add_argument("--bundle", help="a bundle whose process exits 0 (default: busybox true)")
    ap.add_argument("--runtime", help="the pyruntime binary (cli mode)")
    ap.add_argument("--max-rss-growth", type=int, default=8192, metavar="KIB")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("soak: needs root", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="pyrt-soak-", dir="/run")
    root = args.root or os.path.join(work, "root")
    os.makedirs(root, mode=0o700, exist_ok=True)
    bundle = os.path.abspath(args.bundle) if args.bundle else build_bundle(work)
    tag = f"soak{secrets.token_hex(3)}"
    set_subreaper()
    driver = (CliDriver(args.runtime or find_runtime(), root) if args.mode == "cli"
              else ApiDriver(args.runtime, root))
    # one warm-up cycle: first-use imports and caches are not leaks
    driver.cycle(f"{tag}-warmup", bundle)
    before = snapshot(root, bundle, tag)
    failures: "list[str]" = []
    t0 = time.monotonic()
    for i in range(args.cycles):
        try:
            driver.cycle(f"{tag}-{i}", bundle)
        except Exception as e:  # keep going: count them
            failures.append(str(e))
            if len(failures) > 20:
                break
    took = time.monotonic() - t0
    time.sleep(0.2)
    after = snapshot(root, bundle, tag)
    mem_first, mem_last = driver.memory()
    growth = mem_last - mem_first
    leaks = {k: after[k] - before[k] for k in before if k != "rss_kib" and after[k] > before[k]}
    report = {
        "mode": args.mode, "cycles": args.cycles, "seconds": round(took, 2),
        "cycles_per_second": round(args.cycles / took, 1) if took else None,
        "before": before, "after": after, "leaks": leaks,
        "memory_kib": {"what": "this process VmRSS" if args.mode == "api"
                       else "runtime max RSS per command",
                       "first": round(mem_first), "last": round(mem_last),
                       "growth": round(growth)},
        "failures": failures[:5], "failed_cycles": len(failures),
    }
    ok = not leaks and not failures and growth <= args.max_rss_growth
    report["ok"] = ok
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"soak ({args.mode}): {args.cycles} cycles in {took:.1f}s "
              f"({report['cycles_per_second']}/s), {len(failures)} failed")
        print(f"{'':12}{'before':>10}{'after':>10}")
        for k in before:
            print(f"{k:12}{before[k]:>10}{after[k]:>10}")
        print(f"memory ({report['memory_kib']['what']}): first {mem_first:.0f} KiB, "
              f"last {mem_last:.0f} KiB, growth {growth:.0f} KiB")
        for f in failures[:5]:
            print(f"failure: {f}")
        print("OK: nothing leaked" if ok else f"LEAKS: {leaks or ''} "
              f"{'memory growth' if growth > args.max_rss_growth else ''}")
    if not args.root:
        try:
            os.rmdir(root)
        except OSError:
            pass
    if not args.bundle:
        shutil.rmtree(os.path.join(work, "bundle"), ignore_errors=True)
    try:
        os.rmdir(work)
    except OSError:
        pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
