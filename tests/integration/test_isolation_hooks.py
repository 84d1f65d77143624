"""All six kinds of hooks with a real container: order, the state on stdin (and
its status at that point of the lifecycle, runtime.md), the namespaces they run
in, args/env, failure semantics and timeouts."""
from __future__ import annotations

import json
import os
import time

import pytest

from support.checks import assert_one_line_error, pid_alive

HOST_HOOK = """#!/bin/sh
kind=$1
state=$(cat)
echo "$kind|$(readlink /proc/self/ns/mnt)|$(readlink /proc/self/ns/net)|$FOO|$2|$state" >> "$LOG"
[ -n "$SLEEP" ] && { echo $$ > "$LOG.$kind.pid"; sleep "$SLEEP"; }
exit ${HOOK_EXIT:-0}
"""
KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop")
HOST_KINDS = ("prestart", "createRuntime", "poststart", "poststop")


class Hooks:
    """Writes the hook scripts for a bundle; ``entries(kind, ...)`` -> hook objects.
    Every hook appends ``kind|mntns|netns|$FOO|arg2|state`` to one log (the
    bundle's shared dir: /shared/hooklog inside, ``self.log`` outside)."""

    def __init__(self, bundle) -> None:
        self.b = bundle
        self.log = bundle.shared_file("hooklog")
        self.host_script = os.path.join(os.path.dirname(bundle.path), "host-hook.sh")
        with open(self.host_script, "w") as f:
            f.write(HOST_HOOK)
        os.chmod(self.host_script, 0o755)
        os.makedirs(os.path.join(bundle.rootfs, "hooks"), exist_ok=True)
        with open(os.path.join(bundle.rootfs, "hooks", "in.sh"), "w") as f:
            f.write(HOST_HOOK)
        os.chmod(os.path.join(bundle.rootfs, "hooks", "in.sh"), 0o755)

    def entry(self, kind: str, *, exit_code: int = 0, sleep: "float | None" = None,
              timeout: "int | None" = None, extra_arg: str = "x") -> dict:
        inside = kind == "startContainer"
        env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FOO=foo-" + kind,
               "LOG=" + ("/shared/hooklog" if inside else self.log), f"HOOK_EXIT={exit_code}"]
        if sleep:
            env.append(f"SLEEP={sleep}")
        h = {"path": "/hooks/in.sh" if inside else self.host_script,
             "args": ["hook", kind, extra_arg], "env": env}
        if timeout:
            h["timeout"] = timeout
        return h

    def install(self, hooks: "dict[str, list[dict]]") -> None:
        self.b.edit(lambda c: c.update(hooks=hooks))

    def records(self) -> "list[dict]":
        try:
            with open(self.log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            parts = line.split("|", 5)
            kind, mnt, net, foo, arg, state = parts + [""] * (6 - len(parts))
            out.append({"kind": kind, "mnt": mnt, "net": net, "foo": foo, "arg": arg,
                        "state": json.loads(state) if state.startswith("{") else state})
        return out

    def kinds(self) -> "list[str]":
        return [r["kind"] for r in self.records()]


@pytest.fixture
def hooked(make_bundle):
    def make(args=("sh", "-c", "echo user-program >> /shared/hooklog"), edit=None):
        b = make_bundle(list(args), edit, shared=True)
        return b, Hooks(b)
    return make


def _ns(pid: int, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def test_all_hooks_order_state_and_namespaces(rt, hooked, new_id, reaper):
    b, hooks = hooked(args=["sh", "-c", "echo user-program >> /shared/hooklog; "
                                        "exec sleep 1000"])
    hooks.install({k: [hooks.entry(k)] for k in KINDS})
    b.edit(lambda c: c.update(annotations={"org.example.k": "v"}))
    cid = new_id("hooks")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        pid = rt.state(cid)["pid"]
        recs = hooks.records()
        assert [r["kind"] for r in recs] == ["prestart", "createRuntime", "createContainer"]
        host_mnt, host_net = _ns(os.getpid(), "mnt"), _ns(os.getpid(), "net")
        ctr_mnt, ctr_net = _ns(pid, "mnt"), _ns(pid, "net")
        for r in recs:
            st = r["state"]
            assert st["status"] == "creating", r
            assert st["id"] == cid and st["bundle"] == b.path, r
            assert st["annotations"] == {"org.example.k": "v"}, r
            assert r["foo"] == "foo-" + r["kind"] and r["arg"] == "x", r
        assert recs[0]["state"]["pid"] == recs[1]["state"]["pid"] == pid
        for r in recs[:2]:
            assert (r["mnt"], r["net"]) == (host_mnt, host_net), f"{r['kind']}: not in the " \
                                                                "runtime namespace"
        assert (recs[2]["mnt"], recs[2]["net"]) == (ctr_mnt, ctr_net), \
            "createContainer: not in the container namespace"

        assert rt("start", cid).rc == 0
        # poststart ran before start returned
        assert "poststart" in hooks.kinds()
        deadline = time.monotonic() + 10
        while "user-program" not in hooks.kinds() and time.monotonic() < deadline:
            time.sleep(0.02)
        recs = hooks.records()
        kinds = [r["kind"] for r in recs]
        assert "user-program" in kinds and "startContainer" in kinds, recs
        assert kinds.index("startContainer") < kinds.index("user-program")
        sc = recs[kinds.index("startContainer")]
        assert (sc["mnt"], sc["net"]) == (ctr_mnt, ctr_net), \
            "startContainer: not in the container namespace"
        assert sc["state"]["status"] == "created", sc["state"]
        ps = recs[kinds.index("poststart")]
        assert (ps["mnt"], ps["net"]) == (host_mnt, host_net)
        assert ps["state"]["status"] == "running" and ps["state"]["pid"] == pid

        assert rt("kill", cid, "KILL").rc == 0
        rt.wait_status(cid, "stopped")
        assert rt("delete", cid).rc == 0
        recs = hooks.records()
        assert recs[-1]["kind"] == "poststop"
        assert recs[-1]["state"]["status"] == "stopped"
        assert (recs[-1]["mnt"], recs[-1]["net"]) == (host_mnt, host_net)
        assert [r["kind"] for r in recs].count("poststop") == 1
    finally:
        rt("delete", "--force", cid)


def test_hooks_of_one_kind_run_in_order(rt, hooked, new_id):
    b, hooks = hooked()
    hooks.install({"createRuntime": [hooks.entry("createRuntime", extra_arg=str(i))
                                     for i in range(4)]})
    assert rt("run", "--bundle", b.path, new_id("horder")).rc == 0
    assert [r["arg"] for r in hooks.records() if r["kind"] == "createRuntime"] == \
        ["0", "1", "2", "3"]


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_and_leaves_nothing(rt, hooked, new_id, kind):
    b, hooks = hooked()
    later = [k for k in ("prestart", "createRuntime", "createContainer")
             if KINDS.index(k) > KINDS.index(kind)]
    hooks.install({kind: [hooks.entry(kind, exit_code=3), hooks.entry(kind, extra_arg="2nd")],
                   **{k: [hooks.entry(k)] for k in later}})
    cid = new_id("hfail")
    assert_one_line_error(rt("create", "--bundle", b.path, cid), kind)
    assert rt("state", cid).rc != 0
    assert hooks.kinds() == [kind], "hooks after the failing one ran"


def test_failing_start_container_hook_stops_the_container(rt, hooked, new_id, reaper):
    b, hooks = hooked()
    hooks.install({"startContainer": [hooks.entry("startContainer", exit_code=4)]})
    cid = new_id("hfailsc")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        pid = rt.state(cid)["pid"]
        rt("start", cid)
        assert reaper.wait_pid(pid) != 0
        rt.wait_status(cid, "stopped")
        assert hooks.kinds() == ["startContainer"], "the user program ran"
    finally:
        rt("delete", "--force", cid)


def test_failing_poststart_hook_fails_start_and_stops_the_container(rt, hooked, new_id):
    b, hooks = hooked(args=["sleep", "1000"])
    hooks.install({"poststart": [hooks.entry("poststart", exit_code=5)]})
    cid = new_id("hfailps")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        res = rt("start", cid)
        assert res.rc != 0 and "poststart" in res.err
        rt.wait_status(cid, "stopped", timeout=5)
    finally:
        rt("delete", "--force", cid)


def _run_to_stopped(rt, b, cid, reaper):
    """create + start + wait: unlike `run`, leaves the stopped container for delete."""
    assert rt("create", "--bundle", b.path, cid).rc == 0
    pid = rt.state(cid)["pid"]
    assert rt("start", cid).rc == 0
    reaper.wait_pid(pid)
    rt.wait_status(cid, "stopped")


def test_run_runs_poststop_when_it_deletes(rt, hooked, new_id):
    b, hooks = hooked()
    hooks.install({"poststop": [hooks.entry("poststop")]})
    cid = new_id("hrunps")
    assert rt("run", "--bundle", b.path, cid).rc == 0
    assert hooks.kinds() == ["user-program", "poststop"]
    assert rt("state", cid).rc != 0


def test_failing_poststop_hook_is_a_warning(rt, hooked, new_id, reaper):
    b, hooks = hooked()
    hooks.install({"poststop": [hooks.entry("poststop", exit_code=6),
                                hooks.entry("poststop", extra_arg="2nd")]})
    cid = new_id("hfailpst")
    _run_to_stopped(rt, b, cid, reaper)
    res = rt("delete", cid)
    assert res.rc == 0, res
    assert "poststop" in res.err, "no warning"
    assert rt("state", cid).rc != 0
    assert [r["arg"] for r in hooks.records() if r["kind"] == "poststop"] == ["x", "2nd"]


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_create_hook_timeout(rt, hooked, new_id, kind):
    b, hooks = hooked()
    hooks.install({kind: [hooks.entry(kind, sleep=30, timeout=1)]})
    cid = new_id("htime")
    t0 = time.monotonic()
    res = rt("create", "--bundle", b.path, cid, timeout=25)
    took = time.monotonic() - t0
    assert_one_line_error(res, kind)
    assert took < 10, f"create took {took:.1f}s: the hook was not killed after its timeout"
    assert rt("state", cid).rc != 0
    if kind in HOST_KINDS:  # (createContainer's pid is in the container's pid namespace)
        with open(hooks.log + f".{kind}.pid") as f:
            hook_pid = int(f.read())
        assert not pid_alive(hook_pid), "the timed-out hook is still running"


def test_poststop_hook_timeout_is_a_warning(rt, hooked, new_id, reaper):
    b, hooks = hooked()
    hooks.install({"poststop": [hooks.entry("poststop", sleep=30, timeout=1)]})
    cid = new_id("htimeps")
    _run_to_stopped(rt, b, cid, reaper)
    t0 = time.monotonic()
    res = rt("delete", cid, timeout=25)
    assert res.rc == 0, res
    assert time.monotonic() - t0 < 10
    assert "poststop" in res.err


def test_start_container_hook_timeout(rt, hooked, new_id, reaper):
    b, hooks = hooked()
    hooks.install({"startContainer": [hooks.entry("startContainer", sleep=30, timeout=1)]})
    cid = new_id("htimesc")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        pid = rt.state(cid)["pid"]
        rt("start", cid)
        assert reaper.wait_pid(pid, timeout=10) != 0
        assert "user-program" not in hooks.kinds()
    finally:
        rt("delete", "--force", cid)


def test_hook_that_cannot_be_executed(rt, hooked, new_id, testdir):
    b, hooks = hooked()
    hooks.install({"createRuntime": [{"path": os.path.join(testdir, "no-such-hook")}]})
    cid = new_id("hmiss")
    assert_one_line_error(rt("create", "--bundle", b.path, cid), r"createRuntime")
    assert rt("state", cid).rc != 0


def test_poststart_runs_after_the_user_program_is_executed(rt, hooked, new_id, testdir):
    b, hooks = hooked(args=["sleep", "1000"])
    probe = os.path.join(testdir, "exe-hook.sh")
    out = os.path.join(testdir, "exe-at-poststart")
    with open(probe, "w") as f:
        f.write('#!/bin/sh\nstate=$(cat)\n'
                'pid=$(echo "$state" | sed \'s/.*"pid":\\([0-9]*\\).*/\\1/\')\n'
                f'readlink /proc/$pid/exe > {out}\n')
    os.chmod(probe, 0o755)
    hooks.install({"startContainer": [hooks.entry("startContainer", sleep=1)],
                   "poststart": [{"path": probe, "env": ["PATH=/usr/bin:/bin"]}]})
    cid = new_id("hpsexec")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        assert rt("start", cid).rc == 0
        with open(out) as f:
            exe = f.read().strip()
        assert "pyruntime-init" not in exe and exe.endswith("busybox"), exe
    finally:
        rt("delete", "--force", cid)
