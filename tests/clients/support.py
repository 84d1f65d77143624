"""Helpers for the client integration tests (podman + conmon, containerd + ctr).

Everything here is runtime-agnostic: the runtime under test is a binary path
(``CLIENT_RUNTIME``), so the same tests run against pyruntime and runc.
Every subprocess gets a timeout.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYRUNTIME = "/root/.pyenv/versions/3.11.7/bin/pyruntime"
IMAGE_NAME = "localhost/pyrt-busybox"
IMAGE_TAG = "clients"
IMAGE = f"{IMAGE_NAME}:{IMAGE_TAG}"

# Default timeout of a single client command. Generous: the first container start
# of a session, and a Python runtime on a loaded CI machine, can be slow.
TIMEOUT = float(os.environ.get("CLIENT_TIMEOUT", "60"))


# --------------------------------------------------------------------------- runtime


def runtime_path() -> str | None:
    """The runtime under test: $CLIENT_RUNTIME, else the installed pyruntime."""
    env = os.environ.get("CLIENT_RUNTIME")
    if env:
        return os.path.abspath(shutil.which(env) or env)
    # the console script installed with the interpreter running the tests; never a pyenv
    # shim (a bash wrapper that needs PATH/HOME, which podman does not always pass)
    candidates = [os.path.join(os.path.dirname(sys.executable), "pyruntime"),
                  DEFAULT_PYRUNTIME]
    found = shutil.which("pyruntime")
    if found and "/shims/" not in found:
        candidates.append(found)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def runtime_default_root(runtime: str) -> str:
    """Where the runtime keeps its state when no --root is given (podman passes none).

    $CLIENT_RUNTIME_ROOT, else the default printed by ``RUNTIME --help`` for --root
    (runc: ``(default: "/run/runc")``), else /run/<basename>.
    """
    env = os.environ.get("CLIENT_RUNTIME_ROOT")
    if env:
        return env
    try:
        out = subprocess.run([runtime, "--help"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
        text = out.stdout + out.stderr
        m = re.search(r"--root\b[^\n]*(?:\n(?!\s*-)[^\n]*)*", text)
        if m:
            d = re.search(r"default:?\s*\"?(/[^\"\s)]+)", m.group(0))
            if d:
                return d.group(1)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "/run/" + os.path.basename(runtime)


# --------------------------------------------------------------------------- subprocess


def run(argv, *, env=None, input=None, timeout=TIMEOUT, check=False, cwd=None,
        stdin=None) -> subprocess.CompletedProcess:
    """Run argv with a timeout; text output captured. ``check`` raises with the output."""
    kw = {}
    if input is None:
        kw["stdin"] = stdin if stdin is not None else subprocess.DEVNULL
    try:
        cp = subprocess.run([str(a) for a in argv], env=env, input=input, capture_output=True,
                            text=True, timeout=timeout, cwd=cwd, **kw)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"timed out after {timeout}s: {' '.join(map(str, argv))}\n"
                             f"stdout: {e.stdout!r}\nstderr: {e.stderr!r}") from None
    if check and cp.returncode != 0:
        raise AssertionError(f"exit {cp.returncode}: {' '.join(map(str, argv))}\n"
                             f"stdout: {cp.stdout}\nstderr: {cp.stderr}")
    return cp


def wait_for(pred, timeout=20.0, interval=0.05, what="condition"):
    """Poll ``pred()`` until it returns a truthy value; return it, or fail."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - polled predicates may race
            last_exc = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def read_int(path) -> int | None:
    """An integer a container writes to a file (None while missing/empty/torn)."""
    try:
        s = Path(path).read_text().strip()
        return int(s) if s else None
    except (OSError, ValueError):
        return None


