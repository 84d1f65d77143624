"""pyruntime.validation: the semantic checks, each with its exact one-line message."""
import copy
import json
import os
import pathlib

import pytest

from pyruntime import validation as v
from pyruntime.errors import ConfigError, InvalidConfig

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "configs"
RUNC = json.loads((FIXTURES / "runc-spec.json").read_text())


def cfg(**changes):
    """The `runc spec` config with top-level changes (None deletes a key)."""
    c = copy.deepcopy(RUNC)
    for k, val in changes.items():
        if val is None:
            c.pop(k, None)
        else:
            c[k] = val
    return c


def with_linux(**changes):
    c = cfg()
    for k, val in changes.items():
        if val is None:
            c["linux"].pop(k, None)
        else:
            c["linux"][k] = val
    return c


def with_process(**changes):
    c = cfg()
    for k, val in changes.items():
        if val is None:
            c["process"].pop(k, None)
        else:
            c["process"][k] = val
    return c


def msgs(c, bundle=None, create=False):
    errs = (v.validate_for_create if create else v.validate_config)(c, bundle)
    assert all(isinstance(e, ConfigError) for e in errs)
    return [str(e) for e in errs]


def warnings(c):
    return [str(e) for e in v.config_warnings(c)]


# ------------------------------------------------------------- real configs --

@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_real_configs_are_valid(path):
    c = json.loads(path.read_text())
    assert msgs(c) == []
    assert warnings(c) == []
    if c.get("process", {}).get("args"):
        assert msgs(c, create=True) == []


def test_containerd_default_has_no_args():
    c = json.loads((FIXTURES / "containerd-default.json").read_text())
    assert msgs(c, create=True) == ["config.json: process.args: must be a non-empty array"]


def test_specgen_default_is_valid():
    from pyruntime.specgen import default_config
    for rootless in (False, True):
        assert msgs(default_config(rootless=rootless), create=True) == []


# ------------------------------------------------------------------ format --

def test_error_format():
    errs = v.validate_for_create(with_process(args=[]), None)
    assert errs == [ConfigError("process.args", "must be a non-empty array")]
    assert str(errs[0]) == "config.json: process.args: must be a non-empty array"
    assert str(InvalidConfig(errs)) == "config.json: process.args: must be a non-empty array"


def test_file_name_is_carried():
    errs = v.validate_config(cfg(ociVersion=1), None, file="/b/config.json")
    assert [str(e) for e in errs] == ["/b/config.json: ociVersion: must be a string"]


def test_not_an_object():
    assert msgs([]) == ["config.json: must be an object"]
    assert msgs(None, create=True) == ["config.json: must be an object"]


def test_all_problems_at_once():
    c = with_process(cwd="relative", args=[])
    c["linux"]["namespaces"].append({"type": "pid"})
    c["hooks"] = {"poststop": [{"path": "rel"}]}
    c["mounts"][0]["destination"] = 7
    assert msgs(c, create=True) == [
        "config.json: mounts[0].destination: must be a string",
        "config.json: process.cwd: must be an absolute path",
        "config.json: hooks.poststop[0].path: must be an absolute path",
        "config.json: linux.namespaces[5].type: duplicate namespace type 'pid'",
        "config.json: process.args: must be a non-empty array",
    ]


# --------------------------------------------------------------- top level --

@pytest.mark.parametrize("version,expected", [
    ("1.0.0", None), ("1.3.0", None), ("1.0.2-dev", None), ("1.2.0-rc.1+build.5", None),
    ("1.9.0", None),
    ("1.0", "must be a SemVer version like 1.3.0, got '1.0'"),
    ("v1.0.0", "must be a SemVer version like 1.3.0, got 'v1.0.0'"),
    ("01.0.0", "must be a SemVer version like 1.3.0 (no leading zeros), got '01.0.0'"),
    ("1.0.0-", "must be a SemVer version like 1.3.0 (bad pre-release part), got '1.0.0-'"),
    ("1.0.0+a..b", "must be a SemVer version like 1.3.0 (bad build part), got '1.0.0+a..b'"),
    ("2.0.0", "version 2.0.0 is not supported (this runtime implements 1.x)"),
    ("0.1.0", "version 0.1.0 is not supported (this runtime implements 1.x)"),
])
def test_oci_version(version, expected):
    assert msgs(cfg(ociVersion=version)) == ([f"config.json: ociVersion: {expected}"]
                                             if expected else [])


