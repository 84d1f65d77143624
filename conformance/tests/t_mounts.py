"""config.md#root, #mounts, #linux-mount-options, config-linux.md#rootfs-mount-propagation,
#default-filesystems."""
import os
import secrets
import time

from conformance.harness import (Fail, Skip, spec_test, kv, parse_mountinfo, top_mount, parse_multi,
                                 MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND)
from conformance.tests.common import read

C = "config.md"
CL = "config-linux.md"
MO = f"{C}#linux-mount-options"
MS_NOATIME, MS_NODIRATIME, MS_NOSYMFOLLOW = 1024, 2048, 256


# -- root ----------------------------------------------------------------------------

@spec_test(f"{C}#root", "MUST", "`readonly` (bool, OPTIONAL) If true then the root filesystem MUST be read-only "
           "inside the container.")
def root_readonly(t):
    sec = t.shared_probe()
    w = sec.get("write /cannot-write x", "")
    if "error=EROFS" not in w:
        raise Fail(f"writing / with root.readonly=true gave {w!r}, expected EROFS")


@spec_test(f"{C}#root", "MUST", "`readonly` (bool, OPTIONAL) ... defaults to false.")
def root_writable_default(t):
    out = t.probe(lambda b: b.cfg["root"].pop("readonly"), "write", "/written", "x")
    if out.strip() != "ok":
        raise Fail(f"writing / with readonly unset: {out.strip()!r}")


@spec_test(f"{C}#root", "MUST", "`path` ... On POSIX platforms, `path` is either an absolute path or a relative "
           "path to the bundle.")
def root_path_absolute(t):
    out = t.probe(lambda b: b.cfg["root"].update(path=b.rootfs), "argv", "abs")
    if "abs" not in out:
        raise Fail(f"output {out!r}")


@spec_test(f"{C}#root", "MUST", "`path` ... A directory MUST exist at the path declared by the field.")
def root_path_missing(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["root"]["path"] = "no-such-rootfs"
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "a root.path that does not exist")


# -- mounts: basics --------------------------------------------------------------------

@spec_test(f"{C}#mounts", "MUST", "The runtime MUST mount entries in the listed order.")
def mounts_order(t):
    def m(b):
        b.add_mount({"destination": "/mnt/ord/inner", "type": "tmpfs", "source": "first"})
        b.add_mount({"destination": "/mnt/ord", "type": "tmpfs", "source": "second"})
        b.add_mount({"destination": "/mnt/ord2", "type": "tmpfs", "source": "third"})
        b.add_mount({"destination": "/mnt/ord2/inner", "type": "tmpfs", "source": "fourth"})
    mi = parse_mountinfo(t.probe(m, "mountinfo"))
    seq = [x["source"] for x in mi if x["source"] in ("first", "second", "third", "fourth")]
    if seq != ["first", "second", "third", "fourth"]:
        raise Fail(f"mounted in order {seq}")
    inner2, outer2 = top_mount(mi, "/mnt/ord2/inner"), top_mount(mi, "/mnt/ord2")
    if not inner2 or inner2["parent"] != outer2["id"]:
        raise Fail("/mnt/ord2/inner is not mounted on top of /mnt/ord2")


@spec_test(f"{C}#mounts", "MUST", "`destination` ... it MAY be a relative path, in which case it MUST be "
           "interpreted as relative to \"/\".")
def mounts_relative_destination(t):
    mi = parse_mountinfo(t.probe(lambda b: b.add_mount(
        {"destination": "mnt/relative", "type": "tmpfs", "source": "reldest"}), "mountinfo"))
    got = [x["mountpoint"] for x in mi if x["source"] == "reldest"]
    if got != ["/mnt/relative"]:
        raise Fail(f"the relative destination was mounted at {got}")


@spec_test(f"{C}#mounts", "MUST", "`source` ... Path values for bind mounts are either absolute or relative to the "
           "bundle.")
def mounts_bind_relative_source(t):
    def m(b):
        os.makedirs(os.path.join(b.path, "vol"))
        with open(os.path.join(b.path, "vol", "f"), "w") as f:
            f.write("relative-source")
        b.add_mount({"destination": "/mnt/vol", "type": "none", "source": "vol", "options": ["bind"]})
    out = t.probe(m, "cat", "/mnt/vol/f")
    if out.strip() != "relative-source":
        raise Fail(f"/mnt/vol/f reads {out!r}")


