"""podman 4.3 + conmon driving the runtime under test (CLIENT_RUNTIME, default pyruntime).

Every test checks the effect inside/around the container, not only podman's exit status.
"""
from __future__ import annotations

import os
import re
import time

import pytest

from . import support as S
from .conftest import skip_unless

pytestmark = [pytest.mark.clients, skip_unless("podman", "conmon")]

PROMPT = r"# "


def test_podman_calls_the_runtime_with_json_log(podman, podman_container, runtime):
    c = podman_container()
    conmons = [p for p in podman.conmon_pids() if c.id in S.cmdline(p)]
    assert len(conmons) == 1, f"no conmon for {c}"
    argv = S.cmdline(conmons[0])
    assert argv[argv.index("-r") + 1] == runtime
    assert "--log-format=json" in argv, argv
    assert podman.inspect(c.name, "{{.OCIRuntime}}") == podman.name
    # the container process is placed where podman (cgroupfs) asked
    pid = podman.pid(c.name)
    assert S.cgroup_dir(pid, "memory").endswith(f"/libpod_parent/libpod-{c.id}")
    assert os.path.isdir(os.path.join(podman.runtime_root, c.id)), \
        f"no runtime state under {podman.runtime_root}"


# --------------------------------------------------------------------------- run


def test_run_echo(podman):
    cp = podman("run", "--rm", S.IMAGE, "echo", "hello from the container")
    assert cp.stdout == "hello from the container\n"


@pytest.mark.parametrize("code", [0, 3, 255])
def test_run_exit_code(podman, code):
    cp = podman("run", "--rm", S.IMAGE, "sh", "-c", f"echo before-exit; exit {code}",
                check=False)
    assert cp.returncode == code, cp.stderr
    assert cp.stdout == "before-exit\n"


def test_run_env_user_workdir(podman):
    cp = podman("run", "--rm", "-e", "GREETING=hi there", "-u", "65534:65534", "-w", "/tmp",
                "--hostname", "pyrt-host", S.IMAGE,
                "sh", "-c", 'echo "$GREETING"; id -u; id -g; pwd; hostname')
    assert cp.stdout.splitlines() == ["hi there", "65534", "65534", "/tmp", "pyrt-host"]


def test_run_stdin(podman):
    data = "".join(f"line {i}\n" for i in range(500))
    cp = podman("run", "--rm", "-i", S.IMAGE, "sh", "-c", "wc -l; echo done", input=data)
    assert cp.stdout.split() == ["500", "done"]
    cp = podman("run", "--rm", "-i", S.IMAGE, "cat", input="piped through\n")
    assert cp.stdout == "piped through\n"


def test_run_readonly_volume(podman, tmp_path):
    (tmp_path / "data.txt").write_text("from the host\n")
    cp = podman("run", "--rm", "-v", f"{tmp_path}:/data:ro", S.IMAGE, "sh", "-c",
                "cat /data/data.txt; touch /data/new 2>/dev/null && echo WRITABLE || echo ro")
    assert cp.stdout.splitlines() == ["from the host", "ro"]
    assert not (tmp_path / "new").exists()


def test_run_missing_command_is_127(podman):
    cp = podman("run", "--rm", S.IMAGE, "/no/such/command", check=False)
    assert cp.returncode == 127, f"rc={cp.returncode} stderr={cp.stderr}"
    assert "/no/such/command" in cp.stderr
    cp = podman("run", "--rm", S.IMAGE, "nosuchcommand", check=False)
    assert cp.returncode == 127, f"rc={cp.returncode} stderr={cp.stderr}"
    assert "nosuchcommand" in cp.stderr


def test_run_tty_interactive(podman):
    rc, out = podman.pty("run", "-it", "--rm", S.IMAGE, "sh", script=[
        (PROMPT, "tty; stty size; echo answer=$((6*7))\n"),
        (r"answer=42", "exit 5\n"),
    ])
    assert rc == 5, out
    assert re.search(r"/dev/pts/\d+", out), out
    assert "24 80" in out, out  # our pty's size reached the container's terminal


