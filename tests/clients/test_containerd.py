"""containerd 1.6 (ctr + containerd-shim-runc-v2) driving the runtime under test
(CLIENT_RUNTIME, default pyruntime) via `ctr run --runc-binary ... --runc-root ...`.

Every test checks the effect inside/around the container, not only ctr's exit status.
"""
from __future__ import annotations

import os
import re
import time
import uuid

import pytest

from . import support as S
from .conftest import skip_unless

pytestmark = [pytest.mark.clients,
              skip_unless("containerd", "ctr", "containerd-shim-runc-v2", "umoci")]

PROMPT = r"# "


def new_id(containerd) -> str:
    cid = f"t{uuid.uuid4().hex[:10]}"
    containerd.ids.add(cid)
    return cid


def ctr_run(containerd, *args, input=None, check=False, timeout=S.TIMEOUT):
    """`ctr run --rm OPTS IMAGE ID CMD...` for args = (OPTS..., "--", CMD...)."""
    cid = new_id(containerd)
    i = args.index("--")
    cp = containerd.ctr("run", "--rm", *containerd.run_args(), *args[:i], containerd.image, cid,
                        *args[i + 1:], check=check, input=input, timeout=timeout)
    return cid, cp


# --------------------------------------------------------------------------- run


def test_run_echo_and_exit_code(containerd):
    cid, cp = ctr_run(containerd, "--", "sh", "-c", "echo hello from ctr; exit 4")
    assert cp.returncode == 4, cp.stderr
    assert cp.stdout == "hello from ctr\n"
    assert containerd.leftovers(cid) == []


def test_run_env_cwd(containerd):
    _cid, cp = ctr_run(containerd, "--env", "GREETING=hi there", "--cwd", "/tmp", "--",
                       "sh", "-c", 'echo "$GREETING"; pwd; id -u', check=True)
    assert cp.stdout.splitlines() == ["hi there", "/tmp", "0"]


def test_run_stdin(containerd):
    # ctr 1.6 never closes the task's stdin on EOF: read a known amount instead
    data = "".join(f"line {i}\n" for i in range(500))
    _cid, cp = ctr_run(containerd, "--", "sh", "-c", "head -n 500 | wc -l; echo done",
                       input=data, check=True)
    assert cp.stdout.split() == ["500", "done"]


def test_run_missing_command_error_from_runtime_log(containerd):
    cid, cp = ctr_run(containerd, "--", "/no/such/command")
    assert cp.returncode != 0
    # the shim reads the runtime's log.json: its last error must reach ctr's message
    assert "OCI runtime create failed" in cp.stderr, cp.stderr
    assert "/no/such/command" in cp.stderr, cp.stderr
    assert "unable to retrieve OCI runtime error" not in cp.stderr, cp.stderr
    containerd.ctr("container", "delete", cid, check=False)
    S.wait_for(lambda: containerd.leftovers(cid) == [], timeout=10,
               what=f"cleanup after the failed create: {containerd.leftovers(cid)}")


def test_run_tty(containerd):
    cid = new_id(containerd)
    rc, out = containerd.pty("run", "--rm", "-t", *containerd.run_args(), containerd.image, cid,
                             "sh", script=[
                                 (PROMPT, "tty; stty size; echo answer=$((6*7))\n"),
                                 (r"answer=42", "exit 5\n"),
                             ])
    assert rc == 5, out
    assert re.search(r"/dev/pts/\d+", out), out
    assert "24 80" in out, out


# --------------------------------------------------------------------------- detached tasks


def test_detached_task(containerd, ctr_task):
    t = ctr_task()
    pid, status = containerd.task(t.id)
    assert status == "RUNNING"
    assert S.pid_alive(pid)
    # the runtime put the init where containerd asked: cgroupsPath /<namespace>/<id>
    assert S.cgroup_dir(pid, "memory").endswith(f"/{containerd.namespace}/{t.id}")
    assert S.cgroup_dir(pid, "freezer").endswith(f"/{containerd.namespace}/{t.id}")
    assert os.path.isdir(containerd.state_dir(t.id)), "no state under --runc-root/<ns>"
    assert S.counter_advances(t.out / "count")


def test_task_exec(containerd, ctr_task):
    t = ctr_task()
    cp = containerd.exec("--exec-id", "e1", t.id, "sh", "-c",
                        "tr '\\0\\n' '  ' </proc/1/cmdline | cut -c1-5; cat /out/count >/dev/null"
                        " && echo sees-out; exit 6", check=False)
    assert cp.returncode == 6, cp.stderr
    assert cp.stdout.splitlines() == ["sh -c", "sees-out"]
    cp = containerd.exec("--exec-id", "e2", "--user", "65534", "--cwd", "/tmp",
                        t.id, "sh", "-c", "echo $(id -u) $(pwd)")
    assert cp.stdout == "65534 /tmp\n"
    cp = containerd.exec("--exec-id", "e3", t.id, "head", "-n", "1",
                        input="exec stdin\n")
    assert cp.stdout == "exec stdin\n"
    assert containerd.task(t.id)[1] == "RUNNING"