@spec_test(f"{C}#mounts", "MUST", "`source` (string, OPTIONAL) A device name, but can also be a file or directory "
           "name for bind mounts (absolute source).")
def mounts_bind_absolute_source(t):
    d = os.path.join(t.dir, "absvol")
    os.makedirs(d)
    with open(os.path.join(d, "f"), "w") as f:
        f.write("absolute-source")
    with open(os.path.join(t.dir, "afile"), "w") as f:
        f.write("a-file")

    def m(b):
        b.add_mount({"destination": "/mnt/abs", "type": "none", "source": d, "options": ["rbind"]})
        b.add_mount({"destination": "/etc/bound-file", "type": "none", "source": os.path.join(t.dir, "afile"),
                     "options": ["bind"]})
    sec = parse_multi(t.probe(m, "multi", "cat", "/mnt/abs/f", "::", "cat", "/etc/bound-file"))
    if sec.get("cat /mnt/abs/f", "").strip() != "absolute-source" or \
            sec.get("cat /etc/bound-file", "").strip() != "a-file":
        raise Fail(f"bind-mounted content: {sec}")


@spec_test(f"{C}#posix-platform-mounts", "MUST", "`type` (string, OPTIONAL) ... For bind mounts (when `options` "
           "include either `bind` or `rbind`), the type is a dummy, often \"none\" (it may be omitted).")
def mounts_bind_without_type(t):
    d = os.path.join(t.dir, "notype")
    os.makedirs(d)
    open(os.path.join(d, "here"), "w").close()
    out = t.probe(lambda b: b.add_mount({"destination": "/mnt/nt", "source": d, "options": ["bind"]}),
                  "ls", "/mnt/nt")
    if out.split() != ["here"]:
        raise Fail(f"/mnt/nt holds {out.split()}")


@spec_test(f"{C}#posix-platform-mounts", "MUST", "`type` (string, OPTIONAL) The type of the filesystem to be "
           "mounted (Linux: as listed in /proc/filesystems).")
def mounts_type(t):
    mi = parse_mountinfo(t.shared_probe().get("mountinfo", ""))
    want = {"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
            "/dev/mqueue": "mqueue", "/sys": "sysfs"}
    bad = {p: (top_mount(mi, p) or {}).get("fstype") for p, ft in want.items()
           if (top_mount(mi, p) or {}).get("fstype") != ft}
    if bad:
        raise Fail(f"wrong filesystem types: {bad}")


@spec_test(f"{CL}#default-filesystems", "SHOULD", "The following filesystems SHOULD be made available in each "
           "container's filesystem: /proc (proc), /sys (sysfs), /dev/pts (devpts), /dev/shm (tmpfs).")
def default_filesystems(t):
    mi = parse_mountinfo(t.shared_probe().get("mountinfo", ""))
    want = {"/proc": "proc", "/sys": "sysfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs"}
    bad = [p for p, ft in want.items() if (top_mount(mi, p) or {}).get("fstype") != ft]
    if bad:
        raise Fail(f"missing: {bad}")


@spec_test(MO, "SHOULD", "Runtimes SHOULD treat unknown options as filesystem-specific ones and pass those as a "
           "comma-separated string to the fifth (`const void *data`) argument of mount(2).")
def mount_fs_specific_data(t):
    def m(b):
        b.add_mount({"destination": "/mnt/data", "type": "tmpfs", "source": "tmpfs",
                     "options": ["size=2m", "mode=0711", "nr_inodes=1234"]})
    sec = parse_multi(t.probe(m, "multi", "statfs", "/mnt/data", "::", "stat", "/mnt/data"))
    fs, st = kv(sec.get("statfs /mnt/data", "")), kv(sec.get("stat /mnt/data", ""))
    if fs.get("size") != str(2 * 1024 * 1024) or st.get("mode") != "0711":
        raise Fail(f"tmpfs size {fs.get('size')} (want 2097152), mode {st.get('mode')} (want 0711)")


