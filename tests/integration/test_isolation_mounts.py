"""Filesystem isolation seen from inside: maskedPaths, readonlyPaths,
rootfsPropagation and per-mount propagation (observed by mounting on the host
while the container runs), per-mount flags (ro, rro, nosuid, nodev, noexec,
atime flags, tmpfs size/mode), linux.devices and linux.sysctl."""
from __future__ import annotations

import os
import subprocess

import pytest

from support.checks import assert_one_line_error

from .isolation_support import sections


def _run(rt, b, cid, *extra):
    return rt("run", *extra, "--bundle", b.path, cid)


def _mountinfo(lines) -> "dict[str, tuple[list[str], list[str], list[str]]]":
    """mount point -> (per-mount options, optional fields, super options); the last
    mount on a point wins."""
    out = {}
    for line in lines:
        pre, _, post = line.partition(" - ")
        f = pre.split()
        out[f[4]] = (f[5].split(","), f[6:], post.split()[2].split(",") if post else [])
    return out


def _mount(*args):
    subprocess.run(["mount", *args], check=True)


def _umount(path, lazy=False):
    subprocess.run(["umount", *(["-l"] if lazy else []), path], check=False)


# -- maskedPaths / readonlyPaths ---------------------------------------------------------------

def test_masked_paths(rt, make_bundle, new_id):
    def edit(c):
        c["linux"]["maskedPaths"] = ["/proc/kcore", "/etc/secret-dir", "/etc/secret-file",
                                     "/does/not/exist"]
    script = ("cat /etc/secret-file | wc -c; ls -A /etc/secret-dir | wc -l; "
              "touch /etc/secret-dir/x 2>/dev/null && echo writable || echo ro; "
              "head -c 1 /proc/kcore | wc -c")
    b = make_bundle(["sh", "-c", script], edit)
    os.mkdir(os.path.join(b.rootfs, "etc", "secret-dir"))
    with open(os.path.join(b.rootfs, "etc", "secret-dir", "inside"), "w") as f:
        f.write("hidden\n")
    with open(os.path.join(b.rootfs, "etc", "secret-file"), "w") as f:
        f.write("hidden\n")
    res = _run(rt, b, new_id("masked"))
    assert res.rc == 0, res
    assert res.out.split() == ["0", "0", "ro", "0"]


def test_readonly_paths(rt, make_bundle, new_id):
    def edit(c):
        c["root"]["readonly"] = False
        c["linux"]["readonlyPaths"] = ["/etc/ro-dir", "/proc/sys", "/not/there"]
    script = ("touch /etc/ro-dir/x 2>&1; touch /etc/rw-file && echo rw-ok; "
              "echo 1 > /proc/sys/kernel/shmmax 2>&1; echo ---; cat /proc/self/mountinfo")
    b = make_bundle(["sh", "-c", script], edit)
    os.mkdir(os.path.join(b.rootfs, "etc", "ro-dir"))
    res = _run(rt, b, new_id("rop"))
    assert res.rc == 0, res
    out, mi = sections(res.out)
    assert "Read-only file system" in out[0]
    assert out[1] == "rw-ok"
    assert "Read-only file system" in res.out + res.err
    mounts = _mountinfo(mi)
    for p in ("/etc/ro-dir", "/proc/sys"):
        opts = mounts[p][0]
        assert "ro" in opts and "nosuid" in opts and "nodev" in opts and "noexec" in opts, \
            (p, opts)


# -- propagation -------------------------------------------------------------------------------

@pytest.mark.parametrize("prop, want", [("shared", "shared:"), ("unbindable", "unbindable"),
                                        ("private", None), ("slave", None)])
