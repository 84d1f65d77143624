#!/usr/bin/env python3
"""Build a small OCI bundle from the host's busybox-static: ``rootfs/`` with
busybox and its applets, a minimal /etc, and a ``config.json`` with
``pyruntime spec`` defaults (non-terminal, so it runs without a tty).

Used by the README demo, the tests, the conformance suite and the benchmarks.

    python3 tools/mkbundle.py DIR [-- ARGS...]
"""
import json
import os
import shutil
import subprocess
import sys

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def find_busybox() -> str:
    for p in BUSYBOX_CANDIDATES:
        if os.path.exists(p):
            out = subprocess.run(["file", "-L", p], capture_output=True, text=True).stdout \
                if shutil.which("file") else "statically linked"
            if "static" in out or "dynamic" not in out:
                return p
    raise SystemExit("busybox-static is needed: apt-get install -y busybox-static")


def build_rootfs(rootfs: str) -> None:
    """Populate ``rootfs`` (created if needed) with busybox and its applet links."""
    bb = find_busybox()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp",
              "root", "var", "run", "home"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    shutil.copy2(bb, os.path.join(rootfs, "bin", "busybox"))
    applets = subprocess.run([bb, "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = os.path.join(rootfs, applet)
        if not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink("/bin/busybox", link)
    etc = os.path.join(rootfs, "etc")
    with open(os.path.join(etc, "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(etc, "group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nnogroup:x:65534:\n")
    for name in ("hostname", "hosts", "resolv.conf"):
        open(os.path.join(etc, name), "a").close()


def default_config(args=None) -> dict:
    try:
        from pyruntime.specgen import default_config as gen
    except ImportError:  # running from a checkout without the package installed
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        from pyruntime.specgen import default_config as gen
    return gen(args=args or ["sh"], terminal=False)


def build_bundle(bundle: str, args=None, config: "dict | None" = None) -> str:
    """Create ``bundle/rootfs`` and ``bundle/config.json``; return the bundle path."""
    bundle = os.path.abspath(bundle)
    build_rootfs(os.path.join(bundle, "rootfs"))
    cfg = config if config is not None else default_config(args)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return bundle


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    argv = sys.argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    print(build_bundle(sys.argv[1], argv or None))
