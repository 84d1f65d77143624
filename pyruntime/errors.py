"""The exception hierarchy of pyruntime.

Every error a user can cause is one of these; the CLI prints ``str(err)`` as a
single line and exits non-zero, never a traceback.
"""


class PyruntimeError(Exception):
    """Base class: a one-line, user-facing message."""

    exit_code = 1

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg

    def __str__(self) -> str:
        return self.msg


class ConfigError:
    """One problem in a config file: which file, where in it (a dotted JSON
    path, e.g. ``process.args`` or ``mounts[2].destination``) and what is wrong."""

    __slots__ = ("file", "path", "message")

    def __init__(self, path: str, message: str, file: str = "config.json"):
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

    def __init__(self, errors: "list[ConfigError] | str"):
        if isinstance(errors, str):
            errors = [ConfigError("", errors)]
        self.errors = list(errors)
        first = str(self.errors[0]) if self.errors else "invalid configuration"
        more = len(self.errors) - 1
        super().__init__(first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""))


class InvalidArgument(PyruntimeError):
    """A bad command-line argument or API parameter (ID, signal, flag value)."""


class ContainerNotFound(PyruntimeError):
    def __init__(self, container_id: str):
        # "does not exist" is the text podman and containerd match on.
        super().__init__(f"container {container_id!r} does not exist")
        self.container_id = container_id


class ContainerExists(PyruntimeError):
    def __init__(self, container_id: str):
        super().__init__(f"container with id {container_id!r} already exists")
        self.container_id = container_id


class WrongState(PyruntimeError):
    """The operation is not allowed in the container's current status."""

    def __init__(self, msg: str, status: str = ""):
        super().__init__(msg)
        self.status = status


class ContainerNotRunning(WrongState):
    def __init__(self, container_id: str, status: str = "stopped"):
        # "container not running" is matched by podman and containerd on kill.
        super().__init__(f"container {container_id!r}: container not running (status {status})", status)


class HostUnsupported(PyruntimeError):
    """The host lacks a kernel feature, LSM, controller or service the config needs."""


class CgroupError(PyruntimeError):
    pass


class SetupError(PyruntimeError):
    """Container setup failed inside the init (mounts, namespaces, exec lookup)."""