def test_task_exec_tty(containerd, ctr_task):
    t = ctr_task()
    rc, out = containerd.pty("task", "exec", "--fifo-dir", containerd.fifo_dir, "-t",
                             "--exec-id", "tty1", t.id, "sh", script=[
        (PROMPT, "tty; echo answer=$((6*7))\n"),
        (r"answer=42", "exit 3\n"),
    ])
    assert rc == 3, out
    assert re.search(r"/dev/pts/\d+", out), out


def test_task_ps(containerd, ctr_task):
    t = ctr_task()
    init, _ = containerd.task(t.id)
    containerd.exec("--detach", "--exec-id", "bg", t.id, "sleep", "2345")
    hp = S.wait_for(lambda: S.find_pids(lambda a: a == ["sleep", "2345"]),
                    what="the detached exec on the host")[0]
    assert S.cgroup_dir(hp, "memory") == S.cgroup_dir(init, "memory")
    assert os.readlink(f"/proc/{hp}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
    cp = containerd.ctr("task", "ps", t.id)
    pids = [int(ln.split()[0]) for ln in cp.stdout.splitlines()[1:] if ln.strip()]
    assert init in pids and hp in pids, cp.stdout


def test_pause_resume(containerd, ctr_task):
    t = ctr_task()
    pid, _ = containerd.task(t.id)
    containerd.ctr("task", "pause", t.id)
    assert containerd.task(t.id)[1] == "PAUSED"
    assert S.frozen(pid)
    time.sleep(0.3)
    before = S.read_int(t.out / "count")
    time.sleep(0.8)
    assert S.read_int(t.out / "count") == before, "the counter advanced while paused"
    containerd.ctr("task", "resume", t.id)
    assert containerd.task(t.id)[1] == "RUNNING"
    assert not S.frozen(pid)
    assert S.counter_advances(t.out / "count")


def test_metrics(containerd, ctr_task):
    t = ctr_task()
    cp = containerd.ctr("task", "metrics", t.id)
    m = dict(re.findall(r"^(\S+)\s+(\S+)\s*$", cp.stdout, re.M))
    assert int(m["pids.current"]) >= 1, cp.stdout
    assert int(m["memory.usage_in_bytes"]) > 0, cp.stdout
    assert int(m["cpuacct.usage"]) > 0, cp.stdout


def test_kill_with_signal(containerd, ctr_task):
    t = ctr_task()
    pid, _ = containerd.task(t.id)
    containerd.ctr("task", "kill", "--signal", "SIGUSR1", t.id)
    S.wait_for(lambda: (t.out / "usr1").exists(), what="the USR1 trap to run")
    assert containerd.task(t.id)[1] == "RUNNING"
    containerd.ctr("task", "kill", "--signal", "SIGKILL", t.id)
    S.wait_for(lambda: containerd.task(t.id)[1] == "STOPPED", what="the task to stop")
    assert not S.pid_alive(pid)


def test_kill_all(containerd, ctr_task):
    # pid 1 of a pid namespace ignores an unhandled TERM: only `kill --all` reaches the
    # children, and the init notices them gone
    t = ctr_task("sleep 3001 & sleep 3002 & echo 1 > /out/count; wait; echo gone > /out/done; "
                 "while :; do sleep 0.1; done")
    S.wait_for(lambda: len(S.find_pids(lambda a: a[:1] == ["sleep"] and a[1:2] in
                                       (["3001"], ["3002"]))) == 2, what="the children")
    containerd.ctr("task", "kill", "--signal", "SIGTERM", t.id)
    time.sleep(0.5)
    assert not (t.out / "done").exists(), "TERM to init alone should reach nobody else"
    containerd.ctr("task", "kill", "--all", "--signal", "SIGTERM", t.id)
    S.wait_for(lambda: (t.out / "done").exists(), what="kill --all to reach the children")
    assert not S.find_pids(lambda a: a[:1] == ["sleep"] and a[1:2] in (["3001"], ["3002"]))
    assert containerd.task(t.id)[1] == "RUNNING"
    containerd.ctr("task", "kill", "--all", "--signal", "SIGKILL", t.id)
    S.wait_for(lambda: containerd.task(t.id)[1] == "STOPPED", what="the task to stop")


def test_delete_leaves_nothing(containerd, ctr_task):
    t = ctr_task()
    pid, _ = containerd.task(t.id)
    cgroups = list(S.cgroup_dirs(pid).values())
    assert os.path.exists(S.shim_socket(containerd.address, containerd.namespace, t.id))
    assert os.path.isdir(containerd.state_dir(t.id))
    containerd.ctr("task", "kill", "--signal", "SIGKILL", t.id)
    S.wait_for(lambda: containerd.task(t.id)[1] == "STOPPED", what="the task to stop")
    cp = containerd.ctr("task", "delete", t.id)
    assert re.search(r"\b137\b", cp.stdout + cp.stderr) or cp.returncode == 0
    containerd.ctr("container", "delete", t.id)
    assert containerd.task(t.id) is None
    assert not S.pid_alive(pid)
    S.wait_for(lambda: containerd.leftovers(t.id) == [], timeout=10,
               what=f"cleanup: {containerd.leftovers(t.id)}")
    left = [d for d in cgroups if t.id in d and os.path.exists(d)]
    assert not left, f"cgroups left: {left}"