# -- the option table ---------------------------------------------------------------------

def has(opt, where="options"):
    return lambda m: opt in m[where]


def lacks(opt, where="options"):
    return lambda m: opt not in m[where]


def noatime_flags(m):
    return "relatime" not in m["options"] and "noatime" not in m["options"]


SIMPLE = {
    # option: (level, check on the tmpfs mount, what it means)
    "async": ("MUST", lacks("sync", "super"), "not synchronous"),
    "atime": ("MUST", lacks("noatime"), "no noatime"),
    "defaults": ("MUST", has("rw"), "rw"),
    "dev": ("MUST", lacks("nodev"), "no nodev"),
    "diratime": ("MUST", lacks("nodiratime"), "no nodiratime"),
    "dirsync": ("MUST", has("dirsync", "super"), "dirsync"),
    "exec": ("MUST", lacks("noexec"), "no noexec"),
    "iversion": ("MUST", None, "accepted"),
    "lazytime": ("MUST", has("lazytime", "super"), "lazytime"),
    "loud": ("MUST", None, "accepted"),
    "noatime": ("MUST", has("noatime"), "noatime"),
    "nodev": ("MUST", has("nodev"), "nodev"),
    "nodiratime": ("MUST", has("nodiratime"), "nodiratime"),
    "noexec": ("MUST", has("noexec"), "noexec"),
    "noiversion": ("MUST", None, "accepted"),
    "nolazytime": ("MUST", lacks("lazytime", "super"), "no lazytime"),
    "norelatime": ("MUST", None, "accepted"),
    "nostrictatime": ("MUST", None, "accepted"),
    "nosuid": ("MUST", has("nosuid"), "nosuid"),
    "relatime": ("MUST", has("relatime"), "relatime"),
    "ro": ("MUST", has("ro"), "ro"),
    "rw": ("MUST", has("rw"), "rw"),
    "silent": ("MUST", None, "accepted"),
    "strictatime": ("MUST", noatime_flags, "neither relatime nor noatime"),
    "suid": ("MUST", lacks("nosuid"), "no nosuid"),
    "sync": ("MUST", has("sync", "super"), "sync"),
    "nosymfollow": ("SHOULD", has("nosymfollow"), "nosymfollow"),
    "symfollow": ("SHOULD", lacks("nosymfollow"), "no nosymfollow"),
    "shared": ("MUST", lambda m: any(o.startswith("shared:") for o in m["optional"]), "a shared peer group"),
    "unbindable": ("MUST", lambda m: "unbindable" in m["optional"], "unbindable"),
    "private": ("MUST", lambda m: not m["optional"], "private (no propagation tags)"),
}
HOST_FLAG = {"nosymfollow": "nosymfollow", "lazytime": "lazytime"}


def _simple_batch(t):
    def m(b):
        for opt in SIMPLE:
            b.add_mount({"destination": f"/mnt/o-{opt}", "type": "tmpfs", "source": f"o-{opt}",
                         "options": [opt]})
    return parse_mountinfo(t.probe(m, "mountinfo"))


def _single(t, opt, mount, path, extra=None):
    def m(b):
        b.add_mount(mount)
        if extra:
            extra(b)
    out = t.probe(m, "mountinfo")
    return parse_mountinfo(out)


def _simple_option(opt):
    level, check, meaning = SIMPLE[opt]

    @spec_test(MO, level, f"Runtimes {level} implement the option `{opt}` (mount(8) semantics: {meaning}).",
               name=f"opt_{opt}")
    def _t(t):
        if opt in HOST_FLAG and not t.host.mount_flag_supported(HOST_FLAG[opt]):
            raise Skip(f"this kernel does not support the {opt} mount flag")
        path = f"/mnt/o-{opt}"
        try:
            mi = t.shared("mountopts-simple", lambda: _simple_batch(t))
        except Fail:
            mi = _single(t, opt, {"destination": path, "type": "tmpfs", "source": f"o-{opt}",
                                  "options": [opt]}, path)
        m = top_mount(mi, path)
        if m is None:
            raise Fail(f"no mount at {path}")
        if check and not check(m):
            raise Fail(f"{path}: expected {meaning}; mountinfo options {','.join(m['options'])} "
                       f"optional {' '.join(m['optional']) or '-'} super {','.join(m['super'])}")
    return _t


