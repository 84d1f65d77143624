"""config.md#posix-platform-hooks and runtime.md#lifecycle steps 3-13."""
import json
import os
import time

from conformance.harness import Fail, spec_test, alive, ns_inode
from conformance.tests.common import read

C = "config.md"
R = "runtime.md"
NS = ("mnt", "net", "uts", "ipc", "pid")


def hook(t, name, *extra, container=False, timeout=None, env=None, args0=None):
    """A hook entry running the checker's ``hook`` verb, which records what it
    sees in t.log (or /cflog inside the container)."""
    path = "/bin/checker" if container else t.suite.checker
    logdir = "/cflog" if container else t.log
    h = {"path": path, "args": [args0 or "checker-hook", "hook", logdir, name, *extra]}
    if timeout is not None:
        h["timeout"] = timeout
    if env is not None:
        h["env"] = env
    return h


def info(t, name):
    raw = read(os.path.join(t.log, f"{name}.info"))
    if raw is None:
        return None
    out = {}
    for line in raw.splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def stdin_state(t, name):
    raw = read(os.path.join(t.log, f"{name}.stdin"))
    if raw is None:
        raise Fail(f"{name} hook did not run")
    try:
        return json.loads(raw)
    except ValueError:
        raise Fail(f"{name} hook's stdin is not JSON: {raw[:120]!r}")


def order(t):
    return (read(os.path.join(t.log, "order"), "") or "").split()


def runner_ns():
    return {ns: ns_inode("self", ns) for ns in NS}


# -- one full lifecycle with every hook type, shared by many tests --------------

def scenario(t):
    key = "hooks-all"
    if key in t.suite._shared:
        return t.suite._shared[key]
    b = t.bundle(log=True)
    b.args("/bin/sh", "-c", "/bin/checker append /cflog/order user; exec /bin/checker pause")
    b.cfg["hooks"] = {
        "prestart": [hook(t, "prestart", f"probe={b.path}/config.json")],
        "createRuntime": [hook(t, "createRuntime1", f"probe={b.path}/config.json"),
                          hook(t, "createRuntime2")],
        "createContainer": [hook(t, "createContainer", f"probe={b.path}/config.json")],
        "startContainer": [hook(t, "startContainer", container=True)],
        "poststart": [hook(t, "poststart")],
        "poststop": [hook(t, "poststop")],
    }
    b.write()
    s = {"bundle": b, "error": None, "after": {k: [] for k in ("create", "start", "kill", "delete")}}
    try:
        cid, _ = t.create(b)
        s["cid"] = cid
        s["pid"] = t.pids.get(cid) or t.state(cid).get("pid")
        s["container_ns"] = {ns: ns_inode(s["pid"], ns) for ns in NS}
        s["after"]["create"] = order(t)
        t.start(cid)
        s["after"]["start"] = order(t)
        t.kill(cid, "KILL")
        t.wait_status(cid, "stopped")
        s["after"]["kill"] = order(t)
        t.delete(cid)
        s["after"]["delete"] = order(t)
    except Fail as e:
        s["error"] = str(e)
    s["runner_ns"] = runner_ns()
    s["info"] = {n: info(t, n) for n in ("prestart", "createRuntime1", "createRuntime2",
                                           "createContainer", "startContainer", "poststart", "poststop")}
    s["stdin"] = {}
    for n in s["info"]:
        raw = read(os.path.join(t.log, f"{n}.stdin"))
        try:
            s["stdin"][n] = json.loads(raw) if raw else None
        except ValueError:
            s["stdin"][n] = raw
    t.suite._shared[key] = s
    return s


def need(s, *names):
    if s["error"] and not all(s["info"].get(n) for n in names):
        raise Fail(f"the all-hooks lifecycle failed: {s['error']}")
    for n in names:
        if not s["info"].get(n):
            raise Fail(f"the {n} hook was not run")


def same_ns(s, name, want):
    """Compare a hook's namespaces with the runtime's (runner's) or the container's."""
    got = s["info"][name]
    ref = s["runner_ns"] if want == "runtime" else s["container_ns"]
    diff = [ns for ns in NS if ref.get(ns) and got.get(f"self_ns_{ns}") and
            int(got[f"self_ns_{ns}"]) != ref[ns]]
    if diff:
        raise Fail(f"{name} hook ran outside the {want} namespace for: {', '.join(diff)}")


