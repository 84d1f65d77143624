"""Validation of config.json, ``exec --process`` files, ``update -r`` resources,
state and features documents.

Two layers, and every problem of both is reported at once:

1. the JSON Schemas in ``spec/``, compiled into ``_schema_*.py`` by
   ``tools/gen_validator.py`` (shape: types, required fields, enums, ranges);
2. the rules of runtime-spec 1.3.0 that a schema cannot express (below):
   absolute paths, unique namespaces, user-namespace mappings, known rlimit
   names, the root directory existing, ...

A semantic rule only looks at values whose shape is right; a value of the wrong
type has already been reported by the schema. Nothing here imports ``re`` or
``jsonschema``: this module is on the ``create`` path.

Problems are ``ConfigError(path, message, file)``; ``str()`` gives e.g.
``config.json: process.args: must be a non-empty array``.
"""
from .errors import ConfigError

__all__ = ["validate_config", "validate_for_create", "validate_process", "validate_resources",
           "validate_state", "validate_features", "config_warnings", "CAPABILITIES",
           "RLIMITS"]

# capabilities(7), CAP_CHOWN (0) .. CAP_CHECKPOINT_RESTORE (40), in kernel order.
CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
_CAPS = frozenset(CAPABILITIES)

# getrlimit(2) on Linux.
RLIMITS = ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
           "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE",
           "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING",
           "RLIMIT_STACK")
_RLIMITS = frozenset(RLIMITS)

SUPPORTED_MAJOR = 1
_ERRNO_ACTIONS = frozenset(("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"))
_HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
          "poststop")


def _d(x) -> dict:
    """x if it is an object, else {} (its type was reported by the schema)."""
    return x if type(x) is dict else {}


def _l(x) -> list:
    return x if type(x) is list else []


def _s(x) -> bool:
    return type(x) is str


def _i(x) -> bool:
    return type(x) is int


def _key(p: str, k: str) -> str:
    """The path of member k of the object at p, written as the schema validator does."""
    from ._schema_config import _j
    return _j(p, k)


def _errors(pairs, file):
    return [ConfigError(p, m, file) for p, m in pairs]


# ------------------------------------------------------------------ helpers --

def semver_problem(v: str) -> "str | None":
    """None if v is a SemVer 2.0.0 version, else what is wrong (no ``re``)."""
    core, _, build = v.partition("+")
    core, dash, pre = core.partition("-")
    parts = core.split(".")
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return "must be a SemVer version like 1.3.0"
    if any(len(p) > 1 and p[0] == "0" for p in parts):
        return "must be a SemVer version like 1.3.0 (no leading zeros)"
    for ids, what in ((pre.split(".") if dash else [], "pre-release"),
                      (build.split(".") if "+" in v else [], "build")):
        for ident in ids:
            if not ident or any(c not in alnum for c in ident):
                return f"must be a SemVer version like 1.3.0 (bad {what} part)"
            if what == "pre-release" and ident.isdigit() and len(ident) > 1 and ident[0] == "0":
                return "must be a SemVer version like 1.3.0 (no leading zeros)"
    return None


def parse_cpu_list(s: str) -> "list[tuple[int, int]] | None":
    """'0-3,7' -> [(0, 3), (7, 7)]; '' -> []; None if malformed."""
    out = []
    if not s.strip():
        return out
    for part in s.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        lo, hi = lo.strip(), hi.strip()
        if not (lo.isascii() and lo.isdigit()) or (dash and not (hi.isascii() and hi.isdigit())):
            return None
        a, b = int(lo), int(hi) if dash else int(lo)
        if b < a:
            return None
        out.append((a, b))
    return out


def _valid_ifname(name: str) -> bool:
    # dev_valid_name() in the kernel: 1..15 bytes, not . or .., no / : or whitespace
    return (0 < len(name.encode()) < 16 and name not in (".", "..")
            and not any(c in "/:" or c.isspace() for c in name))


