"""The public Python API, part 2: real containers, driven through
pyruntime.Runtime and its Container objects. Each test body runs in a fresh
interpreter against the installed package (see conftest.py: the ``api``
fixture and what its prelude defines)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.root


def test_lifecycle_state_and_status(api):
    api('''
    b = bundle(["sh", "-c", "read x; exit 0"])
    r, w = os.pipe()
    c = rt.create(cid, b, stdin=r)
    os.close(r)
    assert isinstance(c, Container)
    assert c.status == "created" and c.pid > 0 and c.bundle == b.path
    st = c.state()
    assert st["id"] == cid and st["status"] == "created" and st["pid"] == c.pid, st
    assert st["bundle"] == b.path and st["ociVersion"]
    assert st is not c.state()                      # a fresh dict on every call
    assert [x.id for x in rt.list()] == [cid] and rt.exists(cid)
    assert rt.get(cid).pid == c.pid
    c.start()
    assert c.status == "running"
    with raises(errors.WrongState):
        c.start()
    with raises(errors.WrongState):
        c.delete()                                  # running: needs force
    os.write(w, b"go\\n")
    assert c.wait(timeout=10) == 0
    assert c.status == "stopped" and c.state()["pid"] == 0
    with raises(errors.ContainerNotRunning):
        c.kill("TERM")
    c.delete()
    assert rt.list() == [] and not rt.exists(cid)
    with raises(errors.ContainerNotFound):
        rt.get(cid)
    with raises(errors.ContainerNotFound):
        c.delete()
    ''')


def test_create_twice_is_container_exists(api):
    api('''
    b = bundle(["true"])
    with rt.create(cid, b):
        with raises(errors.ContainerExists):
            rt.create(cid, b)
    assert not rt.exists(cid)
    ''')


@pytest.mark.parametrize("script,expected", [
    ("exit 0", 0), ("exit 3", 3), ("exit 255", 255),
    # a pid-namespace init ignores signals it has no handler for, even SIGKILL
    # from inside: a child shell kills itself and the init passes its status on
    ("sh -c 'kill -KILL $$'; exit $?", 137),
])
def test_wait_returns_exit_statuses(api, script, expected):
    api('''
    with rt.create(cid, bundle(["sh", "-c", V["script"]])) as c:
        c.start()
        assert c.wait(timeout=20) == V["expected"]
        assert c.wait() == V["expected"]            # again: the same answer
    ''', script=script, expected=expected)


def test_wait_for_a_container_killed_from_outside(api):
    api('''
    with rt.create(cid, bundle(["sleep", "100"])) as c:
        c.start()
        t0 = time.monotonic()
        assert c.wait(timeout=0.3) is None          # still running: timed out
        assert time.monotonic() - t0 >= 0.3
        c.kill(signal.SIGKILL)
        assert c.wait(timeout=10) == 128 + signal.SIGKILL
    ''')


def test_wait_before_start_and_through_another_object(api):
    api('''
    with rt.create(cid, bundle(["sh", "-c", "exit 9"])) as c:
        other = rt.get(cid)
        assert other.wait(timeout=0.1) is None      # created: its init waits for start
        c.start()
        assert other.wait(timeout=10) == 9
        assert c.wait() == 9
    ''')


def test_wait_reaps_only_its_container(api):
    api('''
    import subprocess
    p = subprocess.Popen(["sh", "-c", "sleep 0.3; exit 4"])
    with rt.create(cid, bundle(["sh", "-c", "sleep 0.8; exit 6"])) as c:
        c.start()
        assert c.wait(timeout=10) == 6
    assert p.wait(timeout=10) == 4                  # not stolen by the container's wait
    ''')


def test_waits_from_many_threads(api):
    api('''
    b = bundle()
    cs = []
    for i, id_ in enumerate(IDS):
        cfg = ConfigBuilder().args("sh", "-c", "sleep 0.3; exit $CODE").env("CODE", str(i))
        cs.append(rt.create(id_, b, config=cfg.build()))
    results = {}

    def waiter(c, k):
        results[(c.id, k)] = c.wait(timeout=20)

    threads = [threading.Thread(target=waiter, args=(c, k)) for c in cs for k in range(2)]
    for t in threads:
        t.start()
    for c in cs:
        c.start()
    for t in threads:
        t.join(30)
    assert results == {(c.id, k): i for i, c in enumerate(cs) for k in range(2)}, results
    for c in cs:
        c.delete()
    ''', ids=5)


def test_context_manager_deletes_after_the_block(api):
    api('''
    with rt.create(cid, bundle(["sleep", "100"])) as c:
        c.start()
        pid = c.pid
    assert not rt.exists(cid)
    assert not os.path.exists(f"/proc/{pid}")       # killed, and reaped
    ''')


@pytest.mark.parametrize("started", [False, True])
def test_context_manager_deletes_even_on_exception(api, started):
    api('''
    class Boom(Exception):
        pass
    with raises(Boom):
        with rt.create(cid, bundle(["sleep", "100"])) as c:
            if V["started"]:
                c.start()
            pid = c.pid
            raise Boom()
    assert not rt.exists(cid)
    assert not os.path.exists(f"/proc/{pid}")
    ''', started=started)


def test_context_manager_keeps_the_error_of_the_block(api):
    api('''
    real_delete = ManagedContainer.delete

    def failing_delete(self, force=False):
        raise errors.CgroupError("simulated")
    ManagedContainer.delete = failing_delete
    with raises(KeyError) as ei:
        with rt.create(cid, bundle(["true"])) as c:
            raise KeyError("mine")
    assert any("simulated" in n for n in ei.value.__notes__), ei.value.__notes__
    with raises(errors.CgroupError):                # no error in the block: raised
        with c:
            pass
    ManagedContainer.delete = real_delete
    c.delete(force=True)
    ''')


def test_context_manager_tolerates_a_delete_in_the_block(api):
    api('''
    with rt.create(cid, bundle(["true"])) as c:
        c.start()
        c.wait(timeout=10)
        c.delete()
    assert not rt.exists(cid)
    ''')


def test_run_returns_the_status_deletes_and_restores_signal_handlers(api):
    api('''
    before = signal.getsignal(signal.SIGINT)
    assert rt.run(cid, bundle(["sh", "-c", "exit 12"]), stdout=DEVNULL) == 12
    assert not rt.exists(cid)
    assert signal.getsignal(signal.SIGINT) is before, signal.getsignal(signal.SIGINT)
    ''')


def test_run_keep_and_detach(api):
    api('''
    kept, det = IDS
    assert rt.run(kept, bundle(["sh", "-c", "exit 2"]), keep=True) == 2
    assert rt.get(kept).status == "stopped"
    rt.get(kept).delete()
    assert rt.run(det, bundle(["sleep", "100"]), detach=True) == 0
    c = rt.get(det)
    assert c.status == "running"
    c.kill("KILL")
    assert c.wait(timeout=10) == 137
    c.delete()
    ''', ids=2)


def test_stdio_redirection(api):
    api('''
    r, w = os.pipe()
    er, ew = os.pipe()
    with open(os.devnull) as devnull:
        with rt.create(cid, bundle(["sh", "-c", "cat; echo out; echo err >&2"]),
                       stdin=devnull, stdout=w, stderr=ew) as c:
            os.close(w)
            os.close(ew)
            c.start()
            assert c.wait(timeout=10) == 0
    assert os.read(r, 100) == b"out\\n"
    assert os.read(er, 100) == b"err\\n"
    ''')


def test_bad_stdio_is_invalid_argument(api):
    api('''
    b = bundle(["true"])
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    with raises(errors.InvalidArgument):
        rt.create(cid, b, stdout=fd)
    with raises(errors.InvalidArgument):
        rt.create(cid, b, stdout=object())
    assert not rt.exists(cid)
    ''')


def test_kill_signals_by_name_and_number(api):
    api('''
    # a trap makes the pid-namespace init killable by SIGUSR1
    script = "trap 'exit 11' USR1; while :; do sleep 0.05; done"
    with rt.create(cid, bundle(["sh", "-c", script])) as c:
        c.start()
        time.sleep(0.3)
        c.kill("SIGUSR1")
        assert c.wait(timeout=10) == 11
    with raises(errors.InvalidArgument):
        pyruntime.api.parse_signal("SIGNOPE")
    assert pyruntime.api.parse_signal("usr1") == pyruntime.api.parse_signal(10) == 10
    ''')


def test_pause_resume_update_stats(api):
    api('''
    cfg = ConfigBuilder().args("sleep", "100").memory_limit(64 << 20).pids_limit(20)
    with rt.create(cid, bundle(builder=cfg)) as c:
        with raises(errors.WrongState):
            c.pause()                               # created, not running
        c.start()
        with raises(errors.WrongState):
            c.resume()                              # running, not paused
        c.pause()
        assert c.status == "paused"
        c.resume()
        assert c.status == "running"
        s = c.stats()
        assert s["pids"]["limit"] == 20, s["pids"]
        assert s["memory"]["usage"]["limit"] == 64 << 20, s["memory"]["usage"]
        c.update({"pids": {"limit": 30}, "memory": {"limit": 96 << 20}})
        s = c.stats()
        assert s["pids"]["limit"] == 30 and s["memory"]["usage"]["limit"] == 96 << 20
        with raises(errors.InvalidConfig) as ei:
            c.update({"pids": {"limit": "many"}})
        assert ei.value.errors[0].path.startswith("pids.limit"), ei.value.errors
        assert c.pids() == [c.pid]
        c.kill("KILL")
        c.wait(timeout=10)
        with raises(errors.ContainerNotRunning):
            c.stats()
        with raises(errors.ContainerNotRunning):
            c.update({"pids": {"limit": 5}})
    ''')


def test_exec_returns_the_exit_status_with_captured_output(api):
    api('''
    cfg = ConfigBuilder().args("sleep", "100").env("FROM_CONFIG", "yes")
    with rt.create(cid, bundle(builder=cfg)) as c:
        c.start()
        r, w = os.pipe()
        code = c.exec(["sh", "-c", 'echo "$FROM_CONFIG $EXTRA $(pwd) $(id -u):$(id -g)"; '
                                   'exit 7'], env={"EXTRA": "more"}, cwd="/tmp",
                      user=(65534, 65534), stdout=w)
        os.close(w)
        assert code == 7
        out = os.read(r, 200).decode().split()
        assert out == ["yes", "more", "/tmp", "65534:65534"], out
        assert c.exec(["true"]) == 0
        assert c.exec(["sh", "-c", "kill -KILL $$"]) == 137
    ''')


def test_exec_a_process_object_and_detached(api):
    api('''
    with rt.create(cid, bundle(["sleep", "100"])) as c:
        with raises(errors.InvalidArgument):
            c.exec(["true"], env=["NOEQUALS"])
        c.start()
        proc = {"args": ["sh", "-c", "exit 3"], "cwd": "/", "env": ["PATH=/bin:/usr/bin"],
                "user": {"uid": 0, "gid": 0}}
        assert c.exec(proc) == 3
        pid = c.exec(["sh", "-c", "sleep 0.5; exit 5"], detach=True)
        assert pid > 0 and pid != c.pid and pid in c.pids(), (pid, c.pids())
        assert wait_pid(pid, timeout=10) == 5
        with raises(errors.InvalidConfig):
            c.exec({"args": "not a list", "cwd": "/"})
        with raises(errors.InvalidArgument):
            c.exec("echo hi")
        with raises(errors.InvalidArgument):
            c.exec([])
        c.kill("KILL")
        c.wait(timeout=10)
        with raises(errors.ContainerNotRunning):
            c.exec(["true"])
    ''')


def test_exec_in_a_paused_container(api):
    api('''
    with rt.create(cid, bundle(["sleep", "100"])) as c:
        c.start()
        c.pause()
        with raises(errors.PyruntimeError):
            c.exec(["true"])
        c.resume()
        assert c.exec(["true"]) == 0
    ''')
