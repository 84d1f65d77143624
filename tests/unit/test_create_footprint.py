"""What create's runtime process loads: every module counts in its peak RSS
(`ru_maxrss` of `pyruntime create`, docs/performance.md). The helpers it uses
from linux.namespaces/idmap/process must not pull in the cffi shim or `struct`,
which only the forked setup processes need."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_namespace_flags_are_the_shims():
    from pyruntime.linux import namespaces, shim
    for t, (flag, _) in namespaces.TYPES.items():
        name = {"network": "NET", "mount": "NS"}.get(t, t.upper())
        assert flag == getattr(shim, f"CLONE_NEW{name}"), t


def test_runtime_side_helpers_do_not_load_the_shim():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from pyruntime.linux import namespaces, idmap\n"
            "from pyruntime import create\n"
            "j, n = namespaces.split([{'type': 'pid'}, {'type': 'mount'}])\n"
            "namespaces.open_paths(j); namespaces.unshare_flags(n)\n"
            "idmap.prepare({'mounts': [{'destination': '/x', 'options': ['bind']}]}, '/')\n"
            "create._warn_ungrantable({'bounding': ['CAP_KILL']}, 0)\n"
            "print([m for m in ('pyruntime.linux.shim', '_cffi_backend', 'struct',\n"
            "                   'pyruntime.linux.process') if m in sys.modules])") % REPO
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
