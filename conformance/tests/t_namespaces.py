"""config-linux.md#namespaces and #user-namespace-mappings, #offset-for-time-namespace."""
import os
import time

from conformance.harness import Fail, Skip, spec_test, ns_inode, parse_multi, mountinfo
from conformance.tests.common import read

CL = "config-linux.md"
# spec namespace type -> /proc/<pid>/ns name
PROC = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts", "user": "user",
        "cgroup": "cgroup", "time": "time"}
UNSHARE = {"pid": ["--pid", "--fork"], "network": ["--net"], "mount": ["--mount"], "ipc": ["--ipc"],
           "uts": ["--uts"], "user": ["--user"], "cgroup": ["--cgroup"],
           "time": ["--time", "--fork"]}


def userns(b, base=100000, size=65536):
    b.set_ns("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": base, "size": size}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": base, "size": size}]
    b.cfg["mounts"] = [m for m in b.cfg["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    return b


def need_ns(t, typ):
    if not t.host.has_ns(PROC[typ]):
        raise Skip(f"this kernel has no {typ} namespaces (/proc/self/ns/{PROC[typ]})")


def container_ns(t, b):
    """Create (not start) the container and return {type: inode} of its process."""
    b.write()
    cid, _ = t.create(b)
    pid = t.pids.get(cid) or t.state(cid)["pid"]
    return cid, pid, {typ: ns_inode(pid, p) for typ, p in PROC.items()}


def mine():
    return {typ: ns_inode("self", p) for typ, p in PROC.items()}


@spec_test(f"{CL}#namespaces", "MUST", "If `path` is not specified, the runtime MUST create a new container "
           "namespace of type `type`.")
def ns_new_when_no_path(t):
    b = t.checker_bundle("pause")
    _, _, got = container_ns(t, b)
    me = mine()
    same = [typ for typ in ("pid", "network", "ipc", "uts", "mount") if got[typ] == me[typ]]
    if same:
        raise Fail(f"no new namespace for: {', '.join(same)}")


@spec_test(f"{CL}#namespaces", "MUST", "If a namespace type is not specified in the `namespaces` array, the "
           "container MUST inherit the runtime namespace of that type.")
def ns_inherit_when_absent(t):
    b = t.checker_bundle("pause")
    b.linux["namespaces"] = [{"type": "mount"}]
    # the container shares the host network/uts: no hostname, no sysfs of its own
    b.cfg.pop("hostname", None)
    b.cfg["mounts"] = [m for m in b.cfg["mounts"] if m["destination"] not in ("/sys", "/sys/fs/cgroup", "/dev/mqueue")]
    _, _, got = container_ns(t, b)
    me = mine()
    diff = [typ for typ in ("pid", "network", "ipc", "uts", "user", "cgroup", "time")
            if me[typ] and got[typ] != me[typ]]
    if diff:
        raise Fail(f"not inherited from the runtime: {', '.join(diff)}")


def _semantics(typ):
    return {
        "pid": "`pid` processes inside the container will only be able to see other processes inside the same "
               "container or inside the same pid namespace.",
        "network": "`network` the container will have its own network stack.",
        "mount": "`mount` the container will have an isolated mount table.",
        "ipc": "`ipc` processes inside the container will only be able to communicate to other processes "
               "inside the same container via system level IPC.",
        "uts": "`uts` the container will be able to have its own hostname and domain name.",
        "user": "`user` the container will be able to remap user and group IDs from the host to local users "
                "and groups within the container.",
        "cgroup": "`cgroup` the container will have an isolated view of the cgroup hierarchy.",
        "time": "`time` the container will be able to have its own clocks.",
    }[typ]


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("pid"))
def ns_type_pid(t):
    b = t.bundle(["/bin/checker", "multi", "pid", "::", "ls", "/proc"])
    b.write()
    sec = parse_multi(t.run_ok(b))
    if "pid=1 " not in sec.get("pid", "") + " ":
        raise Fail(f"container process is not pid 1 of a new pid namespace: {sec.get('pid')}")
    pids = [x for x in sec.get("ls /proc", "").split() if x.isdigit()]
    if len(pids) > 3:
        raise Fail(f"the container sees {len(pids)} processes: {pids[:10]}")


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("network"))
def ns_type_network(t):
    out = t.probe(None, "cat", "/proc/net/dev")
    ifs = [l.split(":")[0].strip() for l in out.splitlines()[2:] if ":" in l]
    if ifs != ["lo"]:
        raise Fail(f"the container sees interfaces {ifs}, expected only lo")


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("mount"))
def ns_type_mount(t):
    b = t.checker_bundle("pause")
    b.add_mount({"destination": "/mnt/private", "type": "tmpfs", "source": "tmpfs"})
    _, pid, got = container_ns(t, b)
    if got["mount"] == mine()["mount"]:
        raise Fail("the container shares the runtime's mount namespace")
    if any(m["mountpoint"].endswith("/mnt/private") for m in mountinfo()):
        raise Fail("a container mount is visible in the runtime's mount table")


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("ipc"))
def ns_type_ipc(t):
    b = t.checker_bundle("pause")
    _, _, got = container_ns(t, b)
    if got["ipc"] == mine()["ipc"]:
        raise Fail("the container shares the runtime's IPC namespace")


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("uts"))
def ns_type_uts(t):
    def m(b):
        b.cfg["hostname"] = "cf-uts-test"
    out = t.probe(m, "uname")
    if "nodename=cf-uts-test" not in out:
        raise Fail(f"hostname inside: {out!r}")
    if os.uname().nodename == "cf-uts-test":
        raise Fail("the runtime's hostname changed")


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("user"))
def ns_type_user(t):
    need_ns(t, "user")
    out = t.probe(userns, "multi", "cat", "/proc/self/uid_map", "::", "ids", rootfs="copy")
    sec = parse_multi(out)
    rows = [l.split() for l in sec.get("cat /proc/self/uid_map", "").splitlines()]
    if rows != [["0", "100000", "65536"]]:
        raise Fail(f"uid_map inside is {rows}")
    if not sec.get("ids", "").startswith("uid=0,0,0"):
        raise Fail(f"ids inside: {sec.get('ids')}")


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("cgroup"))
def ns_type_cgroup(t):
    need_ns(t, "cgroup")
    out = t.probe(lambda b: b.set_ns("cgroup"), "cgroup")
    paths = {l.split(":", 2)[2] for l in out.splitlines() if l.count(":") >= 2}
    if paths != {"/"}:
        raise Fail(f"/proc/self/cgroup inside shows {sorted(paths)}, expected only '/' in a new cgroup namespace")


