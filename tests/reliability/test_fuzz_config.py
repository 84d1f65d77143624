"""Fuzzing config.json (hypothesis): a valid default config, mutated (random
JSON put at random places, keys deleted or added, known fields set to odd
values), is run with `pyruntime run`. Every run ends in success or a one-line
error with a non-zero exit, never a traceback, and never leaves a half-made
container: nothing in --root, no mount, cgroup or process.

Mutations that could harm the test machine are neutralised first (see
``make_safe``): the process is always `true`, the rootfs always the bundle's,
no namespace is joined by path, no hook runs, no network device is moved, no
cgroupsPath is given (so no host cgroup is reconfigured), bind sources are a
scratch directory.

PYRT_FUZZ_EXAMPLES (default 120) sets the number of configs tried.
"""
from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.checks import processes_rooted_at
from support.leaks import cgroup_dirs_named, mountinfo

EXAMPLES = int(os.environ.get("PYRT_FUZZ_EXAMPLES", "120"))
STATS = {"tried": 0, "ok": 0, "refused": 0, "exit_status": 0}

# -- values ---------------------------------------------------------------------------------

ODD_TEXT = st.sampled_from(["", " ", "/", "..", "../../..", "/proc/self/fd/3", "a" * 5000,
                            "é\u202e\ufeff", "-1", "0", "null", "true", "/dev/null",
                            "CAP_SYS_ADMIN", "CAP_NOPE", "RLIMIT_NOFILE", "rbind", "ro",
                            "tmpfs", "proc", "bind", "SCHED_FIFO", "x\ny", "%s%n", "\\"])
ODD_INT = st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**64, -2**63,
                           10**30, 4096, 65536])
SCALAR = st.one_of(st.none(), st.booleans(), ODD_INT, st.integers(), ODD_TEXT,
                   st.text(max_size=40), st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(ODD_TEXT, st.text(max_size=10)),
                                                 inner, max_size=4)), max_leaves=12)

