"""runtime.md: operations, lifecycle, errors."""
import json
import os
import secrets
import time

from conformance.harness import Fail, spec_test, alive
from conformance.tests.common import absent_for, created, read, running, status_is, stopped

R = "runtime.md"


@spec_test(f"{R}#create", "MUST", "This operation MUST create a new container.")
def create_creates(t):
    cid, _ = created(t)
    status_is(t, cid, "created")


@spec_test(f"{R}#create", "MUST NOT",
           "`process.args` MUST NOT be applied until triggered by the `start` operation.")
def create_does_not_run_args(t):
    b = t.checker_bundle("append", "/cflog/ran", "yes", log=True)
    b.write()
    cid, _ = t.create(b)
    marker = os.path.join(t.log, "ran")
    if not absent_for(marker, 0.4):
        raise Fail("process.args ran before start")
    t.start(cid)
    if not t.wait_file(marker, 5):
        raise Fail("process.args did not run after start")


@spec_test(f"{R}#create", "MUST",
           "If the ID provided is not unique across all containers within the scope of the runtime, "
           "... the implementation MUST generate an error and a new container MUST NOT be created.",
           name="create_duplicate_id")
def create_duplicate_id(t):
    cid, b1 = created(t)
    before = t.state(cid)
    b2 = t.checker_bundle("pause")
    b2.write()
    _, r = t.create(b2, cid=cid, expect_ok=False)
    t.expect_error(r, "create with an ID already in use")
    after = t.state(cid)
    if (after.get("bundle"), after.get("pid"), after.get("status")) != (
            before.get("bundle"), before.get("pid"), "created"):
        raise Fail(f"the existing container changed: {before} -> {after}")


@spec_test(f"{R}#create", "MUST",
           "If the ID provided ... is not valid in any other way, the implementation MUST generate an "
           "error and a new container MUST NOT be created.")
def create_invalid_id(t):
    # "../<x>" would escape any per-container directory under --root.
    name = f"cf-escape-{secrets.token_hex(3)}"
    bad = f"../{name}"
    b = t.checker_bundle("pause")
    b.write()
    t.ids.append(bad)
    _, r = t.create(b, cid=bad, expect_ok=False)
    escaped = os.path.join(os.path.dirname(t.root), name)
    if os.path.exists(escaped):
        raise Fail(f"the runtime wrote {escaped}, outside its --root")
    if not r.ok:
        if t.state_raw(bad).ok:
            raise Fail("create reported an error but a container exists")
    else:
        # Accepted: then it must be a usable container with exactly that ID.
        st = t.state(bad)
        if st.get("id") != bad:
            raise Fail(f"ID {bad!r} accepted but state reports id {st.get('id')!r}")


@spec_test(f"{R}#create", "MUST",
           "This operation MUST generate an error if it is not provided a path to the bundle and "
           "the container ID to associate with the container.")
def create_without_id(t):
    b = t.checker_bundle("pause")
    b.write()
    r = t.cli("create", "--bundle", b.path)
    t.expect_error(r, "create without a container ID")


@spec_test(f"{R}#create", "MUST",
           "If the runtime cannot apply a property as specified in the configuration, it MUST "
           "generate an error and a new container MUST NOT be created.")
def create_unappliable_property(t):
    b = t.checker_bundle("pause")
    b.add_mount({"destination": "/mnt/x", "type": "none",
                 "source": os.path.join(t.dir, "does-not-exist"), "options": ["bind"]})
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "bind mount of a missing source")
    if t.state_raw(cid).ok:
        raise Fail("create failed but a container was created")


@spec_test(f"{R}#errors", "MUST",
           "Unless otherwise stated, generating an error MUST leave the state of the environment as if "
           "the operation were never attempted.")
