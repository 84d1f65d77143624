"""Bundles for the tests: a busybox rootfs built ONCE per session into a cache
dir; each bundle gets a cheap copy (busybox itself hard-linked, applet symlinks
recreated, the few small files copied, so a test writing into its rootfs never
touches the cache) and a ``config.json`` with ``pyruntime spec`` defaults
(non-terminal), edited by a callback.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import sys
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tools.mkbundle import build_rootfs, default_config  # noqa: E402

#: files at least this big are hard-linked from the cache instead of copied
HARDLINK_MIN = 64 * 1024
SHARED_DEST = "/shared"


def build_cache(cache_rootfs: str) -> str:
    """Build the session's rootfs cache (idempotent)."""
    done = os.path.join(os.path.dirname(cache_rootfs), ".rootfs-done")
    if not os.path.exists(done):
        build_rootfs(cache_rootfs)
        open(done, "w").close()
    return cache_rootfs


def clone_rootfs(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst``: dirs made, symlinks recreated, big files hard-linked."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        out = dst if rel == "." else os.path.join(dst, rel)
        os.makedirs(out, exist_ok=True)
        shutil.copystat(dirpath, out)
        for name in dirnames + filenames:
            s = os.path.join(dirpath, name)
            d = os.path.join(out, name)
            if os.path.islink(s):
                os.symlink(os.readlink(s), d)
            elif name in filenames:
                st = os.lstat(s)
                if st.st_size >= HARDLINK_MIN:
                    os.link(s, d)
                else:
                    shutil.copy2(s, d)
        # symlinked dirs appear in dirnames; os.walk does not descend into them


@dataclass
class Bundle:
    path: str
    config: dict
    shared: "str | None" = None    # host dir bind-mounted rw at /shared, if asked for
    extra: dict = field(default_factory=dict)

    @property
    def rootfs(self) -> str:
        root = self.config.get("root", {}).get("path", "rootfs")
        return root if os.path.isabs(root) else os.path.join(self.path, root)

    @property
    def config_path(self) -> str:
        return os.path.join(self.path, "config.json")

    def write_config(self, cfg: "dict | None" = None) -> None:
        if cfg is not None:
            self.config = cfg
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def edit(self, fn) -> None:
        """Apply ``fn(config)`` (mutate or return a new dict) and rewrite config.json."""
        cfg = copy.deepcopy(self.config)
        new = fn(cfg)
        self.write_config(new if new is not None else cfg)

    def shared_file(self, name: str) -> str:
        assert self.shared, "bundle made without shared=True"
        return os.path.join(self.shared, name)

    def read_shared(self, name: str) -> "str | None":
        try:
            with open(self.shared_file(name)) as f:
                return f.read()
        except FileNotFoundError:
            return None


class BundleFactory:
    """``make(args=None, edit=None, shared=False, name=None, terminal=False)``"""

    _default: "dict | None" = None

    def __init__(self, cache_rootfs: str, parent: str) -> None:
        self.cache_rootfs = cache_rootfs
        self.parent = parent
        self.made: "list[Bundle]" = []

    @classmethod
    def default_config(cls, args=None) -> dict:
        if cls._default is None:
            cls._default = default_config(["sh"])
        cfg = copy.deepcopy(cls._default)
        if args is not None:
            cfg["process"]["args"] = list(args)
        return cfg

    def __call__(self, args=None, edit=None, *, shared: bool = False,
                 name: "str | None" = None, terminal: bool = False,
                 rootfs: bool = True, config: bool = True) -> Bundle:
        name = name or f"bundle{len(self.made)}"
        path = os.path.join(self.parent, name)
        os.makedirs(path)
        cfg = self.default_config(args)
        cfg["process"]["terminal"] = terminal
        b = Bundle(path=path, config=cfg)
        if shared:
            b.shared = os.path.join(path, "shared")
            os.makedirs(b.shared)
            os.chmod(b.shared, 0o777)
            cfg["mounts"].append({"destination": SHARED_DEST, "type": "bind",
                                  "source": b.shared, "options": ["rbind", "rw"]})
        if edit is not None:
            new = edit(cfg)
            if new is not None:
                cfg = new
            b.config = cfg
        if rootfs:
            clone_rootfs(self.cache_rootfs, b.rootfs)
        if config:
            b.write_config()
        self.made.append(b)
        return b
