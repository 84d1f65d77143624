"""CLI-level cgroup tests: real containers run through the runtime binary
(env RUNTIME, default pyruntime; RUNTIME=runc to compare), resources read back
from the host's cgroup files. The same files run on this cgroup v1/hybrid host
and, through test_in_v2_guest.py, inside a pure cgroup v2 guest
(tools/cgroup2-guest.sh sets PYRT_IN_V2_GUEST=1).

Fixtures (besides tests/conftest.py's rt, make_bundle, new_id, reaper, ...):
``cgh`` (cgenv.CgHost), ``ctr`` (start containers: ``ctr.run(resources=...)``
-> Ctr; ``ctr.create_fails(resources=...)`` -> Result), ``res_file``.
Every test here is leak-checked afterwards like tests/integration (state dir
entries, mounts, cgroups named after its container ids, processes).
"""
from __future__ import annotations

import os

import pytest

import cgenv
from rsupport import CtrFactory
from support.collect import require_root
from support.leaks import check_after

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    config.addinivalue_line("markers", "guestwrapper: reruns a test directory inside the "
                                       "cgroup v2 guest")


def _here(item) -> bool:
    return str(item.path).startswith(HERE + os.sep)


def pytest_collection_modifyitems(config, items):
    require_root(items, HERE)


@pytest.fixture(scope="session")
def cgh() -> cgenv.CgHost:
    try:
        return cgenv.host()
    except (OSError, RuntimeError) as e:
        pytest.skip(f"no usable cgroups here: {e}")


@pytest.fixture(autouse=True)
def _resources_leak_check(request):
    """As tests/conftest.py's _leak_check does for tests/integration."""
    if not _here(request.node) or request.node.get_closest_marker("guestwrapper"):
        yield
        return
    yield from check_after(request, grace=2.0)


@pytest.fixture
def ctr(rt, make_bundle, new_id, reaper, cgh, runtime_is_runc):
    f = CtrFactory(rt, make_bundle, new_id, reaper, is_runc=runtime_is_runc)
    yield f
    f.cleanup()