for _o in SIMPLE:
    _simple_option(_o)


@spec_test(MO, "MAY", "Runtimes MAY implement the option `mand` (deprecated in kernel 5.15).", name="opt_mand")
def opt_mand(t):
    b = t.checker_bundle("exit", "0")
    b.add_mount({"destination": "/mnt/mand", "type": "tmpfs", "source": "tmpfs", "options": ["mand"]})
    b.write()
    t.run(b)   # accepting or rejecting are both allowed; it must not hang or leak


@spec_test(MO, "MAY", "Runtimes MAY implement the option `nomand`.", name="opt_nomand")
def opt_nomand(t):
    b = t.checker_bundle("exit", "0")
    b.add_mount({"destination": "/mnt/nomand", "type": "tmpfs", "source": "tmpfs", "options": ["nomand"]})
    b.write()
    t.run(b)


@spec_test(MO, "MAY", "Runtimes MAY implement `tmpcopyup` (copy up the contents to a tmpfs); one that accepts "
           "it must copy the contents.", name="opt_tmpcopyup")
def opt_tmpcopyup(t):
    b = t.checker_bundle("cat", "/etc/passwd")
    b.add_mount({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]})
    b.write()
    r = t.run(b)
    if r.ok and "root:x:0:0" not in r.out:
        raise Fail(f"tmpcopyup accepted but /etc/passwd on the tmpfs reads {r.out[:80]!r}")


def _bind_src(t):
    """A host directory with a submount, to tell bind from rbind."""
    src = os.path.join(t.dir, "bsrc")
    os.makedirs(os.path.join(src, "sub"), exist_ok=True)
    open(os.path.join(src, "top-file"), "w").close()
    t.host_mount("tmpfs", os.path.join(src, "sub"), "tmpfs", 0, "size=64k")
    open(os.path.join(src, "sub", "sub-file"), "w").close()
    return src


@spec_test(MO, "MUST", "Runtimes MUST implement `bind` (bind mount).", name="opt_bind")
def opt_bind(t):
    src = _bind_src(t)
    out = t.probe(lambda b: b.add_mount({"destination": "/mnt/b", "type": "none", "source": src,
                                         "options": ["bind"]}), "multi", "ls", "/mnt/b", "::", "ls", "/mnt/b/sub")
    sec = parse_multi(out)
    if "top-file" not in sec.get("ls /mnt/b", ""):
        raise Fail(f"/mnt/b lists {sec.get('ls /mnt/b')!r}")
    if "sub-file" in sec.get("ls /mnt/b/sub", ""):
        raise Fail("a non-recursive bind mount carried the submount along")


@spec_test(MO, "MUST", "Runtimes MUST implement `rbind` (recursive bind mount).", name="opt_rbind")
def opt_rbind(t):
    src = _bind_src(t)
    out = t.probe(lambda b: b.add_mount({"destination": "/mnt/rb", "type": "none", "source": src,
                                         "options": ["rbind"]}), "ls", "/mnt/rb/sub")
    if "sub-file" not in out:
        raise Fail(f"the submount is missing under the rbind mount: /mnt/rb/sub lists {out.split()}")


@spec_test(MO, "MUST", "Runtimes MUST implement `remount`.", name="opt_remount")
def opt_remount(t):
    def m(b):
        b.add_mount({"destination": "/mnt/rm", "type": "tmpfs", "source": "rm", "options": ["rw"]})
        b.add_mount({"destination": "/mnt/rm", "type": "tmpfs", "source": "rm", "options": ["remount", "ro"]})
    mi = parse_mountinfo(t.probe(m, "mountinfo"))
    hits = [x for x in mi if x["mountpoint"] == "/mnt/rm"]
    if not hits or "ro" not in hits[-1]["options"]:
        raise Fail(f"/mnt/rm after remount,ro: {[h['options'] for h in hits]}")
    if len(hits) != 1:
        raise Fail(f"remount stacked a new mount ({len(hits)} mounts at /mnt/rm)")


