"""Symlinks in the image (or raced into a shared volume) at the places the
runtime mounts or writes: CVE-2021-30465 (mount destinations, with a race),
CVE-2025-31133 (/dev/null used to mask paths), CVE-2025-52565 (/dev/console),
and symlinks at /proc and /sys.

The rule: a symlink in the rootfs is resolved as if the rootfs were "/"
(openat2 RESOLVE_IN_ROOT), so whatever it points at, the mount or the write
lands inside the rootfs, or the create fails with a one-line error; a host
path is never created, changed or mounted on.
"""
from __future__ import annotations

import os
import shutil

import pytest

from security.harness import with_attacker
from support.checks import assert_one_line_error
from support.console import ConsoleSocket, read_all
from support.leaks import mountinfo

SYSCTL = "/proc/sys/fs/lease-break-time"   # global, harmless, restored after each test


def _listing(d: str) -> "list[str]":
    out = []
    for dirpath, dirnames, filenames in os.walk(d):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            try:
                with open(p, "rb") as f:
                    data = f.read() if os.path.isfile(p) else b""
            except OSError:
                data = b"?"
            out.append(f"{os.path.relpath(p, d)}:{data[:64]!r}")
    return sorted(out)


class HostVictim:
    """A host directory (with a file) the container must not touch, plus a host
    path that must never come into existence."""

    def __init__(self, testdir: str, name: str = "victim"):
        self.dir = os.path.join(testdir, name)
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "file"), "w") as f:
            f.write("host data\n")
        self.new = os.path.join(testdir, name + "-must-not-exist")
        self.before = _listing(self.dir)

    def check(self) -> None:
        assert not os.path.lexists(self.new), f"ESCAPE: host path {self.new} was created"
        assert _listing(self.dir) == self.before, \
            f"ESCAPE: host dir {self.dir} changed: {_listing(self.dir)} (was {self.before})"
        mounted = [l for l in mountinfo() if f" {self.dir} " in l or f" {self.new} " in l]
        assert not mounted, f"ESCAPE: something is mounted on a host path: {mounted}"


def _sysctl() -> str:
    with open(SYSCTL) as f:
        return f.read()


@pytest.fixture
def sysctl_guard():
    before = _sysctl()
    yield before
    if _sysctl() != before:
        with open(SYSCTL, "w") as f:
            f.write(before)


def _run(rt, b, cid):
    res = rt("run", "--bundle", b.path, cid)
    rt("delete", "--force", cid)
    return res


# -- mount destinations ----------------------------------------------------------------

@pytest.mark.defence("resolve_in_root")
def test_symlinked_mount_destinations(sec, make_bundle, new_id, testdir):
    rt = sec.rt
    v = HostVictim(testdir)
    results = []
    cases = {
        # absolute symlink to a host dir that does not exist in the rootfs
        "abs": lambda root: os.symlink(v.dir, os.path.join(root, "mnt", "a")),
        # the same, but the path also exists inside the rootfs: mount lands there
        "abs-inroot": lambda root: (os.makedirs(root + v.dir),
                                    os.symlink(v.dir, os.path.join(root, "mnt", "a"))),
        # relative, climbing far above the rootfs
        "dotdot": lambda root: os.symlink("../" * 20 + v.dir.lstrip("/"),
                                          os.path.join(root, "mnt", "a")),
    }
    for name, plant in cases.items():
        b = make_bundle(["sh", "-c", "echo pwned > /mnt/a/sub/x; grep -c ' /mnt/a/sub ' "
                         "/proc/self/mountinfo; true"],
                        edit=lambda c: c["mounts"].append(
                            {"destination": "/mnt/a/sub", "type": "tmpfs", "source": "tmpfs"}),
                        name=f"dest-{name}")
        os.makedirs(os.path.join(b.rootfs, "mnt"), exist_ok=True)
        plant(b.rootfs)
        res = _run(rt, b, new_id(f"dst{name}"))
        results.append((name, res, b))
    sec.check(v.check)
    if sec.expect_escape:
        return
    for name, res, b in results:
        if res.rc != 0:
            assert_one_line_error(res)
        if name == "abs-inroot":
            assert res.rc == 0, res
            assert os.path.isdir(b.rootfs + v.dir + "/sub"), \
                "the mount point was not created inside the rootfs"


