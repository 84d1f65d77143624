"""features.md / features-linux.md: the `features` command."""
import os
import platform
import re

from conformance.harness import Fail, Skip, spec_test, validate_schema, CAP_NAMES, SPEC_VERSION

F = "features.md"
FL = "features-linux.md"
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
TOP = {"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "annotations",
       "potentiallyUnsafeConfigAnnotations", "linux"}
LINUX = {"namespaces", "capabilities", "cgroup", "seccomp", "apparmor", "selinux", "intelRdt",
         "mountExtensions", "netDevices", "memoryPolicy"}


def features(t):
    f = t.suite.features()
    if "_error" in f:
        raise Skip(f"the runtime provides no features structure (OPTIONAL, features.md: 'MAY provide'): "
                   f"{f['_error'][:100]}")
    return f


def semver_key(v):
    m = SEMVER.match(v or "")
    if not m:
        return None
    pre = m.group(4)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre else 1, pre or "")


@spec_test(f"{F}#features-structure", "MUST", "The Features structure (as printed by the `features` command) adheres to "
           "`schema/features-schema.json`; `ociVersionMin` and `ociVersionMax` are REQUIRED.", name="features_schema")
def features_schema(t):
    f = features(t)
    errs = validate_schema(t.suite.features_schema, f)
    if errs is None:
        errs = [f"missing {k}" for k in ("ociVersionMin", "ociVersionMax") if not isinstance(f.get(k), str)]
    if errs:
        raise Fail("; ".join(errs[:6]))


@spec_test(f"{F}#specification-version", "MUST NOT", "`ociVersionMax` ... The value MUST NOT be less than the value "
           "of the `ociVersionMin` property.")
def features_version_order(t):
    f = features(t)
    lo, hi = semver_key(f.get("ociVersionMin")), semver_key(f.get("ociVersionMax"))
    if lo is None or hi is None:
        raise Fail(f"not SemVer: min {f.get('ociVersionMin')!r}, max {f.get('ociVersionMax')!r}")
    if hi < lo:
        raise Fail(f"ociVersionMax {f['ociVersionMax']} < ociVersionMin {f['ociVersionMin']}")


@spec_test(f"{F}#specification-version", "MUST NOT", "The Features structure MUST NOT contain properties that are "
           "not defined in this version of the Open Container Initiative Runtime Specification.")
def features_no_unknown_properties(t):
    f = features(t)
    extra = sorted(set(f) - TOP) + [f"linux.{k}" for k in sorted(set(f.get("linux") or {}) - LINUX)]
    if extra:
        raise Fail(f"properties not defined by runtime-spec {SPEC_VERSION}: {extra}")


def _accepts_version(key):
    @spec_test(f"{F}#specification-version", "MUST", f"`{key}` ... The runtime MUST accept this value as the "
               "`ociVersion` property of `config.json`.", name=f"features_accepts_{key}")
    def _t(t):
        v = features(t).get(key)
        if not v:
            raise Fail(f"no {key}")
        b = t.checker_bundle("exit", "0")
        b.cfg["ociVersion"] = v
        b.write()
        r = t.run(b)
        if not r.ok:
            raise Fail(f"a config with ociVersion {v} was refused: {r.brief()}")
    return _t


_accepts_version("ociVersionMin")
_accepts_version("ociVersionMax")


@spec_test(f"{F}#hooks", "MUST", "`hooks` (array of strings, OPTIONAL) The recognized names of the hooks. The "
           "runtime MUST support the elements in this array as the `hooks` property of `config.json`.")
def features_hooks(t):
    names = features(t).get("hooks") or []
    from conformance.tests.t_hooks import scenario
    known = {"prestart": "prestart", "createRuntime": "createRuntime1", "createContainer": "createContainer",
             "startContainer": "startContainer", "poststart": "poststart", "poststop": "poststop"}
    s = scenario(t)
    bad = [n for n in names if n in known and not s["info"].get(known[n])]
    unknown = [n for n in names if n not in known]
    if bad or unknown:
        raise Fail(f"listed but not run: {bad}; not hook names of the spec: {unknown}")


SPECIAL_OPTS = {"bind", "rbind", "idmap", "ridmap", "remount", "tmpcopyup", "acl", "noacl"}


@spec_test(f"{F}#mount-options", "MUST", "`mountOptions` (array of strings, OPTIONAL) The recognized names of the "
           "mount options ... The runtime MUST recognize the elements in this array as the `options` of `mounts` "
           "objects in `config.json`.")
def features_mount_options(t):
    opts = [o for o in features(t).get("mountOptions") or [] if o not in SPECIAL_OPTS]
    skip = {"nosymfollow", "rnosymfollow"} if not t.host.mount_flag_supported("nosymfollow") else set()
    if not t.host.mount_setattr:
        skip |= {o for o in opts if o.startswith("r") and o not in ("rw", "relatime", "remount", "rprivate",
                                                                     "rshared", "rslave", "runbindable")}
    opts = [o for o in opts if o not in skip]

    def run(sub):
        b = t.checker_bundle("exit", "0")
        for i, o in enumerate(sub):
            b.add_mount({"destination": f"/mnt/f{i}", "type": "tmpfs", "source": "tmpfs", "options": [o]})
        b.write()
        return t.run(b)
    r = run(opts)
    if r.ok:
        return
    bad = [o for o in opts if not run([o]).ok]
    raise Fail(f"listed mount options refused on a tmpfs mount: {bad}")