def failed_create_leaves_nothing(t):
    before_cg = set()
    b = t.checker_bundle("pause")
    b.add_mount({"destination": "/mnt/x", "type": "none",
                 "source": os.path.join(t.dir, "missing"), "options": ["bind"]})
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "create with a bind mount of a missing source")
    problems = []
    if t.state_raw(cid).ok:
        problems.append("a container (state) remains")
    left = t.suite.descendants()
    if left:
        problems.append(f"processes remain: {left}")
    from conformance.harness import find_dirs
    for root in t.host.cgroup_roots():
        for d in find_dirs(root, {cid}, 4):
            if d not in before_cg:
                problems.append(f"cgroup {d} remains")
    t.ids.remove(cid)  # nothing for teardown to delete --force: leaks show up there too
    if problems:
        raise Fail("; ".join(problems))


@spec_test(f"{R}#lifecycle", "MUST", "If the runtime is unable to create the environment specified in "
           "the config.json, it MUST generate an error.")
def create_unknown_fstype(t):
    b = t.checker_bundle("pause")
    b.add_mount({"destination": "/mnt/x", "type": "nosuchfs-conformance", "source": "none"})
    b.write()
    cid, r = t.create(b, expect_ok=False)
    t.expect_error(r, "mount of an unknown filesystem type")


@spec_test(f"{R}#lifecycle", "MUST NOT",
           "Any updates to config.json after this step MUST NOT affect the container.")
def config_change_after_create(t):
    b = t.checker_bundle("append", "/cflog/which", "original", log=True)
    b.cfg["hostname"] = "original"
    b.write()
    cid, _ = t.create(b)
    b.args("/bin/checker", "append", "/cflog/which", "changed")
    b.cfg["hostname"] = "changed"
    b.process["env"].append("CHANGED=1")
    b.write()
    t.start(cid)
    if not t.wait_file(os.path.join(t.log, "which"), 5):
        raise Fail("the container process did not run")
    time.sleep(0.05)
    got = read(os.path.join(t.log, "which"), "").split()
    if got != ["original"]:
        raise Fail(f"after editing config.json the container ran {got}")


@spec_test(f"{R}#start", "MUST", "This operation MUST generate an error if it is not provided the container ID.")
def start_without_id(t):
    t.expect_error(t.cli("start"), "start without an ID")


@spec_test(f"{R}#start", "MUST", "Attempting to `start` a container that is not `created` MUST have no "
           "effect on the container and MUST generate an error.", name="start_running")
def start_running(t):
    cid, _ = running(t)
    st = t.state(cid)
    t.expect_error(t.start(cid, expect_ok=False), "start of a running container")
    st2 = status_is(t, cid, "running")
    if st2.get("pid") != st.get("pid"):
        raise Fail(f"pid changed from {st.get('pid')} to {st2.get('pid')}")


@spec_test(f"{R}#start", "MUST", "Attempting to `start` a container that is not `created` MUST have no "
           "effect on the container and MUST generate an error.", name="start_stopped")
def start_stopped(t):
    b = t.checker_bundle("append", "/cflog/runs", "x", log=True)
    b.write()
    cid, _ = t.create(b)
    t.start(cid)
    t.wait_status(cid, "stopped")
    t.expect_error(t.start(cid, expect_ok=False), "start of a stopped container")
    status_is(t, cid, "stopped")
    time.sleep(0.1)
    if read(os.path.join(t.log, "runs"), "").split() != ["x"]:
        raise Fail("the program ran again")


@spec_test(f"{R}#start", "MUST", "Attempting to `start` a container that is not `created` MUST have no "
           "effect on the container and MUST generate an error.", name="start_missing")
def start_missing(t):
    t.expect_error(t.start("cf-no-such-container", expect_ok=False), "start of a container that does not exist")


@spec_test(f"{R}#start", "MUST",
           "This operation MUST run the user-specified program as specified by `process`.")
