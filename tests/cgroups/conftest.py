"""Manager-level tests on real cgroups (root only).

Every cgroup a test makes lives under one session prefix, /pyrt-cgtest-<hex>,
and is destroyed after the test; at session end the prefix is swept in every
hierarchy (processes killed, dirs removed), whatever happened. The same tests
run on this host (cgroup v1 / hybrid) and, through test_in_v2_guest.py, in a
pure cgroup v2 guest (tools/cgroup2-guest.sh).

Fixtures: ``layout``, ``prefix``, ``make_mgr(name, path=None)``,
``spawn()`` -> Helper (a process driven over a pipe, see helper.py),
``ebpf`` (installs the bpf(2) wrappers for the v2 device filter).
"""
import os
import secrets

import pytest

from pyruntime import cgroups
from pyruntime.cgroups import common as cm

from cgsupport import Helper

HERE = os.path.dirname(os.path.abspath(__file__))
IN_GUEST = os.environ.get("PYRT_IN_V2_GUEST") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "guestwrapper: runs tests/cgroups inside the cgroup v2 guest")
    config.addinivalue_line("markers", "cgroups: creates real cgroups (root)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(HERE + os.sep) and not item.get_closest_marker("guestwrapper"):
            item.add_marker(pytest.mark.cgroups)
            item.add_marker(pytest.mark.root)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root"))


@pytest.fixture(scope="session")
def layout():
    try:
        return cgroups.detect()
    except cgroups.CgroupError as e:
        pytest.skip(f"no cgroups here: {e}")


def _mounts(layout):
    out = [h.mountpoint for h in layout.hierarchies]
    if layout.unified:
        out.append(layout.unified)
    return out


def sweep(layout, path: str) -> "list[str]":
    """Kill everything under `path` in every hierarchy and remove it; returns
    what existed (a leak, if the tests' own destroy worked)."""
    found = []
    for mnt in _mounts(layout):
        d = mnt.rstrip("/") + path
        if not os.path.isdir(d):
            continue
        found.append(d)
        for _ in range(3):
            cm.kill_pids(cm.procs_recursive(d))
            if cm.wait_empty([d], 1.0):
                break
        try:
            fz = os.path.join(d, "freezer.state")
            if os.path.exists(fz):
                with open(fz, "w") as f:
                    f.write("THAWED")
        except OSError:
            pass
        cm.rmdir_tree(d, timeout=3.0)
    return found


@pytest.fixture(scope="session")
def prefix(layout):
    p = f"/pyrt-cgtest-{secrets.token_hex(4)}"
    yield p
    sweep(layout, p)
    # test_relative_path_is_under_own_cgroup's parent, in case it failed half-way
    sweep(layout, cgroups.relative_base(layout).rstrip("/") + p + "-rel")


@pytest.fixture(scope="session")
def ebpf(layout, tmp_path_factory):
    """(ffi, lib) of the bpf(2) wrappers, installed into devicefilter.SHIM."""
    from pyruntime.cgroups import devicefilter

    import ebpf_shim
    shim = ebpf_shim.from_pyruntime()
    if shim is None:
        pre = os.environ.get("PYRT_TEST_EBPF_SHIM")
        try:
            if pre:
                shim = ebpf_shim.load(pre)
            else:
                shim = ebpf_shim.build(str(tmp_path_factory.mktemp("ebpf")))
        except Exception as e:  # noqa: BLE001 - no compiler, no headers...
            pytest.skip(f"cannot build the eBPF wrappers (pyruntime/cgroups/ebpf.c): {e}")
    old = devicefilter.SHIM
    devicefilter.SHIM = shim
    yield shim
    devicefilter.SHIM = old


@pytest.fixture
def make_mgr(layout, prefix, request):
    """make_mgr(name=None, path=None) -> a created Manager under the prefix;
    destroyed after the test (and the path swept), even on failure."""
    made = []

    def make(name: "str | None" = None, path: "str | None" = None, create: bool = True):
        if path is None:
            base = name or request.node.name
            safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in base)[:60]
            path = f"{prefix}/{safe}-{len(made)}"
        m = cgroups.new_manager(path, layout)
        made.append(m)
        if create:
            m.create()
        return m

    yield make
    errors = []
    for m in reversed(made):
        try:
            m.destroy()
        except Exception as e:  # noqa: BLE001
            errors.append(f"{m!r}: {e}")
    leaks = []
    for m in made:
        leaks += sweep(layout, m.path)
    assert not errors, errors
    assert not leaks, f"left behind: {leaks}"


@pytest.fixture
def spawn():
    helpers = []

    def make() -> Helper:
        h = Helper()
        helpers.append(h)
        return h

    yield make
    for h in helpers:
        h.close()