@spec_test(f"{CL}#namespaces", "SHOULD", _semantics("time"))
def ns_type_time(t):
    need_ns(t, "time")
    off = 10_000_000

    def m(b):
        b.set_ns("time")
        b.linux["timeOffsets"] = {"monotonic": {"secs": off, "nanosecs": 0},
                                  "boottime": {"secs": off, "nanosecs": 0}}
    out = t.probe(m, "clocks")
    host = time.clock_gettime(time.CLOCK_MONOTONIC)
    got = int(out.split("monotonic=")[1].split()[0]) if "monotonic=" in out else None
    if got is None or abs(got - host - off) > 60:
        raise Fail(f"monotonic clock inside {got}, host {int(host)}, configured offset {off}")


@spec_test(f"{CL}#offset-for-time-namespace", "MUST", "`timeOffsets` (object, OPTIONAL) sets the offset for "
           "Time Namespace: `secs` is the offset of clock (in seconds) in the container.")
def time_offsets_boottime(t):
    need_ns(t, "time")
    off = 20_000_000

    def m(b):
        b.set_ns("time")
        b.linux["timeOffsets"] = {"boottime": {"secs": off, "nanosecs": 0}}
    out = t.probe(m, "clocks")
    host = time.clock_gettime(time.CLOCK_BOOTTIME)
    got = int(out.split("boottime=")[1].split()[0]) if "boottime=" in out else None
    if got is None or abs(got - host - off) > 60:
        raise Fail(f"boottime clock inside {got}, host {int(host)}, configured offset {off}")


