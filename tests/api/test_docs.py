"""The examples in the docs work as written: the ```python blocks of
docs/api.md and docs/getting-started.md run, in order, as one script per page
(as root: they make real containers), and so do the ```sh blocks of
getting-started's "A first bundle by hand"."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(REPO, "docs")

pytestmark = pytest.mark.root

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def blocks(page: str, lang: str) -> "list[str]":
    with open(os.path.join(DOCS, page)) as f:
        text = f.read()
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == lang]


def section(page: str, title: str) -> str:
    with open(os.path.join(DOCS, page)) as f:
        text = f.read()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def find_cli() -> str:
    exe = shutil.which("pyruntime", path=os.path.dirname(sys.executable)) \
        or shutil.which("pyruntime")
    assert exe, "the pyruntime CLI is not installed"
    return exe


@pytest.mark.parametrize("page", ["api.md", "getting-started.md"])
def test_python_blocks_run(page, tmp_path):
    code = blocks(page, "python")
    assert code, f"no python blocks in {page}"
    script = tmp_path / "doc.py"
    script.write_text("\n".join(code))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TMPDIR"] = str(tmp_path)
    # -I: the installed package (the page appends the checkout, for tools/, last)
    p = subprocess.run([sys.executable, "-I", str(script)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"{page}'s python blocks failed:\n{p.stdout}\n{p.stderr}"
    assert os.listdir(tmp_path) == ["doc.py"], "the page's code did not clean up"


def test_getting_started_shell_walkthrough(tmp_path):
    text = section("getting-started.md", "A first bundle by hand")
    code = [m.group(2) for m in FENCE.finditer(text) if m.group(1) == "sh"]
    assert len(code) >= 3
    # `pyruntime` on PATH is the installed CLI with a private --root
    bindir = tmp_path / "bin"
    bindir.mkdir()
    root = tmp_path / "state"
    wrapper = bindir / "pyruntime"
    wrapper.write_text(f'#!/bin/sh\nexec {find_cli()} --root {root} "$@"\n')
    wrapper.chmod(0o755)
    python = bindir / "python3"
    python.symlink_to(sys.executable)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    env.pop("PYTHONPATH", None)
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(code)], cwd=work,
                       env=env, capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"the walkthrough failed:\n{p.stdout}\n{p.stderr}"
    assert "hello from pyruntime" in p.stdout
    assert "the container exited with 3" in p.stdout
    assert not root.exists() or os.listdir(root) == []