@spec_test(f"{C}#posix-platform-hooks", "MUST", "Hooks MUST be called in the listed order.")
def hooks_listed_order(t):
    s = scenario(t)
    need(s, "createRuntime1", "createRuntime2")
    seq = [x for x in s["after"]["create"] if x.startswith("createRuntime")]
    if seq != ["createRuntime1", "createRuntime2"]:
        raise Fail(f"createRuntime hooks ran in order {seq}")


@spec_test(f"{C}#posix-platform-hooks", "MUST", "The state of the container MUST be passed to hooks over stdin "
           "so that they may do work appropriate to the current state of the container.")
def hooks_stdin_state(t):
    s = scenario(t)
    problems = []
    for n, st in s["stdin"].items():
        if not isinstance(st, dict):
            problems.append(f"{n}: stdin {st!r:.60} is not a state object")
            continue
        if st.get("id") != s.get("cid"):
            problems.append(f"{n}: id {st.get('id')!r}")
        if st.get("bundle") != os.path.realpath(s["bundle"].path):
            problems.append(f"{n}: bundle {st.get('bundle')!r}")
        if "ociVersion" not in st or "status" not in st:
            problems.append(f"{n}: ociVersion/status missing")
    if problems:
        raise Fail("; ".join(problems))


@spec_test(f"{R}#state", "MUST", "`status`: `creating` while the create operation runs, `created` after it "
           "finished and before the user program runs, `running` once it runs, `stopped` once it exited "
           "(as passed to the hooks of each lifecycle step).")
def hooks_stdin_status(t):
    s = scenario(t)
    want = {"prestart": "creating", "createRuntime1": "creating", "createContainer": "creating",
            "startContainer": "created", "poststart": "running", "poststop": "stopped"}
    bad = [f"{n}: {(s['stdin'].get(n) or {}).get('status')!r} (expected {w!r})" for n, w in want.items()
           if not isinstance(s["stdin"].get(n), dict) or s["stdin"][n].get("status") != w]
    if bad:
        raise Fail("; ".join(bad))


@spec_test(f"{R}#state", "MUST", "`pid`: for hooks executed in the runtime namespace, it is the pid as "
           "seen by the runtime.")
def hooks_pid_runtime_ns(t):
    s = scenario(t)
    bad = [f"{n}: {(s['stdin'].get(n) or {}).get('pid')!r}" for n in ("prestart", "createRuntime1", "poststart")
           if not isinstance(s["stdin"].get(n), dict) or s["stdin"][n].get("pid") != s.get("pid")]
    if bad:
        raise Fail(f"expected pid {s.get('pid')} (host view): " + "; ".join(bad))


@spec_test(f"{R}#state", "MUST", "`pid`: for hooks executed in the container namespace, it is the pid as "
           "seen by the container.")
def hooks_pid_container_ns(t):
    s = scenario(t)
    bad = [f"{n}: {(s['stdin'].get(n) or {}).get('pid')!r}" for n in ("createContainer", "startContainer")
           if not isinstance(s["stdin"].get(n), dict) or s["stdin"][n].get("pid") != 1]
    if bad:
        raise Fail("expected pid 1 (the container's pid namespace): " + "; ".join(bad))


@spec_test(f"{C}#prestart", "MUST", "The `prestart` hooks MUST be called as part of the `create` operation "
           "after the runtime environment has been created but before the `pivot_root` or any equivalent "
           "operation has been executed.")
def prestart_timing(t):
    s = scenario(t)
    need(s, "prestart")
    _create_phase(s, "prestart")


def _create_phase(s, name):
    if name not in s["after"].get("create", []):
        raise Fail(f"{name} had not run when create returned")
    i = s["info"][name]
    if i.get("pid_root") not in ("/",):
        raise Fail(f"container process root was {i.get('pid_root')!r} during {name}: pivot_root already done")
    if s["runner_ns"]["net"] == int(i.get("pid_ns_net", 0) or 0):
        raise Fail(f"the container's namespaces did not exist yet during {name}")


@spec_test(f"{C}#prestart", "MUST", "The `prestart` hooks MUST be called before the `createRuntime` hooks.")
def prestart_before_createruntime(t):
    s = scenario(t)
    need(s, "prestart", "createRuntime1")
    o = s["after"]["create"]
    if o.index("prestart") > o.index("createRuntime1"):
        raise Fail(f"order was {o}")


