"""The bpf(2) wrappers for the tests: pyruntime._shim when it is built with
ebpf.c, else a throwaway cffi module compiled from pyruntime/cgroups/ebpf.c
and ebpf.cdef alone (the lead's build is not needed to test the cgroups)."""
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(os.path.dirname(HERE)), "pyruntime", "cgroups")
MODNAME = "_pyrt_ebpf_test"


def from_pyruntime():
    try:
        from pyruntime import _shim
    except ImportError:
        return None
    if not hasattr(_shim.lib, "pyrt_ebpf_load_cgroup_dev"):
        return None
    return _shim.ffi, _shim.lib


def build(outdir: str):
    """Compile ebpf.c into outdir; returns (ffi, lib)."""
    from cffi import FFI
    with open(os.path.join(SRC, "ebpf.cdef")) as f:
        cdef = f.read()
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(MODNAME, "#include <stddef.h>\n#include <stdint.h>\n" + cdef,
                   sources=[os.path.join(SRC, "ebpf.c")], extra_compile_args=["-O2", "-Wall"])
    os.makedirs(outdir, exist_ok=True)
    ffi.compile(tmpdir=outdir, verbose=False)
    return load(outdir)


def load(outdir: str):
    if outdir not in sys.path:
        sys.path.insert(0, outdir)
    mod = importlib.import_module(MODNAME)
    return mod.ffi, mod.lib
