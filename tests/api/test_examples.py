"""The example scripts (examples/*.py) run and their own assertions hold."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples")
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py") and not f.startswith("_"))

pytestmark = pytest.mark.root


def test_every_example_is_listed():
    assert SCRIPTS == ["limits.py", "parallel.py", "python_hook.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_example(script, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TMPDIR"] = str(tmp_path)                  # where the example makes its work dir
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)], cwd=str(tmp_path),
                       env=env, capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"{script} failed:\n{p.stdout}\n{p.stderr}"
    name = script[:-3]
    assert f"{name}: OK" in p.stdout, p.stdout
    assert os.listdir(tmp_path) == [], "the example did not clean up"
