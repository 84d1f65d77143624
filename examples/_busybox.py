"""Shared by the examples: a busybox root filesystem for their bundles.

The examples run from a pyruntime checkout, as root; the rootfs comes from the
host's busybox-static through tools/mkbundle.py (``apt-get install
busybox-static``). Any other root filesystem directory works the same way, for
instance one exported from an image with ``podman export``.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def busybox_rootfs(path: str) -> str:
    """Build a busybox rootfs at ``path``; return ``path``."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from tools.mkbundle import build_rootfs
    build_rootfs(path)
    return path


def require_root() -> None:
    if os.geteuid() != 0:
        raise SystemExit(f"{os.path.basename(sys.argv[0])}: run as root (it makes real "
                         "containers)")
