"""Fixtures of the client integration tests: a private podman configuration and a
private containerd, both driving the runtime under test (env ``CLIENT_RUNTIME``,
default: the installed ``pyruntime`` console script).

    CLIENT_RUNTIME=/usr/sbin/runc pytest -m clients tests/clients   # the reference
    pytest -m clients tests/clients                                  # pyruntime

Both set-ups are described in /work/shared/clients-contract.md and docs/clients.md.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from . import support as S


def _skip_reason(tools) -> str | None:
    if os.geteuid() != 0:
        return "client tests need root"
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        return (f"not installed: {', '.join(missing)} (run tools/install-deps.sh)")
    return None


def skip_unless(*tools):
    """A module-level skipif mark for when a client isn't installed."""
    reason = _skip_reason(tools)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


@pytest.fixture(scope="session")
def runtime() -> str:
    rt = S.runtime_path()
    if rt is None or not os.access(rt, os.X_OK):
        if os.environ.get("CLIENT_RUNTIME"):
            pytest.fail(f"CLIENT_RUNTIME={os.environ['CLIENT_RUNTIME']} is not an executable")
        pytest.skip("pyruntime is not installed (no `pyruntime` console script); "
                    "set CLIENT_RUNTIME=/path/to/runtime")
    return rt


@pytest.fixture(scope="session")
def runtime_root(runtime) -> str:
    return S.runtime_default_root(runtime)


@pytest.fixture(scope="session")
def client_tmp():
    d = Path(tempfile.mkdtemp(prefix="pyrt-clients-"))
    yield d
    S.unmount_under(str(d))
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox_rootfs(client_tmp):
    """(rootfs dir, rootfs tarball) of mkbundle's busybox, built once per session."""
    d = client_tmp / "image"
    d.mkdir()
    return S.build_rootfs_tar(d)


# --------------------------------------------------------------------------- podman


class Podman:
    """podman with a private containers.conf/storage.conf under ``base``."""

    def __init__(self, base: Path, runtime: str, runtime_root: str):
        self.base = base
        self.runtime = runtime
        self.runtime_root = runtime_root
        self.name = os.path.basename(runtime)  # podman's runtime name = basename
        for d in ("graph", "run", "tmp", "volumes"):
            (base / d).mkdir(parents=True, exist_ok=True)
        conf = base / "containers.conf"
        conf.write_text(f"""\
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/events.log"
tmp_dir = "{base}/tmp"
volume_path = "{base}/volumes"
runtime = "{self.name}"
# podman passes --log-format=json --log FILE only to runtimes named here
runtime_supports_json = ["{self.name}", "runc", "crun"]

[engine.runtimes]
{self.name} = ["{runtime}"]
""")
        storage = base / "storage.conf"
        storage.write_text(f"""\
[storage]
driver = "overlay"
graphroot = "{base}/graph"
runroot = "{base}/run"
""")
        self.env = dict(os.environ)
        self.env.update(CONTAINERS_CONF=str(conf), CONTAINERS_STORAGE_CONF=str(storage))
        self.env.pop("CONTAINER_HOST", None)
        self.env.pop("CONTAINER_CONNECTION", None)
        self.ids: set[str] = set()

    def __call__(self, *args, check=True, timeout=S.TIMEOUT, input=None):
        return S.run(["podman", *args], env=self.env, check=check, timeout=timeout,
                     input=input, cwd=str(self.base))

    def pty(self, *args, script=(), timeout=S.TIMEOUT):
        return S.pty_session(["podman", *args], env=self.env, script=script, timeout=timeout)

    def inspect(self, name, fmt):
        return self("inspect", "--format", fmt, name).stdout.strip()

    def pid(self, name) -> int:
        return int(self.inspect(name, "{{.State.Pid}}"))

    def status(self, name) -> str:
        return self.inspect(name, "{{.State.Status}}")

    def conmon_pids(self) -> list[int]:
        return S.find_pids(lambda a: os.path.basename(a[0]) == "conmon"
                           and any(str(self.base) in x for x in a))

    def event_ids(self) -> set[str]:
        """Every container id in this set-up's event log (--rm ones included)."""
        ids = set()
        try:
            for line in (self.base / "events.log").read_text().splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("Type") == "container" and len(ev.get("ID", "")) == 64:
                    ids.add(ev["ID"])
        except OSError:
            pass
        return ids

    def leftovers(self) -> list[str]:
        """What podman's containers left behind: runtime state, cgroups, processes."""
        problems = []
        for cid in sorted(self.ids):
            st = os.path.join(self.runtime_root, cid)
            if os.path.exists(st):
                problems.append(f"runtime state left: {st}")
            for p in S.cgroup_paths_under(f"libpod_parent/libpod-{cid}"):
                problems.append(f"cgroup left: {p}")
        for p in self.conmon_pids():
            problems.append(f"conmon still running: pid {p}")
        return problems