def test_oci_version_required():
    assert msgs(cfg(ociVersion=None)) == ["config.json: ociVersion: is required"]


def test_root_required():
    assert msgs(cfg(root=None)) == ["config.json: root: is required"]
    assert msgs(cfg(root={})) == ["config.json: root.path: is required"]
    assert msgs(cfg(root={"path": ""})) == ["config.json: root.path: must not be empty"]


def test_root_directory_checked_against_bundle(tmp_path):
    assert msgs(cfg(), str(tmp_path)) == [
        f"config.json: root.path: directory {tmp_path}/rootfs does not exist"]
    (tmp_path / "rootfs").write_text("")
    assert msgs(cfg(), str(tmp_path)) == [
        f"config.json: root.path: {tmp_path}/rootfs is not a directory"]
    (tmp_path / "rootfs").unlink()
    (tmp_path / "rootfs").mkdir()
    assert msgs(cfg(), str(tmp_path)) == []
    assert msgs(cfg(), str(tmp_path) + "/") == []
    assert msgs(cfg(root={"path": str(tmp_path / "rootfs")}), "/nonexistent") == []
    assert msgs(cfg(root={"path": "/nonexistent/x"}), str(tmp_path)) == [
        "config.json: root.path: directory /nonexistent/x does not exist"]
    os.symlink("rootfs", tmp_path / "link")
    assert msgs(cfg(root={"path": "link"}), str(tmp_path)) == []


def test_no_fs_check_without_bundle():
    assert msgs(cfg(root={"path": "/nonexistent/x"})) == []


def test_process_optional_for_config_required_for_create():
    assert msgs(cfg(process=None)) == []
    assert msgs(cfg(process=None), create=True) == ["config.json: process: is required"]
    assert msgs(with_process(args=None), create=True) == [
        "config.json: process.args: must be a non-empty array"]
    assert msgs(with_process(args=[]), create=True) == [
        "config.json: process.args: must be a non-empty array"]
    assert msgs(with_process(args="sh"), create=True) == [
        "config.json: process.args: must be an array"]


def test_annotations():
    assert msgs(cfg(annotations={"a": "b", "": "x"})) == [
        "config.json: annotations: keys must not be empty"]
    assert msgs(cfg(annotations={"com.example.n": 1})) == [
        'config.json: annotations["com.example.n"]: must be a string']
    assert msgs(cfg(annotations=[])) == ["config.json: annotations: must be an object"]


def test_hostname_needs_uts_namespace():
    c = cfg()
    c["linux"]["namespaces"] = [ns for ns in c["linux"]["namespaces"] if ns["type"] != "uts"]
    assert msgs(c) == [
        "config.json: hostname: cannot be set without a UTS namespace in linux.namespaces"]
    c["domainname"] = "example.org"
    assert msgs(c)[-1] == ("config.json: domainname: cannot be set without a UTS namespace "
                           "in linux.namespaces")
    del c["hostname"], c["domainname"]
    assert msgs(c) == []


# ------------------------------------------------------------------ mounts --

def test_mount_destination():
    c = cfg()
    c["mounts"].append({"destination": "data", "type": "tmpfs", "source": "tmpfs"})
    assert msgs(c) == []  # relative: deprecated, taken relative to /
    assert warnings(c) == ["config.json: mounts[7].destination: relative destinations are "
                           "deprecated; taken relative to /"]
    c["mounts"][7]["destination"] = ""
    assert msgs(c) == ["config.json: mounts[7].destination: must not be empty"]
    del c["mounts"][7]["destination"]
    assert msgs(c) == ["config.json: mounts[7].destination: is required"]


