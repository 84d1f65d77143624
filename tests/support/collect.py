"""Collection helpers shared by the test directories' conftest files."""
from __future__ import annotations

import os

import pytest


def require_root(items, directory: str) -> None:
    """The items collected from ``directory`` create real namespaces, cgroups
    and mounts: mark them ``root``, and skip them when not running as root."""
    prefix = os.path.abspath(directory).rstrip(os.sep) + os.sep
    for item in items:
        if not str(item.path).startswith(prefix):
            continue
        item.add_marker(pytest.mark.root)
        if os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason="needs root"))
