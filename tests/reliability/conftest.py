"""tests/reliability: faults, concurrency, load, soak and fuzzing. Every test
is leak-checked afterwards (no state dir, mount, cgroup or process left)."""
from __future__ import annotations

import os

import pytest

from security import harness
from support.collect import require_root


def pytest_collection_modifyitems(config, items):
    require_root(items, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _reliability_leak_check(request):
    yield from harness.check_leaks(request)