@pytest.fixture(scope="session")
def podman(runtime, runtime_root, client_tmp, busybox_rootfs):
    """A private podman set-up using the runtime under test, with the busybox image."""
    parents_before = set(S.cgroup_paths_under("libpod_parent"))
    pm = Podman(client_tmp / "podman", runtime, runtime_root)
    info = pm("info", "--format", "{{.Host.OCIRuntime.Path}}")
    assert info.stdout.strip() == runtime, f"podman does not use {runtime}: {info.stdout}"
    _rootfs, tar = busybox_rootfs
    pm("import", "--change", 'CMD ["/bin/sh"]', str(tar), S.IMAGE, timeout=180)
    yield pm
    # teardown: remove everything, then check that nothing is left, then force-clean
    problems = []
    try:
        pm("rm", "--all", "--force", "--time", "0", check=False, timeout=120)
    except AssertionError as e:
        problems.append(str(e)[:300])
    try:
        S.wait_for(lambda: not pm.conmon_pids(), timeout=15, what="conmon to exit")
    except AssertionError:
        problems.append(f"conmon processes left: {pm.conmon_pids()}")
    pm.ids |= pm.event_ids()
    problems += [p for p in pm.leftovers() if "conmon" not in p]
    for cid in pm.ids:  # force-clean what the runtime left
        if S.cgroup_paths_under(f"libpod_parent/libpod-{cid}"):
            S.kill_cgroup_tree(f"libpod_parent/libpod-{cid}")
        state = os.path.join(runtime_root, cid)
        if os.path.exists(state):
            try:
                S.run([runtime, "delete", "--force", cid], timeout=30)
            except AssertionError:
                pass
            shutil.rmtree(state, ignore_errors=True)
    S.kill_pids(pm.conmon_pids())
    try:
        S.wait_for(lambda: not pm.conmon_pids(), timeout=5, what="conmon to exit")
    except AssertionError:
        pass
    try:
        pm("rmi", "--all", "--force", check=False, timeout=120)
    except AssertionError as e:
        problems.append(str(e)[:300])
    for p in S.unmount_under(str(pm.base)):
        problems.append(f"mount left: {p}")
    for p in S.cgroup_paths_under("libpod_parent"):
        if p not in parents_before:
            S.rmdir_cgroup_tree(p)
    if problems:
        pytest.fail("podman left state behind:\n  " + "\n  ".join(problems))


@pytest.fixture
def podman_container(podman, tmp_path, request):
    """Factory: start a detached container with tmp_path/out bind-mounted at /out.

    The default program: records each start, traps USR1 and TERM (writes a file, keeps
    running), and counts in /out/count every 0.1 s.
    """
    names, ids = [], []

    def start(script=None, *opts, name=None, wait_count=True):
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        name = name or f"pyrt-{request.node.name[:30].strip('_')}-{uuid.uuid4().hex[:6]}"
        name = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        script = script or DEFAULT_SCRIPT
        cp = podman("run", "-d", "--name", name, "-v", f"{out}:/out", *opts, S.IMAGE,
                    "sh", "-c", script)
        cid = cp.stdout.strip().splitlines()[-1]
        podman.ids.add(cid)
        names.append(name)
        ids.append(cid)
        if wait_count:
            S.wait_for(lambda: S.read_int(out / "count"), what=f"{name} to start counting")
        return Container(name, cid, out)

    yield start
    for n in names:
        try:
            podman("rm", "--force", "--time", "0", n, check=False, timeout=30)
        except AssertionError:  # timed out: the runtime's kill did not work
            pass
    for cid in ids:
        if S.cgroup_paths_under(f"libpod_parent/libpod-{cid}"):
            S.kill_cgroup_tree(f"libpod_parent/libpod-{cid}")


