"""The public Python API. The CLI (pyruntime/cli.py + commands.py) is a thin
layer over this module.

    from pyruntime import Runtime
    rt = Runtime(root="/run/pyruntime")
    with rt.create("demo", "/path/to/bundle") as c:   # always deleted on exit
        c.start()
        status = c.wait()                             # 0, or 128+N if killed by N

Conventions: the facts of a container are properties read live (``id``,
``pid``, ``bundle``, ``status``); ``state()`` is a method that returns a fresh
dict (the OCI state document) on every call. Every error is a
:class:`pyruntime.errors.PyruntimeError` subclass. See docs/api.md.

Import-light: ``state``, ``start``, ``kill`` and ``delete`` import this module on
every CLI call, so the heavier operations live in ``_apiimpl`` (loaded on use).
"""
import os
import sys

from .container import Container, parse_signal
from .errors import ContainerNotFound, InvalidConfig, WrongState
from .state import DEFAULT_ROOT, StateStore, proc_ppid, proc_stat

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time: for the type checker only
    from collections.abc import Mapping, Sequence
    from types import TracebackType
    from typing import Any, Protocol, Union

    from .bundle_api import Bundle

    class HasFileno(Protocol):
        def fileno(self) -> int: ...

    #: a file descriptor, an object with ``fileno()`` (a file, a socket), or DEVNULL
    FileLike = Union[int, HasFileno]
    JSONDict = dict[str, Any]

__all__ = ["Runtime", "ManagedContainer", "DEVNULL", "parse_signal", "wait_pid"]

#: as ``stdin``/``stdout``/``stderr``: connect the stream to /dev/null (the same
#: value as ``subprocess.DEVNULL``)
DEVNULL = -3


class Runtime:
    """A state root (the CLI's ``--root``) and the operations on its containers.

    ``subreaper`` (default True) makes this process a child subreaper
    (``PR_SET_CHILD_SUBREAPER``) before its first create, run or exec, so that
    the containers' init processes become its children when their intermediate
    parents exit: that is what lets :meth:`ManagedContainer.wait` collect their
    exit statuses. It is a process-wide setting: orphaned descendants of this
    process are then reparented to it too.
    """

    def __init__(self, root: str = DEFAULT_ROOT, *, subreaper: bool = True) -> None:
        self.root = root
        self.store = StateStore(root)
        self.subreaper = subreaper

    def get(self, container_id: str) -> "ManagedContainer":
        """The container ``container_id``; raises ContainerNotFound (or
        InvalidArgument for a malformed ID)."""
        c = ManagedContainer(self.store, container_id)
        c.runtime = self
        return c

    def exists(self, container_id: str) -> bool:
        return self.store.exists(container_id)

    def list(self) -> "list[ManagedContainer]":
        """Every container of this root, sorted by ID."""
        out = []
        for cid in self.store.ids():
            try:
                out.append(self.get(cid))
            except ContainerNotFound:
                continue  # deleted while we listed
        return out

    def create(self, container_id: str, bundle: "str | os.PathLike[str] | Bundle", *,
               config: "JSONDict | None" = None, pid_file: "str | None" = None,
               console_socket: "str | None" = None, console_fd: "int | None" = None,
               preserve_fds: int = 0, no_pivot: bool = False, no_new_keyring: bool = False,
               stdin: "FileLike | None" = None, stdout: "FileLike | None" = None,
               stderr: "FileLike | None" = None,
               _validated: bool = False) -> "ManagedContainer":
        """Create a container from a bundle (a directory, or a :class:`Bundle`)
        and return it in the ``created`` state: its init waits for ``start()``.

        ``config.json`` is read and validated unless ``config`` is given (a given
        config is validated too); an invalid one raises InvalidConfig listing
        every problem. The container's stdin/stdout/stderr are this process's,
        unless ``stdin``/``stdout``/``stderr`` (an fd, an object with
        ``fileno()``, or DEVNULL) say otherwise. The other keywords are the
        CLI's ``create`` flags (``console_fd``: an already connected console
        socket, instead of a path)."""
        from ._apiimpl import create
        return create(self, container_id, bundle, config, (stdin, stdout, stderr), _validated,
                      pid_file=pid_file, console_socket=console_socket, console_fd=console_fd,
                      preserve_fds=preserve_fds, no_pivot=no_pivot,
                      no_new_keyring=no_new_keyring)

    def run(self, container_id: str, bundle: "str | os.PathLike[str] | Bundle", *,
            detach: bool = False, keep: bool = False, stdin: "FileLike | None" = None,
            stdout: "FileLike | None" = None, stderr: "FileLike | None" = None,
            **create_kw: "Any") -> int:
        """create + start; unless ``detach``, wait for the container (forwarding
        the signals this process gets to it, and relaying its terminal if
        ``process.terminal`` is set), delete it (unless ``keep``) and return its
        exit status as a shell would (128+N when killed by signal N). With
        ``detach``, return 0 once it runs. ``create_kw`` are :meth:`create`'s
        keywords. The signal handlers are restored afterwards."""
        from ._apiimpl import run
        return run(self, container_id, bundle, detach, keep, (stdin, stdout, stderr),
                   create_kw)


