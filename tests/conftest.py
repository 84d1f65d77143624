"""Shared fixtures.

* The pytest process is made a child subreaper at start-up (as conmon and
  containerd's shim are) and a background thread reaps adopted orphans.
* Integration tests (tests/integration) drive the runtime binary chosen by env
  ``RUNTIME`` (default: ``pyruntime`` next to sys.executable, or on PATH), each
  with a private ``--root`` under /run/pyrt-test-<random>/, and are checked for
  leaks afterwards (state dir entries, mounts, cgroups, processes).

Fixtures: ``runtime_bin``, ``runtime_is_runc``, ``runc_bin``, ``reaper``,
``testdir``, ``state_root``, ``rt``, ``make_rt``, ``make_bundle``, ``new_id``,
``leak_checker``.
Markers: ``root`` (skip unless root), ``runtime_pyruntime_only(reason=...)``
(skip when the runtime under test is runc).
"""
from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for _p in (REPO, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from support.bundles import BundleFactory, build_cache  # noqa: E402
from support.leaks import LeakChecker, check_after  # noqa: E402
from support.reaper import get_reaper, set_child_subreaper  # noqa: E402
from support.runtime import RT, find_runc, find_runtime, is_runc  # noqa: E402

INTEGRATION_DIR = os.path.join(HERE, "integration")
RUN_BASE = os.environ.get("PYRT_TEST_BASE", "/run")

_RUNTIME = find_runtime()
_RUNTIME_IS_RUNC = is_runc(_RUNTIME)


def pytest_configure(config):
    config.addinivalue_line("markers", "root: needs root (skipped otherwise)")
    config.addinivalue_line(
        "markers", "runtime_pyruntime_only(reason): runc cannot do this (or does it wrong); "
                   "skipped when the runtime under test is runc")
    config.addinivalue_line("markers", "integration: drives the runtime binary (tests/integration)")
    set_child_subreaper(True)
    get_reaper()


def pytest_unconfigure(config):
    get_reaper().stop()


def pytest_report_header(config):
    return [f"runtime under test: {_RUNTIME or 'NOT FOUND'}"
            f"{' (runc)' if _RUNTIME_IS_RUNC else ''}; runc: {find_runc()}"]


def _in_integration(item) -> bool:
    return str(item.path).startswith(INTEGRATION_DIR + os.sep)


def pytest_collection_modifyitems(config, items):
    not_root = os.geteuid() != 0
    for item in items:
        if _in_integration(item):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.root)
            if _RUNTIME is None:
                item.add_marker(pytest.mark.skip(
                    reason="runtime binary not found (set RUNTIME=runc or install pyruntime)"))
        if not_root and item.get_closest_marker("root"):
            item.add_marker(pytest.mark.skip(reason="needs root"))
        m = item.get_closest_marker("runtime_pyruntime_only")
        if m is not None and _RUNTIME_IS_RUNC:
            why = m.kwargs.get("reason") or (m.args[0] if m.args else "")
            item.add_marker(pytest.mark.skip(reason=f"runc cannot do this: {why}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


# -- session -----------------------------------------------------------------

@pytest.fixture(scope="session")
def reaper():
    return get_reaper()


@pytest.fixture(scope="session")
def runtime_bin() -> str:
    if _RUNTIME is None:
        pytest.skip("runtime binary not found (set RUNTIME=runc or install pyruntime)")
    return _RUNTIME


@pytest.fixture(scope="session")
def runtime_is_runc() -> bool:
    return _RUNTIME_IS_RUNC


@pytest.fixture(scope="session")
def runc_bin() -> str:
    p = find_runc()
    if p is None:
        pytest.skip("runc not installed")
    return p


@pytest.fixture(scope="session")
def session_dir():
    d = os.path.join(RUN_BASE, f"pyrt-test-{secrets.token_hex(4)}")
    os.makedirs(d, mode=0o711)
    yield d
    with open("/proc/self/mountinfo") as f:
        mounted = d in f.read()
    if not mounted:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def rootfs_cache(session_dir) -> str:
    return build_cache(os.path.join(session_dir, "cache", "rootfs"))


# -- per test ------------------------------------------------------------------

_test_seq = itertools.count()
_id_seq = itertools.count()


@pytest.fixture
def testdir(session_dir, request) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:48].strip("-")
    d = os.path.join(session_dir, f"t{next(_test_seq)}-{name}")
    os.makedirs(d)
    return d


@pytest.fixture
def state_root(testdir) -> str:
    d = os.path.join(testdir, "root")
    os.makedirs(d, mode=0o700)
    return d


@pytest.fixture
def leak_checker(state_root, testdir, runtime_bin) -> LeakChecker:
    return LeakChecker(state_root, testdir, runtime_bin)


@pytest.fixture
def new_id(leak_checker):
    """``new_id(tag="")`` -> a fresh container id, unique across sessions."""
    session_tag = secrets.token_hex(3)

    def make(tag: str = "") -> str:
        tag = re.sub(r"[^a-z0-9]+", "", tag.lower())[:12]
        cid = f"pyrt-{session_tag}-{next(_id_seq)}{('-' + tag) if tag else ''}"
        leak_checker.add_id(cid)
        return cid
    return make


@pytest.fixture
def rt(runtime_bin, state_root, testdir, leak_checker) -> RT:
    """``rt(*args, timeout=, input=, stdin=, stdout=, stderr=, env=, cwd=, pass_fds=)``
    -> ``(rc, out, err)`` of ``RUNTIME --root <private root> *args``."""
    return RT(runtime_bin, state_root, os.path.join(testdir, "io"), on_id=leak_checker.add_id)


@pytest.fixture
def make_rt(testdir, leak_checker):
    """``make_rt(binary, name)`` -> another ``RT`` with its own --root (also leak-checked)."""
    def make(binary: str, name: str) -> RT:
        root = os.path.join(testdir, f"root-{name}")
        os.makedirs(root, mode=0o700)
        leak_checker.add_root(root, binary)
        return RT(binary, root, os.path.join(testdir, f"io-{name}"), on_id=leak_checker.add_id)
    return make


@pytest.fixture
def make_bundle(rootfs_cache, testdir) -> BundleFactory:
    """``make_bundle(args=None, edit=None, *, shared=False, name=None, terminal=False)``
    -> Bundle (``.path``, ``.rootfs``, ``.config``, ``.shared``, ``.edit(fn)``).
    ``shared=True`` bind-mounts a host dir (``bundle.shared``) rw at /shared."""
    return BundleFactory(rootfs_cache, os.path.join(testdir, "bundles"))


@pytest.fixture(autouse=True)
def _leak_check(request):
    """Integration tests only: after the test, nothing may be left behind."""
    if not _in_integration(request.node):
        yield
        return
    yield from check_after(request, grace=2.0)