DEFAULT_SCRIPT = "; ".join([  # one line: `podman top`/`ps` print it as the init's args
    "echo $$ >> /out/starts",
    "trap 'echo usr1 >> /out/usr1' USR1",
    "trap 'echo term >> /out/term' TERM",
    "i=0",
    "while :; do i=$((i+1)); echo $i > /out/count; sleep 0.1; done",
])


class Container:
    def __init__(self, name, cid, out):
        self.name, self.id, self.out = name, cid, out

    def __repr__(self):
        return f"<{self.name} {self.id[:12]}>"


# --------------------------------------------------------------------------- containerd


class Containerd:
    """A private containerd (own root/state/sockets under ``base``) and ctr helpers."""

    def __init__(self, base: Path, runtime: str):
        self.base = base
        self.runtime = runtime
        self.address = str(base / "containerd.sock")
        self.namespace = f"pyrtc{os.getpid()}"
        self.runc_root = str(base / "runtime-root")
        self.fifo_dir = str(base / "fifo")
        for d in ("root", "state", "opt", "runtime-root", "fifo"):
            (base / d).mkdir(parents=True, exist_ok=True)
        self.config = base / "config.toml"
        self.config.write_text(f"""\
version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{self.address}"
[ttrpc]
  address = "{base}/containerd-ttrpc.sock"
[debug]
  address = "{base}/debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
""")
        self.proc: subprocess.Popen | None = None
        self.log = base / "containerd.log"
        self.ids: set[str] = set()

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["containerd", "--config", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     start_new_session=True)
        logf.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"containerd exited: {self.log.read_text()[-3000:]}")
            return self.ctr("version", check=False, timeout=5).returncode == 0
        S.wait_for(up, timeout=30, interval=0.1, what="containerd to serve")

    def ctr(self, *args, check=True, timeout=S.TIMEOUT, input=None):
        return S.run(["ctr", "--address", self.address, "--namespace", self.namespace, *args],
                     check=check, timeout=timeout, input=input)

    def run_args(self):
        return ["--runc-binary", self.runtime, "--runc-root", self.runc_root,
                "--fifo-dir", self.fifo_dir]

    def exec(self, *args, **kw):
        """`ctr task exec --fifo-dir OURS ...` (the default fifo dir is /run/containerd/fifo,
        and ctr leaves the fifos of a --detach exec there)."""
        return self.ctr("task", "exec", "--fifo-dir", self.fifo_dir, *args, **kw)

    def pty(self, *args, script=(), timeout=S.TIMEOUT):
        return S.pty_session(["ctr", "--address", self.address, "--namespace", self.namespace,
                              *args], script=script, timeout=timeout)

    def task(self, cid) -> tuple[int, str] | None:
        """(pid, status) from `ctr task ls`, or None."""
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return int(f[1]), f[2]
        return None

    def shim_pids(self, cid=None) -> list[int]:
        def mine(a):
            if not a or "containerd-shim" not in os.path.basename(a[0]):
                return False
            if self.address not in a or self.namespace not in a:
                return False
            return cid is None or cid in a
        return S.find_pids(mine)

    def state_dir(self, cid) -> str:
        return os.path.join(self.runc_root, self.namespace, cid)

    def bundle(self, cid) -> str:
        return os.path.join(self.base, "state", "io.containerd.runtime.v2.task",
                            self.namespace, cid)

    def remove(self, cid):
        """Kill and delete a task and its container; never raises. If the runtime's kill
        does not work, the container's processes are killed through its cgroup."""
        try:
            self.ctr("task", "kill", "--all", "--signal", "SIGKILL", cid, check=False,
                     timeout=20)
            try:
                S.wait_for(lambda: (self.task(cid) or (0, "STOPPED"))[1] == "STOPPED",
                           timeout=5, what="the task to stop")
            except AssertionError:
                S.kill_cgroup_tree(f"{self.namespace}/{cid}")
            self.ctr("task", "delete", "--force", cid, check=False, timeout=30)
            self.ctr("container", "delete", cid, check=False, timeout=30)
        except AssertionError:  # a timeout
            S.kill_cgroup_tree(f"{self.namespace}/{cid}")

    def leftovers(self, cid) -> list[str]:
        problems = []
        if os.path.exists(self.state_dir(cid)):
            problems.append(f"runtime state left: {self.state_dir(cid)}")
        for p in S.cgroup_paths_under(f"{self.namespace}/{cid}"):
            problems.append(f"cgroup left: {p}")
        if self.shim_pids(cid):
            problems.append(f"shim still running: {self.shim_pids(cid)}")
        sock = S.shim_socket(self.address, self.namespace, cid)
        if os.path.exists(sock):
            problems.append(f"shim socket left: {sock}")
        if os.path.exists(self.bundle(cid)):
            problems.append(f"bundle left: {self.bundle(cid)}")
        for m in S.mounts_under(self.bundle(cid)):
            problems.append(f"mount left: {m}")
        return problems


