"""Terminals: the ``--console-socket`` receiving end, and reading a pty master."""
from __future__ import annotations

import os
import select
import socket
import threading
import time


class ConsoleSocket:
    """Listens on a unix socket; a background thread accepts one connection and
    receives the pty master sent with SCM_RIGHTS (``socket.recv_fds``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.master: "int | None" = None
        self.msg: bytes = b""
        self.error: "BaseException | None" = None
        self._done = threading.Event()
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    def _accept(self) -> None:
        try:
            self.sock.settimeout(60)
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(30)
                msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
                self.msg = msg
                if fds:
                    self.master = fds[0]
                    for extra in fds[1:]:
                        os.close(extra)
        except BaseException as e:  # reported by wait()
            self.error = e
        finally:
            self._done.set()

    def wait(self, timeout: float = 10.0) -> int:
        """The received master fd (fails if none came)."""
        if not self._done.wait(timeout):
            raise AssertionError(f"no connection on the console socket within {timeout}s")
        if self.error is not None:
            raise AssertionError(f"console socket receive failed: {self.error!r}")
        if self.master is None:
            raise AssertionError(f"console socket got a message without an fd: {self.msg!r}")
        return self.master

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            if self.master is not None:
                try:
                    os.close(self.master)
                except OSError:
                    pass
                self.master = None
            try:
                os.unlink(self.path)
            except OSError:
                pass


def read_until(fd: int, needle: bytes, timeout: float = 10.0, buf: "bytearray | None" = None
               ) -> bytes:
    """Read from ``fd`` until ``needle`` was seen (or EOF/EIO, or timeout: fail)."""
    data = buf if buf is not None else bytearray()
    deadline = time.monotonic() + timeout
    while needle not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {needle!r}; got {bytes(data)!r}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:       # EIO: the slave side is closed
            chunk = b""
        if not chunk:
            raise AssertionError(f"EOF before {needle!r}; got {bytes(data)!r}")
        data += chunk
    return bytes(data)


def read_all(fd: int, timeout: float = 10.0) -> bytes:
    """Read from ``fd`` until EOF/EIO (fail on timeout)."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out reading to EOF; got {bytes(data)!r}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk
