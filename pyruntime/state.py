"""The state store: ``<root>/<id>/`` per container.

Files in a container's directory:
  state.json   the facts (written atomically: tmp file + rename)
  exec.fifo    present from create until start (its presence = "created")

The status is never stored: ``status()`` derives it from live facts (is the init
pid alive, with the start time we recorded; is exec.fifo still there; is the
cgroup frozen), so a stale file cannot lie. A per-container flock on the
directory serialises concurrent operations on one ID.
"""
import fcntl
import os

from .errors import ContainerNotFound, InvalidArgument, PyruntimeError
from .jsonfast import JSONError, dumps, loads

DEFAULT_ROOT = "/run/pyruntime"
STATE_FILE = "state.json"
FIFO = "exec.fifo"
MAX_ID_LEN = 1024
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def validate_id(container_id: str) -> str:
    """runc's rule: ^[\\w+\\-.]+$, and not "." or ".."; we also cap the length."""
    if not container_id:
        raise InvalidArgument("invalid container id: must not be empty")
    if len(container_id) > MAX_ID_LEN:
        raise InvalidArgument(f"invalid container id: longer than {MAX_ID_LEN} characters")
    if container_id in (".", "..") or not _ID_CHARS.issuperset(container_id):
        raise InvalidArgument(
            f"invalid container id {container_id!r}: use only letters, digits, "
            "'_', '+', '-' and '.' (and not '.' or '..')")
    return container_id


def proc_stat(pid: int) -> "tuple[str, int] | None":
    """(state letter, start time in clock ticks) of a pid, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the LAST ')'.
    rest = data[data.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[19])


def proc_ppid(pid: int) -> int:
    """The parent pid of ``pid`` (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    return int(data[data.rindex(b")") + 2:].split()[1])


def pid_alive(pid: "int | None", start_time: "int | None") -> bool:
    """True if ``pid`` is the same living (non-zombie) process we recorded."""
    if not pid or pid <= 0:
        return False
    st = proc_stat(pid)
    if st is None:
        return False
    state, started = st
    if state in ("Z", "X"):
        return False
    return start_time is None or started == start_time


class StateStore:
    def __init__(self, root: str = DEFAULT_ROOT):
        self.root = root

    def dir(self, container_id: str) -> str:
        return os.path.join(self.root, validate_id(container_id))

    def exists(self, container_id: str) -> bool:
        return os.path.isdir(self.dir(container_id))

    def ids(self) -> "list[str]":
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if not n.startswith(".")
                      and os.path.isdir(os.path.join(self.root, n)))

    def make_dir(self, container_id: str) -> "tuple[str, int]":
        """Create the container's directory (atomic: a duplicate ID fails) and
        return (path, locked dir fd)."""
        from .errors import ContainerExists
        path = self.dir(container_id)
        try:
            os.makedirs(self.root, mode=0o711, exist_ok=True)
        except OSError as e:
            raise PyruntimeError(f"cannot create state root {self.root}: {e.strerror}") from None
        try:
            os.mkdir(path, 0o711)
        except FileExistsError:
            raise ContainerExists(container_id) from None
        except OSError as e:
            raise PyruntimeError(f"cannot create state directory {path}: {e.strerror}") from None
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return path, fd

    def lock(self, container_id: str, shared: bool = False) -> int:
        """Lock an existing container's directory; returns the fd (close to unlock)."""
        path = self.dir(container_id)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ContainerNotFound(container_id) from None
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        if not os.path.isdir(path):  # deleted while we waited for the lock
            os.close(fd)
            raise ContainerNotFound(container_id)
        return fd

    def load(self, container_id: str) -> dict:
        path = os.path.join(self.dir(container_id), STATE_FILE)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            if os.path.isdir(os.path.dirname(path)):
                # A create that has not yet written anything (or died before it could).
                return {"id": container_id, "pid": 0, "half_made": True}
            raise ContainerNotFound(container_id) from None
        except NotADirectoryError:
            raise ContainerNotFound(container_id) from None
        try:
            data = loads(raw)
        except JSONError:
            # Torn or corrupt state (e.g. a full disk): treat as half-made.
            return {"id": container_id, "pid": 0, "half_made": True}
        if not isinstance(data, dict) or not _sane(data):
            return {"id": container_id, "pid": 0, "half_made": True}
        return data

    def save(self, container_id: str, data: dict) -> None:
        d = self.dir(container_id)
        tmp = os.path.join(d, f".{STATE_FILE}.tmp")
        payload = dumps(data).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, payload)
        except OSError as e:
            os.close(fd)
            os.unlink(tmp)
            raise PyruntimeError(f"cannot write {os.path.join(d, STATE_FILE)}: {e.strerror}") from None
        os.close(fd)
        os.rename(tmp, os.path.join(d, STATE_FILE))

    def remove(self, container_id: str) -> None:
        d = self.dir(container_id)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return
        for n in names:
            try:
                os.unlink(os.path.join(d, n))
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                import shutil
                shutil.rmtree(os.path.join(d, n), ignore_errors=True)
        try:
            os.rmdir(d)
        except FileNotFoundError:
            pass


def _sane(data: dict) -> bool:
    """The fields status() and delete rely on have their types (a state.json
    edited or corrupted by hand must not crash `list` for every container)."""
    for key in ("pid", "pid_start", "creator_pid", "creator_start"):
        v = data.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            return False
    return isinstance(data.get("cgroup"), (dict, type(None))) and \
        isinstance(data.get("hooks"), (dict, type(None)))


def status(data: dict, container_dir: str) -> str:
    """Derive the status of a container from live facts."""
    pid = data.get("pid") or 0
    if not pid:
        creator = data.get("creator_pid")
        if creator and pid_alive(creator, data.get("creator_start")):
            return "creating"
        if data.get("half_made"):
            # No state written yet: only trust a live creator process holding the lock.
            return "creating" if _locked(container_dir) else "stopped"
        return "stopped"
    if not pid_alive(pid, data.get("pid_start")):
        return "stopped"
    if os.path.exists(os.path.join(container_dir, FIFO)):
        return "created"
    cg = data.get("cgroup")
    if cg:
        try:
            from .cgroups import is_frozen_from_state
            if is_frozen_from_state(cg):
                return "paused"
        except ImportError:
            pass
    return "running"


def _locked(container_dir: str) -> bool:
    """Is someone (a create in progress) holding the directory's lock?"""
    try:
        fd = os.open(container_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
