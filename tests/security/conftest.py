"""Fixtures of the attack tests (see harness.py for the self-test switches).

``sec``: the runtime to attack (param ``intact``; with PYRT_SECURITY_SELFTEST=1
also ``weakened``, the installed package with the test's defence patched out);
``attack_bin``: pyrt-attack, compiled once; ``marker``: a host file outside every
container (path, content) that no container process may ever read.
"""
from __future__ import annotations

import os
import secrets

import pytest

from security import harness
from support.collect import require_root

pytestmark = pytest.mark.root


def pytest_configure(config):
    config.addinivalue_line("markers", "defence(name): the defence (harness.DEFENCES) an "
                                       "attack test guards")


def pytest_generate_tests(metafunc):
    if "sec" in metafunc.fixturenames:
        params = ["intact"] + (["weakened"] if harness.SELFTEST else [])
        metafunc.parametrize("sec", params, indirect=True)


def pytest_collection_modifyitems(config, items):
    require_root(items, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _security_leak_check(request):
    yield from harness.check_leaks(request)


@pytest.fixture(scope="session")
def attack_bin(session_dir) -> str:
    out = os.path.join(session_dir, "cache", "pyrt-attack")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    return harness.compile_static(os.path.join(harness.HERE, "attack.c"), out)


@pytest.fixture
def sec(request, runtime_bin, make_rt, rt, testdir):
    marker = request.node.get_closest_marker("defence")
    defence = marker.args[0] if marker else ""
    param = getattr(request, "param", "intact")
    weakened = param == "weakened" or (defence and (defence in harness.WEAKEN
                                                    or "all" in harness.WEAKEN))
    if param == "weakened" and not defence:
        pytest.skip("this test guards no removable defence")
    if weakened:
        # a fresh copy per test: an attack may have overwritten the last one
        binary = harness.build_weakened(runtime_bin, defence,
                                        os.path.join(testdir, "weakened", defence))
        the_rt = make_rt(binary, f"weak-{defence}")
    else:
        binary, the_rt = runtime_bin, rt
    s = harness.Sec(the_rt, binary, defence, weakened, expect_escape=(param == "weakened"))
    yield s


@pytest.fixture
def marker(testdir):
    """A host file no container may read: (absolute path, content)."""
    content = "HOST-SECRET-" + secrets.token_hex(8)
    path = os.path.join(testdir, "host-secret.txt")
    with open(path, "w") as f:
        f.write(content + "\n")
    os.chmod(path, 0o644)
    return path, content
