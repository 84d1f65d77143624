"""A container without a cgroup namespace must not get a writable cgroupfs of
the host (CVE-2022-0492 is the classic escape through a writable one: a
release_agent run by the host's kernel as root). The default /sys/fs/cgroup
mount is read-only and shows the container's own cgroups, not the host's root.
"""
from __future__ import annotations

import os

import pytest

from support.leaks import cgroup_dirs_named

ATTEMPTS = r"""
for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
  [ -d "$d" ] || continue
  mkdir "$d/evil" 2>/dev/null && echo "WROTE mkdir $d/evil"
  for f in notify_on_release cgroup.procs tasks cgroup.subtree_control pids.max \
           memory.limit_in_bytes cpu.shares release_agent; do
    [ -e "$d/$f" ] || continue
    (echo 1 > "$d/$f") 2>/dev/null && echo "WROTE $d/$f"
  done
  [ -e "$d/release_agent" ] && echo "SEES release_agent in $d"
done
mount -o remount,rw /sys/fs/cgroup 2>/dev/null && echo "WROTE remount"
echo DONE
"""


def _snapshot(dirs):
    snap = {}
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(d):
            snap[dirpath] = sorted(dirnames)
            for f in ("notify_on_release", "pids.max", "memory.limit_in_bytes", "cpu.shares"):
                p = os.path.join(dirpath, f)
                if os.path.exists(p):
                    try:
                        with open(p) as fh:
                            snap[p] = fh.read()
                    except OSError:
                        pass
    return snap


@pytest.mark.defence("cgroupfs_ro")
def test_cgroupfs_read_only_without_cgroupns(sec, make_bundle, new_id):
    rt = sec.rt
    b = make_bundle(["sleep", "1000"])
    assert not any(ns["type"] == "cgroup" for ns in b.config["linux"]["namespaces"])
    cid = new_id("cgro")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        dirs = cgroup_dirs_named({cid})
        assert dirs, "the container has no cgroup dir on the host?"
        before = _snapshot(dirs)
        res = rt("exec", cid, "sh", "-c", ATTEMPTS)
        mine = rt("exec", cid, "sh", "-c", "cat /sys/fs/cgroup/pids/cgroup.procs "
                                           "/sys/fs/cgroup/pids/tasks 2>/dev/null | sort -u")
        after = _snapshot(dirs)
    finally:
        rt("delete", "--force", cid)

    def read_only():
        wrote = [l for l in res.out.splitlines() if l.startswith("WROTE")]
        assert not wrote, f"the container wrote to the host's cgroupfs: {wrote}"
        assert after == before, "the container's cgroup dirs on the host changed"
    sec.check(read_only)
    if sec.expect_escape:
        return
    assert res.rc == 0 and "DONE" in res.out, res
    assert "SEES release_agent" not in res.out, \
        f"the container sees a cgroup hierarchy root (release_agent): {res.out}"
    if mine.rc == 0 and mine.out.strip():
        pids = [int(p) for p in mine.out.split()]
        assert all(p < 100 for p in pids), \
            f"the container's cgroupfs shows host processes (not its own cgroup): {pids}"