def _prop_test(opt):
    kind = opt.lstrip("r") if opt != "rprivate" else "private"
    kind = {"slave": "slave", "shared": "shared", "private": "private", "unbindable": "unbindable"}[kind]

    @spec_test(MO, "MUST", f"Runtimes MUST implement `{opt}` (bind mount propagation).", name=f"opt_{opt}")
    def _t(t):
        src = _bind_src(t)

        def m(b):
            b.add_mount({"destination": "/mnt/ctl", "type": "none", "source": src, "options": ["rbind"]})
            b.add_mount({"destination": "/mnt/p", "type": "none", "source": src, "options": ["rbind", opt]})
        mi = parse_mountinfo(t.probe(m, "mountinfo"))
        ctl, p, psub = top_mount(mi, "/mnt/ctl"), top_mount(mi, "/mnt/p"), top_mount(mi, "/mnt/p/sub")
        if not p:
            raise Fail("no mount at /mnt/p")
        targets = [p] + ([psub] if opt.startswith("r") and psub else [])
        for x in targets:
            tags = x["optional"]
            shared = any(o.startswith("shared:") for o in tags)
            master = any(o.startswith("master:") for o in tags)
            if kind == "shared" and not shared:
                raise Fail(f"{x['mountpoint']} is not shared: {tags}")
            if kind == "private" and (shared or master):
                raise Fail(f"{x['mountpoint']} still propagates: {tags}")
            if kind == "unbindable" and "unbindable" not in tags:
                raise Fail(f"{x['mountpoint']} is not unbindable: {tags}")
            if kind == "slave":
                if shared:
                    raise Fail(f"{x['mountpoint']} is still shared: {tags}")
                if ctl and ctl["optional"] and not master:
                    raise Fail(f"{x['mountpoint']} is not a slave (tags {tags}; same source without "
                               f"the option: {ctl['optional']})")
    return _t


for _o in ("slave", "rshared", "rslave", "rprivate", "runbindable"):
    _prop_test(_o)


# -- recursive (AT_RECURSIVE) options --------------------------------------------------------

REC = {
    # option: (flag as shown in mountinfo, set=True / cleared=False / None: accepted only, submount to look at)
    "rro": ("ro", True, "plain"), "rrw": ("ro", False, "flagged"),
    "rnosuid": ("nosuid", True, "plain"), "rsuid": ("nosuid", False, "flagged"),
    "rnodev": ("nodev", True, "plain"), "rdev": ("nodev", False, "flagged"),
    "rnoexec": ("noexec", True, "plain"), "rexec": ("noexec", False, "flagged"),
    "rnoatime": ("noatime", True, "plain"), "ratime": ("noatime", False, "flagged"),
    "rnodiratime": ("nodiratime", True, "plain"), "rdiratime": ("nodiratime", False, "flagged"),
    "rnosymfollow": ("nosymfollow", True, "plain"), "rsymfollow": ("nosymfollow", False, "flagged"),
    "rrelatime": ("relatime", True, "strict"), "rstrictatime": ("strict", True, "plain"),
    # mount_setattr(2) has no "no relatime" state: MOUNT_ATTR_RELATIME is 0; nostrictatime = kernel default
    "rnorelatime": ("relatime", None, "plain"), "rnostrictatime": ("relatime", True, "strict"),
}


def _rec_source(t):
    src = os.path.join(t.dir, "rsrc")
    if os.path.ismount(os.path.join(src, "plain")):
        return src            # already set up by this test (batch, then single-option fallback)
    os.makedirs(os.path.join(src, "plain"), exist_ok=True)
    os.makedirs(os.path.join(src, "flagged"), exist_ok=True)
    os.makedirs(os.path.join(src, "strict"), exist_ok=True)
    t.host_mount("tmpfs", os.path.join(src, "plain"), "tmpfs", 0, "size=64k")
    flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME
    if t.host.mount_flag_supported("nosymfollow"):
        flags |= MS_NOSYMFOLLOW
    t.host_mount("tmpfs", os.path.join(src, "flagged"), "tmpfs", flags, "size=64k")
    t.host_mount("tmpfs", os.path.join(src, "strict"), "tmpfs", 1 << 24, "size=64k")  # MS_STRICTATIME
    return src