def _by_path(typ):
    @spec_test(f"{CL}#namespaces", "MUST", "The runtime MUST place the container process in the namespace "
               "associated with that `path`.", name=f"ns_path_{typ}")
    def _t(t):
        need_ns(t, typ)
        holder = t.ns_holder(*UNSHARE[typ])
        if typ == "user":   # map root to root (setgroups stays allowed: we are root outside)
            for f in ("uid_map", "gid_map"):
                with open(f"/proc/{holder}/{f}", "w") as fh:
                    fh.write("0 0 1\n")
        want = ns_inode(holder, PROC[typ])
        b = t.checker_bundle("pause")
        b.set_ns(typ, f"/proc/{holder}/ns/{PROC[typ]}")
        if typ == "user":
            b.linux["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
            b.linux["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
            b.cfg["mounts"] = [m for m in b.cfg["mounts"] if m["destination"] not in ("/sys/fs/cgroup",)]
            b.cfg["mounts"] = [dict(m, options=[o for o in m.get("options", []) if o != "gid=5"])
                               for m in b.cfg["mounts"]]
        b.write()
        cid, _ = t.create(b)
        pid = t.pids.get(cid) or t.state(cid)["pid"]
        got = ns_inode(pid, PROC[typ])
        if got != want:
            raise Fail(f"container {typ} namespace {got}, path's namespace {want}")
    return _t


for _typ in ("network", "ipc", "uts", "pid", "mount", "cgroup", "user", "time"):
    _by_path(_typ)


@spec_test(f"{CL}#namespaces", "MUST", "The runtime MUST generate an error if `path` is not associated with a "
           "namespace of type `type`.")
def ns_path_wrong_type(t):
    holder = t.ns_holder("--uts")
    b = t.checker_bundle("pause")
    b.set_ns("network", f"/proc/{holder}/ns/uts")
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "a network namespace path that is a UTS namespace")


@spec_test(f"{CL}#namespaces", "MUST", "The runtime MUST generate an error if `path` is not associated with a "
           "namespace of type `type`.", name="ns_path_not_a_namespace")
def ns_path_not_a_namespace(t):
    f = os.path.join(t.dir, "not-a-namespace")
    open(f, "w").close()
    b = t.checker_bundle("pause")
    b.set_ns("ipc", f)
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "an ipc namespace path that is a regular file")


@spec_test(f"{CL}#namespaces", "MUST", "`path` ... This value MUST be an absolute path in the runtime mount "
           "namespace.")
def ns_path_relative(t):
    holder = t.ns_holder("--uts")
    b = t.checker_bundle("pause")
    b.set_ns("uts", f"proc/{holder}/ns/uts")
    b.write()
    cid, r = t.create(b, expect_ok=False, cwd="/")
    t.expect_error(r, "a relative namespace path")


@spec_test(f"{CL}#namespaces", "MUST", "If a `namespaces` field contains duplicated namespaces with same "
           "`type`, the runtime MUST generate an error.")
def ns_duplicate(t):
    b = t.checker_bundle("pause")
    b.linux["namespaces"].append({"type": "ipc"})
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "two ipc namespace entries")


@spec_test(f"{CL}#namespaces", "MUST", "Runtimes MUST generate an error when invalid or unsupported values are "
           "encountered (an unknown namespace `type`).")
def ns_unknown_type(t):
    b = t.checker_bundle("pause")
    b.linux["namespaces"].append({"type": "conformance-bogus"})
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "an unknown namespace type")


@spec_test(f"{CL}#user-namespace-mappings", "MUST", "`uidMappings` (array of objects, OPTIONAL) describes the "
           "user namespace uid mappings from the host to the container.")
def userns_uid_map(t):
    need_ns(t, "user")

    def m(b):
        userns(b)
        b.linux["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 1000},
                                  {"containerID": 1000, "hostID": 300000, "size": 64536}]
    out = t.probe(m, "cat", "/proc/self/uid_map", rootfs="copy")
    rows = sorted(tuple(l.split()) for l in out.splitlines() if l.strip())
    want = [("0", "200000", "1000"), ("1000", "300000", "64536")]
    if rows != want:
        raise Fail(f"uid_map {rows}, configured {want}")


@spec_test(f"{CL}#user-namespace-mappings", "MUST", "`gidMappings` (array of objects, OPTIONAL) describes the "
           "user namespace gid mappings from the host to the container.")
def userns_gid_map(t):
    need_ns(t, "user")

    def m(b):
        userns(b)
        b.linux["gidMappings"] = [{"containerID": 0, "hostID": 400000, "size": 65536}]
    out = t.probe(m, "cat", "/proc/self/gid_map", rootfs="copy")
    rows = [tuple(l.split()) for l in out.splitlines() if l.strip()]
    if rows != [("0", "400000", "65536")]:
        raise Fail(f"gid_map {rows}")


@spec_test(f"{CL}#user-namespace-mappings", "SHOULD NOT", "The runtime SHOULD NOT modify the ownership of "
           "referenced filesystems to realize the mapping.")
def userns_no_chown(t):
    need_ns(t, "user")
    b = t.checker_bundle("exit", "0", rootfs="copy")
    userns(b)
    b.write()
    before = {p: (os.lstat(os.path.join(b.rootfs, p)).st_uid, os.lstat(os.path.join(b.rootfs, p)).st_gid)
              for p in ("bin", "bin/checker", "etc/passwd", ".")}
    t.run_ok(b)
    after = {p: (os.lstat(os.path.join(b.rootfs, p)).st_uid, os.lstat(os.path.join(b.rootfs, p)).st_gid)
             for p in before}
    if before != after:
        raise Fail(f"rootfs ownership changed: {before} -> {after}")