def pty_session(argv, *, env=None, script=(), timeout=TIMEOUT, rows=24, cols=80):
    """Run argv on a fresh pty (controlling terminal, stdin/stdout/stderr).

    ``script`` is a sequence of (regex, text): wait until regex (bytes or str) matches the
    output seen since the previous match, then type text. Returns (exit_code, output str).
    """
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], [str(a) for a in argv], env if env is not None else os.environ)
        finally:
            os._exit(127)
    steps = [(re.compile(p.encode() if isinstance(p, str) else p), t.encode())
             for p, t in script]
    out = bytearray()
    pos = 0
    deadline = time.monotonic() + timeout
    status = None
    try:
        while True:
            while steps:
                m = steps[0][0].search(bytes(out), pos)
                if not m:
                    break
                pos = m.end()
                os.write(fd, steps.pop(0)[1])
            if time.monotonic() > deadline:
                raise AssertionError(f"pty session timed out after {timeout}s: {argv}\n"
                                     f"pending steps: {[s[0].pattern for s in steps]}\n"
                                     f"output: {bytes(out)!r}")
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(fd, 65536)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if not data:  # every slave fd closed: the program is gone
                    break
                out += data
            elif status is None:
                wpid, st = os.waitpid(pid, os.WNOHANG)
                if wpid:
                    status = st
                    # drain what is left, briefly
                    end = time.monotonic() + 1
                    while time.monotonic() < end:
                        r, _, _ = select.select([fd], [], [], 0.1)
                        if not r:
                            break
                        try:
                            data = os.read(fd, 65536)
                        except OSError:
                            break
                        if not data:
                            break
                        out += data
                    break
        while status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"pty session: {argv} did not exit; output: {bytes(out)!r}")
            time.sleep(0.05)
    finally:
        if status is None:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


# --------------------------------------------------------------------------- processes


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def cmdline(pid) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return []


def find_pids(pred) -> list[int]:
    """Live pids whose argv satisfies pred(argv)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            argv = cmdline(d)
            if argv and pred(argv) and pid_alive(int(d)):
                out.append(int(d))
    return out


def kill_pids(pids, sig=signal.SIGKILL):
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------- cgroups


def _cgroup_mounts():
    """[(superoptions set or 'unified', mountpoint, mount root)] of the cgroup mounts."""
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            pf = pre.split()
            fstype, _src, sopts = post.split()[:3]
            if fstype == "cgroup2":
                mounts.append(("unified", pf[4], pf[3]))
            elif fstype == "cgroup":
                mounts.append((frozenset(sopts.split(",")), pf[4], pf[3]))
    return mounts


def cgroup_dirs(pid) -> dict:
    """{controllers string ('memory', 'cpu,cpuacct', 'unified'): host directory} of pid."""
    mounts = _cgroup_mounts()
    dirs = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and ctrls == "":
                cands = [m for m in mounts if m[0] == "unified"]
            else:
                want = set(ctrls.split(","))
                cands = [m for m in mounts if m[0] != "unified" and want <= m[0]]
            if not cands:
                continue
            _k, mnt, root = cands[0]
            rel = path
            if root != "/" and rel.startswith(root):
                rel = rel[len(root):]
            dirs[ctrls or "unified"] = os.path.join(mnt, rel.lstrip("/"))
    return dirs


def cgroup_dir(pid, controller) -> str:
    """Host directory of pid's cgroup for one v1 controller (or the v2 one)."""
    dirs = cgroup_dirs(pid)
    for k, d in dirs.items():
        if controller in k.split(","):
            return d
    if "unified" in dirs:
        return dirs["unified"]
    raise AssertionError(f"pid {pid} has no {controller} cgroup: {dirs}")