def _rec_batch(t, opts):
    src = _rec_source(t)

    def m(b):
        for o in opts:
            b.add_mount({"destination": f"/mnt/{o}", "type": "none", "source": src, "options": ["rbind", o]})
    return parse_mountinfo(t.probe(m, "mountinfo"))


def _has_flag(m, flag):
    if flag == "strict":
        return "relatime" not in m["options"] and "noatime" not in m["options"]
    return flag in m["options"]


def _rec_option(opt):
    flag, setting, sub = REC[opt]

    @spec_test(MO, "SHOULD", f"Runtimes SHOULD implement `{opt}` (recursive, AT_RECURSIVE mount_setattr(2)).",
               name=f"opt_{opt}")
    def _t(t):
        if not t.host.mount_setattr:
            raise Skip("this kernel has no mount_setattr(2) (5.12+)")
        if flag == "nosymfollow" and not t.host.mount_flag_supported("nosymfollow"):
            raise Skip("this kernel does not support nosymfollow")
        try:
            mi = t.shared("mountopts-recursive", lambda: _rec_batch(t, list(REC)))
        except Fail:
            mi = _rec_batch(t, [opt])
        base = f"/mnt/{opt}"
        if setting is None:
            if top_mount(mi, base) is None:
                raise Fail(f"no mount at {base}")
            return
        for path in ([base] if setting and sub == "plain" else []) + [f"{base}/{sub}"]:
            m = top_mount(mi, path)
            if m is None:
                raise Fail(f"no mount at {path}")
            if _has_flag(m, flag) != setting:
                raise Fail(f"{path}: {'missing' if setting else 'still has'} {flag} "
                           f"(options {','.join(m['options'])})")
    return _t


for _o in REC:
    _rec_option(_o)


# -- idmapped mounts ---------------------------------------------------------------------------

def _idmap_src(t):
    src = os.path.join(t.dir, "idsrc")
    os.makedirs(src, exist_ok=True)
    for name, uid in (("owned-by-0", 0), ("owned-by-1000", 1000)):
        p = os.path.join(src, name)
        open(p, "w").close()
        os.chown(p, uid, uid)
    return src


def _need_idmap(t):
    if not t.host.mount_setattr or t.host.kernel < (5, 12):
        raise Skip("this kernel has no idmapped mounts (5.12+)")


@spec_test(MO, "SHOULD", "`idmap`: Indicates that the mount MUST have an idmapping applied. If `uidMappings` or "
           "`gidMappings` are specified for the mount, the runtime MUST use those values for the mount's mapping.",
           name="opt_idmap")