@spec_test(f"{C}#prestart", "MUST", "The `prestart` hooks MUST be executed in the runtime namespace.")
def prestart_runtime_ns(t):
    s = scenario(t)
    need(s, "prestart")
    same_ns(s, "prestart", "runtime")


@spec_test(f"{C}#prestart", "MUST", "The `prestart` hooks' path MUST resolve in the runtime namespace.")
def prestart_path_runtime(t):
    s = scenario(t)
    need(s, "prestart")   # the path exists on the host only, not in the rootfs


@spec_test(f"{C}#createRuntime-hooks", "MUST", "The `createRuntime` hooks MUST be called as part of the "
           "`create` operation after the runtime environment has been created but before the `pivot_root` "
           "or any equivalent operation has been executed.")
def createruntime_timing(t):
    s = scenario(t)
    need(s, "createRuntime1")
    _create_phase(s, "createRuntime1")


@spec_test(f"{C}#createRuntime-hooks", "MUST", "The `createRuntime` hooks MUST be executed in the runtime namespace.")
def createruntime_runtime_ns(t):
    s = scenario(t)
    need(s, "createRuntime1")
    same_ns(s, "createRuntime1", "runtime")


@spec_test(f"{C}#createRuntime-hooks", "MUST", "The `createRuntime` hooks' path MUST resolve in the runtime namespace.")
def createruntime_path_runtime(t):
    need(scenario(t), "createRuntime1", "createRuntime2")


@spec_test(f"{C}#createContainer-hooks", "MUST", "The `createContainer` hooks MUST be called as part of the "
           "`create` operation after the runtime environment has been created but before the `pivot_root` "
           "or any equivalent operation has been executed.")
def createcontainer_timing(t):
    s = scenario(t)
    need(s, "createContainer")
    if "createContainer" not in s["after"]["create"]:
        raise Fail("createContainer had not run when create returned")
    if s["info"]["createContainer"].get("probe_exists") != "1":
        raise Fail("the hook could not see the host's bundle path: it ran after pivot_root")


@spec_test(f"{C}#createContainer-hooks", "MUST", "The `createContainer` hooks MUST be called after the "
           "`createRuntime` hooks.")
def createcontainer_after_createruntime(t):
    s = scenario(t)
    need(s, "createContainer", "createRuntime2")
    o = s["after"]["create"]
    if o.index("createContainer") < o.index("createRuntime2"):
        raise Fail(f"order was {o}")


@spec_test(f"{C}#createContainer-hooks", "MUST", "The `createContainer` hooks MUST be executed in the "
           "container namespace.")
def createcontainer_container_ns(t):
    s = scenario(t)
    need(s, "createContainer")
    same_ns(s, "createContainer", "container")


@spec_test(f"{C}#createContainer-hooks", "MUST", "The `createContainer` hooks' path MUST resolve in the "
           "runtime namespace.")
def createcontainer_path_runtime(t):
    need(scenario(t), "createContainer")


@spec_test(f"{C}#startContainer-hooks", "MUST", "The `startContainer` hooks MUST be called before the "
           "user-specified process is executed as part of the `start` operation.")
def startcontainer_before_user(t):
    s = scenario(t)
    need(s, "startContainer")
    if "startContainer" in s["after"]["create"]:
        raise Fail("startContainer ran during create")
    o = s["after"]["kill"]
    if "user" not in o or o.index("startContainer") > o.index("user"):
        raise Fail(f"order was {o}")


@spec_test(f"{C}#startContainer-hooks", "MUST", "The `startContainer` hooks' path MUST resolve in the "
           "container namespace.")
def startcontainer_path_container(t):
    need(scenario(t), "startContainer")  # /bin/checker exists only in the rootfs


@spec_test(f"{C}#startContainer-hooks", "MUST", "The `startContainer` hooks MUST be executed in the "
           "container namespace.")
def startcontainer_container_ns(t):
    s = scenario(t)
    need(s, "startContainer")
    same_ns(s, "startContainer", "container")


@spec_test(f"{C}#poststart", "MUST", "The `poststart` hooks MUST be called after the user-specified process "
           "is executed but before the `start` operation returns.")