@pytest.mark.defence("resolve_in_root")
def test_mount_destination_symlink_race(sec, make_bundle, new_id, testdir, attack_bin):
    """CVE-2021-30465: container A swaps a directory and a symlink to a host dir
    (renameat2 RENAME_EXCHANGE, in a loop) inside a volume that container B
    mounts and then mounts something *through*. B is created 25 times."""
    rt = sec.rt
    v = HostVictim(testdir)
    vol = os.path.join(testdir, "volume")
    os.makedirs(os.path.join(vol, "d"))
    os.symlink(v.dir, os.path.join(vol, "alt"))
    a = with_attacker(make_bundle(["/bin/pyrt-attack", "swap", "/vol/d", "/vol/alt", "30000"],
                                  edit=lambda c: c["mounts"].append(
                                      {"destination": "/vol", "type": "bind", "source": vol,
                                       "options": ["rbind", "rw"]}), name="swapper"), attack_bin)
    aid = new_id("swapper")
    assert rt("run", "-d", "--bundle", a.path, aid).rc == 0
    outcomes = []
    try:
        b = make_bundle(["true"], name="victim", edit=lambda c: c["mounts"].extend([
            {"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rw"]},
            {"destination": "/vol/d/sub", "type": "tmpfs", "source": "tmpfs"}]))
        for i in range(25):
            outcomes.append(_run(rt, b, new_id(f"race{i}")))
    finally:
        rt("delete", "--force", aid)
    sec.check(v.check)
    if sec.expect_escape:
        return
    for res in outcomes:
        if res.rc != 0:
            assert_one_line_error(res)
    assert any(r.rc == 0 for r in outcomes) or any("dangling" in r.err for r in outcomes), \
        outcomes[:3]


# -- /dev/null used for maskedPaths (CVE-2025-31133) -------------------------------------

def _dev_bind_bundle(make_bundle, name: str, null_maker, args):
    """/dev is a bind mount of a dir of the bundle (so the image decides what
    /dev/null is); maskedPaths has two files that exist in this kernel's /proc."""
    def edit(c):
        c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/dev")]
        c["mounts"].insert(1, {"destination": "/dev", "type": "bind", "source": "devdir",
                               "options": ["rbind"]})
        masked = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/kcore")
                  if os.path.exists(p)]
        c["linux"]["maskedPaths"] = masked
    b = make_bundle(args, edit=edit, name=name)
    devdir = os.path.join(b.path, "devdir")
    os.makedirs(devdir)
    null_maker(devdir)
    return b


@pytest.mark.defence("null_device_check")
def test_dev_null_symlink_does_not_unmask(sec, make_bundle, new_id, sysctl_guard):
    rt = sec.rt
    value = str(int(sysctl_guard) + 17)
    write = (f"for p in /proc/keys /proc/timer_list /proc/kcore; do "
             f"[ -e $p ] && echo {value} > $p; done; true")
    cases = {
        "abs-symlink": lambda d: os.symlink(SYSCTL, os.path.join(d, "null")),
        "rel-symlink": lambda d: os.symlink("../proc/sys/fs/lease-break-time",
                                            os.path.join(d, "null")),
        "regular-file": lambda d: open(os.path.join(d, "null"), "w").close(),
    }
    results = []
    for name, maker in cases.items():
        b = _dev_bind_bundle(make_bundle, f"null-{name}", maker, ["sh", "-c", write])
        res = _run(rt, b, new_id(f"null{name}"))
        null = os.path.join(b.path, "devdir", "null")
        written = os.path.isfile(null) and not os.path.islink(null) and os.path.getsize(null) > 0
        results.append((name, res, _sysctl(), written))

    def no_escape():
        for name, res, after, written in results:
            assert after == sysctl_guard, \
                f"ESCAPE ({name}): the container wrote the host's {SYSCTL}: {after!r}"
            assert not written, f"ESCAPE ({name}): a masked path was a writable host file"
    sec.check(no_escape)
    if not sec.expect_escape:
        for name, res, _, _ in results:
            assert res.rc != 0, f"{name}: masked with something that is not /dev/null: {res!r}"
            assert_one_line_error(res, "/dev/null")


# -- /dev/console (CVE-2025-52565) --------------------------------------------------------

