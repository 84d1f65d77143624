"""cffi build script (API mode) for ``pyruntime._shim``.

The C sources and their declarations live beside this file: ``shim.c`` and
``shim.cdef`` for the core, ``cgroups/ebpf.c`` / ``cgroups/ebpf.cdef`` for the
cgroup v2 device program loader. Run at ``pip install``.
"""
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = [("shim.c", "shim.cdef"), ("cgroups/ebpf.c", "cgroups/ebpf.cdef")]

ffibuilder = FFI()
_cdefs, _sources = [], []
for c_file, cdef_file in PARTS:
    c_path, cdef_path = os.path.join(HERE, c_file), os.path.join(HERE, cdef_file)
    if not (os.path.exists(c_path) and os.path.exists(cdef_path)):
        continue
    with open(cdef_path) as f:
        _cdefs.append(f.read())
    _sources.append(os.path.relpath(c_path, os.path.dirname(HERE)))

ffibuilder.cdef("\n".join(_cdefs))
ffibuilder.set_source("pyruntime._shim",
                      "#include <stddef.h>\n#include <stdint.h>\n" + "\n".join(_cdefs),
                      sources=_sources,
                      extra_compile_args=["-O2", "-Wall"])

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