class ManagedContainer(Container):
    """A container of a :class:`Runtime` (``pyruntime.Container``): a context
    manager (deleted, forcibly, on exit, whatever happened in the block) that
    can also be waited for and exec'd into.

    Properties (live facts): ``id``, ``pid``, ``bundle``, ``status``
    (``creating``, ``created``, ``running``, ``paused`` or ``stopped``), ``dir``.
    Methods: ``state()``, ``start()``, ``kill()``, ``pause()``, ``resume()``,
    ``update()``, ``stats()``, ``pids()``, ``exec()``, ``wait()``, ``delete()``.
    """

    #: the Runtime this container was found or created through
    runtime: "Runtime | None" = None

    def __repr__(self) -> str:
        return f"<Container {self.id!r} pid={self.pid} root={self.store.root!r}>"

    def __enter__(self) -> "ManagedContainer":
        return self

    def __exit__(self, exc_type: "type[BaseException] | None", exc: "BaseException | None",
                 tb: "TracebackType | None") -> None:
        try:
            self.delete(force=True)
        except ContainerNotFound:
            pass
        except Exception as e:
            if exc is None:
                raise
            # Never hide the error of the block: note ours on it instead.
            exc.add_note(f"(deleting container {self.id!r} failed too: {e})")

    def delete(self, force: bool = False) -> None:
        """runtime.md#delete: remove a stopped container (with ``force``, kill a
        created, running or paused one first). Reaps the init if this process
        is its (sub)reaper and nobody waited for it."""
        pid, start = self.pid, self._data.get("pid_start")
        super().delete(force=force)
        if pid:
            st = proc_stat(pid)
            # Only a zombie of ours: the CLI is never the init's parent, and
            # must not pay the import of _apiimpl for nothing.
            if st is not None and st[0] in ("Z", "X") and st[1] == start \
                    and proc_ppid(pid) == os.getpid():
                from ._apiimpl import reap
                reap(pid, (pid, start))
            impl = sys.modules.get("pyruntime._apiimpl")
            if impl is not None:  # forget its exit status: the container is gone
                impl.EXIT.pop((pid, start), None)

    def wait(self, timeout: "float | None" = None) -> "int | None":
        """Wait for the init to exit and return its exit status (128+N if killed
        by signal N); None if ``timeout`` (seconds) expired first.

        The status is collected (the init reaped) when this process is the
        init's parent or subreaper, which :class:`Runtime` arranges by default;
        otherwise wait() still waits, but returns None: the status is not ours
        to know. Waiting again, or from several threads, gives the same status.
        Only this container's init is reaped: other children (``subprocess``...)
        are left alone."""
        pid = self.pid
        if not pid:
            st = self.status
            raise WrongState(f"cannot wait for container {self.id!r}: it has no init "
                             f"process (it is {st})", st)
        return wait_pid(pid, timeout, self._data.get("pid_start"))

    def update(self, resources: "JSONDict") -> None:
        """Change the cgroup limits of a live container. ``resources`` is a
        ``linux.resources`` object (config-linux.md#control-groups), e.g.
        ``{"memory": {"limit": 64 << 20}, "pids": {"limit": 32}}``, validated
        first (InvalidConfig)."""
        from .validation import validate_resources
        errors = validate_resources(resources, file="resources")
        if errors:
            raise InvalidConfig(errors)
        super().update(resources)

    def exec(self, process: "Sequence[str] | Mapping[str, Any]", *, detach: bool = False,
             env: "Mapping[str, str] | Sequence[str] | None" = None, cwd: "str | None" = None,
             user: "int | tuple[int, int] | None" = None, console_socket: "str | None" = None,
             pid_file: "str | None" = None, preserve_fds: int = 0,
             ignore_paused: bool = False, stdin: "FileLike | None" = None,
             stdout: "FileLike | None" = None, stderr: "FileLike | None" = None) -> int:
        """Run a new process in the (created, running or, with ``ignore_paused``,
        paused) container, as ``pyruntime exec`` does.

        ``process`` is either a list of arguments, run with the rest of the
        container's own ``process`` (env, user, cwd, capabilities, rlimits...),
        or a complete OCI process object (a dict, validated: InvalidConfig).
        ``env`` (a mapping, or ``KEY=VALUE`` strings) is merged into its
        environment; ``cwd`` and ``user`` (a uid, or (uid, gid)) replace its
        own. Its stdio is this process's unless redirected (as for create).

        Returns the process's exit status (128+N if killed by signal N), or with
        ``detach`` its host pid as soon as it runs: the process is then a child
        of this one (collect it with :func:`wait_pid`). A process with
        ``terminal`` set needs a ``console_socket``, or runs in the foreground
        with this process's terminal relayed to it."""
        from ._apiimpl import exec_in
        return exec_in(self, process, detach=detach, env=env, cwd=cwd, user=user,
                       console_socket=console_socket, pid_file=pid_file,
                       preserve_fds=preserve_fds, ignore_paused=ignore_paused,
                       stdio=(stdin, stdout, stderr))


def wait_pid(pid: int, timeout: "float | None" = None, start_time: "int | None" = None
             ) -> "int | None":
    """Wait for process ``pid`` to exit; return its exit status (128+N if killed
    by signal N), reaping it if it is a child of this process; None if
    ``timeout`` (seconds) expired, or if it exited but is not ours to reap.
    ``start_time`` (field 22 of /proc/<pid>/stat) guards against a recycled
    pid. No other child is ever reaped."""
    from ._apiimpl import wait_pid as wait
    return wait(pid, timeout, start_time)

