"""The exception hierarchy of pyruntime.

Every error a user can cause is one of these; the CLI prints ``str(err)`` as a
single line and exits non-zero, never a traceback.

    PyruntimeError               base: a one-line message (``.msg``)
    ├── InvalidConfig            config.json / process / resources invalid: ``.errors``
    │                            is the list of ConfigError(file, path, message)
    ├── InvalidArgument          a bad ID, signal, flag value or API parameter
    ├── ContainerNotFound        no such container (``.container_id``)
    ├── ContainerExists          the ID is taken (``.container_id``)
    ├── WrongState               not allowed in the current status (``.status``)
    │   └── ContainerNotRunning  the container is stopped
    ├── HostUnsupported          the host lacks a kernel feature, LSM or controller
    ├── CgroupError              a cgroup operation failed
    ├── SetupError               container setup failed (mounts, namespaces, exec)
    └── hooks.HookError          a hook failed (also ``pyruntime.HookError``)

ConfigError is not an exception: it is one problem of an InvalidConfig.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time: for the type checker only
    from collections.abc import Iterable

__all__ = ["PyruntimeError", "ConfigError", "InvalidConfig", "InvalidArgument",
           "ContainerNotFound", "ContainerExists", "WrongState", "ContainerNotRunning",
           "HostUnsupported", "CgroupError", "SetupError"]


class PyruntimeError(Exception):
    """Base class: a one-line, user-facing message."""

    exit_code = 1

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg

    def __str__(self) -> str:
        return self.msg


class ConfigError:
    """One problem in a config file: which file, where in it (a dotted JSON
    path, e.g. ``process.args`` or ``mounts[2].destination``) and what is wrong."""

    __slots__ = ("file", "path", "message")

    def __init__(self, path: str, message: str, file: str = "config.json") -> None:
        self.file = file
        self.path = path
        self.message = message

    def __str__(self) -> str:
        if self.path:
            return f"{self.file}: {self.path}: {self.message}"
        return f"{self.file}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigError({self.file!r}, {self.path!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigError) and (self.file, self.path, self.message) == (
            other.file, other.path, other.message)

    def __hash__(self) -> int:
        return hash((self.file, self.path, self.message))


class InvalidConfig(PyruntimeError):
    """config.json (or a process.json) is missing, unreadable or invalid."""

    def __init__(self, errors: "Iterable[ConfigError] | str") -> None:
        if isinstance(errors, str):
            errors = [ConfigError("", errors)]
        self.errors: "list[ConfigError]" = list(errors)
        first = str(self.errors[0]) if self.errors else "invalid configuration"
        more = len(self.errors) - 1
        super().__init__(first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""))


class InvalidArgument(PyruntimeError):
    """A bad command-line argument or API parameter (ID, signal, flag value)."""


class ContainerNotFound(PyruntimeError):
    """No container with this ID in the state root."""

    def __init__(self, container_id: str) -> None:
        # "does not exist" is the text podman and containerd match on.
        super().__init__(f"container {container_id!r} does not exist")
        self.container_id = container_id


class ContainerExists(PyruntimeError):
    """create: a container with this ID exists already."""

    def __init__(self, container_id: str) -> None:
        super().__init__(f"container with id {container_id!r} already exists")
        self.container_id = container_id


class WrongState(PyruntimeError):
    """The operation is not allowed in the container's current status."""

    def __init__(self, msg: str, status: str = "") -> None:
        super().__init__(msg)
        self.status = status


class ContainerNotRunning(WrongState):
    """The container (its init) is not alive: kill, update, stats, exec..."""

    def __init__(self, container_id: str, status: str = "stopped") -> None:
        # "container not running" is matched by podman and containerd on kill.
        super().__init__(f"container {container_id!r}: container not running (status {status})", status)


class HostUnsupported(PyruntimeError):
    """The host lacks a kernel feature, LSM, controller or service the config needs."""


class CgroupError(PyruntimeError):
    """A cgroup operation failed (or the container has no cgroup)."""


class SetupError(PyruntimeError):
    """Container setup failed inside the init (mounts, namespaces, exec lookup)."""