def test_idmapped_mounts():
    m = {"destination": "/data", "source": "/src", "type": "bind", "options": ["rbind", "idmap"],
         "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
         "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}
    assert msgs(cfg(mounts=[m])) == []
    m1 = dict(m)
    del m1["gidMappings"]
    assert msgs(cfg(mounts=[m1])) == [
        "config.json: mounts[0].gidMappings: is required with uidMappings"]
    m2 = dict(m)
    del m2["uidMappings"], m2["gidMappings"]
    assert msgs(cfg(mounts=[m2])) == [
        "config.json: mounts[0].options: idmap needs uidMappings and gidMappings or a user "
        "namespace"]
    # with a user namespace the container's mapping may be used
    c = json.loads((FIXTURES / "runc-spec-rootless.json").read_text())
    c["mounts"] = [m2]
    assert msgs(c) == []
    m3 = dict(m, options=["rbind"])
    assert msgs(cfg(mounts=[m3])) == []
    assert warnings(cfg(mounts=[m3])) == [
        "config.json: mounts[0].options: uidMappings without idmap or ridmap"]
    m4 = dict(m, uidMappings=[{"containerID": 0, "hostID": 1000, "size": 0}])
    assert msgs(cfg(mounts=[m4])) == ["config.json: mounts[0].uidMappings[0].size: must be at least 1"]


# ----------------------------------------------------------------- process --

def test_cwd_absolute():
    assert msgs(with_process(cwd="tmp")) == ["config.json: process.cwd: must be an absolute path"]
    assert msgs(with_process(cwd=None)) == ["config.json: process.cwd: is required"]


def test_unknown_capability_is_a_warning():
    c = with_process(capabilities={"bounding": ["CAP_KILL", "CAP_FOO"],
                                   "ambient": ["CAP_CHECKPOINT_RESTORE"]})
    assert msgs(c) == []
    assert warnings(c) == [
        "config.json: process.capabilities.bounding[1]: unknown capability 'CAP_FOO', ignored"]
    assert msgs(with_process(capabilities={"bounding": [1]})) == [
        "config.json: process.capabilities.bounding[0]: must be a string"]


def test_capability_list():
    assert len(v.CAPABILITIES) == 41
    assert v.CAPABILITIES[0] == "CAP_CHOWN" and v.CAPABILITIES[-1] == "CAP_CHECKPOINT_RESTORE"
    assert v.CAPABILITIES.index("CAP_SYS_ADMIN") == 21


def test_rlimits():
    rl = lambda t, soft=1, hard=1: {"type": t, "soft": soft, "hard": hard}  # noqa: E731
    assert msgs(with_process(rlimits=[rl("RLIMIT_NOFILE"), rl("RLIMIT_CPU")])) == []
    assert msgs(with_process(rlimits=[rl("RLIMIT_FOO")])) == [
        "config.json: process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'"]
    assert msgs(with_process(rlimits=[rl("NOFILE")])) == [
        "config.json: process.rlimits[0].type: must be an RLIMIT_* name"]
    assert msgs(with_process(rlimits=[rl("RLIMIT_NOFILE"), rl("RLIMIT_CPU"),
                                      rl("RLIMIT_NOFILE")])) == [
        "config.json: process.rlimits[2].type: duplicate rlimit RLIMIT_NOFILE (also rlimits[0])"]
    assert msgs(with_process(rlimits=[rl("RLIMIT_NOFILE", 2048, 1024)])) == [
        "config.json: process.rlimits[0].soft: must not exceed hard (1024)"]
    assert msgs(with_process(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 1}])) == [
        "config.json: process.rlimits[0].hard: is required"]
    assert msgs(with_process(rlimits=[rl("RLIMIT_NOFILE", -1)])) == [
        "config.json: process.rlimits[0].soft: must be between 0 and 18446744073709551615"]
    assert set(v.RLIMITS) >= {"RLIMIT_NOFILE", "RLIMIT_RTTIME", "RLIMIT_MSGQUEUE"}


