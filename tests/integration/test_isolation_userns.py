"""User namespaces (new with mappings, joined by path), ownership of files and
devices inside, idmapped mounts, and time namespace offsets, each checked from
inside a real container."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from support.checks import assert_one_line_error

from .isolation_support import (UsernsHolder, install_probe, probe,  # noqa: F401
                                sections, status_fields)

HOST_BASE = 100000
SIZE = 65536


def _userns(c, base=HOST_BASE, size=SIZE):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": base, "size": size}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": base, "size": size}]
    return c


def _own_root(b, base=HOST_BASE):
    """The container's root owns its / (a fresh dir, not shared with the rootfs
    cache), so it can create mount points there, as with any userns image."""
    os.chown(b.rootfs, base, base)
    return b


def _run(rt, b, cid, *extra):
    return rt("run", *extra, "--bundle", b.path, cid)


def test_user_namespace_mappings(rt, make_bundle, new_id):
    script = ("cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map; echo ---; id -u; id -g;"
              " echo ---; grep -E '^(Uid|Gid|CapEff)' /proc/self/status")
    b = make_bundle(["sh", "-c", script], _userns)
    res = _run(rt, b, new_id("userns"))
    assert res.rc == 0, res
    uid_map, gid_map, ids, status = sections(res.out)
    assert [line.split() for line in uid_map] == [["0", str(HOST_BASE), str(SIZE)]]
    assert [line.split() for line in gid_map] == [["0", str(HOST_BASE), str(SIZE)]]
    assert ids == ["0", "0"]
    f = status_fields("\n".join(status))
    assert f["Uid"].split() == ["0"] * 4


def test_exec_joins_the_user_namespace(rt, make_bundle, new_id):
    b = _own_root(make_bundle(["sleep", "1000"], _userns))
    cid = new_id("usrexec")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        pid = rt.state(cid)["pid"]
        res = rt("exec", cid, "sh", "-c", "cat /proc/self/uid_map; readlink /proc/self/ns/user")
        assert res.rc == 0, res
        lines = res.out.splitlines()
        assert lines[0].split() == ["0", str(HOST_BASE), str(SIZE)]
        assert lines[1] == os.readlink(f"/proc/{pid}/ns/user")
    finally:
        assert rt("delete", "--force", cid).rc == 0


def test_user_namespace_ownership_of_files_and_devices(rt, make_bundle, new_id):
    """Inside: a dir owned by host 100000+7 is uid 7; host root's files are the
    overflow id (65534); a file created in a shared bind mount is host 100000+uid;
    the default devices (bind-mounted from the host in a user namespace) work."""
    script = ("stat -c '%u %g' /owned /etc/passwd; echo ---; "
              "touch /shared/made-inside; echo ---; "
              "stat -c '%t %T %F' /dev/null /dev/zero; echo x > /dev/null && echo null-ok; "
              "head -c 4 /dev/zero | od -An -tx1")
    b = _own_root(make_bundle(["sh", "-c", script], _userns, shared=True))
    owned = os.path.join(b.rootfs, "owned")
    os.mkdir(owned)
    os.chown(owned, HOST_BASE + 7, HOST_BASE + 8)
    res = _run(rt, b, new_id("usrown"))
    assert res.rc == 0, res
    stats, _, devs = sections(res.out)
    assert stats == ["7 8", "65534 65534"]
    st = os.stat(b.shared_file("made-inside"))
    assert (st.st_uid, st.st_gid) == (HOST_BASE, HOST_BASE)
    assert devs[0] == "1 3 character special file"
    assert devs[1] == "1 5 character special file"
    assert devs[2] == "null-ok"
    assert devs[3].split() == ["00", "00", "00", "00"]


def test_user_namespace_config_device_is_bound_from_the_host(rt, make_bundle, new_id):
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host")
    st = os.stat("/dev/fuse")

    def edit(c):
        _userns(c)
        c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c",
                                  "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                                  "fileMode": 0o666, "uid": 0, "gid": 0}]
    b = make_bundle(["stat", "-c", "%t %T %F", "/dev/fuse"], edit)
    res = _run(rt, b, new_id("usrdev"))
    assert res.rc == 0, res
    major, minor, kind = res.out.split(maxsplit=2)
    assert (int(major, 16), int(minor, 16)) == (os.major(st.st_rdev), os.minor(st.st_rdev))
    assert kind.strip() == "character special file"


def test_user_namespace_nested_device_path(rt, make_bundle, new_id):
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun on this host")
    st = os.stat("/dev/net/tun")

    def edit(c):
        _userns(c)
        c["linux"]["devices"] = [{"path": "/dev/net/tun", "type": "c",
                                  "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev)}]
    b = make_bundle(["stat", "-c", "%t %T", "/dev/net/tun"], edit)
    res = _run(rt, b, new_id("usrtun"))
    assert res.rc == 0, res


def test_join_user_namespace_by_path(rt, make_bundle, new_id):
    base = 200000
    with UsernsHolder(f"0 {base} {SIZE}\n", f"0 {base} {SIZE}\n") as holder:
        def edit(c):
            c["linux"]["namespaces"].append({"type": "user", "path": holder.path})
        b = _own_root(make_bundle(["sh", "-c", "cat /proc/self/uid_map; "
                                               "readlink /proc/self/ns/user"], edit, shared=True),
                      base)
        res = _run(rt, b, new_id("joinusr"))
        assert res.rc == 0, res
        lines = res.out.splitlines()
        assert lines[0].split() == ["0", str(base), str(SIZE)]
        assert lines[1] == os.readlink(holder.path)


def test_join_a_path_that_is_not_a_user_namespace(rt, make_bundle, new_id):
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user", "path": "/proc/self/ns/net"})
    b = make_bundle(["true"], edit)
    cid = new_id("badusr")
    assert_one_line_error(_run(rt, b, cid), r"user namespace")
    assert rt("state", cid).rc != 0


# -- idmapped mounts ---------------------------------------------------------------------

def _idmap_src(testdir: str) -> str:
    src = os.path.join(testdir, "idsrc")
    os.mkdir(src)
    with open(os.path.join(src, "root-file"), "w") as f:
        f.write("x")
    with open(os.path.join(src, "u1000-file"), "w") as f:
        f.write("y")
    os.chown(os.path.join(src, "u1000-file"), 1000, 1000)
    return src


def test_idmapped_mount_with_its_own_mappings(rt, make_bundle, new_id, testdir):
    """No user namespace: on-disk uid 0 shows as 5000 and 1000 as 6000 through
    the mount (and only through it)."""
    src = _idmap_src(testdir)

    def edit(c):
        c["mounts"].append({"destination": "/data", "type": "bind", "source": src,
                            "options": ["rbind", "idmap"],
                            "uidMappings": [{"containerID": 0, "hostID": 5000, "size": 1},
                                            {"containerID": 1000, "hostID": 6000, "size": 1}],
                            "gidMappings": [{"containerID": 0, "hostID": 5001, "size": 1},
                                            {"containerID": 1000, "hostID": 6001, "size": 1}]})
    script = ("stat -c '%n %u %g' /data/root-file /data/u1000-file; echo ---; "
              "grep ' /data ' /proc/self/mountinfo")
    b = make_bundle(["sh", "-c", script], edit)
    res = _run(rt, b, new_id("idmap"))
    assert res.rc == 0, res
    stats, mi = sections(res.out)
    assert stats == ["/data/root-file 5000 5001", "/data/u1000-file 6000 6001"]
    assert "idmapped" in mi[0].split(" - ")[0], mi
    st = os.stat(os.path.join(src, "root-file"))
    assert (st.st_uid, st.st_gid) == (0, 0), "the source itself must not change"


def test_idmapped_mount_with_the_containers_user_namespace(rt, make_bundle, new_id, testdir):
    """``idmap`` without mappings in a user namespace: the container's own mapping,
    so the source's root-owned files are the container's root's, and files the
    container's root creates are host root's."""
    src = _idmap_src(testdir)

    def edit(c):
        _userns(c)
        c["mounts"].append({"destination": "/data", "type": "bind", "source": src,
                            "options": ["bind", "idmap"]})
    script = ("stat -c '%n %u %g' /data/root-file /data/u1000-file /etc/passwd; "
              "touch /data/new-file")
    b = _own_root(make_bundle(["sh", "-c", script], edit))
    res = _run(rt, b, new_id("idmapu"))
    assert res.rc == 0, res
    assert res.out.splitlines() == ["/data/root-file 0 0", "/data/u1000-file 1000 1000",
                                    "/etc/passwd 65534 65534"]
    st = os.stat(os.path.join(src, "new-file"))
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_ridmap_applies_to_submounts_idmap_does_not(rt, make_bundle, new_id, testdir):
    """rbind of a tree with a submount: ``ridmap`` idmaps both, ``idmap`` only the top."""
    src = _idmap_src(testdir)
    sub = os.path.join(src, "sub")
    os.mkdir(sub)
    subsrc = os.path.join(testdir, "subsrc")
    os.mkdir(subsrc)
    open(os.path.join(subsrc, "f"), "w").close()
    subprocess.run(["mount", "--bind", subsrc, sub], check=True)
    try:
        maps = {"uidMappings": [{"containerID": 0, "hostID": 5000, "size": 1}],
                "gidMappings": [{"containerID": 0, "hostID": 5000, "size": 1}]}

        def edit(c):
            c["mounts"].append({"destination": "/r", "type": "bind", "source": src,
                                "options": ["rbind", "ridmap"], **maps})
            c["mounts"].append({"destination": "/n", "type": "bind", "source": src,
                                "options": ["rbind", "idmap"], **maps})
        b = make_bundle(["stat", "-c", "%n %u", "/r/root-file", "/r/sub/f", "/n/root-file",
                         "/n/sub/f"], edit)
        res = _run(rt, b, new_id("ridmap"))
        assert res.rc == 0, res
        assert res.out.splitlines() == ["/r/root-file 5000", "/r/sub/f 5000",
                                        "/n/root-file 5000", "/n/sub/f 0"]
    finally:
        subprocess.run(["umount", sub], check=True)


def test_idmap_without_any_mapping_is_an_error(rt, make_bundle, new_id, testdir):
    src = _idmap_src(testdir)
    b = make_bundle(["true"], lambda c: c["mounts"].append(
        {"destination": "/data", "type": "bind", "source": src, "options": ["bind", "idmap"]}))
    cid = new_id("idmapbad")
    assert_one_line_error(_run(rt, b, cid), r"idmap", r"uidMappings")
    assert rt("state", cid).rc != 0


def test_idmap_on_a_non_bind_mount_is_an_error(rt, make_bundle, new_id):
    def edit(c):
        c["mounts"].append({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                            "options": ["idmap"],
                            "uidMappings": [{"containerID": 0, "hostID": 5000, "size": 1}],
                            "gidMappings": [{"containerID": 0, "hostID": 5000, "size": 1}]})
    b = make_bundle(["true"], edit)
    cid = new_id("idmapnb")
    assert_one_line_error(_run(rt, b, cid), r"bind")
    assert rt("state", cid).rc != 0


# -- time namespace --------------------------------------------------------------------------

def _uptime() -> float:
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def test_time_namespace_offsets(rt, make_bundle, new_id, probe):
    boot_off, mono_off = 10_000_000, 5_000_000

    def edit(c):
        c["linux"]["namespaces"].append({"type": "time"})
        c["linux"]["timeOffsets"] = {"boottime": {"secs": boot_off, "nanosecs": 0},
                                     "monotonic": {"secs": mono_off, "nanosecs": 0}}
    b = make_bundle(["sh", "-c", "/probe clocks; cat /proc/uptime"], edit)
    install_probe(b, probe)
    mono0, boot0 = time.clock_gettime(time.CLOCK_MONOTONIC), time.clock_gettime(
        time.CLOCK_BOOTTIME)
    res = _run(rt, b, new_id("timens"))
    mono1, boot1 = time.clock_gettime(time.CLOCK_MONOTONIC), time.clock_gettime(
        time.CLOCK_BOOTTIME)
    assert res.rc == 0, res
    clocks, uptime = res.out.splitlines()
    mono, boot = map(int, clocks.split())
    assert mono0 + mono_off - 1 <= mono <= mono1 + mono_off + 1, (mono, mono0, mono1)
    assert boot0 + boot_off - 1 <= boot <= boot1 + boot_off + 1, (boot, boot0, boot1)
    assert float(uptime.split()[0]) >= boot0 + boot_off - 1


def test_time_namespace_without_offsets(rt, make_bundle, new_id, probe):
    b = make_bundle(["sh", "-c", "/probe clocks; readlink /proc/self/ns/time"],
                    lambda c: c["linux"]["namespaces"].append({"type": "time"}))
    install_probe(b, probe)
    res = _run(rt, b, new_id("timens0"))
    assert res.rc == 0, res
    clocks, ns = res.out.splitlines()
    assert abs(int(clocks.split()[0]) - time.clock_gettime(time.CLOCK_MONOTONIC)) < 30
    assert ns != os.readlink("/proc/self/ns/time")


def test_time_offsets_without_a_time_namespace_is_an_error(rt, make_bundle, new_id):
    b = make_bundle(["true"], lambda c: c["linux"].update(
        timeOffsets={"boottime": {"secs": 5, "nanosecs": 0}}))
    cid = new_id("timebad")
    assert_one_line_error(_run(rt, b, cid), r"timeOffsets")
    assert rt("state", cid).rc != 0
