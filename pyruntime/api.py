"""The public Python API. The CLI (pyruntime/cli.py + commands.py) is a thin
layer over this module.

    from pyruntime import Runtime
    rt = Runtime(root="/run/pyruntime")
    with rt.create("demo", "/path/to/bundle") as c:   # deleted on exit
        c.start()
        status = c.wait()
"""
import os

from .container import Container
from .errors import ContainerNotFound
from .state import DEFAULT_ROOT, StateStore, validate_id

__all__ = ["Runtime", "Container"]


class Runtime:
    """A state root (``--root``) and the operations on its containers."""

    def __init__(self, root: str = DEFAULT_ROOT):
        self.root = root
        self.store = StateStore(root)

    def get(self, container_id: str) -> "ManagedContainer":
        return ManagedContainer(self.store, container_id)

    def list(self) -> "list[ManagedContainer]":
        out = []
        for cid in self.store.ids():
            try:
                out.append(ManagedContainer(self.store, cid))
            except ContainerNotFound:
                continue  # deleted while we listed
        return out

    def create(self, container_id: str, bundle: str, *, config: "dict | None" = None,
               pid_file: "str | None" = None, console_socket: "str | None" = None,
               console_fd: "int | None" = None, preserve_fds: int = 0,
               no_pivot: bool = False, no_new_keyring: bool = False,
               _validated: bool = False) -> "ManagedContainer":
        """Create a container from a bundle directory (config.json is read and
        validated unless ``config`` is given; a given config is validated too).
        Returns it in the created state."""
        from .bundle import load_config, validate
        from .create import CreateRequest, create
        from .errors import InvalidConfig
        validate_id(container_id)
        bundle = os.path.abspath(bundle)
        if config is None:
            cfg = load_config(bundle)
        elif _validated:
            cfg = config
        else:
            errors = validate(config, bundle)
            if errors:
                raise InvalidConfig(errors)
            cfg = config
        req = CreateRequest(container_id, bundle, cfg, pid_file=pid_file,
                            console_socket=console_socket, console_fd=console_fd,
                            preserve_fds=preserve_fds, no_pivot=no_pivot,
                            no_new_keyring=no_new_keyring)
        state = create(self.store, req)
        return ManagedContainer(self.store, container_id, state)

    def run(self, container_id: str, bundle: str, *, detach: bool = False, keep: bool = False,
            **create_kw) -> int:
        """create + start; unless ``detach``, wait for the container, forwarding
        signals, delete it (unless ``keep``) and return its exit status as a
        shell would (128+N when killed by signal N)."""
        from .runner import run
        return run(self, container_id, bundle, detach=detach, keep=keep, **create_kw)


class ManagedContainer(Container):
    """A Container that is also a context manager (deleted, forcibly, on exit)
    and can be waited for when this process is its parent or subreaper."""

    def __enter__(self) -> "ManagedContainer":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.delete(force=True)
        except ContainerNotFound:
            pass

    def wait(self, timeout: "float | None" = None) -> "int | None":
        """Wait for the init to exit; return its exit status (128+N if killed by
        signal N), or None on timeout. Reaps it if we are its (sub)reaper."""
        from .runner import wait_init
        return wait_init(self.pid, self._data.get("pid_start"), timeout)