def memory_limit(pid) -> int | None:
    d = cgroup_dir(pid, "memory")
    for name in ("memory.limit_in_bytes", "memory.max"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            v = Path(p).read_text().strip()
            return None if v == "max" else int(v)
    raise AssertionError(f"no memory limit file in {d}")


def frozen(pid) -> bool:
    d = cgroup_dir(pid, "freezer")
    p = os.path.join(d, "freezer.state")
    if os.path.exists(p):
        return Path(p).read_text().strip() == "FROZEN"
    return Path(d, "cgroup.freeze").read_text().strip() == "1"


def cgroup_paths_under(relpath: str) -> list[str]:
    """The directories named relpath (e.g. 'ns/id') in every mounted hierarchy."""
    out = []
    for _key, mnt, _root in _cgroup_mounts():
        p = os.path.join(mnt, relpath.lstrip("/"))
        if os.path.isdir(p):
            out.append(p)
    return out


def rmdir_cgroup_tree(path: str) -> None:
    """rmdir path and its (empty) children, bottom-up; ignore busy/missing."""
    if not os.path.isdir(path):
        return
    for root, dirs, _files in os.walk(path, topdown=False):
        for d in dirs:
            try:
                os.rmdir(os.path.join(root, d))
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def counter_advances(path, seconds=0.6) -> bool:
    """The container's counter moves on within `seconds`. Both reads retry:
    the container rewrites the file every 0.1 s, and a read between its
    truncation and its write sees nothing (a torn read is not a stop)."""
    a = wait_for(lambda: read_int(path), what=f"counter in {path}", timeout=10)
    time.sleep(seconds)
    for _ in range(20):
        b = read_int(path)
        if b is not None:
            return b > a
        time.sleep(0.01)
    return False


# --------------------------------------------------------------------------- mounts


def mounts_under(prefix: str) -> list[str]:
    prefix = os.path.realpath(prefix).rstrip("/") + "/"
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if (mp + "/").startswith(prefix):
                out.append(mp)
    return out


def unmount_under(prefix: str) -> list[str]:
    """Lazily unmount everything under prefix, deepest first; return what was mounted."""
    found = mounts_under(prefix)
    for mp in sorted(found, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, timeout=30)
    return found


# --------------------------------------------------------------------------- images


def build_rootfs_tar(workdir: Path) -> tuple[Path, Path]:
    """mkbundle's busybox rootfs, and a tarball of it. Returns (rootfs, tar)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tools.mkbundle import build_rootfs
    rootfs = workdir / "rootfs"
    build_rootfs(str(rootfs))
    tar = workdir / "rootfs.tar"
    with tarfile.open(tar, "w") as t:
        for entry in sorted(os.listdir(rootfs)):
            t.add(rootfs / entry, arcname=entry)
    return rootfs, tar


def build_oci_layout(rootfs: Path, workdir: Path, tag: str = "latest") -> Path:
    """An OCI image layout of rootfs built with umoci; returns the layout tarball."""
    layout = workdir / "oci"
    img = f"{layout}:{tag}"
    run(["umoci", "init", "--layout", layout], check=True)
    run(["umoci", "new", "--image", img], check=True)
    run(["umoci", "insert", "--image", img, rootfs, "/"], check=True, timeout=120)
    run(["umoci", "config", "--image", img, "--config.cmd", "/bin/sh",
         "--config.workingdir", "/",
         "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        check=True)
    tar = workdir / "oci.tar"
    with tarfile.open(tar, "w") as t:
        for entry in sorted(os.listdir(layout)):
            t.add(layout / entry, arcname=entry)
    return tar


def shim_socket(address: str, namespace: str, cid: str) -> str:
    """containerd 1.6's runc-v2 shim socket for a task (shim.SocketAddress)."""
    h = hashlib.sha256(os.path.join(address, namespace, cid).encode()).hexdigest()
    return f"/run/containerd/s/{h}"


def kill_cgroup_tree(relpath: str, timeout: float = 10) -> list[int]:
    """SIGKILL every process in the cgroups named relpath (all hierarchies, thawing a
    frozen freezer first), then rmdir them. Returns the pids that were killed."""
    killed = set()
    dirs = cgroup_paths_under(relpath)
    for d in dirs:
        for root, _dirs, files in os.walk(d):
            if "freezer.state" in files:
                try:
                    Path(root, "freezer.state").write_text("THAWED")
                except OSError:
                    pass
            if "cgroup.freeze" in files:
                try:
                    Path(root, "cgroup.freeze").write_text("0")
                except OSError:
                    pass
    for d in dirs:
        for root, _dirs, files in os.walk(d):
            if "cgroup.procs" in files:
                try:
                    pids = [int(p) for p in Path(root, "cgroup.procs").read_text().split()]
                except OSError:
                    continue
                kill_pids(pids)
                killed.update(pids)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    for d in dirs:
        rmdir_cgroup_tree(d)
    return sorted(killed)