@spec_test(f"{FL}#namespaces", "MUST", "`namespaces` (array of strings, OPTIONAL) The recognized names of the namespaces ... The "
           "runtime MUST recognize the elements in this array as the `type` of `linux.namespaces` objects.")
def features_namespaces(t):
    from conformance.tests.t_namespaces import PROC, userns
    listed = (features(t).get("linux") or {}).get("namespaces") or []
    usable = [n for n in listed if n in PROC and t.host.has_ns(PROC[n])]
    bad = []
    for n in usable:
        b = t.checker_bundle("exit", "0", rootfs="copy" if n == "user" else "link")
        b.set_ns(n)
        if n == "user":
            userns(b)
        b.write()
        r = t.run(b)
        if not r.ok:
            bad.append(f"{n}: {r.brief()[-120:]}")
    if bad:
        raise Fail("; ".join(bad))


@spec_test(f"{FL}#capabilities", "MUST", "`capabilities` (array of strings, OPTIONAL) The recognized names of the capabilities ... The "
           "runtime MUST recognize the elements in this array in the `process.capabilities` object.")
def features_capabilities(t):
    caps = (features(t).get("linux") or {}).get("capabilities") or []
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
    except OSError:
        last = len(CAP_NAMES) - 1
    from conformance.harness import host_caps
    mine = host_caps().get("bounding", set())
    usable = [c for c in caps if c in CAP_NAMES[:last + 1] and c in mine]
    b = t.checker_bundle("exit", "0")
    b.process["capabilities"] = {"bounding": usable, "permitted": usable, "effective": usable}
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"a config with the listed capabilities was refused: {r.brief()}")


def _seccomp_feature(key, build):
    @spec_test(f"{FL}#seccomp", "MUST", f"`{key}` (array of strings, OPTIONAL) ... The runtime MUST recognize the elements in "
               f"this array in the `linux.seccomp` object.", name=f"features_seccomp_{key}")
    def _t(t):
        sec = (features(t).get("linux") or {}).get("seccomp") or {}
        if sec.get("enabled") is False:
            raise Skip("the runtime reports seccomp disabled")
        vals = sec.get(key) or []
        if not vals:
            raise Skip(f"the runtime lists no seccomp {key}")
        b = t.checker_bundle("exit", "0")
        b.linux["seccomp"] = build(vals)
        b.write()
        r = t.run(b)
        if not r.ok:
            raise Fail(f"a filter using every listed {key} value was refused: {r.brief()}")
    return _t


NATIVE = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64"}.get(platform.machine())
_UNUSED = ["acct", "add_key", "keyctl", "request_key", "lookup_dcookie", "quotactl", "vhangup", "syslog",
           "swapon", "swapoff", "pivot_root"]


def _actions(vals):
    rules = []
    for i, a in enumerate(v for v in vals if v not in ("SCMP_ACT_NOTIFY", "SCMP_ACT_ALLOW")):
        rules.append({"names": [_UNUSED[i % len(_UNUSED)]], "action": a})
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}


def _ops(vals):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": [_UNUSED[i % len(_UNUSED)]], "action": "SCMP_ACT_ERRNO",
         "args": [dict({"index": 0, "value": 7, "op": o}, **({"valueTwo": 7} if o == "SCMP_CMP_MASKED_EQ" else {}))]}
        for i, o in enumerate(vals)]}


BIG_ENDIAN = {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
              "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_M68K",
              "SCMP_ARCH_SHEB"}


def _archs(vals):
    # one filter cannot mix byte orders (libseccomp: EDOM): the native order's archs only
    import sys
    native_be = sys.byteorder == "big"
    vals = [v for v in vals if (v in BIG_ENDIAN) == native_be]
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": vals,
            "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}]}


def _flags(vals):
    return {"defaultAction": "SCMP_ACT_ALLOW", "flags": vals,
            "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}]}


_seccomp_feature("actions", _actions)
_seccomp_feature("operators", _ops)
_seccomp_feature("archs", _archs)
_seccomp_feature("supportedFlags", _flags)


@spec_test(f"{F}#annotations", "MUST", "`annotations` ... Annotations MUST be a key-value map that follows the same "
           "convention as the Key and Values of the `annotations` property of `config.json`.",
           name="features_annotations")
def features_annotations(t):
    ann = features(t).get("annotations")
    if ann is None:
        return
    if not isinstance(ann, dict) or not all(isinstance(k, str) and k and isinstance(v, str) for k, v in ann.items()):
        raise Fail(f"annotations is not a map of non-empty string keys to strings: {ann!r:.200}")


@spec_test(f"{F}#features-structure", "MUST NOT", "All properties in the Features structure except `ociVersionMin` and `ociVersionMax` MAY "
           "either be absent or have the `null` value. The `null` value MUST NOT be confused with an empty value.",
           name="features_null_vs_empty")
def features_null_vs_empty(t):
    f = features(t)
    sec = (f.get("linux") or {}).get("seccomp") or {}
    if sec.get("enabled") is True and sec.get("actions") == []:
        raise Fail("seccomp is enabled but actions is an empty list (use null for 'unknown')")
    if f.get("hooks") == [] or f.get("mountOptions") == []:
        raise Fail("an empty hooks/mountOptions list claims the runtime supports none")
