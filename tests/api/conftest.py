"""Fixtures for the Python API tests.

Tests of the pure-Python parts (ConfigBuilder, Bundle, errors) run in-process.
Tests that make real containers (marked ``root``) run their body in a fresh
``python -I`` interpreter through the ``api`` fixture, for two reasons:

* the package must be the *installed* one: the source tree that pytest puts
  first on sys.path has no compiled shim or C init stage in a fresh clone (and
  a stale one in a working tree);
* containers made in-process would be adopted by this process, whose reaper
  thread (tests/support/reaper.py) reaps orphans: ``Container.wait()`` must be
  the one collecting their exit statuses, as in a user's program.

``api(body, **values)`` runs ``body`` after a prelude that defines:

    ROOT      this test's private state root (checked for leaks afterwards)
    rt        pyruntime.Runtime(root=ROOT)
    IDS       container ids made by the test (registered for the leak check)
    cid       IDS[0]
    bundle(args=None, builder=None) -> pyruntime.Bundle  (busybox, spec defaults)
    raises(exc_type) a context manager asserting the block raises exc_type
    V         the ``values`` (JSON-able) given to api()

plus ``os``, ``sys``, ``json``, ``signal``, ``time``, ``threading`` and
``from pyruntime import *``. It fails the test with the script's stderr unless
the script exits 0, and returns its stdout.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TESTS)

PRELUDE = '''\
import json, os, signal, sys, threading, time
# the installed pyruntime: the repository only comes last (for tools/ and tests/support)
sys.path.append({tests!r})
sys.path.append({repo!r})
import pyruntime
from pyruntime import *
from pyruntime import errors
from pyruntime.api import DEVNULL, ManagedContainer, wait_pid
assert not pyruntime.__file__.startswith({repo!r} + "/"), \\
    "the API tests must run against the installed pyruntime: pip install ."
from support.bundles import clone_rootfs

ROOT = {root!r}
IDS = {ids!r}
cid = IDS[0]
V = json.loads({values!r})
rt = Runtime(root=ROOT)
_n = [0]


def bundle(args=None, builder=None):
    _n[0] += 1
    path = os.path.join({testdir!r}, "bundle%d" % _n[0])
    clone_rootfs({rootfs!r}, os.path.join(path, "rootfs"))
    b = builder if builder is not None else ConfigBuilder()
    if args is not None:
        b.args(*args)
    return Bundle.create(path, rootfs=os.path.join(path, "rootfs"), config=b)


class raises:
    def __init__(self, exc):
        self.exc = exc
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, t, e, tb):
        assert t is not None, "did not raise %s" % self.exc.__name__
        if not issubclass(t, self.exc):
            return False
        self.value = e
        return True

'''


@pytest.fixture
def api(testdir, state_root, rootfs_cache, leak_checker, new_id):
    def run(body: str, *, ids: int = 1, timeout: float = 120, **values) -> str:
        cids = [new_id("api") for _ in range(ids)]
        script = PRELUDE.format(tests=TESTS, repo=REPO, root=state_root, ids=cids,
                                values=json.dumps(values), testdir=testdir,
                                rootfs=rootfs_cache) + textwrap.dedent(body)
        path = os.path.join(testdir, "api_test_body.py")
        with open(path, "w") as f:
            f.write(script)
        p = subprocess.run([sys.executable, "-I", path], cwd=testdir, capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            pytest.fail(f"the API script failed (exit {p.returncode}):\n{p.stderr}\n"
                        f"stdout:\n{p.stdout}", pytrace=False)
        return p.stdout

    yield run
    leaks = leak_checker.find(grace=2.0)
    if leaks:
        leak_checker.cleanup()
        pytest.fail("the test left things behind:\n  " + "\n  ".join(leaks), pytrace=False)


def spec_config(*flags: str) -> dict:
    """What the installed ``pyruntime spec`` writes, parsed."""
    import shutil
    import tempfile
    exe = shutil.which("pyruntime", path=os.path.dirname(sys.executable)) \
        or shutil.which("pyruntime")
    assert exe, "the pyruntime CLI is not installed"
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([exe, "spec", "--bundle", d, *flags], check=True)
        with open(os.path.join(d, "config.json")) as f:
            return json.load(f)
