"""The test support itself: the leak checker finds each kind of leak (and
cleans it up), the subreaper reaps orphans without stealing Popen statuses."""
from __future__ import annotations

import os
import secrets
import subprocess
import time

import pytest

from support.bundles import clone_rootfs
from support.checks import assert_one_line_error, parse_rfc3339
from support.leaks import LeakChecker, cgroup_hierarchies
from support.reaper import children, is_child_subreaper, proc_state
from support.runtime import Result

root_only = pytest.mark.root


@pytest.fixture
def checker(testdir):
    root = os.path.join(testdir, "root")
    os.makedirs(root)
    c = LeakChecker(root, testdir, runtime=None)
    yield c
    c.cleanup()


def test_clean_is_clean(checker):
    assert checker.find(grace=0) == []


def test_state_dir_entry(checker):
    os.makedirs(os.path.join(checker.testdir, "root", "leftover"))
    leaks = checker.find(grace=0)
    assert len(leaks) == 1 and "leftover" in leaks[0] and "--root" in leaks[0]
    checker.cleanup()
    assert checker.find(grace=0) == []


@root_only
def test_mount(checker):
    d = os.path.join(checker.testdir, "mnt")
    os.makedirs(d)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
    leaks = checker.find(grace=0)
    assert len(leaks) == 1 and leaks[0].startswith("mount left:") and d in leaks[0]
    checker.cleanup()
    assert checker.find(grace=0) == []


@root_only
def test_cgroup(checker):
    cid = f"leaktest-{secrets.token_hex(4)}"
    checker.add_id(cid)
    hier = [h for h in cgroup_hierarchies() if os.access(h, os.W_OK)]
    if not hier:
        pytest.skip("no writable cgroup hierarchy")
    made = []
    for h in hier[:2]:
        p = os.path.join(h, cid)
        try:
            os.mkdir(p)
            made.append(p)
        except OSError:
            pass
    if not made:
        pytest.skip("cannot mkdir a cgroup")
    leaks = checker.find(grace=0)
    assert sorted(leaks) == sorted(f"cgroup dir left: {p}" for p in made)
    checker.cleanup()
    assert checker.find(grace=0) == []


def test_process_with_cwd_inside(checker, reaper):
    d = os.path.join(checker.testdir, "bundle")
    os.makedirs(d)
    p = reaper.spawn(["sleep", "100"], cwd=d)
    try:
        leaks = checker.find(grace=0)
        assert len(leaks) == 1 and f"pid {p.pid}" in leaks[0] and "cwd" in leaks[0]
        checker.cleanup()
        assert p.wait(5) != 0
        assert checker.find(grace=0) == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@root_only
def test_process_with_root_inside(checker, rootfs_cache, reaper):
    r = os.path.join(checker.testdir, "bundle", "rootfs")
    clone_rootfs(rootfs_cache, r)
    p = reaper.spawn(["chroot", r, "/bin/sleep", "100"], cwd="/")
    try:
        time.sleep(0.1)
        leaks = checker.find(grace=0)
        assert any(f"pid {p.pid}" in l and "root" in l for l in leaks), leaks
        checker.cleanup()
        p.wait(5)
        assert checker.find(grace=0) == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_we_are_a_child_subreaper():
    assert is_child_subreaper()


def test_orphans_are_adopted_and_reaped(reaper):
    out = subprocess.run(["sh", "-c", "sleep 0.2 >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, check=True).stdout
    orphan = int(out)
    assert orphan in children(), "the orphan was not reparented to us"
    assert reaper.wait_pid(orphan, 5) == 0
    assert proc_state(orphan) is None


def test_orphan_exit_status_and_signal(reaper):
    out = subprocess.run(["sh", "-c", "(sleep 0.1; exit 9) >/dev/null 2>&1 & echo $!; "
                                      "sleep 100 >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, check=True).stdout
    exiter, sleeper = map(int, out.split())
    os.kill(sleeper, 15)
    assert reaper.wait_pid(sleeper, 5) == -15
    assert reaper.wait_pid(exiter, 5) == 9


def test_popen_statuses_are_not_stolen(reaper):
    procs = [reaper.spawn(["sh", "-c", f"exit {n}"]) for n in range(1, 6)]
    time.sleep(0.5)   # several reaper rounds while they are zombies
    assert [p.wait(5) for p in procs] == [1, 2, 3, 4, 5]


def test_no_zombie_children_linger(reaper):
    subprocess.run(["sh", "-c", "for i in 1 2 3; do sleep 0.05 & done"], check=True)
    deadline = time.monotonic() + 5
    while reaper.zombies() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reaper.zombies() == []


@pytest.mark.parametrize("s", ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456789Z",
                               "2024-01-02T03:04:05+02:00", "2024-01-02T03:04:05.5-07:30"])
def test_rfc3339_ok(s):
    parse_rfc3339(s)


@pytest.mark.parametrize("s", ["2024-01-02 03:04:05Z", "2024-01-02T03:04:05", "yesterday",
                               "1700000000"])
def test_rfc3339_bad(s):
    with pytest.raises(ValueError):
        parse_rfc3339(s)


def test_one_line_error_helper():
    assert_one_line_error(Result(1, "", "container does not exist\n", []), "does not exist")
    for bad in (Result(0, "", "x\n", []), Result(1, "", "a\nb\n", []),
                Result(1, "", "Traceback (most recent call last)\n", []),
                Result(1, "", "", []), Result(1, "", "other\n", [])):
        with pytest.raises(AssertionError):
            assert_one_line_error(bad, "does not exist")
