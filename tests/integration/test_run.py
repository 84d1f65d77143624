"""``run``: what the container sees from inside, exit codes, signals."""
from __future__ import annotations

import os
import signal
import socket

import pytest

from support.checks import ppid, pid_alive, wait_file

HOST_ONLY_MOUNT_PREFIXES = ("/work", "/root", "/home", "/run/pyrt-test", "/tmp", "/var", "/usr",
                            "/boot", "/etc")


def _sections(out: str) -> "list[list[str]]":
    secs: list[list[str]] = [[]]
    for line in out.splitlines():
        if line == "---":
            secs.append([])
        else:
            secs[-1].append(line)
    return secs


def test_run_sees_its_own_pid_hostname_rootfs_and_mounts(rt, make_bundle, new_id):
    script = ("echo $$; echo ---; hostname; echo ---; ls -a /; echo ---; cat /marker-file; "
              "echo ---; cat /proc/self/mountinfo; echo ---; "
              "[ -e /work ] && echo has-work || echo no-work")
    b = make_bundle(["sh", "-c", script], lambda c: c.update(hostname="ctr-own-host"))
    with open(os.path.join(b.rootfs, "marker-file"), "w") as f:
        f.write("marker-content-7\n")
    cid = new_id("iso")
    rc, out, err = rt("run", "--bundle", b.path, cid)
    assert rc == 0, (rc, out, err)
    pid, host, ls, marker, mounts, work = _sections(out)
    assert pid == ["1"], f"the container's process is not PID 1 in its namespace: {pid}"
    assert host == ["ctr-own-host"] and host[0] != socket.gethostname()
    names = set(ls) - {".", ".."}
    assert names == set(os.listdir(b.rootfs)), \
        f"/ inside differs from the bundle's rootfs: {sorted(names)}"
    assert "marker-file" in names and "work" not in names
    assert marker == ["marker-content-7"]
    assert work == ["no-work"]
    points = [l.split()[4] for l in mounts]
    assert "/" in points and "/proc" in points
    host_only = [p for p in points
                 if p != "/" and any(p == h or p.startswith(h + "/")
                                     for h in HOST_ONLY_MOUNT_PREFIXES)]
    assert not host_only, f"host mount points visible in the container: {host_only}"
    with open("/proc/self/mountinfo") as f:
        host_points = {l.split()[4] for l in f}
    assert host_points - set(points), "no host mount point is missing inside?"


@pytest.mark.parametrize("code", [0, 3, 42, 255])
def test_run_returns_the_exit_code(rt, make_bundle, new_id, code):
    b = make_bundle(["sh", "-c", f"exit {code}"])
    rc, out, err = rt("run", "-b", b.path, new_id("exit"))
    assert rc == code, (rc, out, err)


def test_run_killed_by_sigkill_gives_137(rt, make_bundle, new_id, testdir):
    b = make_bundle(["sh", "-c", "echo up > /shared/ready; exec sleep 1000"], shared=True)
    cid = new_id("sig9")
    p = rt.popen("run", "--bundle", b.path, cid)
    try:
        wait_file(b.shared_file("ready"))
        rt.wait_status(cid, "running")
        res = rt("kill", cid, "KILL")
        assert res.rc == 0, res
        assert p.wait(20) == 128 + signal.SIGKILL
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_run_process_killed_by_own_signal_gives_128_plus_n(rt, make_bundle, new_id):
    # without a pid namespace the shell is not an init, so it can kill itself
    def no_pidns(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
    b = make_bundle(["sh", "-c", "kill -USR1 $$; sleep 5"], no_pidns)
    rc, out, err = rt("run", "--bundle", b.path, new_id("usr1"))
    assert rc == 128 + signal.SIGUSR1, (rc, out, err)


def test_sigterm_to_run_reaches_the_container(rt, make_bundle, new_id):
    script = ("trap 'echo got-term > /shared/term; exit 42' TERM; "
              "echo ready > /shared/ready; "
              "while true; do sleep 0.05; done")
    b = make_bundle(["sh", "-c", script], shared=True)
    cid = new_id("term")
    p = rt.popen("run", "--bundle", b.path, cid)
    try:
        wait_file(b.shared_file("ready"))
        p.send_signal(signal.SIGTERM)
        rc = p.wait(20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert b.read_shared("term") == "got-term\n"
    assert rc == 42


def test_run_detach_leaves_a_running_container_adopted_by_the_caller(rt, make_bundle, new_id,
                                                                     testdir, reaper):
    b = make_bundle(["sleep", "1000"])
    cid = new_id("detach")
    pidfile = os.path.join(testdir, "run.pid")
    res = rt("run", "--detach", "--pid-file", pidfile, "--bundle", b.path, cid)
    assert res.rc == 0, res
    st = rt.state(cid)
    assert st["status"] == "running"
    pid = st["pid"]
    assert int(open(pidfile).read()) == pid
    assert pid_alive(pid) and ppid(pid) == os.getpid()
    assert rt("kill", cid, "9").rc == 0
    assert reaper.wait_pid(pid) == -signal.SIGKILL
    rt.wait_status(cid, "stopped")
    assert rt("delete", cid).rc == 0
    assert rt.status(cid) is None


def test_run_stdio_is_the_callers(rt, make_bundle, new_id, testdir):
    b = make_bundle(["sh", "-c", "read line; echo out:$line; echo err:$line >&2"])
    rc, out, err = rt("run", "--bundle", b.path, new_id("stdio"), input="hello\n")
    assert rc == 0
    assert out == "out:hello\n"
    assert err == "err:hello\n"
