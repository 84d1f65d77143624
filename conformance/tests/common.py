"""Helpers shared by the test modules."""
import os
import time

from conformance.harness import Fail


def created(t, *verb, **kw):
    """A container in the ``created`` state running ``verb`` (default: pause) once started."""
    b = t.checker_bundle(*(verb or ("pause",)), **kw)
    b.write()
    cid, _ = t.create(b)
    return cid, b


def running(t, *verb, **kw):
    cid, b = created(t, *verb, **kw)
    t.start(cid)
    return cid, b


def stopped(t, code=0, **kw):
    cid, b = created(t, "exit", str(code), **kw)
    t.start(cid)
    t.wait_status(cid, "stopped")
    return cid, b


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def absent_for(path, seconds):
    """True if ``path`` does not appear within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return False
        time.sleep(0.02)
    return True


def status_is(t, cid, want):
    st = t.state(cid)
    if st.get("status") != want:
        raise Fail(f"status is {st.get('status')!r}, expected {want!r}")
    return st


def root_entries(t):
    try:
        return sorted(os.listdir(t.root))
    except OSError:
        return []
