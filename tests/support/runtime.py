"""Driving a runtime binary through its CLI (runc's command language).

The binary is chosen by env ``RUNTIME``: a path, or a name looked up on PATH
(``RUNTIME=runc``).  Default: the ``pyruntime`` console script next to
``sys.executable``, else ``pyruntime`` on PATH.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .reaper import get_reaper

DEFAULT_TIMEOUT = 30.0


def find_runtime(name: "str | None" = None) -> "str | None":
    """Absolute path of the runtime under test, or None if not found."""
    name = name if name is not None else os.environ.get("RUNTIME", "")
    if name:
        if os.sep in name:
            return os.path.abspath(name) if os.access(name, os.X_OK) else None
        return shutil.which(name)
    cand = os.path.join(os.path.dirname(sys.executable), "pyruntime")
    if os.access(cand, os.X_OK):
        return cand
    return shutil.which("pyruntime")


def find_runc() -> "str | None":
    for p in ("/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"):
        if os.access(p, os.X_OK):
            return p
    return shutil.which("runc")


def is_runc(path: "str | None") -> bool:
    """True if ``path`` is runc itself (by name, resolved symlinks or --version)."""
    if not path:
        return False
    if os.path.basename(os.path.realpath(path)) == "runc":
        return True
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return out.startswith("runc version")


class Result(tuple):
    """``(rc, out, err)`` with attributes, and the command line for messages."""

    def __new__(cls, rc: int, out: str, err: str, cmd: "list[str]"):
        self = super().__new__(cls, (rc, out, err))
        self.cmd = cmd
        return self

    rc = property(lambda self: self[0])
    out = property(lambda self: self[1])
    err = property(lambda self: self[2])

    def __repr__(self) -> str:
        return (f"Result(rc={self.rc}, cmd={' '.join(self.cmd)!r},\n  out={self.out!r},\n"
                f"  err={self.err!r})")

    def ok(self) -> "Result":
        assert self.rc == 0, f"command failed: {self!r}"
        return self


class RuntimeTimeout(AssertionError):
    pass


class RT:
    """``rt(*args, **kw)`` runs ``RUNTIME --root ROOT *args`` and returns
    :class:`Result`.  stdout/stderr go to temporary files, not pipes: ``create``
    hands its stdio to the container, whose copy of a pipe would keep
    ``communicate()`` waiting for the container to exit."""

    _seq = itertools.count()

    def __init__(self, binary: str, root: str, workdir: str,
                 on_id=None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.binary = binary
        self.root = root
        self.workdir = workdir
        self.timeout = timeout
        self._on_id = on_id
        self.history: "list[Result]" = []

    # ------------------------------------------------------------------
    def argv(self, args, root=None) -> "list[str]":
        root = self.root if root is None else root
        head = [self.binary] + (["--root", root] if root else [])
        return head + [str(a) for a in args]

    def _note_ids(self, args) -> None:
        if self._on_id is None:
            return
        args = [str(a) for a in args]
        for cmd in ("create", "run"):
            if cmd in args:
                tail = args[args.index(cmd) + 1:]
                if tail and not tail[-1].startswith("-"):
                    self._on_id(tail[-1])

    def popen(self, *args, root=None, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
              **kw) -> subprocess.Popen:
        """Start the runtime in the background (a child the reaper leaves alone)."""
        self._note_ids(args)
        return get_reaper().spawn(self.argv(args, root), stdin=stdin, stdout=stdout,
                                  stderr=stderr, **kw)

    def __call__(self, *args, timeout: "float | None" = None, input: "str | bytes | None" = None,
                 stdin=None, stdout=None, stderr=None, env=None, cwd=None, pass_fds=(),
                 root=None, argv: "list[str] | None" = None) -> Result:
        timeout = self.timeout if timeout is None else timeout
        cmd = list(argv) if argv is not None else self.argv(args, root)
        self._note_ids(args)
        n = next(self._seq)
        os.makedirs(self.workdir, exist_ok=True)
        own_out = stdout is None
        own_err = stderr is None
        in_file = None
        if input is not None:
            in_file = tempfile.TemporaryFile(dir=self.workdir)
            in_file.write(input.encode() if isinstance(input, str) else input)
            in_file.seek(0)
            stdin = in_file
        elif stdin is None:
            stdin = subprocess.DEVNULL
        out_f = open(os.path.join(self.workdir, f"rt-{n}.out"), "w+b") if own_out else stdout
        err_f = open(os.path.join(self.workdir, f"rt-{n}.err"), "w+b") if own_err else stderr
        try:
            p = get_reaper().spawn(cmd, stdin=stdin, stdout=out_f, stderr=err_f, env=env,
                                   cwd=cwd, pass_fds=pass_fds)
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise RuntimeTimeout(f"timed out after {timeout}s: {' '.join(cmd)}") from None
            out = err = ""
            if own_out:
                out_f.seek(0)
                out = out_f.read().decode(errors="replace")
            if own_err:
                err_f.seek(0)
                err = err_f.read().decode(errors="replace")
        finally:
            if own_out:
                out_f.close()
            if own_err:
                err_f.close()
            if in_file is not None:
                in_file.close()
        res = Result(rc, out, err, cmd)
        self.history.append(res)
        return res

    # -- conveniences ------------------------------------------------------
    def state(self, cid: str) -> dict:
        res = self("state", cid)
        assert res.rc == 0, f"state {cid} failed: {res!r}"
        try:
            return json.loads(res.out)
        except ValueError as e:
            raise AssertionError(f"state {cid} printed invalid JSON ({e}): {res.out!r}")

    def status(self, cid: str) -> "str | None":
        """The container's status, or None if ``state`` fails."""
        res = self("state", cid)
        if res.rc != 0:
            return None
        return json.loads(res.out).get("status")

    def wait_status(self, cid: str, want: "str | None", timeout: float = 10.0) -> dict:
        """Poll ``state`` until status == want (None: until state fails)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            res = self("state", cid)
            if want is None and res.rc != 0:
                return {}
            if res.rc == 0:
                last = json.loads(res.out)
                if last.get("status") == want:
                    return last
            else:
                last = res
            if time.monotonic() > deadline:
                raise AssertionError(f"container {cid} did not reach status {want!r} in "
                                     f"{timeout}s; last: {last!r}")
            time.sleep(0.02)

    def force_delete(self, cid: str) -> Result:
        return self("delete", "--force", cid)
