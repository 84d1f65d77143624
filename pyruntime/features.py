"""The `features` document (features.md, features-linux.md): what this build of
pyruntime recognises. It describes the runtime, not the host (only seccomp's
``supportedFlags`` is probed, as the spec allows)."""


def _seccomp() -> dict:
    try:
        from .linux import seccomp
        seccomp._load()
    except Exception:  # no cffi or no libseccomp.so.2: seccomp configs cannot work
        return {"enabled": False}
    try:
        supported = seccomp.supported_flags()
    except Exception:
        supported = []
    return {
        "enabled": True,
        "actions": sorted(seccomp.ACTIONS),
        "operators": sorted(seccomp.OPERATORS),
        "archs": seccomp.known_arches(),
        "knownFlags": list(seccomp.FLAGS),
        "supportedFlags": supported,
    }


def features() -> dict:
    from .linux.process import CAPS
    from .linux.rootfs import IGNORED, MOUNT_FLAGS, PROPAGATION, RECURSIVE
    from .specgen import OCI_VERSION
    mount_options = sorted(set(MOUNT_FLAGS) | set(PROPAGATION) | set(RECURSIVE) | IGNORED)
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": list(CAPS),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False,
                       "rdma": True},
            "seccomp": _seccomp(),
            # labels are applied by the C stage; create refuses them on a host
            # without the LSM (pyruntime/linux/lsm.py)
            "apparmor": {"enabled": True},
            "selinux": {"enabled": True},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": True}},
            "netDevices": {"enabled": True},
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.implementation": "pyruntime",
        },
    }