# --------------------------------------------------------------------------- exec, top, stats


def test_exec(podman, podman_container):
    c = podman_container()
    cp = podman("exec", c.name, "sh", "-c", "tr '\\0\\n' '  ' < /proc/1/cmdline | cut -c1-5; "
                "cat /out/count >/dev/null && echo sees-out")
    first, second = cp.stdout.splitlines()
    assert first.startswith("sh -c"), cp.stdout  # pid 1 is the container's init
    assert second == "sees-out"
    cp = podman("exec", "-e", "X=exec-env", "-u", "65534", "-w", "/tmp", c.name,
                "sh", "-c", 'echo "$X $(id -u) $(pwd)"; exit 6', check=False)
    assert cp.returncode == 6
    assert cp.stdout == "exec-env 65534 /tmp\n"
    cp = podman("exec", c.name, "/no/such/binary", check=False)
    assert cp.returncode == 127, cp.stderr
    assert podman.status(c.name) == "running"


def test_exec_tty(podman, podman_container):
    c = podman_container()
    rc, out = podman.pty("exec", "-it", c.name, "sh", script=[
        (PROMPT, "tty; echo answer=$((6*7)); tr '\\0\\n' '  ' </proc/1/cmdline | cut -c1-5\n"),
        (r"answer=42", "exit 4\n"),
    ])
    assert rc == 4, out
    assert re.search(r"/dev/pts/\d+", out), out
    assert "sh -c" in out