@pytest.fixture(scope="session")
def containerd(runtime, client_tmp, busybox_rootfs):
    """A private containerd with the busybox image imported; stopped at the end."""
    run_dirs = [d for d in ("/run/containerd/s", "/run/containerd/fifo", "/run/containerd")
                if not os.path.exists(d)]
    cd = Containerd(client_tmp / "containerd", runtime)
    problems = []
    try:
        cd.start()
        rootfs, _tar = busybox_rootfs
        oci_tar = S.build_oci_layout(rootfs, client_tmp / "image", tag="latest")
        cd.ctr("images", "import", "--base-name", S.IMAGE_NAME, str(oci_tar), timeout=180)
        cd.image = f"{S.IMAGE_NAME}:latest"
        yield cd
    finally:
        def attempt(what, fn, *args, **kw):
            try:
                return fn(*args, **kw)
            except Exception as e:  # noqa: BLE001 - teardown must go on
                problems.append(f"{what}: {str(e)[:300]}")
                return None

        # remove every container of our namespace, then stop containerd
        ls = attempt("container ls", cd.ctr, "container", "ls", "--quiet", check=False,
                     timeout=30)
        for cid in (ls.stdout.split() if ls else []):
            cd.remove(cid)
        for cid in sorted(cd.ids):
            problems += cd.leftovers(cid)
        attempt("image rm", cd.ctr, "images", "rm", f"{S.IMAGE_NAME}:latest", check=False,
                timeout=30)
        attempt("namespace rm", cd.ctr, "namespaces", "rm", cd.namespace, check=False,
                timeout=30)
        if cd.proc and cd.proc.poll() is None:
            cd.proc.send_signal(signal.SIGTERM)
            try:
                cd.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                problems.append("containerd ignored SIGTERM")
                cd.proc.kill()
                cd.proc.wait(timeout=10)
        # whatever is still in our namespace's cgroups is ours: kill it, then the shims
        # (which exit once their container is gone)
        killed = S.kill_cgroup_tree(cd.namespace)
        if killed:
            problems.append(f"container processes left (killed): {killed}")
        try:
            S.wait_for(lambda: not cd.shim_pids(), timeout=10, what="the shims to exit")
        except AssertionError:
            problems.append(f"shims left running (killed): {cd.shim_pids()}")
            S.kill_pids(cd.shim_pids())
        for p in S.cgroup_paths_under(cd.namespace):
            problems.append(f"cgroup left: {p}")
        for m in S.unmount_under(str(cd.base)):
            problems.append(f"mount left: {m}")
        for cid in cd.ids:
            sock = S.shim_socket(cd.address, cd.namespace, cid)
            if os.path.exists(sock):
                os.unlink(sock)
        for d in run_dirs:  # only what this session created, and only if empty
            try:
                os.rmdir(d)
            except OSError:
                pass
    if problems:
        pytest.fail("containerd session left state behind:\n  " + "\n  ".join(problems))


@pytest.fixture
def ctr_task(containerd, tmp_path, request):
    """Factory: `ctr run -d` a task with tmp_path/out bind-mounted rw at /out."""
    started = []

    def start(script=None, *opts, cid=None, wait_count=True):
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        cid = cid or f"t{uuid.uuid4().hex[:10]}"
        containerd.ids.add(cid)
        started.append(cid)
        containerd.ctr("run", "-d", *containerd.run_args(),
                       "--mount", f"type=bind,src={out},dst=/out,options=rbind:rw", *opts,
                       containerd.image, cid, "sh", "-c", script or DEFAULT_SCRIPT)
        if wait_count:
            S.wait_for(lambda: S.read_int(out / "count"), what=f"{cid} to start counting")
        return Container(cid, cid, out)

    yield start
    for cid in started:
        containerd.remove(cid)
