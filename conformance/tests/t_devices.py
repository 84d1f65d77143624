"""config-linux.md#devices, #default-devices, #allowed-device-list; runtime-linux.md#dev-symbolic-links."""
import os

from conformance.harness import (Fail, Skip, spec_test, kv, parse_multi, stat_line, DEFAULT_DEVICES,
                                 DEV_LINKS)

CL = "config-linux.md"


# -- default devices ---------------------------------------------------------------------

FUNCTIONAL = {
    "/dev/null": [("write /dev/null x", "ok"), ("read /dev/null 8", "ok len=0")],
    "/dev/zero": [("read /dev/zero 8", "ok len=8 hex=0000000000000000")],
    "/dev/full": [("write /dev/full x", "error=ENOSPC")],
    "/dev/random": [("read /dev/random 8", "ok len=8")],
    "/dev/urandom": [("read /dev/urandom 8", "ok len=8")],
    "/dev/tty": [],
}


def _default_dev(path):
    ma, mi = DEFAULT_DEVICES[path]

    @spec_test(f"{CL}#default-devices", "MUST", f"In addition to any devices configured with this setting, the "
               f"runtime MUST also supply: `{path}`.", name=f"default_{path.rsplit('/', 1)[1]}")
    def _t(t):
        sec = t.shared_probe()
        st = stat_line(sec, path)
        if st.get("type") != "c" or st.get("rdev") != f"{ma}:{mi}":
            raise Fail(f"{path}: {sec.get(f'stat {path}')!r}, expected a character device {ma}:{mi}")
        for key, want in FUNCTIONAL[path]:
            got = sec.get(key, "").strip()
            if not got.startswith(want):
                raise Fail(f"`{key}` inside the container: {got!r}, expected {want!r}")
    return _t


for _p in DEFAULT_DEVICES:
    _default_dev(_p)


@spec_test(f"{CL}#default-devices", "MUST", "The runtime MUST also supply `/dev/ptmx`: a bind-mount or symlink of "
           "the container's `/dev/pts/ptmx`.")
def default_ptmx(t):
    sec = t.shared_probe()
    st, pts = stat_line(sec, "/dev/ptmx"), stat_line(sec, "/dev/pts/ptmx")
    if st.get("type") == "l":
        if st.get("link") not in ("pts/ptmx", "/dev/pts/ptmx"):
            raise Fail(f"/dev/ptmx -> {st.get('link')}")
    elif not (st.get("type") == "c" and st.get("ino") == pts.get("ino") and st.get("dev") == pts.get("dev")):
        raise Fail(f"/dev/ptmx ({sec.get('stat /dev/ptmx')!r}) is neither a symlink to nor a bind mount of "
                   f"/dev/pts/ptmx ({sec.get('stat /dev/pts/ptmx')!r})")


def _dev_link(path):
    target = DEV_LINKS[path]

    @spec_test("runtime-linux.md#dev-symbolic-links", "MUST", f"While creating the container, runtimes MUST "
               f"create the symlink `{path}` -> `{target}` if the source file exists after processing mounts.",
               name=f"dev_link_{path.rsplit('/', 1)[1]}")
    def _t(t):
        sec = t.shared_probe()
        st = stat_line(sec, path)
        if st.get("type") != "l" or st.get("link") != target:
            raise Fail(f"{path}: {sec.get(f'stat {path}')!r}, expected a symlink to {target}")
    return _t


for _p in DEV_LINKS:
    _dev_link(_p)


# -- linux.devices ---------------------------------------------------------------------------