class _Checker:
    """Collects (path, message) pairs for one document."""

    def __init__(self, schema_errors=()):
        self.e = list(schema_errors)
        self.w = []
        self.reported = {p for p, _ in self.e}

    def err(self, path, msg):
        if path not in self.reported:  # one message per value: the schema's first
            self.reported.add(path)
            self.e.append((path, msg))

    def warn(self, path, msg):
        self.w.append((path, msg))

    def abs_path(self, path, value):
        if _s(value) and not value.startswith("/"):
            self.err(path, "must be an absolute path")

    def mappings(self, path, maps):
        for i, m in enumerate(_l(maps)):
            m = _d(m)
            if _i(m.get("size")) and m["size"] == 0:
                self.err(f"{path}[{i}].size", "must be at least 1")

    # -- process ------------------------------------------------------------
    def process(self, proc, pre):
        p = _d(proc)
        at = (lambda k: f"{pre}.{k}") if pre else (lambda k: k)
        self.abs_path(at("cwd"), p.get("cwd"))
        caps = _d(p.get("capabilities"))
        for cset in ("bounding", "effective", "inheritable", "permitted", "ambient"):
            for i, name in enumerate(_l(caps.get(cset))):
                if _s(name) and name not in _CAPS:
                    self.warn(f"{at('capabilities')}.{cset}[{i}]",
                              f"unknown capability {name!r}, ignored")
        seen = {}
        for i, rl in enumerate(_l(p.get("rlimits"))):
            rl = _d(rl)
            t = rl.get("type")
            if _s(t):
                if t not in _RLIMITS:
                    self.err(f"{at('rlimits')}[{i}].type", f"unknown rlimit {t!r}")
                elif t in seen:
                    self.err(f"{at('rlimits')}[{i}].type",
                             f"duplicate rlimit {t} (also rlimits[{seen[t]}])")
                else:
                    seen[t] = i
            soft, hard = rl.get("soft"), rl.get("hard")
            if _i(soft) and _i(hard) and soft > hard:
                self.err(f"{at('rlimits')}[{i}].soft", f"must not exceed hard ({hard})")
        io = _d(p.get("ioPriority"))
        if _i(io.get("priority")) and not 0 <= io["priority"] <= 7:
            self.err(f"{at('ioPriority')}.priority", "must be between 0 and 7")
        sched = _d(p.get("scheduler"))
        if sched:
            policy = sched.get("policy")
            nice = sched.get("nice")
            if _i(nice) and not -20 <= nice <= 19:
                self.err(f"{at('scheduler')}.nice", "must be between -20 and 19")
            prio = sched.get("priority")
            if _s(policy) and _i(prio):
                if policy in ("SCHED_FIFO", "SCHED_RR"):
                    if not 1 <= prio <= 99:
                        self.err(f"{at('scheduler')}.priority",
                                 f"must be between 1 and 99 for {policy}")
                elif prio != 0:
                    self.err(f"{at('scheduler')}.priority",
                             "must be 0 unless the policy is SCHED_FIFO or SCHED_RR")
            if _s(policy) and policy != "SCHED_DEADLINE":
                for k in ("runtime", "deadline", "period"):
                    if _i(sched.get(k)) and sched[k] != 0:
                        self.err(f"{at('scheduler')}.{k}", "is only for SCHED_DEADLINE")
        aff = _d(p.get("execCPUAffinity"))
        for k in ("initial", "final"):
            if _s(aff.get(k)) and parse_cpu_list(aff[k]) is None:
                self.err(f"{at('execCPUAffinity')}.{k}", "must be a CPU list like 0-3,7")

    # -- config -------------------------------------------------------------
    def config(self, cfg, bundle_dir):
        c = _d(cfg)
        v = c.get("ociVersion")
        if _s(v):
            problem = semver_problem(v)
            if problem:
                self.err("ociVersion", f"{problem}, got {v!r}")
            elif int(v.split(".")[0]) != SUPPORTED_MAJOR:
                self.err("ociVersion", f"version {v} is not supported (this runtime "
                         f"implements {SUPPORTED_MAJOR}.x)")

        if "root" not in c and type(cfg) is dict:
            self.err("root", "is required")
        root = _d(c.get("root"))
        rp = root.get("path")
        if _s(rp):
            if not rp:
                self.err("root.path", "must not be empty")
            elif bundle_dir is not None:
                from posix import stat  # what os.stat is, without importing os
                full = rp if rp.startswith("/") or not bundle_dir else \
                    bundle_dir.rstrip("/") + "/" + rp
                try:
                    st = stat(full)
                except OSError:
                    self.err("root.path", f"directory {full} does not exist")
                else:
                    if (st.st_mode & 0o170000) != 0o040000:
                        self.err("root.path", f"{full} is not a directory")

        if "process" in c:
            self.process(c.get("process"), "process")

        hooks = _d(c.get("hooks"))
        for name in _HOOKS:
            for i, h in enumerate(_l(hooks.get(name))):
                self.abs_path(f"hooks.{name}[{i}].path", _d(h).get("path"))

        ann = c.get("annotations")
        if type(ann) is dict and "" in ann:
            self.err("annotations", "keys must not be empty")

        lx = _d(c.get("linux"))
        nss = {}          # type -> the entry (first one)
        for i, ns in enumerate(_l(lx.get("namespaces"))):
            ns = _d(ns)
            t = ns.get("type")
            if _s(t):
                if t in nss:
                    self.err(f"linux.namespaces[{i}].type", f"duplicate namespace type {t!r}")
                else:
                    nss[t] = ns
            self.abs_path(f"linux.namespaces[{i}].path", ns.get("path"))

        userns = nss.get("user")
        new_userns = userns is not None and "path" not in userns
        uid_maps, gid_maps = lx.get("uidMappings"), lx.get("gidMappings")
        if new_userns:
            for key, maps in (("uidMappings", uid_maps), ("gidMappings", gid_maps)):
                if not _l(maps) and (maps is None or type(maps) is list):
                    self.err(f"linux.{key}", "is required with a new user namespace")
        elif userns is None:
            for key, maps in (("uidMappings", uid_maps), ("gidMappings", gid_maps)):
                if _l(maps):
                    self.err(f"linux.{key}", "needs a user namespace in linux.namespaces")
        self.mappings("linux.uidMappings", uid_maps)
        self.mappings("linux.gidMappings", gid_maps)

        for key in ("hostname", "domainname"):
            if _s(c.get(key)) and c[key] and "uts" not in nss:
                self.err(key, "cannot be set without a UTS namespace in linux.namespaces")

        if type(lx.get("timeOffsets")) is dict and lx["timeOffsets"] and \
                ("time" not in nss or "path" in nss["time"]):
            self.err("linux.timeOffsets", "needs a new time namespace in linux.namespaces")

        for i, m in enumerate(_l(c.get("mounts"))):
            m = _d(m)
            dest = m.get("destination")
            if _s(dest):
                if not dest:
                    self.err(f"mounts[{i}].destination", "must not be empty")
                elif not dest.startswith("/"):
                    self.warn(f"mounts[{i}].destination",
                              "relative destinations are deprecated; taken relative to /")
            has_u, has_g = "uidMappings" in m, "gidMappings" in m
            if has_u != has_g:
                missing = "gidMappings" if has_u else "uidMappings"
                self.err(f"mounts[{i}].{missing}",
                         f"is required with {'uidMappings' if has_u else 'gidMappings'}")
            self.mappings(f"mounts[{i}].uidMappings", m.get("uidMappings"))
            self.mappings(f"mounts[{i}].gidMappings", m.get("gidMappings"))
            opts = [o for o in _l(m.get("options")) if _s(o)]
            idmap = [o for o in opts if o in ("idmap", "ridmap")]
            if idmap and not (has_u or has_g) and userns is None:
                self.err(f"mounts[{i}].options",
                         f"{idmap[0]} needs uidMappings and gidMappings or a user namespace")
            if (has_u or has_g) and not idmap:
                self.warn(f"mounts[{i}].options", "uidMappings without idmap or ridmap")

        for i, d in enumerate(_l(lx.get("devices"))):
            d = _d(d)
            self.abs_path(f"linux.devices[{i}].path", d.get("path"))
            t = d.get("type")
            if _s(t) and t in ("c", "b", "u"):
                for k in ("major", "minor"):
                    if k not in d:
                        self.err(f"linux.devices[{i}].{k}", f"is required for type {t}")

        netdevs = lx.get("netDevices")
        if type(netdevs) is dict:
            if netdevs and "network" not in nss:
                self.err("linux.netDevices", "needs a network namespace in linux.namespaces")
            for name, dev in netdevs.items():
                if not _valid_ifname(name):
                    self.err(_key("linux.netDevices", name), f"invalid interface name {name!r}")
                new = _d(dev).get("name")
                if _s(new) and new and not _valid_ifname(new):
                    self.err(_key("linux.netDevices", name) + ".name",
                             f"invalid interface name {new!r}")

        if "resources" in lx:
            self.resources(lx.get("resources"), "linux.resources")

        sysctl = lx.get("sysctl")
        if type(sysctl) is dict and "" in sysctl:
            self.err("linux.sysctl", "keys must not be empty")

        for key in ("maskedPaths", "readonlyPaths"):
            for i, pth in enumerate(_l(lx.get(key))):
                self.abs_path(f"linux.{key}[{i}]", pth)

        sc = _d(lx.get("seccomp"))
        if sc:
            self.seccomp(sc)

        rdt = _d(lx.get("intelRdt"))
        clos = rdt.get("closID")
        if _s(clos) and clos != "/" and (clos in ("", ".", "..") or "/" in clos
                                         or "\n" in clos):
            self.err("linux.intelRdt.closID", "must be a directory name, or /")
        for i, line in enumerate(_l(rdt.get("schemata"))):
            if _s(line) and "\n" in line:
                self.err(f"linux.intelRdt.schemata[{i}]", "must be one line")
        mbw = rdt.get("memBwSchema")
        if _s(mbw) and mbw.endswith("\n"):
            self.err("linux.intelRdt.memBwSchema", "must start with MB: and be one line")

        mp = lx.get("memoryPolicy")
        if type(mp) is dict:
            mode = mp.get("mode")
            nodes = mp.get("nodes")
            if "mode" not in mp:
                self.err("linux.memoryPolicy.mode", "is required")
            if _s(nodes) and parse_cpu_list(nodes) is None:
                self.err("linux.memoryPolicy.nodes", "must be a node list like 0-3,7")
            elif _s(mode):
                has_nodes = _s(nodes) and nodes.strip() != ""
                if mode in ("MPOL_DEFAULT", "MPOL_LOCAL") and has_nodes:
                    self.err("linux.memoryPolicy.nodes", f"must be empty for {mode}")
                if mode in ("MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                            "MPOL_PREFERRED_MANY") and not has_nodes:
                    self.err("linux.memoryPolicy.nodes", f"is required for {mode}")

        pers = lx.get("personality")
        if type(pers) is dict:
            if "domain" not in pers:
                self.err("linux.personality.domain", "is required")
            if _l(pers.get("flags")):
                self.err("linux.personality.flags", "no flags are supported")

    def resources(self, res, pre):
        r = _d(res)
        at = (lambda k: f"{pre}.{k}") if pre else (lambda k: k)
        for i, rule in enumerate(_l(r.get("devices"))):
            rule = _d(rule)
            t = rule.get("type")
            if _s(t) and t not in ("", "a", "c", "b"):
                self.err(f"{at('devices')}[{i}].type", "must be one of: a, c, b")
            acc = rule.get("access")
            if _s(acc) and any(ch not in "rwm" for ch in acc):
                self.err(f"{at('devices')}[{i}].access", "must be made of r, w and m")
        cpu = _d(r.get("cpu"))
        for k in ("cpus", "mems"):
            if _s(cpu.get(k)) and parse_cpu_list(cpu[k]) is None:
                self.err(f"{at('cpu')}.{k}", "must be a list like 0-3,7")
        bio = _d(r.get("blockIO"))
        for i, wd in enumerate(_l(bio.get("weightDevice"))):
            wd = _d(wd)
            if wd and "weight" not in wd and "leafWeight" not in wd:
                self.err(f"{at('blockIO')}.weightDevice[{i}]", "needs weight or leafWeight")
        for i, hp in enumerate(_l(r.get("hugepageLimits"))):
            ps = _d(hp).get("pageSize")
            if _s(ps) and ps.endswith("\n"):
                self.err(f"{at('hugepageLimits')}[{i}].pageSize",
                         "must be a page size like 64KB, 2MB or 1GB")
        rdma = r.get("rdma")
        if type(rdma) is dict:
            for dev, lim in rdma.items():
                if type(lim) is dict and "hcaHandles" not in lim and "hcaObjects" not in lim:
                    self.err(_key(at("rdma"), dev), "needs hcaHandles or hcaObjects")
        unified = r.get("unified")
        if type(unified) is dict and "" in unified:
            self.err(at("unified"), "keys must not be empty")

    def seccomp(self, sc):
        notify = sc.get("defaultAction") == "SCMP_ACT_NOTIFY"
        if notify:
            self.err("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default")
        if "defaultErrnoRet" in sc and _s(sc.get("defaultAction")) \
                and sc["defaultAction"] not in _ERRNO_ACTIONS:
            self.err("linux.seccomp.defaultErrnoRet",
                     "is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE")
        if _s(sc.get("listenerMetadata")) and not sc.get("listenerPath"):
            self.err("linux.seccomp.listenerMetadata", "needs listenerPath")
        for i, rule in enumerate(_l(sc.get("syscalls"))):
            rule = _d(rule)
            action = rule.get("action")
            if action == "SCMP_ACT_NOTIFY":
                notify = True
            if "errnoRet" in rule and _s(action) and action not in _ERRNO_ACTIONS:
                self.err(f"linux.seccomp.syscalls[{i}].errnoRet",
                         "is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE")
            for j, arg in enumerate(_l(rule.get("args"))):
                idx = _d(arg).get("index")
                if _i(idx) and idx > 5:
                    self.err(f"linux.seccomp.syscalls[{i}].args[{j}].index",
                             "must be between 0 and 5")
        if notify and not sc.get("listenerPath"):
            self.err("linux.seccomp.listenerPath", "is required with SCMP_ACT_NOTIFY")


# ---------------------------------------------------------------- public API --

def validate_config(cfg: object, bundle_dir: "str | None" = None,
                    file: str = "config.json") -> "list[ConfigError]":
    """Every problem of config.json: schema, then semantics. With bundle_dir,
    root.path must be an existing directory (relative paths are taken from the
    bundle); without it the file system is not looked at."""
    from . import _schema_config
    ck = _Checker(_schema_config.validate(cfg))
    if type(cfg) is dict:
        ck.config(cfg, bundle_dir)
    return _errors(ck.e, file)


def validate_for_create(cfg: object, bundle_dir: "str | None",
                        file: str = "config.json") -> "list[ConfigError]":
    """validate_config plus what create/start need: a process with args."""
    errors = validate_config(cfg, bundle_dir, file)
    if type(cfg) is dict:
        proc = cfg.get("process", None)
        if proc is None and "process" not in cfg:
            errors.append(ConfigError("process", "is required", file))
        elif type(proc) is dict:
            args = proc.get("args")
            if args is None or (type(args) is list and not args):
                errors.append(ConfigError("process.args", "must be a non-empty array", file))
    return errors


def validate_process(proc: object, file: str = "process.json") -> "list[ConfigError]":
    """An ``exec --process`` file: the process object of config.json, with args."""
    from . import _schema_config
    ck = _Checker(_schema_config.validate_process(proc))
    if type(proc) is dict:
        ck.process(proc, "")
        args = proc.get("args")
        if args is None or (type(args) is list and not args):
            ck.err("args", "must be a non-empty array")
    return _errors(ck.e, file)


def validate_resources(res: object, file: str = "resources.json") -> "list[ConfigError]":
    """An ``update -r`` file: a linux.resources object."""
    from . import _schema_config
    ck = _Checker(_schema_config.validate_resources(res))
    if type(res) is dict:
        ck.resources(res, "")
    return _errors(ck.e, file)


def validate_state(doc: object, file: str = "state.json") -> "list[ConfigError]":
    """The OCI state document (what ``state`` prints)."""
    from . import _schema_state
    e = _schema_state.validate(doc)
    d = _d(doc)
    if _s(d.get("ociVersion")):
        problem = semver_problem(d["ociVersion"])
        if problem:
            e.append(("ociVersion", problem))
    if _s(d.get("id")) and not d["id"]:
        e.append(("id", "must not be empty"))
    if d.get("status") in ("created", "running") and "pid" not in d:
        e.append(("pid", f"is required when status is {d['status']}"))
    return _errors(e, file)


def validate_features(doc: object, file: str = "features.json") -> "list[ConfigError]":
    """The features document (what ``features`` prints)."""
    from . import _schema_features
    e = _schema_features.validate(doc)
    d = _d(doc)
    for k in ("ociVersionMin", "ociVersionMax"):
        if _s(d.get(k)):
            problem = semver_problem(d[k])
            if problem:
                e.append((k, problem))
    return _errors(e, file)


def config_warnings(cfg: object, file: str = "config.json") -> "list[ConfigError]":
    """What the spec says to accept but log: unknown capabilities (runtime-spec:
    MUST be logged as a warning, SHOULD NOT fail), relative mount destinations
    (deprecated), idmapped mounts without idmap/ridmap."""
    ck = _Checker()
    if type(cfg) is dict:
        ck.config(cfg, None)
    return _errors(ck.w, file)