def test_dev_console_symlink(make_bundle, rt, new_id, testdir, sysctl_guard):
    """The image's /dev (no tmpfs on /dev) has console as a symlink to a host
    path, or to a writable procfs file. The console bind lands inside the rootfs
    (or create fails); writing to /dev/console never reaches the host."""
    v = HostVictim(testdir)
    value = str(int(sysctl_guard) + 23)
    targets = {"host-path": v.new, "host-dir": v.dir, "sysctl": SYSCTL}
    for name, target in targets.items():
        def edit(c):
            c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/dev"]
        b = make_bundle(["sh", "-c", f"echo {value} > /dev/console; echo DONE"], edit=edit,
                        terminal=True, name=f"console-{name}")
        os.makedirs(os.path.join(b.rootfs, "dev"), exist_ok=True)
        os.symlink(target, os.path.join(b.rootfs, "dev", "console"))
        cid = new_id(f"cons{name}")
        cs = ConsoleSocket(os.path.join(testdir, f"console-{name}.sock"))
        try:
            res = rt("create", "--bundle", b.path, "--console-socket", cs.path, cid)
            if res.rc == 0:
                master = cs.wait()
                assert rt("start", cid).rc == 0
                out = read_all(master, timeout=10)
                assert b"DONE" in out, out
            else:
                assert_one_line_error(res)
        finally:
            rt("delete", "--force", cid)
            cs.close()
        v.check()
        assert _sysctl() == sysctl_guard, f"ESCAPE ({name}): {SYSCTL} was written"


# -- /proc and /sys as symlinks -----------------------------------------------------------

def test_proc_and_sys_symlinks(rt, make_bundle, new_id, testdir):
    """rootfs/proc and rootfs/sys are symlinks to host paths: procfs and sysfs
    land inside the rootfs (or create fails), masked paths stay masked.
    (No self-test: even without RESOLVE_IN_ROOT the mount happens on the
    symlink's last component, in the container's mount namespace only.)"""
    v = HostVictim(testdir)
    check = ("cat /proc/keys | wc -c; echo 1 > /proc/sysrq-trigger && echo SYSRQ-WRITABLE; "
             "touch /sys/x 2>/dev/null && echo SYS-WRITABLE; echo DONE")
    results = []
    for which in ("proc", "sys"):
        for inroot in (False, True):
            b = make_bundle(["sh", "-c", check], name=f"{which}-{inroot}")
            p = os.path.join(b.rootfs, which)
            shutil.rmtree(p)
            os.symlink(v.dir, p)
            if inroot:
                os.makedirs(b.rootfs + v.dir)
            res = _run(rt, b, new_id(f"{which}{int(inroot)}"))
            results.append((which, inroot, res))
    v.check()
    for which, inroot, res in results:
        if res.rc != 0:
            assert_one_line_error(res)
            continue
        assert "WRITABLE" not in res.out, f"{which} (in root: {inroot}): {res!r}"
        if which == "proc":
            assert res.out.split()[0] == "0", f"/proc/keys is not masked: {res!r}"


# -- maskedPaths / readonlyPaths entries that are symlinks ----------------------------------

def test_masked_and_readonly_paths_that_are_symlinks(make_bundle, rt, new_id, testdir,
                                                     sysctl_guard):
    """maskedPaths/readonlyPaths entries the image made symlinks (to host
    paths, to a writable sysctl): resolved inside the rootfs, never a way to
    write to the host."""
    v = HostVictim(testdir)
    value = str(int(sysctl_guard) + 31)

    def edit(c):
        c["linux"]["maskedPaths"] += ["/etc/m-host", "/etc/m-sysctl", "/etc/m-dir"]
        c["linux"]["readonlyPaths"] += ["/etc/r-host", "/etc/r-dir"]
        c["root"]["readonly"] = False
    b = make_bundle(["sh", "-c", f"for f in /etc/m-* /etc/r-*; do echo {value} > $f; "
                                 f"echo x > $f/new; done; echo DONE"], edit=edit)
    etc = os.path.join(b.rootfs, "etc")
    os.symlink(os.path.join(v.dir, "file"), os.path.join(etc, "m-host"))
    os.symlink(SYSCTL, os.path.join(etc, "m-sysctl"))
    os.symlink(v.dir, os.path.join(etc, "m-dir"))
    os.symlink(os.path.join(v.dir, "file"), os.path.join(etc, "r-host"))
    os.symlink(v.dir, os.path.join(etc, "r-dir"))
    res = _run(rt, b, new_id("maskln"))
    assert res.rc == 0 or assert_one_line_error(res)
    v.check()
    assert _sysctl() == sysctl_guard, f"ESCAPE: {SYSCTL} written through a masked path"
