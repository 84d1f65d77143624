# Generated from spec/config.json (and the schemas it refers to) by tools/gen_validator.py.
# DO NOT EDIT: change the schema, then regenerate with `python3 tools/gen_validator.py`.
"""Validator for config documents, compiled from spec/config.json."""


from ._schema_runtime import _j, _type, _int, _enum, _pattern, _regex, _array, _array_of, _object  # noqa: F401



_p0 = _regex(True, True, ("RLIMIT_", ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", False, 1, None)))  # ^RLIMIT_[A-Z]+$
_p1 = _regex(True, True, ((" ,-0123456789", False, 0, None),))  # ^[0-9, -]*$
_p2 = _regex(False, False, (("\n", True, 1, 1),))  # .
_p3 = _regex(True, True, (("123456789", False, 1, 1), ("0123456789", False, 0, None), ("GKM", False, 1, 1), "B"))  # ^[1-9][0-9]*[KMG]B$
_p4 = _regex(True, True, ("MB:", ("\n", True, 0, None)))  # ^MB:[^\n]*$


# One checker per distinct schema, each defined before its first use.
_c_string = _type(str, "must be a string")
_c_boolean = _type(bool, "must be a boolean")
_c_Root = _object({"path": _c_string, "readonly": _c_boolean}, ('path',))
_c_Strings = _array_of(str, "must be a string")
_c_uint32 = _int(0, 4294967295, "must be between 0 and 4294967295")
_c_IDMapping = _object({
    "containerID": _c_uint32,
    "hostID": _c_uint32,
    "size": _c_uint32,
}, ('containerID', 'hostID', 'size'))
_c_IDMappings = _array(_c_IDMapping)
_c_Mount = _object({
    "destination": _c_string,
    "source": _c_string,
    "options": _c_Strings,
    "type": _c_string,
    "uidMappings": _c_IDMappings,
    "gidMappings": _c_IDMappings,
}, ('destination',))
_c_mounts = _array(_c_Mount)
_c_uint64 = _int(0, 18446744073709551615, "must be between 0 and 18446744073709551615")
_c_consoleSize = _object({"height": _c_uint64, "width": _c_uint64}, ('height', 'width'))
_c_Uint32s = _array(_c_uint32)
_c_User = _object({
    "uid": _c_uint32,
    "gid": _c_uint32,
    "umask": _c_uint32,
    "additionalGids": _c_Uint32s,
    "username": _c_string,
})
_c_Capabilities = _object({
    "bounding": _c_Strings,
    "permitted": _c_Strings,
    "effective": _c_Strings,
    "inheritable": _c_Strings,
    "ambient": _c_Strings,
})
_c_type = _pattern(_p0, "must be an RLIMIT_* name")
_c_Rlimit = _object({"type": _c_type, "soft": _c_uint64, "hard": _c_uint64}, ('type', 'soft', 'hard'))
_c_rlimits = _array(_c_Rlimit)
_c_integer = _type(int, "must be an integer")
_c_policy = _enum(("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"))
_c_int32 = _int(-2147483648, 2147483647, "must fit in a signed 32-bit integer")
_c_flags_item = _enum(("SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX"))
_c_flags = _array(_c_flags_item)
_c_Scheduler = _object({
    "policy": _c_policy,
    "nice": _c_int32,
    "priority": _c_int32,
    "flags": _c_flags,
    "runtime": _c_uint64,
    "deadline": _c_uint64,
    "period": _c_uint64,
}, ('policy',))
_c_class = _enum(("IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"))
_c_ioPriority = _object({"class": _c_class, "priority": _c_int32}, ('class',))
_c_CPUList = _pattern(_p1, "must be a CPU list like 0-3,7")
_c_execCPUAffinity = _object({"initial": _c_CPUList, "final": _c_CPUList})
_c_Process = _object({
    "terminal": _c_boolean,
    "consoleSize": _c_consoleSize,
    "cwd": _c_string,
    "env": _c_Strings,
    "args": _c_Strings,
    "commandLine": _c_string,
    "user": _c_User,
    "capabilities": _c_Capabilities,
    "rlimits": _c_rlimits,
    "apparmorProfile": _c_string,
    "selinuxLabel": _c_string,
    "noNewPrivileges": _c_boolean,
    "oomScoreAdj": _c_integer,
    "scheduler": _c_Scheduler,
    "ioPriority": _c_ioPriority,
    "execCPUAffinity": _c_execCPUAffinity,
}, ('cwd',))
_c_timeout = _int(1, None, "must be at least 1")
_c_Hook = _object({
    "path": _c_string,
    "args": _c_Strings,
    "env": _c_Strings,
    "timeout": _c_timeout,
}, ('path',))
_c_Hooks = _array(_c_Hook)
_c_LifecycleHooks = _object({
    "prestart": _c_Hooks,
    "createRuntime": _c_Hooks,
    "createContainer": _c_Hooks,
    "startContainer": _c_Hooks,
    "poststart": _c_Hooks,
    "poststop": _c_Hooks,
})
_c_StringMap = _object({}, (), ((_p2, _c_string),))
_c_NamespaceType = _enum(("mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"))
_c_Namespace = _object({"type": _c_NamespaceType, "path": _c_string}, ('type',))
_c_namespaces = _array(_c_Namespace)
_c_int64 = _int(-9223372036854775808, 9223372036854775807, "must fit in a signed 64-bit integer")
_c_TimeOffset = _object({"secs": _c_int64, "nanosecs": _c_uint32})
_c_timeOffsets = _object({"boottime": _c_TimeOffset, "monotonic": _c_TimeOffset})
_c_type_ = _enum(("c", "b", "u", "p"))
_c_Device = _object({
    "type": _c_type_,
    "path": _c_string,
    "major": _c_int64,
    "minor": _c_int64,
    "fileMode": _c_uint32,
    "uid": _c_uint32,
    "gid": _c_uint32,
}, ('type', 'path'))
_c_devices = _array(_c_Device)
_c_NetDevice = _object({"name": _c_string})
_c_netDevices = _object({}, (), (), _c_NetDevice)
_c_DeviceRule = _object({
    "allow": _c_boolean,
    "type": _c_string,
    "major": _c_int64,
    "minor": _c_int64,
    "access": _c_string,
}, ('allow',))
_c_devices_ = _array(_c_DeviceRule)
_c_memory = _object({
    "limit": _c_int64,
    "reservation": _c_int64,
    "swap": _c_int64,
    "kernel": _c_int64,
    "kernelTCP": _c_int64,
    "swappiness": _c_uint64,
    "disableOOMKiller": _c_boolean,
    "useHierarchy": _c_boolean,
    "checkBeforeUpdate": _c_boolean,
})
_c_cpu = _object({
    "shares": _c_uint64,
    "quota": _c_int64,
    "burst": _c_uint64,
    "period": _c_uint64,
    "realtimeRuntime": _c_int64,
    "realtimePeriod": _c_uint64,
    "cpus": _c_string,
    "mems": _c_string,
    "idle": _c_int64,
})
_c_uint16 = _int(0, 65535, "must be between 0 and 65535")
_c_BlockIOWeightDevice = _object({
    "major": _c_int64,
    "minor": _c_int64,
    "weight": _c_uint16,
    "leafWeight": _c_uint16,
}, ('major', 'minor'))
_c_weightDevice = _array(_c_BlockIOWeightDevice)
_c_BlockIOThrottle = _object({"major": _c_int64, "minor": _c_int64, "rate": _c_uint64}, ('major', 'minor'))
_c_BlockIOThrottles = _array(_c_BlockIOThrottle)
_c_blockIO = _object({
    "weight": _c_uint16,
    "leafWeight": _c_uint16,
    "weightDevice": _c_weightDevice,
    "throttleReadBpsDevice": _c_BlockIOThrottles,
    "throttleWriteBpsDevice": _c_BlockIOThrottles,
    "throttleReadIOPSDevice": _c_BlockIOThrottles,
    "throttleWriteIOPSDevice": _c_BlockIOThrottles,
})
_c_pageSize = _pattern(_p3, "must be a page size like 64KB, 2MB or 1GB")
_c_hugepageLimits_item = _object({"pageSize": _c_pageSize, "limit": _c_uint64}, ('pageSize', 'limit'))
_c_hugepageLimits = _array(_c_hugepageLimits_item)
_c_priorities_item = _object({"name": _c_string, "priority": _c_uint32}, ('name', 'priority'))
_c_priorities = _array(_c_priorities_item)
_c_network = _object({"classID": _c_uint32, "priorities": _c_priorities})
_c_pids = _object({"limit": _c_int64}, ('limit',))
_c_additionalProperties = _object({"hcaHandles": _c_uint32, "hcaObjects": _c_uint32})
_c_rdma = _object({}, (), (), _c_additionalProperties)
_c_Resources = _object({
    "devices": _c_devices_,
    "memory": _c_memory,
    "cpu": _c_cpu,
    "blockIO": _c_blockIO,
    "hugepageLimits": _c_hugepageLimits,
    "network": _c_network,
    "pids": _c_pids,
    "rdma": _c_rdma,
    "unified": _c_StringMap,
})
_c_rootfsPropagation = _enum(("private", "shared", "slave", "unbindable"))
_c_SeccompAction = _enum(("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"))
_c_SeccompArch = _enum(("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"))
_c_architectures = _array(_c_SeccompArch)
_c_SeccompFlag = _enum(("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
_c_flags_ = _array(_c_SeccompFlag)
_c_names = _array_of(str, "must be a string", 1, "must be a non-empty array", "must be a non-empty array")
_c_SeccompOperator = _enum(("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"))
_c_args_item = _object({
    "index": _c_uint32,
    "value": _c_uint64,
    "valueTwo": _c_uint64,
    "op": _c_SeccompOperator,
}, ('index', 'value', 'op'))
_c_args = _array(_c_args_item)
_c_SeccompRule = _object({
    "names": _c_names,
    "action": _c_SeccompAction,
    "errnoRet": _c_uint32,
    "args": _c_args,
}, ('names', 'action'))
_c_syscalls = _array(_c_SeccompRule)
_c_Seccomp = _object({
    "defaultAction": _c_SeccompAction,
    "defaultErrnoRet": _c_uint32,
    "architectures": _c_architectures,
    "flags": _c_flags_,
    "listenerPath": _c_string,
    "listenerMetadata": _c_string,
    "syscalls": _c_syscalls,
}, ('defaultAction',))
_c_memBwSchema = _pattern(_p4, "must start with MB: and be one line")
_c_IntelRdt = _object({
    "closID": _c_string,
    "l3CacheSchema": _c_string,
    "memBwSchema": _c_memBwSchema,
    "schemata": _c_Strings,
    "enableMonitoring": _c_boolean,
})
_c_mode = _enum(("MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"))
_c_flags_item_ = _enum(("MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"))
_c_flags__ = _array(_c_flags_item_)
_c_MemoryPolicy = _object({"mode": _c_mode, "nodes": _c_string, "flags": _c_flags__})
_c_domain = _enum(("LINUX", "LINUX32"))
_c_Personality = _object({"domain": _c_domain, "flags": _c_Strings})
_c_config_linux = _object({
    "namespaces": _c_namespaces,
    "uidMappings": _c_IDMappings,
    "gidMappings": _c_IDMappings,
    "timeOffsets": _c_timeOffsets,
    "devices": _c_devices,
    "netDevices": _c_netDevices,
    "cgroupsPath": _c_string,
    "resources": _c_Resources,
    "rootfsPropagation": _c_rootfsPropagation,
    "seccomp": _c_Seccomp,
    "sysctl": _c_StringMap,
    "maskedPaths": _c_Strings,
    "readonlyPaths": _c_Strings,
    "mountLabel": _c_string,
    "intelRdt": _c_IntelRdt,
    "memoryPolicy": _c_MemoryPolicy,
    "personality": _c_Personality,
})
_c_PermissionBits = _int(0, 511, "must be between 0 and 511")
_c_devices_item = _object({"path": _c_string, "mode": _c_PermissionBits})
_c_devices__ = _array(_c_devices_item)
_c_FreeBSDSharingNoDisable = _enum(("new", "inherit"))
_c_FreeBSDSharing = _enum(("disable", "new", "inherit"))
_c_uint8 = _int(0, 255, "must be between 0 and 255")
_c_allow = _object({
    "setHostname": _c_boolean,
    "rawSockets": _c_boolean,
    "chflags": _c_boolean,
    "mount": _c_Strings,
    "quotas": _c_boolean,
    "socketAf": _c_boolean,
    "mlock": _c_boolean,
    "reservedPorts": _c_boolean,
    "suser": _c_boolean,
})
_c_jail = _object({
    "parent": _c_string,
    "host": _c_FreeBSDSharingNoDisable,
    "ip4": _c_FreeBSDSharing,
    "ip4Addr": _c_Strings,
    "ip6": _c_FreeBSDSharing,
    "ip6Addr": _c_Strings,
    "vnet": _c_FreeBSDSharingNoDisable,
    "interface": _c_string,
    "vnetInterfaces": _c_Strings,
    "sysvmsg": _c_FreeBSDSharing,
    "sysvsem": _c_FreeBSDSharing,
    "sysvshm": _c_FreeBSDSharing,
    "enforceStatfs": _c_uint8,
    "allow": _c_allow,
})
_c_FreeBSD = _object({"devices": _c_devices__, "jail": _c_jail})
_c_cappedCPU = _object({"ncpus": _c_string})
_c_cappedMemory = _object({"physical": _c_string, "swap": _c_string})
_c_anet_item = _object({
    "linkname": _c_string,
    "lowerLink": _c_string,
    "allowedAddress": _c_string,
    "configureAllowedAddress": _c_string,
    "defrouter": _c_string,
    "macAddress": _c_string,
    "linkProtection": _c_string,
})
_c_anet = _array(_c_anet_item)
_c_Solaris = _object({
    "milestone": _c_string,
    "limitpriv": _c_string,
    "maxShmMemory": _c_string,
    "cappedCPU": _c_cappedCPU,
    "cappedMemory": _c_cappedMemory,
    "anet": _c_anet,
})
_c_layerFolders = _array_of(str, "must be a string", 1, "must be a non-empty array", "must be a non-empty array")
_c_idType = _enum(("class",))
_c_devices_item_ = _object({"id": _c_string, "idType": _c_idType}, ('id', 'idType'))
_c_devices___ = _array(_c_devices_item_)
_c_memory_ = _object({"limit": _c_uint64})
_c_affinity = _object({"mask": _c_uint64, "group": _c_uint32})
_c_cpu_ = _object({
    "count": _c_uint64,
    "shares": _c_uint16,
    "maximum": _c_uint16,
    "affinity": _c_affinity,
})
_c_storage = _object({
    "iops": _c_uint64,
    "bps": _c_uint64,
    "sandboxSize": _c_uint64,
})
_c_resources = _object({
    "memory": _c_memory_,
    "cpu": _c_cpu_,
    "storage": _c_storage,
})
_c_network_ = _object({
    "endpointList": _c_Strings,
    "allowUnqualifiedDNSQuery": _c_boolean,
    "DNSSearchList": _c_Strings,
    "networkSharedContainerName": _c_string,
    "networkNamespace": _c_string,
})
_c_object = _object({})
_c_hyperv = _object({"utilityVMPath": _c_string})
_c_Windows = _object({
    "layerFolders": _c_layerFolders,
    "devices": _c_devices___,
    "resources": _c_resources,
    "network": _c_network_,
    "credentialSpec": _c_object,
    "servicing": _c_boolean,
    "ignoreFlushesDuringBoot": _c_boolean,
    "hyperv": _c_hyperv,
}, ('layerFolders',))
_c_hypervisor = _object({"path": _c_string, "parameters": _c_Strings}, ('path',))
_c_kernel = _object({
    "path": _c_string,
    "parameters": _c_Strings,
    "initrd": _c_string,
}, ('path',))
_c_format = _enum(("raw", "qcow2", "vdi", "vmdk", "vhd"))
_c_image = _object({"path": _c_string, "format": _c_format}, ('path', 'format'))
_c_iomems_item = _object({
    "firstGFN": _c_uint64,
    "firstMFN": _c_uint64,
    "nrMFNs": _c_uint64,
}, ('firstMFN', 'nrMFNs'))
_c_iomems = _array(_c_iomems_item)
_c_hwConfig = _object({
    "deviceTree": _c_string,
    "vcpus": _c_uint32,
    "memory": _c_uint64,
    "dtdevs": _c_Strings,
    "iomems": _c_iomems,
    "irqs": _c_Uint32s,
})
_c_VM = _object({
    "hypervisor": _c_hypervisor,
    "kernel": _c_kernel,
    "image": _c_image,
    "hwConfig": _c_hwConfig,
}, ('kernel',))
_c_type__ = _enum(("mount", "pid", "uts", "ipc"))
_c_namespaces_item = _object({"type": _c_type__, "path": _c_string}, ('type',))
_c_namespaces_ = _array(_c_namespaces_item)
_c_ZOS = _object({"namespaces": _c_namespaces_})
_c_root = _object({
    "ociVersion": _c_string,
    "root": _c_Root,
    "mounts": _c_mounts,
    "process": _c_Process,
    "hostname": _c_string,
    "domainname": _c_string,
    "hooks": _c_LifecycleHooks,
    "annotations": _c_StringMap,
    "linux": _c_config_linux,
    "freebsd": _c_FreeBSD,
    "solaris": _c_Solaris,
    "windows": _c_Windows,
    "vm": _c_VM,
    "zos": _c_ZOS,
}, ('ociVersion',))


def validate(doc):
    """Check a document against spec/config.json: a list of (json path, message)."""
    e = []
    _c_root(doc, '', None, e)
    return e


def validate_process(doc):
    """Check a document against spec/config.json#/$defs/Process: a list of (json path, message)."""
    e = []
    _c_Process(doc, '', None, e)
    return e


def validate_resources(doc):
    """Check a document against spec/config-linux.json#/$defs/Resources: a list of (json path, message)."""
    e = []
    _c_Resources(doc, '', None, e)
    return e
