"""PEP 561 typing of the public API: ``mypy --strict`` (mypy.ini) is clean on
the public modules, and a client type-checks against the installed package
with real types (not Any) flowing through ``from pyruntime import ...``."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="mypy is not installed (pip install mypy)")


def mypy(args: "list[str]", cwd: str, cache: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", cache, *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def test_public_modules_pass_mypy_strict(tmp_path):
    p = mypy(["--config-file", os.path.join(REPO, "mypy.ini")], REPO, str(tmp_path / "cache"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Success: no issues found" in p.stdout


def test_py_typed_is_installed():
    import pyruntime
    assert os.path.exists(os.path.join(os.path.dirname(pyruntime.__file__), "py.typed"))


CLIENT = '''
from pyruntime import Bundle, ConfigBuilder, Container, InvalidConfig, Runtime
from pyruntime.errors import ConfigError

rt = Runtime(root="/run/example")
c: Container = rt.get("a")
code: "int | None" = c.wait(timeout=1.0)
b: Bundle = Bundle.create("/tmp/b", config=ConfigBuilder().args("true").memory_limit(1 << 26))
errs: "list[ConfigError]" = b.validate()
paths: "list[str]" = [e.path for e in errs]
n: int = c.exec(["true"], env={"A": "1"}, user=(1000, 1000))
with rt.create("x", b, stdout=1) as c2:
    c2.start()
    status: str = c2.status
try:
    b.check()
except InvalidConfig as e:
    print(e.errors[0].message)
'''

BAD = '''
from pyruntime import Runtime
x: str = Runtime().get("a").wait()
Runtime().create("a", 42)
'''


def test_a_client_type_checks_against_the_installed_package(tmp_path):
    (tmp_path / "client.py").write_text(textwrap.dedent(CLIENT))
    (tmp_path / "bad.py").write_text(textwrap.dedent(BAD))
    cache = str(tmp_path / "cache")
    # run from a directory of its own: the installed package, not the source tree
    ok = mypy(["--strict", "client.py"], str(tmp_path), cache)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = mypy(["--strict", "bad.py"], str(tmp_path), cache)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert 'bad.py:3: error: Incompatible types in assignment (expression has type ' \
           '"int | None", variable has type "str")' in bad.stdout, bad.stdout
    assert 'bad.py:4: error: Argument 2 to "create" of "Runtime" has incompatible type' \
           in bad.stdout, bad.stdout