def test_rootfs_propagation_tags(rt, make_bundle, new_id, prop, want):
    b = make_bundle(["cat", "/proc/self/mountinfo"],
                    lambda c: c["linux"].update(rootfsPropagation=prop))
    res = _run(rt, b, new_id("rprop"))
    assert res.rc == 0, res
    _, optional, _ = _mountinfo(res.out.splitlines())["/"]
    if want is None:
        assert optional == [], optional
    else:
        assert any(o.startswith(want) for o in optional), optional


@pytest.fixture
def shared_bundle_mount():
    """Makes a directory a shared mount on the host for the test's duration."""
    made = []

    def make(path):
        _mount("--bind", path, path)
        made.append(path)
        _mount("--make-rshared", path)
    yield make
    for p in reversed(made):
        subprocess.run(["umount", "-R", p], check=False)


@pytest.mark.parametrize("prop, propagates", [("slave", True), ("private", False),
                                              ("unbindable", False)])
def test_rootfs_propagation_from_the_host(rt, make_bundle, new_id, shared_bundle_mount,
                                          prop, propagates):
    """The bundle is a shared mount on the host: with a slave root, a mount made
    on the host under the rootfs appears inside; with a private one it does not."""
    b = make_bundle(["sleep", "1000"], lambda c: c["linux"].update(rootfsPropagation=prop))
    os.mkdir(os.path.join(b.rootfs, "late"))
    shared_bundle_mount(b.path)
    cid = new_id("rpropl")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    late = os.path.join(b.rootfs, "late")
    try:
        res = rt("exec", cid, "cat", "/proc/self/mountinfo")
        assert res.rc == 0, res
        _, optional, _ = _mountinfo(res.out.splitlines())["/"]
        assert any(o.startswith("master:") for o in optional) == propagates, optional
        _mount("-t", "tmpfs", "-o", "size=1m", "pyrt-late", late)
        try:
            res = rt("exec", cid, "cat", "/proc/self/mountinfo")
            assert res.rc == 0, res
            assert ("/late" in _mountinfo(res.out.splitlines())) == propagates
        finally:
            _umount(late)
        # and nothing propagates back: the container's mounts are not on the host
        with open("/proc/self/mountinfo") as f:
            assert os.path.join(b.rootfs, "proc") not in f.read()
    finally:
        assert rt("delete", "--force", cid).rc == 0


@pytest.mark.parametrize("opt, propagates", [("rslave", True), ("rprivate", False)])
def test_bind_mount_propagation_option(rt, make_bundle, new_id, testdir, shared_bundle_mount,
                                       opt, propagates):
    vol = os.path.join(testdir, "vol")
    os.makedirs(os.path.join(vol, "sub"))
    shared_bundle_mount(vol)
    b = make_bundle(["sleep", "1000"], lambda c: c["mounts"].append(
        {"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", opt]}))
    cid = new_id("mprop")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        _mount("-t", "tmpfs", "-o", "size=1m", "pyrt-vol", os.path.join(vol, "sub"))
        try:
            res = rt("exec", cid, "cat", "/proc/self/mountinfo")
            assert res.rc == 0, res
            assert ("/vol/sub" in _mountinfo(res.out.splitlines())) == propagates
        finally:
            _umount(os.path.join(vol, "sub"))
    finally:
        assert rt("delete", "--force", cid).rc == 0


