#!/usr/bin/env python3
"""A container with OCI hooks written in Python.

The hook is a small Python script: it gets the container's state JSON on its
stdin (as every OCI hook does), adds what it can see from where it runs and
writes it to a file of the host. The config runs it as a ``createRuntime``
hook (after the namespaces exist, before pivot_root: in the runtime's
namespaces), a ``poststart`` hook (after the user program has started) and a
``poststop`` hook (when the container is deleted). The script asserts what
each saw. Run as root from a checkout:

    python3 examples/python_hook.py
"""
import json
import os
import shutil
import sys
import tempfile

from _busybox import busybox_rootfs, require_root

from pyruntime import Bundle, ConfigBuilder, Runtime

HOOK = '''\
import json, os, sys
state = json.load(sys.stdin)                 # the container's state, on stdin
outdir, kind = sys.argv[1], sys.argv[2]
pid = state.get("pid") or 0
state["hook"] = kind
state["init_alive"] = bool(pid) and os.path.exists(f"/proc/{pid}")
if state["init_alive"]:                      # the container's hostname, seen from the host
    state["init_uts_ns"] = os.readlink(f"/proc/{pid}/ns/uts")
state["hook_uts_ns"] = os.readlink("/proc/self/ns/uts")
state["env"] = dict(os.environ)
with open(os.path.join(outdir, kind + ".json"), "w") as f:
    json.dump(state, f)
'''


def main() -> None:
    require_root()
    work = tempfile.mkdtemp(prefix="pyruntime-hook-")
    try:
        rootfs = busybox_rootfs(os.path.join(work, "rootfs"))
        hook = os.path.join(work, "hook.py")
        with open(hook, "w") as f:
            f.write(HOOK)
        out = os.path.join(work, "out")
        os.mkdir(out)
        cfg = ConfigBuilder().args("sh", "-c", "sleep 0.2; exit 5").annotation("example",
                                                                                 "python_hook")
        for kind in ("createRuntime", "poststart", "poststop"):
            # argv: the interpreter (-I: isolated, ignores the environment), the script, args
            cfg.hook(kind, sys.executable, "-I", hook, out, kind, env=["HOOK_KIND=" + kind],
                     timeout=10)
        bundle = Bundle.create(os.path.join(work, "bundle"), rootfs=rootfs, config=cfg)
        rt = Runtime(root=os.path.join(work, "state"))

        with rt.create("hooked", bundle) as c:
            pid = c.pid
            assert os.path.exists(os.path.join(out, "createRuntime.json"))
            assert not os.path.exists(os.path.join(out, "poststart.json"))
            c.start()
            assert os.path.exists(os.path.join(out, "poststart.json"))
            status = c.wait()
            assert not os.path.exists(os.path.join(out, "poststop.json"))
        # leaving the block deleted the container: that ran the poststop hook
        assert status == 5, status

        seen = {}
        for kind in ("createRuntime", "poststart", "poststop"):
            with open(os.path.join(out, kind + ".json")) as f:
                seen[kind] = json.load(f)
            s = seen[kind]
            print(f"  {kind:13s} status={s['status']!r} pid={s['pid']} "
                  f"init alive={s['init_alive']}")
            assert s["id"] == "hooked", s
            assert s["bundle"] == bundle.path, s
            assert s["annotations"] == {"example": "python_hook"}, s
            assert s["env"].get("HOOK_KIND") == kind, s["env"]
        assert seen["createRuntime"]["status"] == "creating"
        assert seen["createRuntime"]["pid"] == pid and seen["createRuntime"]["init_alive"]
        # the hook runs in the runtime's namespaces, not the container's
        assert seen["createRuntime"]["init_uts_ns"] != seen["createRuntime"]["hook_uts_ns"]
        assert seen["poststart"]["status"] == "running"
        assert seen["poststart"]["pid"] == pid
        assert seen["poststop"]["status"] == "stopped"
        assert not seen["poststop"]["init_alive"]
        print("python_hook: OK (createRuntime, poststart and poststop hooks in Python saw "
              "the container's state)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
