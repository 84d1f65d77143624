"""tests/reliability: faults, concurrency, load, soak and fuzzing. Every test
is leak-checked afterwards (no state dir, mount, cgroup or process left)."""
from __future__ import annotations

import os

import pytest

from security import harness


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    for item in items:
        if not str(item.path).startswith(here):
            continue
        item.add_marker(pytest.mark.root)
        if os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason="needs root"))


@pytest.fixture(autouse=True)
def _reliability_leak_check(request):
    yield from harness.check_leaks(request)
