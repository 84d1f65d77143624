"""The machinery of the conformance suite: test registry, the runtime's CLI,
bundles, the checker binary, host feature detection and leak checks.

Nothing here knows which runtime it drives: every difference between runtimes
is observed through runc's command language (create/start/state/kill/delete/
run/features, --root, --bundle, --console-socket, --pid-file) and from inside
the container (the static ``checker`` binary, busybox).
"""
from __future__ import annotations

import array
import copy
import ctypes
import errno
import fnmatch
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SPEC_VERSION = "1.3.0"

RUNNER_OOM_SCORE_ADJ = 7      # the runner's own value, which containers inherit
LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")


class Fail(Exception):
    """The runtime broke the statement under test."""


class Skip(Exception):
    """The host lacks something the test needs (detected at run time)."""


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------

@dataclass
class TestCase:
    id: str
    func: object
    spec: str          # file.md#anchor
    level: str         # MUST / MUST NOT / SHOULD / SHOULD NOT / MAY
    statement: str     # the spec sentence checked (quoted or closely paraphrased)
    area: str
    since: str | None = None   # spec release that introduced the statement (post-1.0.0 only)

    @property
    def statement_key(self):
        return (self.spec, self.statement)


REGISTRY: list[TestCase] = []


def spec_test(spec: str, level: str, statement: str, *, since: str | None = None, name: str | None = None):
    """Register a test: ``spec`` is ``file.md#anchor``; ``level`` is the
    RFC 2119 keyword of ``statement``."""
    assert level in LEVELS, level
    assert "#" in spec and spec.split("#")[0].endswith(".md"), spec

    def deco(func):
        area = func.__module__.rsplit(".", 1)[-1].replace("t_", "", 1)
        tid = f"{area}.{name or func.__name__}"
        assert not any(t.id == tid for t in REGISTRY), f"duplicate test id {tid}"
        REGISTRY.append(TestCase(tid, func, spec, level, statement, area, since))
        return func
    return deco


def select_tests(patterns=None):
    import conformance.tests  # noqa: F401  (registers everything)
    if not patterns:
        return list(REGISTRY)
    out = []
    for t in REGISTRY:
        for p in patterns:
            if any(ch in p for ch in "*?["):
                hit = fnmatch.fnmatch(t.id, p) or fnmatch.fnmatch(t.spec, p)
            else:
                hit = p in t.id or p in t.spec
            if hit:
                out.append(t)
                break
    return out


# --------------------------------------------------------------------------
# small OS helpers (ctypes: Python 3.11 lacks unshare / mount)
# --------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE, MS_SHARED = 32, 4096, 16384, 1 << 18, 1 << 20
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36


def _check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def mount(src, target, fstype, flags, data=None):
    _check(_libc.mount(src.encode() if src else None, target.encode(),
                       fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                       data.encode() if data else None), f"mount {target}")


def umount(target, flags=MNT_DETACH):
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def set_subreaper():
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


def isolate(hide_cgroup2=False):
    """Put the runner in a private mount + network namespace (the host's own
    mounts are never touched), then make its mounts shared again inside that
    namespace so runtimes see the usual systemd-style shared propagation.
    ``hide_cgroup2``: unmount /sys/fs/cgroup/unified and put a throw-away tmpfs
    there (for runtimes that refuse a hybrid cgroup host, e.g. crun 1.8)."""
    unshare(CLONE_NEWNS | CLONE_NEWNET)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(None, "/", None, MS_REC | MS_SHARED)
    if hide_cgroup2 and os.path.ismount("/sys/fs/cgroup/unified"):
        umount("/sys/fs/cgroup/unified")
        mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16m")
    subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True)


def mountinfo(pid="self"):
    try:
        with open(f"/proc/{pid}/mountinfo") as f:
            return parse_mountinfo(f.read())
    except (FileNotFoundError, ProcessLookupError):
        return []


def parse_mountinfo(text):
    out = []
    for line in text.splitlines():
        parts = line.split()
        if "-" not in parts:
            continue
        sep = parts.index("-")
        out.append({
            "id": int(parts[0]), "parent": int(parts[1]), "majmin": parts[2],
            "root": unescape(parts[3]), "mountpoint": unescape(parts[4]),
            "options": parts[5].split(","), "optional": parts[6:sep],
            "fstype": parts[sep + 1], "source": parts[sep + 2],
            "super": parts[sep + 3].split(",") if len(parts) > sep + 3 else [],
        })
    return out


def top_mount(mounts, path):
    """The visible (last mounted) entry at ``path``."""
    hits = [m for m in mounts if m["mountpoint"] == path]
    return hits[-1] if hits else None


def unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return {"state": rest[0], "ppid": int(rest[1]), "starttime": int(rest[19])}


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st["state"] not in ("Z", "X")


