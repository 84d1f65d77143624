"""Make the test process a child subreaper (as conmon and containerd's shim are)
and reap what it adopts.

After ``RUNTIME create`` exits, the container's init is reparented to the
nearest subreaper: this process.  Nobody else will ever wait for it, so a
background thread reaps such orphans once they exit, and records their exit
codes (the caller of a runtime collects the container's exit code, not the
runtime).

Children this process started itself through :meth:`Reaper.spawn` are reaped
through their ``Popen`` object (``poll()``), so ``returncode`` stays right.
Zombies of unknown origin (e.g. a third-party ``subprocess.run``) are only
reaped after a short grace period, so a ``Popen.wait()`` blocked on them wins
the race; pids handed to :meth:`Reaper.wait_pid` are reaped at once.
"""
from __future__ import annotations

import ctypes
import errno
import os
import subprocess
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

#: zombies nobody claimed are reaped after this many seconds
UNKNOWN_GRACE = 0.3
POLL_INTERVAL = 0.05


def set_child_subreaper(on: bool = True) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(e)}")


def is_child_subreaper() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    val = ctypes.c_int(0)
    if libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(val), 0, 0, 0) != 0:
        return False
    return bool(val.value)


def children() -> "set[int]":
    """Pids whose parent is this process (any of its threads)."""
    pids: set[int] = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for t in tasks:
        try:
            with open(f"/proc/self/task/{t}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return pids


def proc_state(pid: int) -> "str | None":
    """The one-letter state from /proc/<pid>/stat, None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        return data[data.rindex(b")") + 2:][:1].decode()
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


class Reaper:
    def __init__(self) -> None:
        self._lock = threading.Condition(threading.RLock())
        self._popens: "dict[int, subprocess.Popen]" = {}
        self._wanted: set[int] = set()
        self._first_seen: dict[int, float] = {}
        self.statuses: dict[int, int] = {}   # reaped orphan pid -> exit code (-N: signal N)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: "threading.Thread | None" = None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="subreaper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.reap_once(final=True)

    # -- spawning --------------------------------------------------------------
    def spawn(self, argv, **kw) -> subprocess.Popen:
        """``subprocess.Popen`` whose zombie the reaper leaves to its owner."""
        with self._lock:
            p = subprocess.Popen(argv, **kw)
            self._popens[p.pid] = p
        return p

    # -- waiting for orphans ---------------------------------------------------
    def wait_pid(self, pid: int, timeout: float = 10.0) -> int:
        """Wait until ``pid`` (an adopted orphan, e.g. a container init) has been
        reaped; return its exit code as ``Popen.returncode`` would (-N for a signal)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._wanted.add(pid)
            self._wake.set()
            while pid not in self.statuses:
                self._reap_locked(final=False)
                if pid in self.statuses:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"pid {pid} was not reaped within {timeout}s "
                                       f"(state {proc_state(pid)!r})")
                self._lock.wait(min(left, POLL_INTERVAL))
            self._wanted.discard(pid)
            return self.statuses[pid]

    def wait_gone(self, pid: int, timeout: float = 10.0) -> None:
        """Wait until ``pid`` no longer exists (reaping it at once if it is our
        zombie child)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._wanted.add(pid)
        try:
            while True:
                st = proc_state(pid)
                if st is None:
                    return
                if st in ("Z", "X"):
                    self.reap_once()
                    if proc_state(pid) is None:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"pid {pid} still exists (state {st!r}) after {timeout}s")
                time.sleep(0.02)
        finally:
            with self._lock:
                self._wanted.discard(pid)

    # -- internals -------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reap_once()
            except Exception:  # never let the reaper die
                pass
            self._wake.wait(POLL_INTERVAL)
            self._wake.clear()

    def reap_once(self, final: bool = False) -> None:
        with self._lock:
            self._reap_locked(final)

    def _reap_locked(self, final: bool) -> None:
        # forget Popen objects whose owner already waited
        for pid, p in list(self._popens.items()):
            if p.returncode is not None:
                del self._popens[pid]
        now = time.monotonic()
        zombies = [pid for pid in children() if proc_state(pid) in ("Z", "X")]
        for pid in list(self._first_seen):
            if pid not in zombies:
                del self._first_seen[pid]
        reaped = False
        for pid in zombies:
            p = self._popens.get(pid)
            if p is not None:
                p.poll()           # records returncode in the Popen object
                if p.returncode is not None:
                    del self._popens[pid]
                    self.statuses[pid] = p.returncode
                    reaped = True
                continue
            first = self._first_seen.setdefault(pid, now)
            if not (final or pid in self._wanted or now - first >= UNKNOWN_GRACE):
                continue
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                self._first_seen.pop(pid, None)
                continue
            except OSError as e:  # pragma: no cover
                if e.errno == errno.EINTR:
                    continue
                raise
            if got == pid:
                self.statuses[pid] = os.waitstatus_to_exitcode(status)
                self._first_seen.pop(pid, None)
                reaped = True
        if reaped:
            self._lock.notify_all()

    def zombies(self) -> "list[int]":
        return [pid for pid in children() if proc_state(pid) in ("Z", "X")]


_REAPER: "Reaper | None" = None


def get_reaper() -> Reaper:
    """The process-wide reaper (started on first use)."""
    global _REAPER
    if _REAPER is None:
        _REAPER = Reaper()
        _REAPER.start()
    return _REAPER