def poststart_timing(t):
    s = scenario(t)
    need(s, "poststart")
    if "poststart" in s["after"]["create"]:
        raise Fail("poststart hooks ran during create, before start")
    if "poststart" not in s["after"]["start"]:
        raise Fail("poststart had not run when start returned")
    cmd = s["info"]["poststart"].get("pid_cmdline", "")
    if not cmd.startswith("/bin/sh") and "checker" not in cmd:
        raise Fail(f"at poststart the container process ran {cmd!r}, not the user program")


@spec_test(f"{C}#poststart", "MUST", "The `poststart` hooks MUST be executed in the runtime namespace.")
def poststart_runtime_ns(t):
    s = scenario(t)
    need(s, "poststart")
    same_ns(s, "poststart", "runtime")


@spec_test(f"{C}#poststop", "MUST", "The `poststop` hooks MUST be called after the container is deleted "
           "but before the `delete` operation returns.")
def poststop_timing(t):
    s = scenario(t)
    need(s, "poststop")
    if "poststop" in s["after"]["kill"]:
        raise Fail("poststop ran before delete")
    if "poststop" not in s["after"]["delete"]:
        raise Fail("poststop had not run when delete returned")
    i = s["info"]["poststop"]
    if i.get("pid_cmdline") and s.get("pid") and alive(s["pid"]):
        raise Fail("the container process was still alive during poststop")


@spec_test(f"{C}#poststop", "MUST", "The `poststop` hooks MUST be executed in the runtime namespace.")
def poststop_runtime_ns(t):
    s = scenario(t)
    need(s, "poststop")
    same_ns(s, "poststop", "runtime")


# -- hook entry fields --------------------------------------------------------------

@spec_test(f"{C}#posix-platform-hooks", "MUST", "`args` (array of strings, OPTIONAL) with the same semantics "
           "as IEEE Std 1003.1-2008 `execv`'s *argv*.")
def hook_args(t):
    b = t.bundle()
    h = hook(t, "h", "extra arg", args0="custom-argv0")
    b.cfg["hooks"] = {"createRuntime": [h]}
    b.write()
    t.create(b)
    got = json.loads((info(t, "h") or {}).get("argv", "null"))
    if got != h["args"]:
        raise Fail(f"hook argv {got}, configured {h['args']}")


@spec_test(f"{C}#posix-platform-hooks", "MUST", "`env` (array of strings, OPTIONAL) with the same semantics "
           "as IEEE Std 1003.1-2008's `environ`.")
def hook_env(t):
    b = t.bundle()
    env = ["CONFORMANCE_A=1", "CONFORMANCE_B=two words"]
    b.cfg["hooks"] = {"createRuntime": [hook(t, "h", env=env)]}
    b.write()
    t.create(b)
    got = json.loads((info(t, "h") or {}).get("env", "null"))
    if got != env:
        raise Fail(f"hook environ {got}, configured {env}")


@spec_test(f"{C}#posix-platform-hooks", "MUST", "`timeout` (int, OPTIONAL) is the number of seconds before "
           "aborting the hook.")
def hook_timeout(t):
    b = t.bundle()
    b.cfg["hooks"] = {"createRuntime": [hook(t, "slow", "sleep=30", timeout=1)]}
    b.write()
    t0 = time.monotonic()
    cid, r = t.create(b, expect_ok=False, timeout=40)
    took = time.monotonic() - t0
    if took > 15:
        raise Fail(f"the hook was not aborted after 1s (create took {took:.1f}s)")
    t.expect_error(r, "a createRuntime hook that timed out")


@spec_test(f"{C}#posix-platform-hooks", "MUST", "If set, `timeout` MUST be greater than zero.")
def hook_timeout_zero(t):
    b = t.bundle()
    b.cfg["hooks"] = {"createRuntime": [hook(t, "h", timeout=0)]}
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "a hook with timeout 0 (an invalid value)")


@spec_test(f"{C}#posix-platform-hooks", "MUST", "This specification extends the IEEE standard in that "
           "**`path`** MUST be absolute.")
def hook_path_absolute(t):
    b = t.bundle()
    h = hook(t, "h")
    h["path"] = os.path.relpath(h["path"], b.path)
    b.cfg["hooks"] = {"createRuntime": [h]}
    b.write()
    cid, r = t.create(b, expect_ok=False, cwd=b.path)
    t.expect_error(r, "a hook with a relative path")


# -- failing hooks ---------------------------------------------------------------------

