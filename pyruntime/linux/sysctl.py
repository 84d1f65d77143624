"""linux.sysctl: which kernel parameters a container may set (runc's rules).

Only namespaced parameters are allowed, and only when the container has its own
namespace of the kind they belong to; anything else would change the host.
The values are written by the container's setup process (create.py) once its
/proc is mounted and checked to be procfs.
"""
import os

from ..errors import SetupError

# kernel.* parameters that belong to the IPC namespace (plus fs.mqueue.*)
IPC_KEYS = frozenset(("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                      "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                      "kernel.shm_rmid_forced"))
UTS_KEYS = frozenset(("kernel.hostname", "kernel.domainname"))


def normalize(key: str) -> str:
    """``net/ipv4/ip_forward`` and ``net.ipv4.ip_forward`` name the same parameter."""
    return key.replace("/", ".")


def _is_host_netns(path: str) -> bool:
    """True if ``path`` is the network namespace this process is in."""
    try:
        a = os.stat(path)
        b = os.stat("/proc/self/ns/net")
    except OSError as e:
        raise SetupError(f"linux.namespaces: network namespace path {path}: "
                         f"{e.strerror.lower()}") from None
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check(sysctl: dict, namespaces: "set[str]", join: "dict[str, str] | None" = None) -> None:
    """Raise SetupError for the first parameter the container may not set.
    ``namespaces``: the container's namespace types (new or joined); ``join``:
    {type: path} of the joined ones (a joined network namespace that is the
    runtime's own is the host's)."""
    hostnet = None
    for raw in sysctl or {}:
        key = normalize(raw)
        if key in IPC_KEYS or key.startswith("fs.mqueue."):
            if "ipc" in namespaces:
                continue
            raise SetupError(f'linux.sysctl: "{raw}" is not allowed in the host\'s IPC '
                             'namespace (add an ipc namespace)')
        if key.startswith("net."):
            if hostnet is None:
                if "network" not in namespaces:
                    hostnet = True
                elif join and join.get("network"):
                    hostnet = _is_host_netns(join["network"])
                else:
                    hostnet = False
            if hostnet:
                raise SetupError(f'linux.sysctl: "{raw}" is not allowed in the host\'s network '
                                 'namespace (add a network namespace)')
            continue
        if key in UTS_KEYS:
            if "uts" in namespaces:
                continue
            raise SetupError(f'linux.sysctl: "{raw}" is not allowed in the host\'s UTS '
                             'namespace (add a uts namespace)')
        raise SetupError(f'linux.sysctl: "{raw}" is not namespaced: setting it would change '
                         'the host')