def start_runs_program(t):
    b = t.checker_bundle("argv", "one", "two words", "", log=True)
    b.args("/bin/sh", "-c", '/bin/checker argv "$@" > /cflog/argv', "sh", "one", "two words", "")
    b.write()
    cid, _ = t.create(b)
    t.start(cid)
    t.wait_status(cid, "stopped")
    got = read(os.path.join(t.log, "argv"), "")
    if json.loads(got or "null") != ["one", "two words", ""]:
        raise Fail(f"the program saw argv {got!r}")


@spec_test(f"{R}#start", "MUST", "This operation MUST generate an error if `process` was not set.")
def start_without_process(t):
    b = t.checker_bundle("pause")
    del b.cfg["process"]
    b.write()
    cid, r = t.create(b, expect_ok=False)
    if not r.ok:
        return  # refusing at create is an error too
    t.expect_error(t.start(cid, expect_ok=False), "start of a container without process")


@spec_test(f"{R}#kill", "MUST", "This operation MUST generate an error if it is not provided the container ID.")
def kill_without_id(t):
    t.expect_error(t.cli("kill"), "kill without an ID")


@spec_test(f"{R}#kill", "MUST", "Attempting to send a signal to a container that is neither `created` nor "
           "`running` MUST have no effect on the container and MUST generate an error.")
def kill_stopped(t):
    cid, _ = stopped(t)
    t.expect_error(t.kill(cid, "KILL", expect_ok=False), "kill of a stopped container")
    status_is(t, cid, "stopped")


@spec_test(f"{R}#kill", "MUST", "This operation MUST send the specified signal to the container process.")
def kill_sends_signal(t):
    b = t.checker_bundle("sigwait", "/cflog/ready", "/cflog/got", log=True)
    b.write()
    cid, _ = t.create(b)
    t.start(cid)
    if not t.wait_file(os.path.join(t.log, "ready"), 5):
        raise Fail("container process never got ready")
    t.kill(cid, "USR1")
    if not t.wait_file(os.path.join(t.log, "got"), 5):
        raise Fail("no signal arrived")
    time.sleep(0.02)
    got = read(os.path.join(t.log, "got"), "").strip()
    if got != "10":
        raise Fail(f"container process got signal {got}, expected 10 (SIGUSR1)")


@spec_test(f"{R}#kill", "MUST", "This operation MUST send the specified signal to the container process.",
           name="kill_created")
def kill_created(t):
    cid, _ = created(t)
    t.kill(cid, "KILL")
    t.wait_status(cid, "stopped", timeout=5)


@spec_test(f"{R}#delete", "MUST", "This operation MUST generate an error if it is not provided the container ID.")
def delete_without_id(t):
    t.expect_error(t.cli("delete"), "delete without an ID")


@spec_test(f"{R}#delete", "MUST", "Attempting to `delete` a container that is not `stopped` MUST have no "
           "effect on the container and MUST generate an error.", name="delete_running")
def delete_running(t):
    cid, _ = running(t)
    pid = t.state(cid)["pid"]
    t.expect_error(t.delete(cid, expect_ok=False), "delete of a running container")
    status_is(t, cid, "running")
    if not alive(pid):
        raise Fail("the container process was killed")


@spec_test(f"{R}#delete", "MUST", "Attempting to `delete` a container that is not `stopped` MUST have no "
           "effect on the container and MUST generate an error.", name="delete_created")
def delete_created(t):
    cid, _ = created(t)
    t.expect_error(t.delete(cid, expect_ok=False), "delete of a created container")
    status_is(t, cid, "created")


@spec_test(f"{R}#delete", "MUST",
           "Deleting a container MUST delete the resources that were created during the `create` step.")