def test_user_ids():
    assert msgs(with_process(user={"uid": 1.0, "gid": 0})) == [
        "config.json: process.user.uid: must be an integer"]
    assert msgs(with_process(user={"uid": 0, "gid": 2 ** 32})) == [
        "config.json: process.user.gid: must be between 0 and 4294967295"]


def test_io_priority():
    assert msgs(with_process(ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 4})) == []
    assert msgs(with_process(ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 8})) == [
        "config.json: process.ioPriority.priority: must be between 0 and 7"]
    assert msgs(with_process(ioPriority={"class": "IOPRIO_CLASS_X"})) == [
        "config.json: process.ioPriority.class: must be one of: IOPRIO_CLASS_RT, "
        "IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE"]


def test_scheduler():
    assert msgs(with_process(scheduler={"policy": "SCHED_FIFO", "priority": 10})) == []
    assert msgs(with_process(scheduler={"policy": "SCHED_OTHER", "nice": 20})) == [
        "config.json: process.scheduler.nice: must be between -20 and 19"]
    assert msgs(with_process(scheduler={"policy": "SCHED_OTHER", "priority": 5})) == [
        "config.json: process.scheduler.priority: must be 0 unless the policy is SCHED_FIFO "
        "or SCHED_RR"]
    assert msgs(with_process(scheduler={"policy": "SCHED_RR", "priority": 100})) == [
        "config.json: process.scheduler.priority: must be between 1 and 99 for SCHED_RR"]
    assert msgs(with_process(scheduler={"policy": "SCHED_BATCH", "runtime": 5})) == [
        "config.json: process.scheduler.runtime: is only for SCHED_DEADLINE"]
    assert msgs(with_process(scheduler={"policy": "SCHED_DEADLINE", "runtime": 5,
                                        "deadline": 6, "period": 7})) == []
    assert msgs(with_process(scheduler={"nice": 1})) == [
        "config.json: process.scheduler.policy: is required"]


def test_exec_cpu_affinity():
    assert msgs(with_process(execCPUAffinity={"initial": "0-3,7", "final": ""})) == []
    assert msgs(with_process(execCPUAffinity={"initial": "3-1"})) == [
        "config.json: process.execCPUAffinity.initial: must be a CPU list like 0-3,7"]
    assert msgs(with_process(execCPUAffinity={"final": "0,,1"})) == [
        "config.json: process.execCPUAffinity.final: must be a CPU list like 0-3,7"]
    assert msgs(with_process(execCPUAffinity={"final": "a"})) == [
        "config.json: process.execCPUAffinity.final: must be a CPU list like 0-3,7"]


def test_parse_cpu_list():
    assert v.parse_cpu_list("0-3, 7") == [(0, 3), (7, 7)]
    assert v.parse_cpu_list("") == []
    for bad in ("-", "1-", "-1", "1-2-3", "x", "1,", "٣"):
        assert v.parse_cpu_list(bad) is None, bad


# ------------------------------------------------------------------- hooks --

def test_hooks():
    ok = {"path": "/usr/bin/hook", "args": ["hook", "x"], "env": ["A=1"], "timeout": 5}
    assert msgs(cfg(hooks={"createRuntime": [ok], "startContainer": [ok]})) == []
    assert msgs(cfg(hooks={"prestart": [dict(ok, path="hook")]})) == [
        "config.json: hooks.prestart[0].path: must be an absolute path"]
    assert msgs(cfg(hooks={"poststart": [dict(ok, timeout=0)]})) == [
        "config.json: hooks.poststart[0].timeout: must be at least 1"]
    assert msgs(cfg(hooks={"poststop": [{"args": []}]})) == [
        "config.json: hooks.poststop[0].path: is required"]
    # unknown hook names are extensions: ignored
    assert msgs(cfg(hooks={"someday": [{"path": "rel"}]})) == []


# ------------------------------------------------------------ namespaces --