def ns_inode(pid, ns):
    try:
        return os.stat(f"/proc/{pid}/ns/{ns}").st_ino
    except OSError:
        return None


# --------------------------------------------------------------------------
# host detection
# --------------------------------------------------------------------------

class Host:
    """What this machine has, detected at run time (never per runtime)."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.kernel = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
        self.v1 = {}          # controller -> mount point
        self.v2 = None        # unified mount point
        for m in mountinfo():
            if m["fstype"] == "cgroup":
                for opt in m["super"]:
                    if opt in ("rw", "ro") or opt.startswith("release_agent"):
                        continue
                    self.v1.setdefault(opt, m["mountpoint"])
            elif m["fstype"] == "cgroup2" and self.v2 is None:
                self.v2 = m["mountpoint"]
        self.v2_controllers = set()
        if self.v2:
            try:
                with open(os.path.join(self.v2, "cgroup.controllers")) as f:
                    self.v2_controllers = set(f.read().split())
            except OSError:
                pass
        self._probe_cache = {}
        self._scratch = []

    # -- cgroups -----------------------------------------------------------
    def controller_root(self, controller):
        """(version, mount point) of a controller, v1 first (what a hybrid host uses)."""
        if controller in self.v1:
            return 1, self.v1[controller]
        if controller in self.v2_controllers:
            return 2, self.v2
        return None, None

    def cgroup_file(self, pid, controller, filename):
        """Host path of ``filename`` in ``pid``'s cgroup for ``controller``."""
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                lines = f.read().splitlines()
        except OSError:
            raise Fail(f"cannot read /proc/{pid}/cgroup (container process gone?)")
        v2path = None
        for line in lines:
            hid, ctrls, path = line.split(":", 2)
            if hid == "0" and ctrls == "":
                v2path = path
            elif controller in ctrls.split(",") and controller in self.v1:
                return os.path.join(self.v1[controller] + path, filename)
        if v2path is not None and controller in self.v2_controllers:
            return os.path.join(self.v2 + v2path, filename)
        raise Fail(f"container process {pid} is in no {controller} cgroup")

    def cgroup_paths(self, pid):
        """Every cgroup directory (host path) of ``pid``, except the hierarchy roots."""
        out = []
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                lines = f.read().splitlines()
        except OSError:
            return out
        for line in lines:
            hid, ctrls, path = line.split(":", 2)
            if path in ("/", ""):
                continue
            if hid == "0" and ctrls == "":
                if self.v2:
                    out.append(self.v2 + path)
            else:
                for c in ctrls.split(","):
                    if c in self.v1:
                        out.append(self.v1[c] + path)
                        break
        return out

    def cgroup_roots(self):
        roots = sorted(set(self.v1.values()))
        if self.v2:
            roots.append(self.v2)
        return roots

    def cgroup_file_writable(self, controller, filename, value):
        """Whether this kernel accepts ``value`` in ``filename``: written once in
        a scratch cgroup the runner creates and removes."""
        key = (controller, filename, value)
        if key in self._probe_cache:
            return self._probe_cache[key]
        ver, root = self.controller_root(controller)
        ok, why = False, f"no {controller} cgroup controller on this host"
        if root:
            d = os.path.join(root, f"conformance-probe-{secrets.token_hex(3)}")
            try:
                os.mkdir(d)
                self._scratch.append(d)
                p = os.path.join(d, filename)
                if not os.path.exists(p):
                    why = f"this kernel has no {filename} (cgroup v{ver})"
                else:
                    try:
                        with open(p, "w") as f:
                            f.write(value)
                        ok, why = True, ""
                        if value.isdigit() and int(value) > 0:
                            with open(p) as f:
                                back = f.read().split()
                            if value not in back:
                                ok, why = False, (f"this kernel accepts but ignores writes to {filename} "
                                                  f"(wrote {value}, reads {' '.join(back)[:40]})")
                    except OSError as e:
                        why = f"this kernel rejects {value!r} in {filename}: {e.strerror}"
            except OSError as e:
                why = f"cannot create a scratch cgroup under {root}: {e.strerror}"
            finally:
                try:
                    os.rmdir(d)
                    self._scratch.remove(d)
                except (OSError, ValueError):
                    pass
        self._probe_cache[key] = (ok, why)
        return ok, why

    def require_cgroup_file(self, controller, filename, value="0"):
        ok, why = self.cgroup_file_writable(controller, filename, value)
        if not ok:
            raise Skip(why)

    # -- kernel features ---------------------------------------------------
    def has_ns(self, ns):
        return os.path.exists(f"/proc/self/ns/{ns}")

    @property
    def mount_setattr(self):
        if "mount_setattr" not in self._probe_cache:
            _libc.syscall.restype = ctypes.c_long
            r = _libc.syscall(442, -1, None, 0, None, 0)
            self._probe_cache["mount_setattr"] = not (r < 0 and ctypes.get_errno() == errno.ENOSYS)
        return self._probe_cache["mount_setattr"]

    def mount_flag_supported(self, opt):
        """Whether the kernel accepts a mount flag (tried on a scratch tmpfs
        inside the runner's private mount namespace)."""
        key = ("mountopt", opt)
        if key not in self._probe_cache:
            flags = {"nosymfollow": 0x100, "lazytime": 1 << 25}.get(opt, 0)
            d = os.path.join(self.workdir, f"mnt-probe-{secrets.token_hex(3)}")
            os.mkdir(d)
            try:
                mount("tmpfs", d, "tmpfs", flags, "size=4k")
                umount(d)
                ok = True
            except OSError:
                ok = False
            os.rmdir(d)
            self._probe_cache[key] = ok
        return self._probe_cache[key]

    @property
    def apparmor(self):
        return os.path.exists("/sys/kernel/security/apparmor") or os.path.exists("/sys/module/apparmor/parameters/enabled") and open("/sys/module/apparmor/parameters/enabled").read().strip() == "Y"

    @property
    def selinux(self):
        return os.path.exists("/sys/fs/selinux/enforce")

    @property
    def resctrl(self):
        return any(m["fstype"] == "resctrl" for m in mountinfo())

    def tool(self, name):
        return shutil.which(name)

    def veth_ok(self):
        if "veth" not in self._probe_cache:
            n = f"cfp{secrets.token_hex(2)}"
            r = subprocess.run(["ip", "link", "add", n, "type", "veth", "peer", "name", n + "p"],
                               capture_output=True) if self.tool("ip") else None
            ok = r is not None and r.returncode == 0
            if ok:
                subprocess.run(["ip", "link", "del", n], capture_output=True)
            self._probe_cache["veth"] = ok
        return self._probe_cache["veth"]

    def block_device(self):
        """major:minor of a real block device (the one holding the workdir)."""
        dev = os.stat(self.workdir).st_dev
        ma, mi = os.major(dev), os.minor(dev)
        if os.path.exists(f"/sys/dev/block/{ma}:{mi}"):
            # throttling needs a whole disk, not a partition
            p = os.path.realpath(f"/sys/dev/block/{ma}:{mi}")
            if os.path.exists(os.path.join(p, "partition")):
                with open(os.path.join(os.path.dirname(p), "dev")) as f:
                    ma, mi = map(int, f.read().split(":"))
            return ma, mi
        for name in sorted(os.listdir("/sys/block")):
            if name.startswith(("loop", "ram", "zram")):
                continue
            with open(f"/sys/block/{name}/dev") as f:
                ma, mi = map(int, f.read().split(":"))
            return ma, mi
        return None


