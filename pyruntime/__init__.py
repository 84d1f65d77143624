"""pyruntime: an OCI container runtime in Python, a drop-in for runc.

    from pyruntime import Runtime
    rt = Runtime(root="/run/pyruntime")
    with rt.create("demo", "/path/to/bundle") as c:   # always deleted on exit
        c.start()
        print(c.wait())

Public names: Runtime, Container (what Runtime.create/get return), Bundle,
ConfigBuilder, DEVNULL, and the exceptions of pyruntime.errors. See
docs/api.md. Names are loaded on first use, so ``import pyruntime`` (and every
CLI call) stays cheap.
"""

__version__ = "0.1.0"
__all__ = ["Runtime", "Container", "Bundle", "ConfigBuilder", "DEVNULL", "errors",
           "PyruntimeError", "ContainerNotFound", "ContainerExists", "InvalidConfig",
           "InvalidArgument", "WrongState", "ContainerNotRunning", "HostUnsupported",
           "CgroupError", "SetupError", "HookError", "ConfigError"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # the type checker sees the real names; at run time __getattr__ loads them
    from . import errors
    from .api import DEVNULL, Runtime
    from .api import ManagedContainer as Container
    from .bundle_api import Bundle, ConfigBuilder
    from .errors import (CgroupError, ConfigError, ContainerExists, ContainerNotFound,
                         ContainerNotRunning, HostUnsupported, InvalidArgument, InvalidConfig,
                         PyruntimeError, SetupError, WrongState)
    from .hooks import HookError

_LAZY = {
    "Runtime": ("api", "Runtime"),
    "Container": ("api", "ManagedContainer"),
    "DEVNULL": ("api", "DEVNULL"),
    "Bundle": ("bundle_api", "Bundle"),
    "ConfigBuilder": ("bundle_api", "ConfigBuilder"),
    "HookError": ("hooks", "HookError"),
}
_ERRORS = {"PyruntimeError", "ContainerNotFound", "ContainerExists", "InvalidConfig",
           "InvalidArgument", "WrongState", "ContainerNotRunning", "HostUnsupported",
           "CgroupError", "SetupError", "ConfigError"}


def __getattr__(name: str) -> object:
    # Called for every `from . import x` of a submodule not yet loaded: keep it cheap.
    if name in _LAZY:
        import importlib
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{mod}"), attr)
    if name in _ERRORS:
        from . import errors
        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> "list[str]":
    return sorted(set(globals()) | set(__all__))
