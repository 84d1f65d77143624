"""Logging as runc does it: ``--log FILE`` (default: stderr) in ``--log-format
text|json``. JSON lines are ``{"level":"error","msg":"...","time":"<RFC3339>"}``,
which containerd's shim decodes (it reports the msg of the last error line)."""
import os
import sys
import time

_path: "str | None" = None
_format = "text"
_debug = False
LEVELS = ("debug", "info", "warning", "error")


def configure(path: "str | None" = None, fmt: str = "text", debug: bool = False) -> None:
    global _path, _format, _debug
    _path, _format, _debug = path, fmt, debug


def _rfc3339() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def _line(level: str, msg: str) -> str:
    if _format == "json":
        from .jsonfast import dumps
        return dumps({"level": level, "msg": msg, "time": _rfc3339()}) + "\n"
    return f'time="{_rfc3339()}" level={level} msg="{_escape(msg)}"\n'


def _escape(msg: str) -> str:
    return msg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _write(level: str, msg: str) -> None:
    line = _line(level, msg).encode("utf-8", "replace")
    if _path:
        try:
            fd = os.open(_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            return
        except OSError:
            pass  # fall through to stderr: an error must never be lost
    try:
        os.write(2, line)
    except OSError:
        pass


def error(msg: str) -> None:
    """Log an error; also print it to stderr as one plain line (runc does both).
    Newlines inside the message (e.g. from a config key) are escaped: one line."""
    if _path:
        _write("error", msg)
    try:
        os.write(2, (msg.replace("\n", "\\n") + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def warning(msg: str) -> None:
    _write("warning", msg)


def info(msg: str) -> None:
    if _debug:
        _write("info", msg)


def debug(msg: str) -> None:
    if _debug:
        _write("debug", msg)


def is_debug() -> bool:
    return _debug


if __name__ == "__main__":  # pragma: no cover
    configure(None, sys.argv[1] if len(sys.argv) > 1 else "text")
    error("test")