# --------------------------------------------------------------------------
# results of CLI calls
# --------------------------------------------------------------------------

@dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str
    timed_out: bool = False
    duration: float = 0.0
    out_path: str = ""

    def container_output(self):
        """What a detached container wrote so far to the stdout it inherited."""
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out

    def brief(self):
        cmd = " ".join(self.argv[-4:])
        tail = (self.err or self.out).strip().splitlines()[-3:]
        what = "timed out" if self.timed_out else f"exit {self.rc}"
        return f"`{cmd}` {what}" + (f": {' | '.join(tail)[:400]}" if tail else "")


class Runtime:
    def __init__(self, path, global_args=()):
        self.path = shutil.which(path) or path
        self.global_args = list(global_args)
        self.name = os.path.basename(self.path)
        self._features = None

    def argv(self, root, *args):
        return [self.path, *self.global_args, "--root", root, *args]

    def version(self):
        try:
            r = subprocess.run([self.path, "--version"], capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "?"


# --------------------------------------------------------------------------
# the base config (runc spec's defaults, non-terminal)
# --------------------------------------------------------------------------

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
DEFAULT_MASKED = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                  "/proc/scsi"]
DEFAULT_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def base_config(version, args):
    caps = list(DEFAULT_CAPS)
    return {
        "ociVersion": version,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [PATH_ENV, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps[:], "effective": caps[:], "permitted": caps[:],
                             "ambient": caps[:]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "conformance",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": list(DEFAULT_MASKED),
            "readonlyPaths": list(DEFAULT_READONLY),
        },
    }


# --------------------------------------------------------------------------
# the suite (one run against one runtime)
# --------------------------------------------------------------------------

