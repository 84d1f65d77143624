"""Build steps setuptools cannot express declaratively:

* the cffi shim ``pyruntime._shim`` (``pyruntime/_shim_build.py``);
* the C stage ``pyruntime/pyruntime-init``: a small static executable that the
  runtime copies into a sealed memfd and execs inside the container;
* the console script ``pyruntime``, written by hand so that it starts the real
  interpreter with ``-I -S`` (no site-packages scan: ~20 ms saved per call) and
  puts the install directory on sys.path itself.
"""
import os
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def compile_init(out_path: str) -> None:
    cc = os.environ.get("CC", "cc")
    src = os.path.join(HERE, "pyruntime", "init.c")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    subprocess.check_call([cc, "-static", "-Os", "-Wall", "-o", out_path, src])
    subprocess.call(["strip", out_path])


class BuildPy(build_py):
    def run(self):
        super().run()
        compile_init(os.path.join(self.build_lib, "pyruntime", "pyruntime-init"))


LAUNCHER = """#!{python} -IS
# pyruntime launcher, generated at build time. -I -S skips site-packages
# processing, which would cost ~20 ms on every call (clients call the runtime
# many times per container); the install directory is put on sys.path directly.
import sys
sys.path.insert(0, {libdir!r})
try:
    from pyruntime.cli import entry
except ImportError:  # installed somewhere else (--user, --target): search normally
    del sys.path[0]
    import site
    site.main()
    from pyruntime.cli import entry
entry()
"""


def write_launcher() -> str:
    """The console script, installed as a data file into <prefix>/bin so that
    no installer rewrites its shebang (pip drops interpreter flags)."""
    import sysconfig
    out = os.path.join(HERE, "build", "launcher", "pyruntime")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(LAUNCHER.format(python=sys.executable, libdir=sysconfig.get_path("platlib")))
    os.chmod(out, 0o755)
    return os.path.relpath(out, HERE)


setup(
    cffi_modules=["pyruntime/_shim_build.py:ffibuilder"],
    cmdclass={"build_py": BuildPy},
    data_files=[("bin", [write_launcher()])],
)
