"""The `features` document (features.md, features-linux.md): what this build of
pyruntime recognises. It describes the runtime, not the host, so it is static."""


def features() -> dict:
    from .linux.process import CAPS
    from .linux.rootfs import IGNORED, MOUNT_FLAGS, PROPAGATION, RECURSIVE
    from .specgen import OCI_VERSION
    mount_options = sorted(set(MOUNT_FLAGS) | set(PROPAGATION) | set(RECURSIVE) | IGNORED)
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": list(CAPS),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False,
                       "rdma": True},
            "seccomp": {"enabled": False},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": False}},
            "netDevices": {"enabled": False},
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.implementation": "pyruntime",
        },
    }