class Suite:
    def __init__(self, runtime: Runtime, workdir=None, cache_dir=None, verbose=False):
        self.runtime = runtime
        self.token = secrets.token_hex(3)
        self.workdir = workdir or f"/run/conformance-{self.token}"
        os.makedirs(self.workdir, exist_ok=True)
        self.cache_dir = cache_dir or os.environ.get("CONFORMANCE_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pyruntime-conformance")
        self.verbose = verbose
        self.host = Host(self.workdir)
        self.counter = 0
        self.helpers = {}           # pid -> Popen of long-lived helpers we own
        self.checker = self.build_checker()
        self.template = self.build_template()
        self.config_version = SPEC_VERSION
        self.config_version_why = ""
        self._features = None
        self._shared = {}
        self.cgroup_parent = f"conformance-{self.token}"
        self.baseline_mounts = self.mount_set()
        self.state_schema = load_schema("state-schema.json")
        self.features_schema = load_schema("features-schema.json")

    # -- build ---------------------------------------------------------------
    def build_checker(self):
        src = os.path.join(HERE, "checker.c")
        with open(src, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        out = os.path.join(self.cache_dir, digest, "checker")
        if not os.path.exists(out):
            os.makedirs(os.path.dirname(out), exist_ok=True)
            gcc = shutil.which("gcc") or shutil.which("cc")
            if not gcc:
                raise SystemExit("conformance: gcc is needed to build checker.c (apt-get install gcc)")
            tmp = out + f".tmp{os.getpid()}"
            r = subprocess.run([gcc, "-static", "-Os", "-o", tmp, src], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"conformance: building checker failed:\n{r.stderr}")
            os.replace(tmp, out)
        return out

    def build_template(self):
        import sys
        if REPO not in sys.path:
            sys.path.insert(0, REPO)
        from tools.mkbundle import build_rootfs
        t = os.path.join(self.workdir, "template")
        build_rootfs(t)
        shutil.copy2(self.checker, os.path.join(t, "bin", "checker"))
        for d in ("cflog", "mnt", "opt", "data"):
            os.makedirs(os.path.join(t, d), exist_ok=True)
        return t

    # -- calibration ---------------------------------------------------------
    def features(self):
        if self._features is None:
            self._features = {}
            root = os.path.join(self.workdir, "features-root")
            try:
                r = subprocess.run(self.runtime.argv(root, "features"), capture_output=True,
                                   text=True, timeout=20)
                if r.returncode == 0:
                    self._features = json.loads(r.stdout)
                else:
                    self._features = {"_error": (r.stderr or r.stdout).strip()[:300]}
            except (OSError, ValueError, subprocess.TimeoutExpired) as e:
                self._features = {"_error": str(e)}
            shutil.rmtree(root, ignore_errors=True)
        return self._features

    def calibrate(self):
        """Pick the config ociVersion: 1.3.0 if the runtime takes it, else the
        runtime's features ociVersionMax, else the newest release it accepts."""
        feats = self.features()
        cands = [SPEC_VERSION]
        if feats.get("ociVersionMax"):
            cands.append(feats["ociVersionMax"])
        cands += ["1.2.0", "1.1.0", "1.0.2", "1.0.0"]
        seen = []
        for v in cands:
            if v in seen:
                continue
            seen.append(v)
            d = os.path.join(self.workdir, f"calib-{len(seen)}")
            os.makedirs(d)
            cfg = base_config(v, ["/bin/checker", "exit", "0"])
            bundle = make_bundle(self, os.path.join(d, "bundle"), cfg)
            root = os.path.join(d, "root")
            cid = f"cal-{self.token}-{len(seen)}"
            try:
                r = subprocess.run(self.runtime.argv(root, "run", "--bundle", bundle, cid),
                                   capture_output=True, text=True, timeout=30,
                                   stdin=subprocess.DEVNULL)
                ok = r.returncode == 0
                err = (r.stderr or r.stdout).strip()
            except subprocess.TimeoutExpired:
                ok, err = False, "timed out"
            subprocess.run(self.runtime.argv(root, "delete", "--force", cid), capture_output=True)
            self.reap()
            shutil.rmtree(d, ignore_errors=True)
            if ok:
                self.config_version = v
                if v != SPEC_VERSION:
                    self.config_version_why = (f"the runtime rejects ociVersion {SPEC_VERSION} "
                                               f"({first_line(self.calib_err)}); using {v}")
                return True
            if v == SPEC_VERSION:
                self.calib_err = err
        self.config_version = SPEC_VERSION
        self.config_version_why = f"the runtime ran no container at all: {first_line(err)}"
        return False

    # -- processes -------------------------------------------------------------
    def reap(self):
        """Reap zombie children that are not helpers we still wait for (the
        runner is a child subreaper: container inits are reparented to it)."""
        me = os.getpid()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in self.helpers:
                continue
            st = proc_stat(pid)
            if st and st["ppid"] == me and st["state"] == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def descendants(self):
        """Live processes below the runner (children of children ...)."""
        me = os.getpid()
        parent = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = proc_stat(int(name))
                if st and st["state"] not in ("Z", "X"):
                    parent[int(name)] = st["ppid"]
        out = []
        for pid in parent:
            p, hops = parent.get(pid), 0
            while p and hops < 64:
                if p == me:
                    out.append(pid)
                    break
                p, hops = parent.get(p), hops + 1
        return out

    def mount_set(self):
        return {(m["mountpoint"], m["majmin"], m["root"]) for m in mountinfo()}

    def next_id(self, tag="c"):
        self.counter += 1
        return f"{tag}-{self.token}-{self.counter}"

    def cleanup(self):
        for pid, p in list(self.helpers.items()):
            kill_group(p)
        self.helpers.clear()
        for d in self.host._scratch:
            try:
                os.rmdir(d)
            except OSError:
                pass
        for root in self.host.cgroup_roots():
            for d in find_dirs(root, {self.cgroup_parent}, depth=5):
                rmdir_tree(d)
        shutil.rmtree(self.workdir, ignore_errors=True)


def first_line(s):
    s = (s or "").strip().splitlines()
    return s[-1][:200] if s else ""


def load_schema(name):
    for d in (os.environ.get("OCI_SPEC_DIR"), os.path.join(REPO, "..", "shared", "oci-runtime-spec"),
              "/work/shared/oci-runtime-spec"):
        if d and os.path.exists(os.path.join(d, "schema", name)):
            return os.path.join(d, "schema", name)
    return None


def validate_schema(schema_path, doc):
    """Validate with jsonschema (when installed) against the official schema.
    Returns a list of error strings; None when no validator is available."""
    if not schema_path:
        return None
    try:
        import jsonschema
    except ImportError:
        return None
    with open(schema_path) as f:
        schema = json.load(f)
    base = "file://" + os.path.dirname(os.path.abspath(schema_path)) + "/"
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        def retrieve(uri):
            path = uri[len("file://"):] if uri.startswith("file://") else os.path.join(
                os.path.dirname(schema_path), uri)
            with open(path) as fh:
                return Resource.from_contents(json.load(fh), default_specification=DRAFT4)
        registry = Registry(retrieve=retrieve)
        schema = dict(schema, **{"$id": base + os.path.basename(schema_path)})
        v = jsonschema.Draft4Validator(schema, registry=registry)
    except ImportError:
        resolver = jsonschema.RefResolver(base, schema)
        v = jsonschema.Draft4Validator(schema, resolver=resolver)
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in v.iter_errors(doc)]