def test_namespaces():
    c = cfg()
    c["linux"]["namespaces"].append({"type": "network"})
    assert msgs(c) == ["config.json: linux.namespaces[5].type: duplicate namespace type "
                       "'network'"]
    assert msgs(with_linux(namespaces=[{"type": "network", "path": "var/run/netns/x"}])) == [
        "config.json: linux.namespaces[0].path: must be an absolute path",
        "config.json: hostname: cannot be set without a UTS namespace in linux.namespaces"]
    assert msgs(with_linux(namespaces=[{"type": "uts"}, {"type": "bogus"}])) == [
        "config.json: linux.namespaces[1].type: must be one of: mount, pid, network, uts, ipc, "
        "user, cgroup, time"]


def test_user_namespace_needs_mappings():
    c = with_linux(namespaces=RUNC["linux"]["namespaces"] + [{"type": "user"}])
    assert msgs(c) == ["config.json: linux.uidMappings: is required with a new user namespace",
                       "config.json: linux.gidMappings: is required with a new user namespace"]
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    assert msgs(c) == ["config.json: linux.gidMappings: is required with a new user namespace"]
    c["linux"]["gidMappings"] = []
    assert msgs(c) == ["config.json: linux.gidMappings: is required with a new user namespace"]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 0}]
    assert msgs(c) == ["config.json: linux.gidMappings[0].size: must be at least 1"]
    # joining an existing user namespace: no mappings needed
    joined = with_linux(namespaces=RUNC["linux"]["namespaces"] + [
        {"type": "user", "path": "/proc/1/ns/user"}])
    assert msgs(joined) == []


def test_mappings_need_user_namespace():
    c = with_linux(uidMappings=[{"containerID": 0, "hostID": 1000, "size": 1}],
                   gidMappings=[{"containerID": 0, "hostID": 1000, "size": 1}])
    assert msgs(c) == [
        "config.json: linux.uidMappings: needs a user namespace in linux.namespaces",
        "config.json: linux.gidMappings: needs a user namespace in linux.namespaces"]
    assert msgs(with_linux(uidMappings=[{"containerID": 0, "hostID": 1}])) == [
        "config.json: linux.uidMappings[0].size: is required",
        "config.json: linux.uidMappings: needs a user namespace in linux.namespaces"]


def test_time_offsets_need_time_namespace():
    offs = {"monotonic": {"secs": 10, "nanosecs": 5}}
    assert msgs(with_linux(timeOffsets=offs)) == [
        "config.json: linux.timeOffsets: needs a new time namespace in linux.namespaces"]
    c = with_linux(timeOffsets=offs, namespaces=RUNC["linux"]["namespaces"] + [{"type": "time"}])
    assert msgs(c) == []
    assert msgs(with_linux(timeOffsets={"boottime": {"nanosecs": -1}})) == [
        "config.json: linux.timeOffsets.boottime.nanosecs: must be between 0 and 4294967295",
        "config.json: linux.timeOffsets: needs a new time namespace in linux.namespaces"]


# ------------------------------------------------------------------ devices --

def test_devices():
    fuse = {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
            "uid": 0, "gid": 0}
    assert msgs(with_linux(devices=[fuse, {"path": "/dev/fifo", "type": "p"}])) == []
    assert msgs(with_linux(devices=[dict(fuse, path="dev/fuse")])) == [
        "config.json: linux.devices[0].path: must be an absolute path"]
    assert msgs(with_linux(devices=[dict(fuse, type="x")])) == [
        "config.json: linux.devices[0].type: must be one of: c, b, u, p"]
    nomajor = dict(fuse)
    del nomajor["major"], nomajor["minor"]
    assert msgs(with_linux(devices=[nomajor])) == [
        "config.json: linux.devices[0].major: is required for type c",
        "config.json: linux.devices[0].minor: is required for type c"]
    # podman sends the file type bits: uint32, as config-linux.md says
    assert msgs(with_linux(devices=[dict(fuse, fileMode=8576)])) == []


