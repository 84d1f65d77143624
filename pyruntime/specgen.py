"""Default config.json, as ``pyruntime spec`` writes it (the same defaults as
``runc spec``, for runtime-spec 1.3.0)."""

OCI_VERSION = "1.3.0"

_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

_MASKED = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
           "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
           "/proc/scsi"]
_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def default_config(rootless: bool = False, args: "list[str] | None" = None,
                   terminal: bool = True) -> dict:
    """Return a fresh default config dict (callers may mutate it)."""
    caps = list(_DEFAULT_CAPS)
    cfg: dict = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args) if args else ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps[:], "effective": caps[:],
                             "permitted": caps[:], "ambient": caps[:]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "pyruntime",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": list(_MASKED),
            "readonlyPaths": list(_READONLY),
        },
    }
    if rootless:
        _make_rootless(cfg)
    return cfg


def _make_rootless(cfg: dict) -> None:
    """What ``runc spec --rootless`` changes: a user namespace mapping the
    caller's ids to root, no network namespace, /sys bind-mounted, no cgroup
    mount, no resources."""
    import os
    linux = cfg["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != "network"]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    linux.pop("resources", None)
    mounts = []
    for m in cfg["mounts"]:
        if m["destination"] == "/sys/fs/cgroup":
            continue
        if m["destination"] == "/sys":
            m = {"destination": "/sys", "type": "none", "source": "/sys",
                 "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
        if m["destination"] == "/dev/pts":
            m = dict(m, options=[o for o in m["options"] if o != "gid=5"])
        if m["destination"] == "/dev/mqueue":
            m = {"destination": "/dev/mqueue", "type": "none", "source": "/dev/mqueue",
                 "options": ["bind", "nosuid", "noexec", "nodev"]}
        mounts.append(m)
    cfg["mounts"] = mounts