# --------------------------------------------------------------------------
# bundles
# --------------------------------------------------------------------------

def make_bundle(suite, path, cfg, rootfs="link"):
    os.makedirs(path, exist_ok=True)
    rf = os.path.join(path, "rootfs")
    if not os.path.exists(rf):
        flag = "-al" if rootfs == "link" else "-a"
        subprocess.run(["cp", flag, suite.template, rf], check=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return path


class Bundle:
    def __init__(self, t, path, cfg):
        self.t, self.path, self.cfg = t, path, cfg
        self.rootfs = os.path.join(path, "rootfs")

    def write(self):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.cfg, f, indent=1)
        return self

    @property
    def process(self):
        return self.cfg.setdefault("process", {})

    @property
    def linux(self):
        return self.cfg.setdefault("linux", {})

    def args(self, *args):
        self.process["args"] = list(args)
        return self

    def add_mount(self, m, index=None):
        if index is None:
            self.cfg["mounts"].append(m)
        else:
            self.cfg["mounts"].insert(index, m)
        return self

    def set_ns(self, ns_type, path=None, present=True):
        nss = [n for n in self.linux.setdefault("namespaces", []) if n["type"] != ns_type]
        if present:
            e = {"type": ns_type}
            if path:
                e["path"] = path
            nss.append(e)
        self.linux["namespaces"] = nss
        return self


# --------------------------------------------------------------------------
# one test's context
# --------------------------------------------------------------------------

