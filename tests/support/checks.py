"""Small assertions and polling helpers shared by the integration tests."""
from __future__ import annotations

import datetime
import os
import re
import time

from .reaper import pid_alive, proc_state  # noqa: F401  (re-exported)

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def wait_for(pred, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``pred()`` until truthy; return its value or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_file(path: str, timeout: float = 10.0) -> str:
    """Wait until ``path`` exists and is non-empty; return its content."""
    def read():
        try:
            with open(path) as f:
                return f.read() or None
        except FileNotFoundError:
            return None
    return wait_for(read, timeout, what=f"file {path}")


def parse_rfc3339(s: str) -> datetime.datetime:
    """Parse an RFC 3339 timestamp strictly (any fraction length), or raise ValueError."""
    m = RFC3339.match(s)
    if not m:
        raise ValueError(f"not RFC 3339: {s!r}")
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    us = int((frac[1:] + "000000")[:6]) if frac else 0
    if tz in ("Z", "z"):
        tzinfo = datetime.timezone.utc
    else:
        sign = 1 if tz[0] == "+" else -1
        tzinfo = datetime.timezone(sign * datetime.timedelta(hours=int(tz[1:3]),
                                                             minutes=int(tz[4:6])))
    return datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec), us, tzinfo)


def assert_one_line_error(res, *patterns: str, rc_nonzero: bool = True) -> str:
    """The runtime failed with exactly one non-empty line on stderr, no Python
    traceback anywhere, and (if given) the line matches one of ``patterns``
    (case-insensitive regexes).  Returns the line."""
    if rc_nonzero:
        assert res.rc != 0, f"expected failure, got rc=0: {res!r}"
    assert "Traceback" not in res.err and "Traceback" not in res.out, \
        f"Python traceback in output: {res!r}"
    lines = [l for l in res.err.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected a one-line error on stderr, got {len(lines)} lines: {res!r}"
    line = lines[0]
    if patterns:
        assert any(re.search(p, line, re.I) for p in patterns), \
            f"error {line!r} does not name the problem (expected one of {patterns})"
    return line


def ppid(pid: int) -> "int | None":
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cgroup_of(pid: int) -> "list[str]":
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return f.read().splitlines()
    except OSError:
        return []


def exists(path: str) -> bool:
    return os.path.lexists(path)


def processes_rooted_at(rootfs: str) -> "dict[int, list[str]]":
    """Live processes whose root directory is ``rootfs`` (by device/inode, so
    it works across mount namespaces): pid -> argv."""
    st = os.stat(rootfs)
    want = (st.st_dev, st.st_ino)
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            r = os.stat(f"/proc/{name}/root")
            if (r.st_dev, r.st_ino) != want or not pid_alive(int(name)):
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
        except OSError:
            continue
        found[int(name)] = argv
    return found