def test_net_devices():
    nets = RUNC["linux"]["namespaces"]
    assert msgs(with_linux(netDevices={"eth0": {"name": "ceth%d"}})) == []
    assert msgs(with_linux(netDevices={"eth0": {}},
                           namespaces=[n for n in nets if n["type"] != "network"])) == [
        "config.json: linux.netDevices: needs a network namespace in linux.namespaces"]
    assert msgs(with_linux(netDevices={"eth/0": {"name": "averyveryverylongname"}})) == [
        "config.json: linux.netDevices[\"eth/0\"]: invalid interface name 'eth/0'",
        "config.json: linux.netDevices[\"eth/0\"].name: invalid interface name "
        "'averyveryverylongname'"]
    assert msgs(with_linux(netDevices={"eth0": {"name": 23}})) == [
        "config.json: linux.netDevices.eth0.name: must be a string"]


# ---------------------------------------------------------------- resources --

def test_device_cgroup_rules():
    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1,
                                                  "minor": 3, "access": "rw"}]
    c = cfg()
    c["linux"]["resources"]["devices"] = rules
    assert msgs(c) == []
    c["linux"]["resources"]["devices"] = [{"allow": True, "type": "x", "access": "rwx"},
                                          {"access": "r"}]
    assert msgs(c) == [  # the schema's problems first, then the semantic ones
        "config.json: linux.resources.devices[1].allow: is required",
        "config.json: linux.resources.devices[0].type: must be one of: a, c, b",
        "config.json: linux.resources.devices[0].access: must be made of r, w and m"]


def resources(**r):
    return with_linux(resources=r)


def test_resource_rules():
    assert msgs(resources(cpu={"cpus": "0-1", "mems": "0", "shares": 1024,
                               "quota": -1, "period": 100000})) == []
    assert msgs(resources(cpu={"cpus": "0-a"})) == [
        "config.json: linux.resources.cpu.cpus: must be a list like 0-3,7"]
    assert msgs(resources(blockIO={"weightDevice": [{"major": 8, "minor": 0}]})) == [
        "config.json: linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight"]
    assert msgs(resources(blockIO={"weight": 70000})) == [
        "config.json: linux.resources.blockIO.weight: must be between 0 and 65535"]
    assert msgs(resources(rdma={"mlx5_1": {}})) == [
        "config.json: linux.resources.rdma.mlx5_1: needs hcaHandles or hcaObjects"]
    assert msgs(resources(hugepageLimits=[{"pageSize": "2MB", "limit": 1}])) == []
    assert msgs(resources(hugepageLimits=[{"pageSize": "2MB\n", "limit": 1}])) == [
        "config.json: linux.resources.hugepageLimits[0].pageSize: must be a page size like "
        "64KB, 2MB or 1GB"]
    assert msgs(resources(pids={})) == ["config.json: linux.resources.pids.limit: is required"]
    assert msgs(resources(unified={"memory.high": "1G", "": "x"})) == [
        "config.json: linux.resources.unified: keys must not be empty"]
    assert msgs(resources(memory={"limit": 1.5e9})) == [
        "config.json: linux.resources.memory.limit: must be an integer"]


def test_validate_resources():
    assert v.validate_resources({"memory": {"limit": 1 << 20}, "pids": {"limit": 10}}) == []
    assert [str(e) for e in v.validate_resources({"cpu": {"cpus": "x"}, "pids": {}},
                                                 file="stdin")] == [
        "stdin: pids.limit: is required", "stdin: cpu.cpus: must be a list like 0-3,7"]
    assert [str(e) for e in v.validate_resources([])] == ["resources.json: must be an object"]


# --------------------------------------------------------------- the rest --

def test_sysctl():
    assert msgs(with_linux(sysctl={"net.ipv4.ip_forward": "1"})) == []
    assert msgs(with_linux(sysctl={"net.ipv4.ip_forward": 1})) == [
        'config.json: linux.sysctl["net.ipv4.ip_forward"]: must be a string']
    assert msgs(with_linux(sysctl={"": "1"})) == ["config.json: linux.sysctl: keys must not "
                                                  "be empty"]