DEVICES = [
    {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 1234, "gid": 5678},
    {"path": "/dev/cf-loop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600, "uid": 0, "gid": 0},
    {"path": "/dev/cf-fifo", "type": "p", "fileMode": 0o644},
    {"path": "/opt/cf-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
]


def _devices(t):
    def run():
        args = []
        for d in DEVICES:
            args += ["stat", d["path"], "::"]
        b = t.checker_bundle("multi", *args)
        b.linux["devices"] = [dict(d) for d in DEVICES]
        b.write()
        return parse_multi(t.run_ok(b))
    return t.shared("linux-devices", run)


@spec_test(f"{CL}#devices", "MUST", "`devices` (array of objects, OPTIONAL) lists devices that MUST be available "
           "in the container (`type`, `major`, `minor`).")
def devices_available(t):
    sec = _devices(t)
    bad = []
    for d in DEVICES:
        st = stat_line(sec, d["path"])
        want_rdev = f"{d.get('major', 0)}:{d.get('minor', 0)}"
        if st.get("type") != d["type"] or (d["type"] != "p" and st.get("rdev") != want_rdev):
            bad.append(f"{d['path']}: {sec.get('stat ' + d['path'])!r}")
    if bad:
        raise Fail("; ".join(bad))


@spec_test(f"{CL}#devices", "MUST", "`fileMode` (uint32, OPTIONAL) - file mode for the device.")
def devices_filemode(t):
    sec = _devices(t)
    bad = [f"{d['path']}: mode {stat_line(sec, d['path']).get('mode')} != {d['fileMode']:04o}" for d in DEVICES
           if stat_line(sec, d["path"]).get("mode") != f"{d['fileMode'] & 0o7777:04o}"]
    if bad:
        raise Fail("; ".join(bad))


@spec_test(f"{CL}#devices", "MUST", "`uid` (uint32, OPTIONAL) - id of device owner in the container namespace.")
def devices_uid(t):
    st = stat_line(_devices(t), "/dev/fuse")
    if st.get("uid") != "1234":
        raise Fail(f"/dev/fuse owner {st.get('uid')}, configured 1234")


@spec_test(f"{CL}#devices", "MUST", "`gid` (uint32, OPTIONAL) - id of device group in the container namespace.")
def devices_gid(t):
    st = stat_line(_devices(t), "/dev/fuse")
    if st.get("gid") != "5678":
        raise Fail(f"/dev/fuse group {st.get('gid')}, configured 5678")


@spec_test(f"{CL}#devices", "MAY", "`path` ... The path MAY be anywhere in the container filesystem, notably "
           "outside of `/dev`.")
def devices_outside_dev(t):
    st = stat_line(_devices(t), "/opt/cf-null")
    if st.get("type") != "c" or st.get("rdev") != "1:3":
        raise Fail(f"/opt/cf-null: {st}")


@spec_test(f"{CL}#devices", "MUST", "If a file already exists at `path` that does not match the requested device, "
           "the runtime MUST generate an error.")
def devices_conflict(t):
    b = t.checker_bundle("exit", "0")
    with open(os.path.join(b.rootfs, "opt", "conflict"), "w") as f:
        f.write("a regular file")
    b.linux["devices"] = [{"path": "/opt/conflict", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]
    b.write()
    t.expect_error(t.run(b), "a device path where a regular file exists")


# -- the device allow list (cgroup) -------------------------------------------------------------

def _need_fuse(t):
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        raise Skip(f"the host cannot open /dev/fuse ({e.strerror}): needed as a test device")


def _fuse_access(t, rules, verbs):
    def m(b):
        b.linux["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]
        b.linux["resources"]["devices"] = rules
        b.process["capabilities"] = {k: ["CAP_MKNOD"] for k in ("bounding", "effective", "permitted")}
        b.add_mount({"destination": "/mnt/w", "type": "tmpfs", "source": "tmpfs"})
    args = []
    for v in verbs:
        args += list(v) + ["::"]
    return parse_multi(t.probe(m, "multi", *args))


@spec_test(f"{CL}#allowed-device-list", "MUST", "`devices` (array of objects, OPTIONAL) configures the allowed "
           "device list. The runtime MUST apply entries in the listed order.")
def devcgroup_order(t):
    _need_fuse(t)
    deny_all = {"allow": False, "access": "rwm"}
    a = _fuse_access(t, [deny_all, {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                         {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "w"}],
                     [("open", "/dev/fuse", "r"), ("open", "/dev/fuse", "w")])
    b = _fuse_access(t, [deny_all, {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "w"},
                         {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
                     [("open", "/dev/fuse", "w")])
    got = (a.get("open /dev/fuse r"), a.get("open /dev/fuse w"), b.get("open /dev/fuse w"))
    if got != ("ok", "error=EPERM", "ok"):
        raise Fail(f"[allow rw, deny w]: read {got[0]}, write {got[1]}; [deny w, allow rw]: write {got[2]} "
                   f"(expected ok, EPERM, ok)")


@spec_test(f"{CL}#allowed-device-list", "MUST", "`allow` (boolean, REQUIRED) - whether the entry is allowed or "
           "denied.")
def devcgroup_deny(t):
    _need_fuse(t)
    sec = _fuse_access(t, [{"allow": False, "access": "rwm"}], [("open", "/dev/fuse", "r")])
    if sec.get("open /dev/fuse r") != "error=EPERM":
        raise Fail(f"/dev/fuse opened under a deny-all list: {sec.get('open /dev/fuse r')}")


@spec_test(f"{CL}#allowed-device-list", "MUST", "`access` (string, OPTIONAL) - cgroup permissions for device. A "
           "composition of `r` (read), `w` (write), and `m` (mknod).")
def devcgroup_mknod(t):
    _need_fuse(t)
    deny_all = {"allow": False, "access": "rwm"}
    no_m = _fuse_access(t, [deny_all, {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
                        [("mknod", "/mnt/w/f", "c", "10", "229")])
    with_m = _fuse_access(t, [deny_all, {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"}],
                          [("mknod", "/mnt/w/f", "c", "10", "229")])
    got = (no_m.get("mknod /mnt/w/f c 10 229"), with_m.get("mknod /mnt/w/f c 10 229"))
    if got != ("error=EPERM", "ok"):
        raise Fail(f"mknod without 'm': {got[0]}, with 'm': {got[1]} (expected EPERM, ok)")


@spec_test(f"{CL}#allowed-device-list", "MUST", "`major, minor` (int64, OPTIONAL) - major, minor numbers for the "
           "device. Unset values mean \"all\", mapping to `*` in the filesystem API.")
def devcgroup_wildcard_minor(t):
    _need_fuse(t)
    sec = _fuse_access(t, [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 10,
                                                                "access": "r"}], [("open", "/dev/fuse", "r")])
    if sec.get("open /dev/fuse r") != "ok":
        raise Fail(f"allow c 10:* r did not allow 10:229: {sec.get('open /dev/fuse r')}")


@spec_test(f"{CL}#allowed-device-list", "MUST", "`type` (string, OPTIONAL) - type of device: `a` (all), `c` (char), "
           "or `b` (block). Unset values mean \"all\", mapping to `a`.")
def devcgroup_type_unset(t):
    _need_fuse(t)
    sec = _fuse_access(t, [{"allow": False, "access": "rwm"}, {"allow": True, "major": 10, "minor": 229,
                                                                "access": "r"}], [("open", "/dev/fuse", "r")])
    if sec.get("open /dev/fuse r") != "ok":
        raise Fail(f"an entry without type did not cover the char device 10:229: {sec.get('open /dev/fuse r')}")