# known fields worth hitting with odd values (path, strategy)
FIELDS = [
    ("process.user.uid", ODD_INT), ("process.user.gid", ODD_INT),
    ("process.user.additionalGids", st.lists(ODD_INT, max_size=3)),
    ("process.user.umask", ODD_INT),
    ("process.cwd", ODD_TEXT), ("process.env", st.lists(ODD_TEXT, max_size=4)),
    ("process.terminal", st.booleans()), ("process.noNewPrivileges", SCALAR),
    ("process.oomScoreAdj", ODD_INT),
    ("process.capabilities.bounding", st.lists(ODD_TEXT, max_size=3)),
    ("process.capabilities.ambient", st.lists(ODD_TEXT, max_size=3)),
    ("process.capabilities.inheritable", st.lists(ODD_TEXT, max_size=3)),
    ("process.rlimits", st.lists(st.fixed_dictionaries(
        {"type": st.sampled_from(["RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_AS", "RLIMIT_CPU",
                                  "RLIMIT_STACK", "RLIMIT_BOGUS"]),
         "soft": ODD_INT, "hard": ODD_INT}), max_size=3)),
    ("process.scheduler", st.fixed_dictionaries({"policy": ODD_TEXT, "priority": ODD_INT})),
    ("process.ioPriority", st.fixed_dictionaries({"class": ODD_TEXT, "priority": ODD_INT})),
    ("process.execCPUAffinity", st.fixed_dictionaries({"initial": ODD_TEXT, "final": ODD_TEXT})),
    ("process.apparmorProfile", ODD_TEXT), ("process.selinuxLabel", ODD_TEXT),
    ("hostname", ODD_TEXT), ("domainname", ODD_TEXT), ("ociVersion", ODD_TEXT),
    ("root.readonly", SCALAR), ("annotations", JSON),
    ("linux.maskedPaths", st.lists(ODD_TEXT, max_size=3)),
    ("linux.readonlyPaths", st.lists(ODD_TEXT, max_size=3)),
    ("linux.sysctl", st.dictionaries(st.sampled_from(
        ["net.ipv4.ip_forward", "kernel.shmmax", "kernel.hostname", "fs.mqueue.msg_max",
         "net.core.somaxconn", "vm.swappiness", "kernel.core_pattern", "net/ipv4/ip_forward"]),
        ODD_TEXT, max_size=2)),
    ("linux.rootfsPropagation", ODD_TEXT), ("linux.mountLabel", ODD_TEXT),
    ("linux.personality", st.fixed_dictionaries({"domain": ODD_TEXT})),
    ("linux.uidMappings", st.lists(st.fixed_dictionaries(
        {"containerID": ODD_INT, "hostID": ODD_INT, "size": ODD_INT}), max_size=2)),
    ("linux.namespaces", st.lists(st.fixed_dictionaries({"type": st.sampled_from(
        ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", "bogus"])}),
        max_size=8)),
    ("linux.resources.memory", st.dictionaries(st.sampled_from(
        ["limit", "reservation", "swap", "kernel", "swappiness", "disableOOMKiller"]),
        ODD_INT, max_size=3)),
    ("linux.resources.cpu", st.dictionaries(st.sampled_from(
        ["shares", "quota", "period", "cpus", "mems", "realtimeRuntime", "idle"]),
        st.one_of(ODD_INT, ODD_TEXT), max_size=3)),
    ("linux.resources.pids", st.fixed_dictionaries({"limit": ODD_INT})),
    ("linux.resources.devices", st.lists(st.fixed_dictionaries(
        {"allow": st.booleans(), "type": ODD_TEXT, "major": ODD_INT, "access": ODD_TEXT}),
        max_size=3)),
    ("linux.resources.unified", st.dictionaries(ODD_TEXT, ODD_TEXT, max_size=2)),
    ("linux.devices", st.lists(st.fixed_dictionaries(
        {"path": ODD_TEXT, "type": st.sampled_from(["c", "b", "p", "u", "x"]),
         "major": ODD_INT, "minor": ODD_INT}), max_size=2)),
    ("linux.seccomp", st.fixed_dictionaries(
        {"defaultAction": st.sampled_from(["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                                           "SCMP_ACT_BOGUS"]),
         "syscalls": st.lists(st.fixed_dictionaries(
             {"names": st.lists(ODD_TEXT, max_size=2), "action": ODD_TEXT}), max_size=2)})),
    ("linux.timeOffsets", st.dictionaries(st.sampled_from(["monotonic", "boottime", "x"]),
                                          st.fixed_dictionaries({"secs": ODD_INT}))),
    ("mounts", st.lists(st.fixed_dictionaries(
        {"destination": ODD_TEXT, "type": st.sampled_from(
            ["bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "none", "bogus"]),
         "source": ODD_TEXT, "options": st.lists(ODD_TEXT, max_size=3)}), max_size=3)),
]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(cfg, path, value, create=True):
    node = cfg
    for p in path[:-1]:
        if isinstance(node, dict):
            if p not in node or not isinstance(node[p], (dict, list)):
                if not create:
                    return
                node[p] = {}
            node = node[p]
        elif isinstance(node, list) and isinstance(p, int) and p < len(node):
            node = node[p]
        else:
            return
    last = path[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value


@st.composite
def mutated_configs(draw, base):
    cfg = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["field", "field", "replace", "delete", "add"]))
        if kind == "field":
            path, strat = draw(st.sampled_from(FIELDS))
            _set(cfg, tuple(path.split(".")), draw(strat))
            continue
        paths = [p for p in _paths(cfg) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        if kind == "replace":
            _set(cfg, path, draw(JSON), create=False)
        elif kind == "delete":
            parent = cfg
            for p in path[:-1]:
                parent = parent[p]
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, list) and path[-1] < len(parent):
                parent.pop(path[-1])
        else:
            _set(cfg, path + (draw(st.text(min_size=1, max_size=8)),), draw(JSON), create=False)
    return cfg


def make_safe(cfg, scratch: str):
    """Keep the mutations from touching the test machine (documented above)."""
    if not isinstance(cfg, dict):
        return cfg
    proc = cfg.get("process")
    if isinstance(proc, dict) and isinstance(proc.get("args"), list) and proc["args"] \
            and all(isinstance(a, str) for a in proc["args"]):
        proc["args"] = ["true"]
    if isinstance(proc, dict) and proc.get("terminal") is True:
        proc["terminal"] = False     # no console socket here: a sure, boring failure
    if isinstance(cfg.get("root"), dict):
        cfg["root"]["path"] = "rootfs"
    cfg.pop("hooks", None)
    linux = cfg.get("linux")
    if isinstance(linux, dict):
        linux.pop("cgroupsPath", None)
        linux.pop("netDevices", None)
        linux.pop("intelRdt", None)
        nss = linux.get("namespaces")
        if isinstance(nss, list):
            for ns in nss:
                if isinstance(ns, dict):
                    ns.pop("path", None)
            types = {ns.get("type") for ns in nss
                     if isinstance(ns, dict) and isinstance(ns.get("type"), str)}
            # in the host's pid namespace a fuzzed `kill` could reach the host's init
            if "pid" not in types:
                nss.append({"type": "pid"})
        seccomp = linux.get("seccomp")
        if isinstance(seccomp, dict):
            seccomp.pop("listenerPath", None)
    mounts = cfg.get("mounts")
    if isinstance(mounts, list):
        for m in mounts:
            if not isinstance(m, dict):
                continue
            opts = m.get("options") if isinstance(m.get("options"), list) else []
            if m.get("type") == "bind" or any(o in ("bind", "rbind") for o in opts
                                             if isinstance(o, str)) or \
                    m.get("type") not in ("tmpfs", "proc", "sysfs", "devpts", "mqueue",
                                          "cgroup", "cgroup2"):
                if "source" in m and m.get("source") not in ("proc", "tmpfs", "sysfs"):
                    m["source"] = scratch
    return cfg


def _half_made(rt, rootfs, cid):
    left = []
    left += [f"state dir {e}" for e in os.listdir(rt.root)]
    left += [f"mount {l}" for l in mountinfo() if rootfs in l]
    left += [f"cgroup {d}" for d in cgroup_dirs_named({cid})]
    left += [f"process {p} {a}" for p, a in processes_rooted_at(rootfs).items()]
    return left


@pytest.fixture(scope="module")
def fuzz_stats():
    yield STATS
    print(f"\n[fuzz config] {STATS}")


def test_fuzz_config(rt, make_bundle, new_id, testdir, fuzz_stats):
    b = make_bundle(["true"])
    base = copy.deepcopy(b.config)
    scratch = os.path.join(testdir, "scratch")
    os.makedirs(scratch)
    counter = iter(range(10**9))

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(mutated_configs(base))
    def run_one(cfg):
        cfg = make_safe(cfg, scratch)
        with open(b.config_path, "w") as f:
            json.dump(cfg, f)
        cid = new_id(f"fz{next(counter)}")
        res = rt("run", "--bundle", b.path, cid, timeout=30)
        STATS["tried"] += 1
        assert "Traceback" not in res.err and "Traceback" not in res.out, res
        assert "internal error" not in res.err, res
        errs = [l for l in res.err.splitlines() if l.strip() and "level=warning" not in l]
        if res.rc == 0:
            STATS["ok"] += 1
        elif errs:
            STATS["refused"] += 1
            assert len(errs) == 1, f"a multi-line error: {res!r}"
        else:
            STATS["exit_status"] += 1       # `true` killed (seccomp, rlimits): its status
            assert res.rc >= 126, res
        left = _half_made(rt, b.rootfs, cid)
        if left:
            rt("delete", "--force", cid)
        assert not left, f"half-made container left by {json.dumps(cfg)[:2000]}: {left}"

    run_one()