def opt_idmap(t):
    _need_idmap(t)
    src = _idmap_src(t)

    def m(b):
        b.add_mount({"destination": "/mnt/idm", "type": "none", "source": src, "options": ["bind", "idmap"],
                     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                     "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]})
    sec = parse_multi(t.probe(m, "multi", "stat", "/mnt/idm/owned-by-0", "::", "stat", "/mnt/idm/owned-by-1000"))
    a, b_ = kv(sec.get("stat /mnt/idm/owned-by-0", "")), kv(sec.get("stat /mnt/idm/owned-by-1000", ""))
    if (a.get("uid"), a.get("gid"), b_.get("uid"), b_.get("gid")) != ("100000", "200000", "101000", "201000"):
        raise Fail(f"owners through the idmapped mount: 0 -> {a.get('uid')}:{a.get('gid')}, 1000 -> "
                   f"{b_.get('uid')}:{b_.get('gid')} (expected 100000:200000 and 101000:201000)")


@spec_test(MO, "SHOULD", "`ridmap`: Indicates that the mount MUST have an idmapping applied, and the mapping is "
           "applied recursively.", name="opt_ridmap")
def opt_ridmap(t):
    _need_idmap(t)
    src = _idmap_src(t)
    os.makedirs(os.path.join(src, "sub"), exist_ok=True)
    t.host_mount("tmpfs", os.path.join(src, "sub"), "tmpfs", 0, "size=64k,mode=0755")

    def m(b):
        b.add_mount({"destination": "/mnt/ridm", "type": "none", "source": src, "options": ["rbind", "ridmap"],
                     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                     "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
    st = kv(t.probe(m, "stat", "/mnt/ridm/sub"))
    if st.get("uid") != "100000":
        raise Fail(f"the submount's root (owner 0) shows uid {st.get('uid')} through the ridmap mount")


@spec_test(MO, "MUST", "`idmap`: If there are no `uidMappings` and `gidMappings` specified and the container "
           "isn't using user namespaces, an error MUST be returned.", name="opt_idmap_no_mapping")
def opt_idmap_no_mapping(t):
    src = _idmap_src(t)
    b = t.checker_bundle("exit", "0")
    b.add_mount({"destination": "/mnt/idm", "type": "none", "source": src, "options": ["bind", "idmap"]})
    b.write()
    t.expect_error(t.run(b), "idmap without mappings and without a user namespace")


@spec_test(f"{C}#posix-platform-mounts", "MUST", "`uidMappings` ... If specified, it MUST be specified along with "
           "`gidMappings` (runtimes MUST generate an error for invalid values).", name="mount_uidmap_without_gidmap")
def mount_uidmap_without_gidmap(t):
    src = _idmap_src(t)
    b = t.checker_bundle("exit", "0")
    b.add_mount({"destination": "/mnt/idm", "type": "none", "source": src, "options": ["bind", "idmap"],
                 "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
    b.write()
    t.expect_error(t.run(b), "uidMappings without gidMappings")


# -- rootfs propagation ---------------------------------------------------------------------

def _rootfs_prop(t, value):
    b = t.checker_bundle("pause")
    b.linux["rootfsPropagation"] = value
    b.write()
    cid, _ = t.create(b)
    t.start(cid)
    pid = t.state(cid)["pid"]
    # a mount made on the host side under the rootfs after the container started
    target = os.path.join(b.rootfs, "mnt", "from-host")
    t.host_mount("tmpfs", target, "tmpfs", 0, "size=64k")
    time.sleep(0.05)
    mi = parse_mountinfo(read(f"/proc/{pid}/mountinfo", ""))
    root = top_mount(mi, "/")
    seen = any(m["mountpoint"] == "/mnt/from-host" for m in mi)
    return root, seen


@spec_test(f"{CL}#rootfs-mount-propagation", "MUST", "`shared`: the rootfs mount belongs to a new peer group.",
           name="rootfs_prop_shared")
def rootfs_prop_shared(t):
    root, _ = _rootfs_prop(t, "shared")
    if not root or not any(o.startswith("shared:") for o in root["optional"]):
        raise Fail(f"/ propagation tags: {root and root['optional']}")


@spec_test(f"{CL}#rootfs-mount-propagation", "MUST", "`slave`: the rootfs mount receives propagation events from "
           "the host (e.g. if something is mounted on the host it will also appear in the container) but not the "
           "other way around.", name="rootfs_prop_slave")
def rootfs_prop_slave(t):
    root, seen = _rootfs_prop(t, "slave")
    if not root or not any(o.startswith("master:") for o in root["optional"]):
        raise Fail(f"/ propagation tags: {root and root['optional']}")
    if not seen:
        raise Fail("a mount made on the host under the rootfs did not appear in the container")


@spec_test(f"{CL}#rootfs-mount-propagation", "MUST", "`private`: the rootfs mount doesn't receive mount propagation "
           "events from the host.", name="rootfs_prop_private")
def rootfs_prop_private(t):
    root, seen = _rootfs_prop(t, "private")
    if not root or any(o.startswith(("shared:", "master:")) for o in root["optional"]):
        raise Fail(f"/ propagation tags: {root and root['optional']}")
    if seen:
        raise Fail("a mount made on the host under the rootfs appeared in the container")


@spec_test(f"{CL}#rootfs-mount-propagation", "MUST", "`unbindable`: the rootfs mount is a private mount that cannot "
           "be bind-mounted.", name="rootfs_prop_unbindable")
def rootfs_prop_unbindable(t):
    root, seen = _rootfs_prop(t, "unbindable")
    if not root or "unbindable" not in root["optional"]:
        raise Fail(f"/ propagation tags: {root and root['optional']}")