def test_masked_and_readonly_paths():
    assert msgs(with_linux(maskedPaths=["/proc/kcore", "proc/keys"],
                           readonlyPaths=["sys"])) == [
        "config.json: linux.maskedPaths[1]: must be an absolute path",
        "config.json: linux.readonlyPaths[0]: must be an absolute path"]


def test_cgroups_path_and_propagation():
    assert msgs(with_linux(cgroupsPath="/a/b", rootfsPropagation="rslave")) == [
        "config.json: linux.rootfsPropagation: must be one of: private, shared, slave, "
        "unbindable"]
    assert msgs(with_linux(cgroupsPath=5)) == ["config.json: linux.cgroupsPath: must be a string"]
    assert msgs(with_linux(cgroupsPath="system.slice:pyrt:abc")) == []


def test_seccomp():
    base = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    assert msgs(with_linux(seccomp=base)) == []
    s = copy.deepcopy(base)
    s["syscalls"].append({"names": ["mount"], "action": "SCMP_ACT_NOTIFY"})
    assert msgs(with_linux(seccomp=s)) == [
        "config.json: linux.seccomp.listenerPath: is required with SCMP_ACT_NOTIFY"]
    s["listenerPath"] = "/run/agent.sock"
    s["listenerMetadata"] = "x"
    assert msgs(with_linux(seccomp=s)) == []
    assert msgs(with_linux(seccomp=dict(base, listenerMetadata="x"))) == [
        "config.json: linux.seccomp.listenerMetadata: needs listenerPath"]
    assert msgs(with_linux(seccomp=dict(base, defaultAction="SCMP_ACT_NOTIFY",
                                        listenerPath="/s"))) == [
        "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default",
        "config.json: linux.seccomp.defaultErrnoRet: is only for SCMP_ACT_ERRNO and "
        "SCMP_ACT_TRACE"]
    s = copy.deepcopy(base)
    s["syscalls"][0]["errnoRet"] = 1
    s["syscalls"][0]["args"] = [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]
    assert msgs(with_linux(seccomp=s)) == [
        "config.json: linux.seccomp.syscalls[0].errnoRet: is only for SCMP_ACT_ERRNO and "
        "SCMP_ACT_TRACE",
        "config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5"]
    assert msgs(with_linux(seccomp={"syscalls": [{"names": [], "action": "SCMP_ACT_X"}]})) == [
        "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array",
        "config.json: linux.seccomp.syscalls[0].action: must be one of: SCMP_ACT_KILL, "
        "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, "
        "SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY",
        "config.json: linux.seccomp.defaultAction: is required"]


def test_intel_rdt():
    assert msgs(with_linux(intelRdt={"closID": "/", "schemata": ["L3:0=ff"],
                                     "memBwSchema": "MB:0=20"})) == []
    assert msgs(with_linux(intelRdt={"closID": "a/b", "schemata": ["L3:0=ff\nMB:0=1"]})) == [
        "config.json: linux.intelRdt.closID: must be a directory name, or /",
        "config.json: linux.intelRdt.schemata[0]: must be one line"]
    assert msgs(with_linux(intelRdt={"memBwSchema": "L3:0=1"})) == [
        "config.json: linux.intelRdt.memBwSchema: must start with MB: and be one line"]
    assert msgs(with_linux(intelRdt={"memBwSchema": "MB:0=1\n"})) == [
        "config.json: linux.intelRdt.memBwSchema: must start with MB: and be one line"]


