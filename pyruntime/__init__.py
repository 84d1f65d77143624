"""pyruntime: an OCI container runtime in Python, a drop-in for runc.

    from pyruntime import Runtime
    rt = Runtime(root="/run/pyruntime")
    with rt.create("demo", "/path/to/bundle") as c:
        c.start()
        print(c.wait())

Names are loaded on first use, so ``import pyruntime`` (and every CLI call)
stays cheap.
"""

__version__ = "0.1.0"
__all__ = ["Runtime", "Container", "Bundle", "errors", "PyruntimeError", "ContainerNotFound",
           "ContainerExists", "InvalidConfig", "InvalidArgument", "WrongState",
           "ContainerNotRunning", "HostUnsupported", "CgroupError", "SetupError", "ConfigError"]

_LAZY = {
    "Runtime": ("api", "Runtime"),
    "Container": ("api", "ManagedContainer"),
    "Bundle": ("bundle_api", "Bundle"),
}
_ERRORS = {"PyruntimeError", "ContainerNotFound", "ContainerExists", "InvalidConfig",
           "InvalidArgument", "WrongState", "ContainerNotRunning", "HostUnsupported",
           "CgroupError", "SetupError", "ConfigError"}


def __getattr__(name: str):
    # Called for every `from . import x` of a submodule not yet loaded: keep it cheap.
    if name in _LAZY:
        import importlib
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{mod}"), attr)
    if name in _ERRORS:
        from . import errors
        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