def test_exec_detached(podman, podman_container):
    c = podman_container()
    init = podman.pid(c.name)
    podman("exec", "-d", c.name, "sh", "-c", "echo $$ > /out/exec-pid; exec sleep 1234")
    S.wait_for(lambda: S.read_int(c.out / "exec-pid"), what="the detached exec")
    hpids = S.wait_for(lambda: S.find_pids(lambda a: a == ["sleep", "1234"]),
                       what="the detached exec's sleep on the host")
    assert len(hpids) == 1
    # it runs in the container: same cgroup and pid namespace as the init
    assert S.cgroup_dir(hpids[0], "memory") == S.cgroup_dir(init, "memory")
    assert os.readlink(f"/proc/{hpids[0]}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
    assert os.readlink(f"/proc/{hpids[0]}/ns/mnt") == os.readlink(f"/proc/{init}/ns/mnt")
    top = podman("top", c.name, "pid", "args").stdout
    assert "sleep 1234" in top


def test_top(podman, podman_container):
    c = podman_container()
    cp = podman("top", c.name, "user", "pid", "args")
    lines = cp.stdout.splitlines()
    assert lines[0].split()[:2] == ["USER", "PID"]
    init = [ln for ln in lines[1:] if ln.split()[1] == "1"]
    assert init and "sh -c" in init[0], cp.stdout
    hp = podman("top", c.name, "hpid").stdout.split()
    assert str(podman.pid(c.name)) in hp


def test_stats(podman, podman_container):
    c = podman_container()
    cp = podman("stats", "--no-stream", "--no-reset", "--format",
                "{{.ID}} {{.PIDs}} {{.MemUsage}}", c.name, timeout=60)
    fields = cp.stdout.split()
    assert c.id.startswith(fields[0]), cp.stdout
    assert int(fields[1]) >= 1, cp.stdout
    usage = fields[2]
    assert re.match(r"[\d.]+[kMG]?B", usage) and not usage.startswith("0B"), cp.stdout


# --------------------------------------------------------------------------- lifecycle


def test_pause_unpause(podman, podman_container):
    c = podman_container()
    pid = podman.pid(c.name)
    assert S.counter_advances(c.out / "count")
    podman("pause", c.name)
    assert podman.status(c.name) == "paused"
    assert S.frozen(pid)
    time.sleep(0.3)
    before = S.read_int(c.out / "count")
    time.sleep(0.8)
    assert S.read_int(c.out / "count") == before, "the counter advanced while paused"
    podman("unpause", c.name)
    assert podman.status(c.name) == "running"
    assert not S.frozen(pid)
    assert S.counter_advances(c.out / "count")


def test_kill_with_signal(podman, podman_container):
    c = podman_container()
    pid = podman.pid(c.name)
    podman("kill", "--signal", "USR1", c.name)
    S.wait_for(lambda: (c.out / "usr1").exists(), what="the USR1 trap to run")
    assert podman.status(c.name) == "running"
    assert S.counter_advances(c.out / "count")
    podman("kill", c.name)  # default: KILL
    assert podman("wait", c.name, timeout=30).stdout.strip() == "137"
    assert not S.pid_alive(pid)


def test_update_memory(podman, podman_container):
    c = podman_container()
    pid = podman.pid(c.name)
    limit = 48 * 1024 * 1024
    assert S.memory_limit(pid) != limit
    podman("update", "--memory", "48m", c.name)
    assert S.memory_limit(pid) == limit
    assert S.counter_advances(c.out / "count")


def test_stop_kills_after_timeout(podman, podman_container):
    c = podman_container()  # traps TERM and keeps running
    pid = podman.pid(c.name)
    t0 = time.monotonic()
    podman("stop", "--time", "1", c.name, timeout=60)
    elapsed = time.monotonic() - t0
    assert (c.out / "term").read_text() == "term\n", "TERM was not delivered"
    assert elapsed >= 1.0, f"stopped after {elapsed:.2f}s: KILL came before the timeout"
    assert podman.inspect(c.name, "{{.State.ExitCode}}") == "137"
    assert podman.status(c.name) in ("exited", "stopped")
    assert not S.pid_alive(pid)


def test_restart(podman, podman_container):
    c = podman_container("trap 'exit 0' TERM; " + "echo $$ >> /out/starts; "
                         "i=0; while :; do i=$((i+1)); echo $i > /out/count; sleep 0.1; done")
    pid1 = podman.pid(c.name)
    podman("restart", "--time", "5", c.name, timeout=90)
    S.wait_for(lambda: len((c.out / "starts").read_text().split()) == 2,
               what="the second start")
    pid2 = podman.pid(c.name)
    assert pid2 != pid1 and not S.pid_alive(pid1)
    assert podman.status(c.name) == "running"
    assert S.counter_advances(c.out / "count")
    assert S.cgroup_dir(pid2, "memory").endswith(f"/libpod-{c.id}")


def test_rm_force_leaves_nothing(podman, podman_container):
    c = podman_container()
    pid = podman.pid(c.name)
    cgroups = list(S.cgroup_dirs(pid).values())
    assert any(c.id in d for d in cgroups)
    state = os.path.join(podman.runtime_root, c.id)
    assert os.path.isdir(state)
    podman("rm", "--force", "--time", "2", c.name, timeout=60)
    assert not S.pid_alive(pid)
    assert not podman("ps", "-a", "-q", "--filter", f"id={c.id}").stdout.strip()
    S.wait_for(lambda: not os.path.exists(state), timeout=10,
               what=f"runtime state {state} to be deleted")
    left = [d for d in cgroups if c.id in d and os.path.exists(d)]
    assert not left, f"cgroups left: {left}"
    S.wait_for(lambda: not [p for p in podman.conmon_pids() if c.id in S.cmdline(p)],
               timeout=10, what="conmon to exit")


def test_run_rm_cleans_up(podman, tmp_path):
    """A --rm container that exits on its own: no runtime state, no cgroup left."""
    cidfile = tmp_path / "cid"
    podman("run", "--rm", "--cidfile", str(cidfile), S.IMAGE, "true")
    cid = cidfile.read_text().strip()
    podman.ids.add(cid)
    assert podman("ps", "-a", "-q", "--no-trunc").stdout.split().count(cid) == 0
    S.wait_for(lambda: not os.path.exists(os.path.join(podman.runtime_root, cid)),
               timeout=10, what="the runtime state to be deleted")
    assert not S.cgroup_paths_under(f"libpod_parent/libpod-{cid}")
