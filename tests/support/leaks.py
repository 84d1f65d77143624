"""What a test may leave behind, found and cleaned up.

After each integration test: no entries under the test's ``--root``; no new
mounts in /proc/self/mountinfo mentioning the test's dirs; no cgroup dir named
after one of the test's container ids in any hierarchy under /sys/fs/cgroup
(v1 controllers and the unified one); no process whose cwd or root is inside
the test's dir (compared by path and by device/inode, since a process in
another mount namespace shows its root as "/").
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

from .reaper import get_reaper, proc_state

CGROUP_ROOT = "/sys/fs/cgroup"


def mountinfo() -> "list[str]":
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


def unescape_mountinfo(s: str) -> str:
    # mountinfo escapes space, tab, newline, backslash as \ooo
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and len(s[i + 1:i + 4]) == 3 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def mount_point(line: str) -> str:
    return unescape_mountinfo(line.split()[4])


def cgroup_hierarchies() -> "list[str]":
    """Mount points of every cgroup (v1) and cgroup2 hierarchy."""
    out = []
    for line in mountinfo():
        pre, _, post = line.partition(" - ")
        fstype = post.split()[0] if post else ""
        if fstype in ("cgroup", "cgroup2"):
            out.append(mount_point(line))
    if not out and os.path.isdir(CGROUP_ROOT):
        out.append(CGROUP_ROOT)
    return out


def cgroup_dirs_named(names: "set[str]") -> "list[str]":
    """Cgroup dirs (any hierarchy, any depth) named after one of ``names``: the
    name itself, or a client's spelling of it ("libpod-<id>", "<id>.scope").
    Never a mere substring: the cleanup kills what it finds in these dirs."""
    if not names:
        return []
    found = []
    for hier in cgroup_hierarchies():
        for dirpath, dirnames, _ in os.walk(hier):
            for d in dirnames:
                if any(d == n or d.endswith("-" + n) or d.startswith(n + ".") for n in names):
                    found.append(os.path.join(dirpath, d))
    return found


def _dir_ids(top: str) -> "set[tuple[int, int]]":
    ids = set()
    for dirpath, dirnames, _ in os.walk(top):
        try:
            st = os.lstat(dirpath)
            ids.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    return ids


def processes_in(top: str) -> "list[tuple[int, str]]":
    """(pid, description) of live processes whose cwd or root is inside ``top``."""
    ids = _dir_ids(top)
    top_slash = top.rstrip("/") + "/"
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid == me:
            continue
        for what in ("root", "cwd"):
            link = f"/proc/{pid}/{what}"
            hit = False
            try:
                target = os.readlink(link)
                if target == top or target.startswith(top_slash):
                    hit = True
                else:
                    st = os.stat(link)
                    hit = (st.st_dev, st.st_ino) in ids
            except OSError:
                continue
            if hit:
                if proc_state(pid) in (None, "Z", "X"):
                    break
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    cmd = "?"
                found.append((pid, f"pid {pid} ({cmd!r}) has its {what} in {top}"))
                break
    return found


class LeakChecker:
    def __init__(self, root: str, testdir: str, runtime: "str | None") -> None:
        self.testdir = testdir      # everything the test made lives under here
        self.roots: "dict[str, str | None]" = {root: runtime}   # --root dir -> its runtime
        self.ids: set[str] = set()
        self.mounts_before = set(mountinfo())

    def add_root(self, root: str, runtime: "str | None") -> None:
        self.roots[root] = runtime

    def add_id(self, cid: str) -> None:
        if cid and "/" not in cid and cid not in (".", ".."):
            self.ids.add(cid)

    # -- finding -----------------------------------------------------------
    def root_entries(self) -> "list[str]":
        """Paths of the entries under every watched --root."""
        out = []
        for root in self.roots:
            try:
                out.extend(os.path.join(root, e) for e in sorted(os.listdir(root)))
            except FileNotFoundError:
                pass
        return out

    def new_mounts(self) -> "list[str]":
        return [line for line in mountinfo()
                if line not in self.mounts_before and self.testdir in unescape_mountinfo(line)]

    def cgroups(self) -> "list[str]":
        return cgroup_dirs_named(self.ids)

    def processes(self) -> "list[tuple[int, str]]":
        return processes_in(self.testdir)

    def find(self, grace: float = 2.0) -> "list[str]":
        """Everything leaked, as human-readable lines (empty: clean).  Processes
        and cgroups get ``grace`` seconds to go away (a SIGKILLed init takes a
        moment to exit)."""
        deadline = time.monotonic() + grace
        while True:
            procs = self.processes()
            cgs = self.cgroups()
            if not (procs or cgs) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        leaks = []
        for e in self.root_entries():
            leaks.append(f"state dir entry left under --root: {e}")
        for line in self.new_mounts():
            leaks.append(f"mount left: {line}")
        for cg in cgs:
            leaks.append(f"cgroup dir left: {cg}")
        for _, desc in procs:
            leaks.append(f"process left: {desc}")
        return leaks

    # -- cleaning ----------------------------------------------------------
    def cleanup(self) -> None:
        """Best effort: undo whatever leaked so later tests start clean."""
        for root, runtime in self.roots.items():
            if not runtime:
                continue
            try:
                names = set(os.listdir(root))
            except OSError:
                names = set()
            for e in sorted(names | self.ids):
                try:
                    subprocess.run([runtime, "--root", root, "delete", "--force", e],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=20)
                except (OSError, subprocess.SubprocessError):
                    pass
        # processes: by cwd/root, and everything still in the containers' cgroups
        pids = {pid for pid, _ in self.processes()}
        for cg in self.cgroups():
            try:
                with open(os.path.join(cg, "cgroup.procs")) as f:
                    pids.update(int(p) for p in f.read().split())
            except (OSError, ValueError):
                pass
            try:
                with open(os.path.join(cg, "freezer.state"), "w") as f:
                    f.write("THAWED")
            except OSError:
                pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in pids:
            try:
                get_reaper().wait_gone(pid, 5)
            except TimeoutError:
                pass
        # mounts, deepest first
        for line in sorted(self.new_mounts(), key=lambda l: -len(mount_point(l))):
            subprocess.run(["umount", "-l", mount_point(line)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        # cgroup dirs, deepest first (rmdir works once they hold no process)
        for cg in sorted(self.cgroups(), key=len, reverse=True):
            for dirpath, dirnames, _ in os.walk(cg, topdown=False):
                for attempt in range(20):
                    try:
                        os.rmdir(dirpath)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.05)
        for p in self.root_entries():
            subprocess.run(["rm", "-rf", "--one-file-system", p], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def check_after(request, grace: float = 2.0):
    """Generator body of an autouse fixture (``yield from``): after the test,
    nothing its containers made may be left (state dir entries, mounts,
    cgroups, processes); a passed test fails if something is, and whatever
    is left is cleaned up either way. ``grace``: how long leftovers may take
    to go away after a passed test."""
    import pytest
    checker = request.getfixturevalue("leak_checker")
    yield
    rep = getattr(request.node, "rep_call", None)
    passed = rep is not None and rep.passed
    leaks = checker.find(grace=grace if passed else 0.2)
    if leaks:
        checker.cleanup()
    if passed and leaks:
        pytest.fail("the test left things behind:\n  " + "\n  ".join(leaks), pytrace=False)