def _failing(t, kind, container=False):
    b = t.bundle(log=True)
    b.args("/bin/checker", "append", "/cflog/order", "user")
    b.cfg["hooks"] = {kind: [hook(t, kind, "exit=3", container=container)],
                      "poststop": [hook(t, "poststop")]}
    b.write()
    return b


def _gone(t, cid):
    """After a failed step the container must be stopped (or already destroyed)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = t.state_raw(cid)
        if not r.ok:
            return
        try:
            st = json.loads(r.out)
        except ValueError:
            return
        if st.get("status") == "stopped":
            return
        time.sleep(0.05)
    raise Fail(f"container still {st.get('status')!r} after the hook failed")


for _kind, _step in (("prestart", 3), ("createRuntime", 4), ("createContainer", 5)):
    def _make(kind=_kind, step=_step):
        @spec_test(f"{R}#lifecycle", "MUST", f"If any `{kind}` hook fails, the runtime MUST generate an error, "
                   f"stop the container, and continue the lifecycle at step 12.", name=f"{kind.lower()}_fails")
        def _t(t):
            b = _failing(t, kind)
            cid, r = t.create(b, expect_ok=False)
            t.expect_error(r, f"a failing {kind} hook")
            _gone(t, cid)
            if "user" in order(t):
                raise Fail("the user program ran")
    _make()


@spec_test(f"{R}#lifecycle", "MUST", "If any `startContainer` hook fails, the runtime MUST generate an error, "
           "stop the container, and continue the lifecycle at step 12.")
def startcontainer_fails(t):
    b = _failing(t, "startContainer", container=True)
    cid, _ = t.create(b)
    r = t.start(cid, expect_ok=False)
    t.expect_error(r, "a failing startContainer hook")
    _gone(t, cid)
    time.sleep(0.1)
    if "user" in order(t):
        raise Fail("the user program ran although startContainer failed")


@spec_test(f"{R}#lifecycle", "MUST", "If any `poststart` hook fails, the runtime MUST generate an error, "
           "stop the container, and continue the lifecycle at step 12.")
def poststart_fails(t):
    b = _failing(t, "poststart")
    b.args("/bin/checker", "pause")
    b.write()
    cid, r = t.create(b, expect_ok=False)
    if not r.ok:
        if "poststart" in order(t):
            raise Fail(f"the poststart hook ran (and failed) during create: {r.brief()}")
        raise Fail(f"create failed: {r.brief()}")
    t.observe(cid)
    r = t.start(cid, expect_ok=False)
    t.expect_error(r, "a failing poststart hook")
    _gone(t, cid)


@spec_test(f"{R}#lifecycle", "MUST", "The `poststop` hooks MUST be invoked by the runtime (step 13), also "
           "when the lifecycle continues at step 12 after a failed hook.")
def poststop_after_failed_create(t):
    b = _failing(t, "createRuntime")
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "a failing createRuntime hook")
    if t.state_raw(cid).ok:
        t.delete(cid, force=True, expect_ok=False)
    if "poststop" not in order(t):
        raise Fail("poststop hooks did not run after the failed create")


@spec_test(f"{R}#lifecycle", "MUST", "If any `poststop` hook fails, the runtime MUST log a warning, but the "
           "remaining hooks and lifecycle continue as if the hook had succeeded.")
def poststop_failure_is_warning(t):
    b = t.bundle()
    b.cfg["hooks"] = {"poststop": [hook(t, "ps1", "exit=4"), hook(t, "ps2")]}
    b.write()
    cid, _ = t.create(b)
    t.start(cid)
    t.wait_status(cid, "stopped")
    r = t.delete(cid, expect_ok=False)
    if not r.ok:
        raise Fail(f"delete failed because a poststop hook failed: {r.brief()}")
    if order(t) != ["ps1", "ps2"]:
        raise Fail(f"poststop hooks that ran: {order(t)}")
    if t.state_raw(cid).ok:
        raise Fail("the container was not deleted")


@spec_test(f"{R}#warnings", "MUST", "Unless otherwise stated, logging a warning does not change the flow of the "
           "operation; it MUST continue as if the warning had not been logged.")
def warning_unknown_cap_flow(t):
    # an unknown capability "MUST be logged as a warning": the container still runs
    b = t.checker_bundle("exit", "0")
    for s in ("bounding", "permitted", "effective"):
        b.process["capabilities"][s].append("CAP_CONFORMANCE_UNKNOWN")
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"the container did not run: {r.brief()}")
