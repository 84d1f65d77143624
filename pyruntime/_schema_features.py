# Generated from spec/features.json (and the schemas it refers to) by tools/gen_validator.py.
# DO NOT EDIT: change the schema, then regenerate with `python3 tools/gen_validator.py`.
"""Validator for features documents, compiled from spec/features.json."""


from ._schema_runtime import _j, _type, _enum, _pattern, _regex, _array, _array_of, _object  # noqa: F401



_p0 = _regex(False, False, (("\n", True, 1, 1),))  # .
_p1 = _regex(True, True, ("CAP_", ("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", False, 1, None)))  # ^CAP_[A-Z_]+$


# One checker per distinct schema, each defined before its first use.
_c_string = _type(str, "must be a string")
_c_Strings = _array_of(str, "must be a string")
_c_StringMap = _object({}, (), ((_p0, _c_string),))
_c_NamespaceType = _enum(("mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"))
_c_namespaces = _array(_c_NamespaceType)
_c_capabilities_item = _pattern(_p1, "must be a CAP_* name")
_c_capabilities = _array(_c_capabilities_item)
_c_boolean = _type(bool, "must be a boolean")
_c_cgroup = _object({
    "v1": _c_boolean,
    "v2": _c_boolean,
    "systemd": _c_boolean,
    "systemdUser": _c_boolean,
    "rdma": _c_boolean,
})
_c_SeccompAction = _enum(("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"))
_c_actions = _array(_c_SeccompAction)
_c_SeccompOperator = _enum(("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"))
_c_operators = _array(_c_SeccompOperator)
_c_SeccompArch = _enum(("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"))
_c_archs = _array(_c_SeccompArch)
_c_SeccompFlag = _enum(("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
_c_knownFlags = _array(_c_SeccompFlag)
_c_seccomp = _object({
    "enabled": _c_boolean,
    "actions": _c_actions,
    "operators": _c_operators,
    "archs": _c_archs,
    "knownFlags": _c_knownFlags,
    "supportedFlags": _c_knownFlags,
})
_c_Enabled = _object({"enabled": _c_boolean})
_c_memoryPolicy = _object({"modes": _c_Strings, "flags": _c_Strings})
_c_intelRdt = _object({
    "enabled": _c_boolean,
    "schemata": _c_boolean,
    "monitoring": _c_boolean,
})
_c_mountExtensions = _object({"idmap": _c_Enabled})
_c_Linux = _object({
    "namespaces": _c_namespaces,
    "capabilities": _c_capabilities,
    "cgroup": _c_cgroup,
    "seccomp": _c_seccomp,
    "apparmor": _c_Enabled,
    "selinux": _c_Enabled,
    "memoryPolicy": _c_memoryPolicy,
    "intelRdt": _c_intelRdt,
    "mountExtensions": _c_mountExtensions,
    "netDevices": _c_Enabled,
})
_c_root = _object({
    "ociVersionMin": _c_string,
    "ociVersionMax": _c_string,
    "hooks": _c_Strings,
    "mountOptions": _c_Strings,
    "annotations": _c_StringMap,
    "potentiallyUnsafeConfigAnnotations": _c_Strings,
    "linux": _c_Linux,
}, ('ociVersionMin', 'ociVersionMax'))


def validate(doc):
    """Check a document against spec/features.json: a list of (json path, message)."""
    e = []
    _c_root(doc, '', None, e)
    return e