@pytest.mark.parametrize("opt, want", [("shared", "shared:"), ("unbindable", "unbindable")])
def test_mount_propagation_option_tags(rt, make_bundle, new_id, opt, want):
    b = make_bundle(["cat", "/proc/self/mountinfo"], lambda c: c["mounts"].append(
        {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": [opt]}))
    res = _run(rt, b, new_id("mpropt"))
    assert res.rc == 0, res
    _, optional, _ = _mountinfo(res.out.splitlines())["/t"]
    assert any(o.startswith(want) for o in optional), optional


# -- mount flags ------------------------------------------------------------------------------

def test_tmpfs_flags_size_and_mode(rt, make_bundle, new_id):
    def edit(c):
        c["mounts"].append({"destination": "/t1", "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid", "nodev", "noexec", "relatime", "size=1m",
                                        "mode=1750"]})
        c["mounts"].append({"destination": "/t2", "type": "tmpfs", "source": "tmpfs",
                            "options": ["ro", "noatime"]})
        c["mounts"].append({"destination": "/t3", "type": "tmpfs", "source": "tmpfs",
                            "options": ["strictatime", "nodiratime", "size=64k"]})
    script = ("stat -c %a /t1; touch /t2/x 2>&1; "
              "(head -c 200000 /dev/zero > /t3/big) 2>/dev/null || echo full; "
              "echo ---; cat /proc/self/mountinfo")
    b = make_bundle(["sh", "-c", script], edit)
    res = _run(rt, b, new_id("tmpfs"))
    assert res.rc == 0, res
    out, mi = sections(res.out)
    assert out[0] == "1750"
    assert "Read-only file system" in out[1]
    assert out[2] == "full"
    m = _mountinfo(mi)
    opts, _, sup = m["/t1"]
    assert {"rw", "nosuid", "nodev", "noexec", "relatime"} <= set(opts), opts
    assert "size=1024k" in sup and "mode=1750" in sup, sup
    opts, _, _ = m["/t2"]
    assert {"ro", "noatime"} <= set(opts), opts
    opts, _, sup = m["/t3"]
    assert "nodiratime" in opts and "relatime" not in opts and "noatime" not in opts, opts
    assert "size=64k" in sup, sup


def test_bind_mount_flags(rt, make_bundle, new_id, testdir):
    src = os.path.join(testdir, "bsrc")
    os.mkdir(src)
    with open(os.path.join(src, "prog"), "w") as f:
        f.write("#!/bin/sh\necho ran\n")
    os.chmod(os.path.join(src, "prog"), 0o755)

    def edit(c):
        c["mounts"].append({"destination": "/b1", "type": "bind", "source": src,
                            "options": ["bind", "ro", "nosuid", "nodev", "noexec"]})
        c["mounts"].append({"destination": "/b2", "type": "none", "source": src,
                            "options": ["bind", "rw"]})
    script = "/b1/prog 2>&1; /b2/prog; touch /b1/x 2>&1; echo ---; cat /proc/self/mountinfo"
    b = make_bundle(["sh", "-c", script], edit)
    res = _run(rt, b, new_id("bindf"))
    assert res.rc == 0, res
    out, mi = sections(res.out)
    assert "Permission denied" in out[0]
    assert out[1] == "ran"
    assert "Read-only file system" in out[2]
    m = _mountinfo(mi)
    assert {"ro", "nosuid", "nodev", "noexec"} <= set(m["/b1"][0]), m["/b1"]
    assert "rw" in m["/b2"][0] and "noexec" not in m["/b2"][0], m["/b2"]


@pytest.mark.parametrize("opt, sub_ro", [("rro", True), ("ro", False)])
def test_recursive_read_only(rt, make_bundle, new_id, testdir, opt, sub_ro):
    src = os.path.join(testdir, "rsrc")
    sub = os.path.join(src, "sub")
    os.makedirs(sub)
    _mount("-t", "tmpfs", "-o", "size=1m", "pyrt-sub", sub)
    try:
        b = make_bundle(["cat", "/proc/self/mountinfo"], lambda c: c["mounts"].append(
            {"destination": "/v", "type": "bind", "source": src, "options": ["rbind", opt]}))
        res = _run(rt, b, new_id("rro"))
        assert res.rc == 0, res
        m = _mountinfo(res.out.splitlines())
        assert "ro" in m["/v"][0]
        assert ("ro" in m["/v/sub"][0]) == sub_ro, m["/v/sub"]
    finally:
        _umount(sub)


# -- linux.devices ------------------------------------------------------------------------------

def test_devices_are_created(rt, make_bundle, new_id):
    def edit(c):
        c["linux"]["devices"] = [
            {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
             "uid": 1234, "gid": 5678},
            {"path": "/dev/myloop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600},
            {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620},
            {"path": "/dev/sub/dir/tty", "type": "c", "major": 5, "minor": 0},
        ]
    script = ("for d in /dev/mynull /dev/myloop /dev/myfifo /dev/sub/dir/tty; do "
              "stat -c '%n %F %t %T %a %u %g' $d; done")
    b = make_bundle(["sh", "-c", script], edit)
    res = _run(rt, b, new_id("devs"))
    assert res.rc == 0, res
    assert res.out.splitlines() == [
        "/dev/mynull character special file 1 3 640 1234 5678",
        "/dev/myloop block special file 7 0 600 0 0",
        "/dev/myfifo fifo 0 0 620 0 0",
        "/dev/sub/dir/tty character special file 5 0 666 0 0",
    ]


def test_default_devices(rt, make_bundle, new_id):
    script = ("for d in null zero full random urandom tty; do stat -c '%n %t %T %a' /dev/$d; "
              "done; for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done")
    b = make_bundle(["sh", "-c", script])
    res = _run(rt, b, new_id("ddevs"))
    assert res.rc == 0, res
    lines = res.out.splitlines()
    assert lines[:6] == ["/dev/null 1 3 666", "/dev/zero 1 5 666", "/dev/full 1 7 666",
                         "/dev/random 1 8 666", "/dev/urandom 1 9 666", "/dev/tty 5 0 666"]
    assert lines[6:] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                         "/proc/self/fd/2", "pts/ptmx"]


# -- linux.sysctl --------------------------------------------------------------------------------

def test_namespaced_sysctls_are_set(rt, make_bundle, new_id):
    def edit(c):
        c["linux"]["sysctl"] = {"kernel.shmmax": "12345678", "fs.mqueue.msg_max": "77",
                                "net.ipv4.ip_forward": "1", "net/ipv4/tcp_syncookies": "0",
                                "kernel.domainname": "pyrt.example"}
    files = ["kernel/shmmax", "fs/mqueue/msg_max", "net/ipv4/ip_forward",
             "net/ipv4/tcp_syncookies", "kernel/domainname"]
    b = make_bundle(["cat", *[f"/proc/sys/{f}" for f in files]], edit)
    res = _run(rt, b, new_id("sysctl"))
    assert res.rc == 0, res
    assert res.out.split() == ["12345678", "77", "1", "0", "pyrt.example"]
    with open("/proc/sys/kernel/domainname") as f:
        assert f.read().strip() != "pyrt.example", "the host's value changed"


@pytest.mark.parametrize("key, edit_ns, pattern", [
    ("kernel.panic", None, r"not namespaced"),
    ("vm.swappiness", None, r"not namespaced"),
    ("kernel.shmmax", "ipc", r"IPC"),
    ("net.ipv4.ip_forward", "network", r"network"),
    ("kernel.domainname", "uts", r"UTS"),
    ("net.ipv4.ip_forward", "join-host-net", r"network"),
])
def test_sysctl_that_would_change_the_host_is_refused(rt, make_bundle, new_id, key, edit_ns,
                                                      pattern):
    def edit(c):
        c["linux"]["sysctl"] = {key: "1"}
        ns = c["linux"]["namespaces"]
        if edit_ns == "join-host-net":
            c["linux"]["namespaces"] = [n for n in ns if n["type"] != "network"] + [
                {"type": "network", "path": f"/proc/{os.getpid()}/ns/net"}]
        elif edit_ns:
            c["linux"]["namespaces"] = [n for n in ns if n["type"] != edit_ns]
            if edit_ns == "uts":
                c.pop("hostname", None)
    b = make_bundle(["true"], edit)
    cid = new_id("sysbad")
    line = assert_one_line_error(_run(rt, b, cid), pattern)
    assert key in line, line
    assert rt("state", cid).rc != 0
