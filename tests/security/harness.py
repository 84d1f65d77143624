"""Shared machinery of tests/security and tests/reliability.

* ``check_leaks`` -- the per-test leak check the integration tests get from
  tests/conftest.py (state dirs, mounts, cgroups, processes), for these dirs.
* ``attack_binary`` -- pyrt-attack (attack.c), compiled static once a session.
* Weakened runtimes: a throw-away copy of the INSTALLED pyruntime package with
  one defence patched out (text patches of the Python modules; for the C stage
  a patched copy of init.c compiled again), started by its own launcher. Each
  attack test names the defence it guards (``@pytest.mark.defence(NAME)``);
  its ``sec`` fixture gives the real runtime (param ``intact``) and, with
  ``PYRT_SECURITY_SELFTEST=1``, also the weakened one (param ``weakened``):
  there the test's escape check must FAIL, which shows that the test catches
  the bug it guards. ``PYRT_WEAKEN=name[,name...]|all`` instead runs the
  ordinary (``intact``) tests against the weakened runtime, so they fail.

Nothing here changes the product: the copies live under the test's dirs.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import pytest

from support.checks import wait_for
from support.leaks import check_after

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS)

SELFTEST = os.environ.get("PYRT_SECURITY_SELFTEST", "") not in ("", "0")
WEAKEN = {w.strip() for w in os.environ.get("PYRT_WEAKEN", "").split(",") if w.strip()}


# -- leaks ---------------------------------------------------------------------

def check_leaks(request) -> "object":
    """Generator body of an autouse fixture: after the test, nothing may be
    left behind (the same rule as tests/conftest.py's, for our dirs)."""
    yield from check_after(request, grace=3.0)


# -- helpers ---------------------------------------------------------------------

def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def compile_static(src: str, out: str) -> str:
    if not os.path.exists(out):
        cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
        if cc is None:
            pytest.skip("no C compiler to build the attack helper")
        tmp = out + ".tmp"
        res = subprocess.run([cc, "-static", "-O2", "-o", tmp, src], capture_output=True,
                             text=True)
        if res.returncode != 0:
            pytest.skip(f"cannot build {os.path.basename(src)} statically: {res.stderr[-300:]}")
        os.rename(tmp, out)
    return out


def _launcher_text(runtime_bin: str) -> str:
    """The launcher (a script, or the native front end, whose Python code and
    interpreter path are strings in the binary) as text."""
    try:
        with open(runtime_bin, "rb") as f:
            return f.read().decode("latin-1")
    except OSError:
        return ""


def installed_libdir(runtime_bin: str) -> str:
    """The directory holding the ``pyruntime`` package the launcher runs."""
    text = _launcher_text(runtime_bin)
    for m in re.finditer(r"sys\.path\.insert\(0, '([^']+)'\)|sys\.path\[:0\] = \['([^']+)'",
                         text):
        d = m.group(1) or m.group(2)
        if os.path.isdir(os.path.join(d, "pyruntime")):
            return d
    return sysconfig.get_path("platlib")


def installed_files(runtime_bin: str) -> "dict[str, str]":
    """The host binaries a CVE-2019-5736 attacker would like to overwrite."""
    lib = installed_libdir(runtime_bin)
    out = {"pyruntime-init": os.path.join(lib, "pyruntime", "pyruntime-init")}
    text = _launcher_text(runtime_bin)
    if text.startswith("#!"):
        out["interpreter"] = os.path.realpath(text[2:].split()[0])
    else:  # the front end: the interpreter's path is a NUL-terminated string in it
        m = re.search(r"\0(/[^\0]+/python[0-9.]*)\0", text)
        if m:
            out["interpreter"] = os.path.realpath(m.group(1))
    out["launcher"] = runtime_bin
    return {k: v for k, v in out.items() if os.path.exists(v)}


# -- weakened runtimes -------------------------------------------------------------

#: name -> (what it removes, {relative file: [(old, new), ...]})
#: Every ``old`` must occur in the installed file exactly once (a patch that no
#: longer applies fails the self-test loudly instead of testing nothing).
DEFENCES: "dict[str, tuple[str, dict[str, list[tuple[str, str]]]]]" = {
    "sealed_exe": (
        "the C stage runs from the installed pyruntime-init file instead of a sealed "
        "memfd, and no runtime process is made non-dumpable",
        {
            "create.py": [
                ("shim.prctl(shim.PR_SET_DUMPABLE, 0)", "pass  # WEAKENED"),
                ("\nclass CreateRequest:", "\ndef sealed_init_memfd() -> int:  # WEAKENED\n"
                 "    return os.open(INIT_BINARY, os.O_RDONLY | os.O_CLOEXEC)\n\n\n"
                 "class CreateRequest:"),
            ],
            "execproc.py": [("shim.prctl(shim.PR_SET_DUMPABLE, 0)", "pass  # WEAKENED")],
            "init.c": [("    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);\n",
                        "    /* WEAKENED: stays dumpable */\n")],
        }),
    "no_host_dir_in_init": (
        "the waiting C stage holds the state directory (as before the fix) instead of "
        "an O_PATH fd of exec.fifo",
        {"create.py": [("    if proc_mnt is not None:\n        fifo_fd = os.open(FIFO",
                        "    if False:  # WEAKENED\n        fifo_fd = os.open(FIFO")]}),
    "cwd_in_root": (
        "no check that process.cwd is inside the container's root",
        {
            "create.py": [('    if not here.startswith("/") or here.startswith("(unreachable)"):\n'
                           '        raise SetupError(f"process.cwd',
                           '    if False:  # WEAKENED\n        raise SetupError(f"process.cwd')],
            "execproc.py": [('    if here.startswith("(unreachable)"):\n        raise SetupError',
                             '    if False:  # WEAKENED\n        raise SetupError')],
        }),
    "close_fds": (
        "the runtime does not close the fds it inherited before exec'ing the C stage",
        {"linux/process.py": [("        if fd not in keep:\n", "        if False:  # WEAKENED\n")]}),
    "resolve_in_root": (
        "paths in the rootfs are resolved without RESOLVE_IN_ROOT (an absolute symlink "
        "leads to the host)",
        {"linux/rootfs.py": [("shim.RESOLVE_IN_ROOT | shim.RESOLVE_NO_MAGICLINKS",
                              "shim.RESOLVE_NO_MAGICLINKS")]}),
    "null_device_check": (
        "maskedPaths are bind-mounted from the container's /dev/null by path, unchecked",
        {"linux/rootfs.py": [('            fd = open_in_root(self.rootfd, "/dev/null")\n',
                              '            return os.open("/dev/null", os.O_PATH | os.O_CLOEXEC)'
                              '  # WEAKENED\n')]}),
    "procfs_check": (
        "no check that /proc and the sysctl files are the container's procfs",
        {"create.py": [
            ("        if shim.fs_magic(fd) != shim.PROC_SUPER_MAGIC:\n"
             "            raise SetupError(\"/proc in the container",
             "        if False:  # WEAKENED\n            raise SetupError(\"/proc in the container"),
            ("        if shim.fs_magic(fd) != shim.PROC_SUPER_MAGIC or _mnt_id(fd) != proc_mnt:",
             "        if False:  # WEAKENED"),
        ]}),
    "exec_cap_inheritable": (
        "exec --cap adds to the inheritable set (CVE-2022-29162)",
        {"execproc.py": [
            ('            for field in ("bounding", "effective", "permitted", "ambient"):\n'
             '                if field == "ambient" and caps.get("inheritable") is None:',
             '            for field in ("bounding", "effective", "permitted", "ambient",'
             ' "inheritable"):  # WEAKENED\n'
             '                if field == "inheritable" and field not in caps:'),
        ]}),
    "exec_cap_bounding": (
        "an exec'd process's capabilities are not limited to the container's bounding set",
        {"linux/process.py": [("            if bounding_limit is not None:\n",
                               "            if False:  # WEAKENED\n")]}),
    "cgroupfs_ro": (
        "the cgroup mount ignores its 'ro' option",
        {"linux/rootfs.py": [("        ro = flags & MS_RDONLY\n", "        ro = 0  # WEAKENED\n")]}),
}


def build_weakened(runtime_bin: str, name: str, dest: str) -> str:
    """A copy of the installed package with defence ``name`` patched out, under
    ``dest``; returns its launcher."""
    launcher = os.path.join(dest, "bin", "pyruntime")
    if os.path.exists(launcher):
        return launcher
    _, patches = DEFENCES[name]
    src = os.path.join(installed_libdir(runtime_bin), "pyruntime")
    pkg = os.path.join(dest, "lib", "pyruntime")
    shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, edits in patches.items():
        path = os.path.join(pkg, rel)
        if rel == "init.c" and not os.path.exists(path):
            shutil.copy(os.path.join(REPO, "pyruntime", "init.c"), path)
        with open(path) as f:
            text = f.read()
        for old, new in edits:
            n = text.count(old)
            assert n >= 1, f"weakening {name!r}: the code patched in {rel} has changed: {old!r}"
            text = text.replace(old, new)
        with open(path, "w") as f:
            f.write(text)
        if rel == "init.c":
            out = os.path.join(pkg, "pyruntime-init")
            os.unlink(out)
            subprocess.run(["gcc", "-static", "-Os", "-o", out, path], check=True,
                           capture_output=True)
    os.makedirs(os.path.dirname(launcher), exist_ok=True)
    with open(launcher, "w") as f:
        f.write(f"#!{sys.executable} -IS\n# pyruntime with defence {name!r} REMOVED (tests)\n"
                f"import sys\nsys.path[:0] = [{os.path.dirname(pkg)!r}, "
                f"{installed_libdir(runtime_bin)!r}, {sysconfig.get_path('platlib')!r}]\n"
                "from pyruntime.cli import main\nsys.exit(main())\n")
    os.chmod(launcher, 0o755)
    return launcher


class Sec:
    """What an attack test gets: ``rt`` (an RT with its own --root), ``binary``,
    ``weakened`` and ``check(fn)``."""

    def __init__(self, rt, binary: str, defence: str, weakened: bool, expect_escape: bool):
        self.rt = rt
        self.binary = binary
        self.defence = defence
        self.weakened = weakened
        self.expect_escape = expect_escape
        self.caught: "list[str]" = []

    def check(self, fn, *args, **kw) -> None:
        """Run the escape check ``fn``. Intact: it must pass. Self-test: it must
        fail (the weakened runtime lets the attack through and the check sees it)."""
        if not self.expect_escape:
            fn(*args, **kw)
            return
        try:
            fn(*args, **kw)
        except AssertionError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
            self.caught.append(first)
            print(f"\n[self-test] defence {self.defence!r} removed: the test caught it: "
                  f"{first}")
            return
        pytest.fail(f"defence {self.defence!r} was removed ({DEFENCES[self.defence][0]}) "
                    "but the attack test did not notice: it guards nothing", pytrace=False)


# -- the attacker inside a container -------------------------------------------------

ATTACK_IN_CONTAINER = "/bin/pyrt-attack"


def with_attacker(bundle, attack_bin: str):
    """Copy pyrt-attack into a bundle's rootfs (at /bin/pyrt-attack)."""
    dst = os.path.join(bundle.rootfs, ATTACK_IN_CONTAINER.lstrip("/"))
    shutil.copy(attack_bin, dst)
    os.chmod(dst, 0o755)
    return bundle


def probe_args(out: str, marker: "tuple[str, str]", millis: int,
               sacrifice: "list[str] | tuple" = ()) -> "list[str]":
    return [ATTACK_IN_CONTAINER, "probe", out, marker[0], marker[1], str(millis), *sacrifice]


class Findings:
    """The lines pyrt-attack wrote."""

    def __init__(self, text: str):
        self.lines = [l for l in text.splitlines() if l.strip()]
        self.summary: "dict[str, int]" = {}
        for l in self.lines:
            if l.startswith("SUMMARY "):
                self.summary = {k: int(v) for k, v in
                                (kv.split("=", 1) for kv in l.split()[1:])}

    def kind(self, prefix: str) -> "list[str]":
        return [l for l in self.lines if l.startswith(prefix)]

    def exe_targets(self) -> "dict[int, set[str]]":
        out: "dict[int, set[str]]" = {}
        for l in self.kind("EXE "):
            _, pid, target = l.split(" ", 2)
            out.setdefault(int(pid), set()).add(target)
        return out

    @property
    def escapes(self) -> "list[str]":
        return [l for l in self.lines if l.startswith(("ESCAPE-", "WROTE", "EXE-WRITABLE",
                                                        "EXE-REOPEN-WRITABLE", "FD-WRITABLE"))]

    def __repr__(self) -> str:
        return "\n".join(self.lines[-60:])


def read_findings(path: str, timeout: float = 15.0, need_summary: bool = True) -> Findings:
    def get():
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        if need_summary and "SUMMARY " not in text:
            return None
        return Findings(text)
    return wait_for(get, timeout, what=f"the attacker's report in {path}")


def assert_no_escape(findings: Findings, hashes_before: "dict[str, str]",
                     host_files: "dict[str, str]") -> None:
    """The attacker never wrote to or could write a host binary, never read the
    host marker, and never saw a runtime process running a host binary."""
    assert not findings.escapes, "ESCAPE: " + "; ".join(findings.escapes[:5])
    changed = [p for p, h in hashes_before.items() if sha256(p) != h]
    assert not changed, f"ESCAPE: host binaries were modified: {changed}"
    host_paths = set(host_files.values())
    seen_host = {t for ts in findings.exe_targets().values() for t in ts
                 if t in host_paths or t.endswith("/pyruntime-init")}
    assert not seen_host, (f"a runtime process in the container showed a host binary as "
                           f"/proc/<pid>/exe: {sorted(seen_host)}")