def test_memory_policy():
    assert msgs(with_linux(memoryPolicy={"mode": "MPOL_BIND", "nodes": "0-1",
                                         "flags": ["MPOL_F_STATIC_NODES"]})) == []
    assert msgs(with_linux(memoryPolicy={"nodes": "0"})) == [
        "config.json: linux.memoryPolicy.mode: is required"]
    assert msgs(with_linux(memoryPolicy={"mode": "MPOL_BIND"})) == [
        "config.json: linux.memoryPolicy.nodes: is required for MPOL_BIND"]
    assert msgs(with_linux(memoryPolicy={"mode": "MPOL_LOCAL", "nodes": "1"})) == [
        "config.json: linux.memoryPolicy.nodes: must be empty for MPOL_LOCAL"]
    assert msgs(with_linux(memoryPolicy={"mode": "MPOL_PREFERRED", "nodes": "x"})) == [
        "config.json: linux.memoryPolicy.nodes: must be a node list like 0-3,7"]
    assert msgs(with_linux(memoryPolicy={"mode": "MPOL_X"})) == [
        "config.json: linux.memoryPolicy.mode: must be one of: MPOL_DEFAULT, MPOL_BIND, "
        "MPOL_INTERLEAVE, MPOL_WEIGHTED_INTERLEAVE, MPOL_PREFERRED, MPOL_PREFERRED_MANY, "
        "MPOL_LOCAL"]


def test_personality():
    assert msgs(with_linux(personality={"domain": "LINUX32"})) == []
    assert msgs(with_linux(personality={})) == [
        "config.json: linux.personality.domain: is required"]
    assert msgs(with_linux(personality={"domain": "LINUX", "flags": ["X"]})) == [
        "config.json: linux.personality.flags: no flags are supported"]


def test_non_linux_sections_are_checked_for_shape_only():
    assert msgs(cfg(windows={"layerFolders": ["C:\\layers"]})) == []
    assert msgs(cfg(solaris={"anet": [{"linkname": 1}]})) == [
        "config.json: solaris.anet[0].linkname: must be a string"]


# ------------------------------------------------------- process.json etc --

def test_validate_process():
    proc = copy.deepcopy(RUNC["process"])
    assert v.validate_process(proc) == []
    assert [str(e) for e in v.validate_process({"args": [], "cwd": "x"})] == [
        "process.json: cwd: must be an absolute path",
        "process.json: args: must be a non-empty array"]
    assert [str(e) for e in v.validate_process({"args": ["sh"]}, file="p.json")] == [
        "p.json: cwd: is required"]
    assert [str(e) for e in v.validate_process("x")] == ["process.json: must be an object"]
    bad = dict(proc, rlimits=[{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}], terminal="yes")
    assert [str(e) for e in v.validate_process(bad)] == [
        "process.json: terminal: must be a boolean",
        "process.json: rlimits[0].type: unknown rlimit 'RLIMIT_NOPE'"]


def test_validate_state():
    ok = {"ociVersion": "1.3.0", "id": "c1", "status": "running", "pid": 42,
          "bundle": "/b", "annotations": {}}
    assert v.validate_state(ok) == []
    assert v.validate_state(dict(ok, status="stopped", pid=0)) == []
    no_pid = dict(ok)
    del no_pid["pid"]
    assert [str(e) for e in v.validate_state(no_pid)] == [
        "state.json: pid: is required when status is running"]
    assert [str(e) for e in v.validate_state({"ociVersion": "x", "id": "", "status": "paused",
                                              "bundle": 1})] == [
        "state.json: status: must be one of: creating, created, running, stopped",
        "state.json: bundle: must be a string",
        "state.json: ociVersion: must be a SemVer version like 1.3.0",
        "state.json: id: must not be empty"]


def test_validate_features():
    from pyruntime.features import features
    assert v.validate_features(features()) == []
    assert [str(e) for e in v.validate_features({"ociVersionMin": "1.0.0"})] == [
        "features.json: ociVersionMax: is required"]
    assert [str(e) for e in v.validate_features(
        {"ociVersionMin": "1.0", "ociVersionMax": "1.3.0",
         "linux": {"capabilities": ["CAP_X", "cap_y"]}})] == [
        "features.json: linux.capabilities[1]: must be a CAP_* name",
        "features.json: ociVersionMin: must be a SemVer version like 1.3.0"]


def test_semver():
    assert v.semver_problem("1.0.0-alpha.1+001") is None
    assert v.semver_problem("1.0.0-01") is not None
    assert v.semver_problem("1.0.0-0a") is None
    assert v.semver_problem("1.0.0 ") is not None