class T:
    def __init__(self, suite: Suite, case: TestCase):
        self.suite = suite
        self.case = case
        self.rt = suite.runtime
        self.host = suite.host
        self.dir = os.path.join(suite.workdir, "t", case.id)
        os.makedirs(self.dir, exist_ok=True)
        self.root = os.path.join(self.dir, "root")
        self.log = os.path.join(self.dir, "log")
        os.makedirs(self.log, exist_ok=True)
        os.chmod(self.log, 0o777)
        self.io = os.path.join(self.dir, "io")
        os.makedirs(self.io, exist_ok=True)
        self.ncli = 0
        self.ids = []           # every container ID this test used
        self.pids = {}          # cid -> container pid seen
        self.cgroups = set()    # host cgroup dirs seen
        self.helpers = []
        self.host_mounts = []   # mounts the test itself made on the runner side
        self.notes = []
        self.nb = 0

    # -- bundles -------------------------------------------------------------
    def bundle(self, args=None, rootfs="link", log=False):
        """A fresh bundle: hard-linked copy of the template rootfs and the
        base config running ``args`` (default: the checker's ``exit 0``)."""
        self.nb += 1
        path = os.path.join(self.dir, f"bundle{self.nb}")
        cfg = base_config(self.suite.config_version, args or ["/bin/checker", "exit", "0"])
        make_bundle(self.suite, path, cfg, rootfs)
        b = Bundle(self, path, cfg)
        if log:
            b.add_mount({"destination": "/cflog", "type": "bind", "source": self.log,
                         "options": ["rbind", "rw"]})
        return b

    def checker_bundle(self, *verb, **kw):
        return self.bundle(["/bin/checker", *verb], **kw)

    # -- CLI -------------------------------------------------------------------
    def cli(self, *args, timeout=20, stdin=None, input=None, pass_fds=(), cwd=None, root=None,
            umask=None):
        """Run the runtime with this test's --root. stdout/stderr go to files
        (a detached container inherits them: pipes would never reach EOF);
        ``Result.out_path`` stays readable for the container's later output."""
        self.suite.reap()
        argv = self.rt.argv(root or self.root, *args)
        self.ncli += 1
        op, ep = (os.path.join(self.io, f"{self.ncli:03d}-{args[0] if args else 'x'}.{s}")
                  for s in ("out", "err"))
        t0 = time.monotonic()
        with open(op, "wb") as fo, open(ep, "wb") as fe:
            if input is not None:
                stdin_f = subprocess.PIPE
            else:
                stdin_f = stdin or subprocess.DEVNULL
            p = subprocess.Popen(argv, stdin=stdin_f, stdout=fo, stderr=fe, pass_fds=pass_fds,
                                 cwd=cwd, start_new_session=True,
                                 preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
        timed = False
        try:
            if input is not None:
                try:
                    p.stdin.write(input.encode() if isinstance(input, str) else input)
                    p.stdin.close()
                except BrokenPipeError:
                    pass
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
        with open(op, "rb") as f:
            out = f.read().decode(errors="replace")
        with open(ep, "rb") as f:
            err = f.read().decode(errors="replace")
        res = Result(argv, p.returncode, out, err, timed, time.monotonic() - t0, op)
        if self.suite.verbose:
            print(f"# $ {' '.join(argv)} -> {res.rc}{' (timeout)' if timed else ''} {err.strip()[:200]}")
        self.suite.reap()
        return res

    def new_id(self):
        cid = self.suite.next_id()
        self.ids.append(cid)
        return cid

    def create(self, bundle, cid=None, extra=(), expect_ok=True, **kw):
        cid = cid or self.new_id()
        if cid not in self.ids:
            self.ids.append(cid)
        path = bundle.path if isinstance(bundle, Bundle) else bundle
        r = self.cli("create", *extra, "--bundle", path, cid, **kw)
        if expect_ok:
            if not r.ok:
                raise Fail(f"create failed: {r.brief()}")
            self.observe(cid)
        return cid, r

    def observe(self, cid):
        """Remember the container's pid and cgroups (for the leak checks)."""
        st = self.state_raw(cid)
        if st.ok:
            try:
                pid = json.loads(st.out).get("pid")
            except ValueError:
                return None
            if pid and alive(pid):
                self.pids[cid] = pid
                self.cgroups.update(self.host.cgroup_paths(pid))
                return pid
        return None

    def start(self, cid, expect_ok=True):
        r = self.cli("start", cid)
        if expect_ok and not r.ok:
            raise Fail(f"start failed: {r.brief()}")
        return r

    def state_raw(self, cid):
        return self.cli("state", cid)

    def state(self, cid):
        r = self.state_raw(cid)
        if not r.ok:
            raise Fail(f"state failed: {r.brief()}")
        try:
            return json.loads(r.out)
        except ValueError:
            raise Fail(f"state printed no JSON: {r.out[:200]!r}")

    def kill(self, cid, sig="KILL", expect_ok=True, extra=()):
        r = self.cli("kill", *extra, cid, sig)
        if expect_ok and not r.ok:
            raise Fail(f"kill failed: {r.brief()}")
        return r

    def delete(self, cid, force=False, expect_ok=True):
        r = self.cli("delete", *(["--force"] if force else []), cid)
        if expect_ok and not r.ok:
            raise Fail(f"delete failed: {r.brief()}")
        return r

    def wait_status(self, cid, want, timeout=10):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.state(cid)
            if st.get("status") == want:
                return st
            time.sleep(0.02)
        raise Fail(f"container never reached status {want!r} (last: {st and st.get('status')!r})")

    def wait_file(self, path, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path):
                return True
            time.sleep(0.01)
            self.suite.reap()
        return False

    def run(self, bundle, cid=None, timeout=20, **kw):
        """``run`` a container in the foreground, capturing its stdout."""
        cid = cid or self.new_id()
        if cid not in self.ids:
            self.ids.append(cid)
        path = bundle.path if isinstance(bundle, Bundle) else bundle
        return self.cli("run", "--bundle", path, cid, timeout=timeout, **kw)

    def run_ok(self, bundle, **kw):
        r = self.run(bundle, **kw)
        if not r.ok:
            raise Fail(f"container did not run: {r.brief()}")
        return r.out

    def probe(self, mutate=None, *verb, rootfs="link"):
        """Run the checker once (``verb``) in a container whose config is the
        base config changed by ``mutate(bundle)``; return its stdout."""
        b = self.checker_bundle(*verb, rootfs=rootfs)
        if mutate:
            mutate(b)
        b.write()
        return self.run_ok(b)

    def shared(self, key, fn):
        """Compute ``fn()`` once per suite (observations several tests share)."""
        if key not in self.suite._shared:
            try:
                self.suite._shared[key] = ("ok", fn())
            except (Fail, Skip) as e:
                self.suite._shared[key] = (type(e), str(e))
        kind, val = self.suite._shared[key]
        if kind != "ok":
            raise kind(val)
        return val

    def shared_probe(self):
        """One container with the base config, queried once per suite for the
        observations many tests share (devices, links, masks, caps, ...)."""
        key = "default"
        if key not in self.suite._shared:
            b = self.checker_bundle("multi", *DEFAULT_PROBE_ARGS)
            b.write()
            r = self.run(b)
            self.suite._shared[key] = (r, parse_multi(r.out))
        r, sections = self.suite._shared[key]
        if not r.ok and not sections:
            raise Fail(f"the default-config container did not run: {r.brief()}")
        return sections

    def expect_error(self, r, what):
        if r.ok:
            raise Fail(f"{what}: the runtime reported success, an error is required")

    def require(self, cond, why):
        if not cond:
            raise Skip(why)

    def must(self, cond, msg):
        if not cond:
            raise Fail(msg)

    # -- helpers that the test owns ------------------------------------------
    def helper(self, argv):
        """Start a long-lived helper process (e.g. a namespace holder)."""
        with_lock = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.suite.helpers[with_lock.pid] = with_lock
        self.helpers.append(with_lock)
        return with_lock

    def ns_holder(self, *flags):
        """A process in new namespaces (``unshare`` flags); returns the pid of
        the process inside them (the forked child with --fork)."""
        if not self.host.tool("unshare"):
            raise Skip("util-linux unshare is not installed")
        p = self.helper(["unshare", *flags, "--", "sleep", "600"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            cands = [p.pid] + children(p.pid)
            for c in cands:
                try:
                    if open(f"/proc/{c}/comm").read().strip() == "sleep":
                        return c
                except OSError:
                    pass
            if p.poll() is not None:
                raise Skip(f"this host cannot create namespaces with `unshare {' '.join(flags)}`")
            time.sleep(0.01)
        raise Fail("namespace holder did not start")

    def host_mount(self, src, target, fstype, flags=0, data=None):
        os.makedirs(target, exist_ok=True)
        mount(src, target, fstype, flags, data)
        self.host_mounts.append(target)

    # -- cleanup + leak checks -------------------------------------------------
    def teardown(self):
        """delete --force everything, remove the root dir, then check that no
        process, mount or cgroup of this test remains. Returns leak messages."""
        leaks = []
        for cid in self.ids:
            if os.path.exists(self.root) or True:
                self.cli("delete", "--force", cid, timeout=15)
        for p in self.helpers:
            kill_group(p)
            self.suite.helpers.pop(p.pid, None)
        for m in reversed(self.host_mounts):
            try:
                umount(m)
            except OSError:
                pass
        self.suite.reap()
        # processes
        deadline = time.monotonic() + 2
        left = []
        while time.monotonic() < deadline:
            left = [p for p in self.suite.descendants()]
            left += [p for p in self.pids.values() if alive(p) and p not in left]
            if not left:
                break
            time.sleep(0.05)
            self.suite.reap()
        if left:
            desc = []
            for p in left:
                try:
                    desc.append(f"{p} ({open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ').strip()[:60]})")
                except OSError:
                    desc.append(str(p))
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            leaks.append("processes left running: " + ", ".join(desc))
            time.sleep(0.1)
            self.suite.reap()
        # mounts
        now = self.suite.mount_set()
        new = sorted(now - self.suite.baseline_mounts, key=lambda m: -len(m[0]))
        if new:
            leaks.append("mounts left behind: " + ", ".join(m[0] for m in new[:8]))
            for mp, _, _ in new:
                try:
                    umount(mp)
                except OSError:
                    pass
        # cgroups
        cg = set(self.cgroups)
        for root in self.host.cgroup_roots():
            cg.update(find_dirs(root, set(self.ids), depth=4))
        stale = sorted((d for d in cg if os.path.isdir(d)), key=lambda d: -len(d))
        if stale:
            leaks.append("cgroups left behind: " + ", ".join(stale[:6]))
            for d in stale:
                rmdir_tree(d)
        shutil.rmtree(self.root, ignore_errors=True)
        return leaks


def rmdir_tree(d, tries=5):
    """Remove a cgroup directory tree bottom-up, retrying while it drains."""
    for i in range(tries):
        for sub, _, _ in sorted(os.walk(d), key=lambda x: -len(x[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass
        if not os.path.isdir(d):
            return True
        time.sleep(0.05 * (i + 1))
    return False


def kill_group(p):
    """Kill a helper we started (its own session) with everything it forked."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        p.wait(5)
    except Exception:
        pass


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st["ppid"] == pid:
                out.append(int(name))
    return out


def find_dirs(root, names, depth):
    out = []
    try:
        entries = os.scandir(root)
    except OSError:
        return out
    with entries:
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name in names:
                    out.append(e.path)
                if depth > 1:
                    out.extend(find_dirs(e.path, names, depth - 1))
    return out


# --------------------------------------------------------------------------
# parsing checker output
# --------------------------------------------------------------------------

def parse_multi(out):
    sections, cur = {}, None
    for line in out.splitlines():
        if line.startswith("### "):
            cur = line[4:]
            sections[cur] = []
        elif cur is not None:
            sections[cur].append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def kv(line):
    """``a=1 b=2`` -> dict (values may contain '=')."""
    out = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


CAP_NAMES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
             "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
             "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
             "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
             "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
             "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
             "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
             "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
             "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]


def parse_caps(out):
    """``caps`` output -> {'inheritable': set(names), ...}."""
    keys = {"CapInh": "inheritable", "CapPrm": "permitted", "CapEff": "effective",
            "CapBnd": "bounding", "CapAmb": "ambient"}
    res = {}
    for line in out.splitlines():
        k, _, v = line.partition(":")
        if k in keys:
            bits = int(v.strip(), 16)
            res[keys[k]] = {CAP_NAMES[i] if i < len(CAP_NAMES) else f"CAP_{i}"
                            for i in range(64) if bits >> i & 1}
    return res


def host_caps():
    with open("/proc/self/status") as f:
        return parse_caps(f.read())


def parse_rlimits(out):
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            res[parts[0]] = (int(parts[1]), int(parts[2]))
    return res


# The shared default-config probe (see T.shared_probe).
DEFAULT_DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
                   "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}
DEV_LINKS = {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
             "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"}

_probe_verbs = [
    ["caps"], ["rlimits"], ["ids"], ["umask"], ["cwd"], ["fds"], ["mountinfo"], ["uname"],
    ["status", "NoNewPrivs"], ["status", "Seccomp"], ["oom"], ["ns"], ["pid"], ["env"],
    ["read", "/dev/zero", "8"], ["write", "/dev/null", "x"], ["read", "/dev/null", "8"],
    ["write", "/dev/full", "x"], ["read", "/dev/urandom", "8"], ["read", "/dev/random", "8"],
    ["open", "/dev/tty", "rw"], ["stat", "/dev/ptmx"], ["stat", "/dev/pts/ptmx"],
    ["statfs", "/"], ["write", "/cannot-write", "x"], ["stat", "/dev/console"],
]
_probe_verbs += [["stat", d] for d in DEFAULT_DEVICES] + [["stat", d] for d in DEV_LINKS]
_probe_verbs += [["read", p, "16"] for p in DEFAULT_MASKED] + [["stat", p] for p in DEFAULT_MASKED]
_probe_verbs += [["statfs", p] for p in DEFAULT_READONLY]
DEFAULT_PROBE_ARGS = []
for _v in _probe_verbs:
    DEFAULT_PROBE_ARGS += _v + ["::"]


def recv_fd(sock, timeout=10):
    """Accept one connection on a listening unix socket and receive one fd."""
    sock.settimeout(timeout)
    conn, _ = sock.accept()
    with conn:
        conn.settimeout(timeout)
        fds = array.array("i")
        msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        return msg, list(fds)


def deep(d):
    return copy.deepcopy(d)


def stat_line(sections, path):
    s = sections.get(f"stat {path}", "")
    return kv(s) if "error=" not in s else {"error": s.split("error=")[1].strip()}