def delete_removes_resources(t):
    cid, _ = created(t, "exit", "0")
    pid = t.pids.get(cid)
    cgroups = set(t.cgroups)
    t.start(cid)
    t.wait_status(cid, "stopped")
    t.delete(cid)
    problems = []
    if t.state_raw(cid).ok:
        problems.append("state still answers for the deleted container")
    if pid and alive(pid):
        problems.append(f"container process {pid} alive")
    problems += [f"cgroup {d} remains" for d in sorted(cgroups) if os.path.isdir(d)]
    if os.path.isdir(t.root) and any(cid in n for n in os.listdir(t.root)):
        problems.append(f"{t.root} still holds an entry for {cid}")
    if problems:
        raise Fail("; ".join(problems))


@spec_test(f"{R}#delete", "MUST NOT", "Note that resources associated with the container, but not created "
           "by this container, MUST NOT be deleted.")
def delete_keeps_foreign_resources(t):
    holder = t.ns_holder("--net")
    netns = os.stat(f"/proc/{holder}/ns/net").st_ino
    src = os.path.join(t.dir, "volume")
    os.makedirs(src)
    with open(os.path.join(src, "keep"), "w") as f:
        f.write("data")
    ver, cgroot = t.host.controller_root("pids")
    parent = None
    b = t.checker_bundle("exit", "0")
    b.set_ns("network", f"/proc/{holder}/ns/net")
    b.add_mount({"destination": "/data", "type": "none", "source": src, "options": ["rbind", "rw"]})
    if cgroot:
        parent = os.path.join(cgroot, t.suite.cgroup_parent, "pre-" + secrets.token_hex(2))
        os.makedirs(parent)
        b.linux["cgroupsPath"] = "/" + os.path.relpath(parent, cgroot) + "/" + "leaf"
    b.write()
    cid, _ = t.create(b)
    t.start(cid)
    t.wait_status(cid, "stopped")
    t.delete(cid)
    problems = []
    if read(os.path.join(src, "keep")) != "data":
        problems.append("bind-mount source content deleted")
    if not os.path.exists(os.path.join(b.path, "config.json")) or not os.path.exists(
            os.path.join(b.rootfs, "bin", "checker")):
        problems.append("bundle content deleted")
    if not alive(holder) or os.stat(f"/proc/{holder}/ns/net").st_ino != netns:
        problems.append("the joined network namespace's owner was affected")
    if parent and not os.path.isdir(parent):
        problems.append(f"pre-existing parent cgroup {parent} removed")
    if problems:
        raise Fail("; ".join(problems))


@spec_test(f"{R}#delete", "MAY", "Once a container is deleted its ID MAY be used by a subsequent container.")
def delete_id_reuse(t):
    cid, _ = stopped(t)
    t.delete(cid)
    b = t.checker_bundle("pause")
    b.write()
    t.create(b, cid=cid)
    status_is(t, cid, "created")


@spec_test(f"{R}#query-state", "MUST",
           "This operation MUST generate an error if it is not provided the ID of a container.")
def state_without_id(t):
    t.expect_error(t.cli("state"), "state without an ID")


@spec_test(f"{R}#query-state", "MUST", "Attempting to query a container that does not exist MUST generate an error.")
def state_missing(t):
    t.expect_error(t.state_raw("cf-no-such-" + secrets.token_hex(3)), "state of a container that does not exist")


@spec_test(f"{R}#scope-of-a-container", "MUST", "The entity using a runtime to create a container MUST be "
           "able to use the operations defined in this specification against that same container.")
def scope_full_lifecycle(t):
    cid, _ = created(t)
    status_is(t, cid, "created")
    t.start(cid)
    status_is(t, cid, "running")
    t.kill(cid, "KILL")
    t.wait_status(cid, "stopped")
    t.delete(cid)
    if t.state_raw(cid).ok:
        raise Fail("state still answers after delete")


@spec_test(f"{R}#lifecycle", "MUST", "The runtime MUST run the user-specified program, as specified by "
           "`process` (lifecycle step 8); its exit makes the container `stopped` (step 10).")
def lifecycle_exit_stops(t):
    cid, _ = stopped(t, code=3)
    status_is(t, cid, "stopped")
