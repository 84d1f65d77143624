"""runtime.md#state: the state JSON."""
import os
import re

from conformance.harness import Fail, spec_test, validate_schema, alive
from conformance.tests.common import created, running, stopped, status_is, read

R = "runtime.md"
SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


@spec_test(f"{R}#state", "MUST", "`ociVersion` (string, REQUIRED) is version of the Open Container "
           "Initiative Runtime Specification with which the state complies.")
def state_oci_version(t):
    cid, _ = created(t)
    v = t.state(cid).get("ociVersion")
    if not isinstance(v, str) or not SEMVER.match(v):
        raise Fail(f"ociVersion is {v!r}, not a SemVer string")


@spec_test(f"{R}#state", "MUST", "`id` (string, REQUIRED) is the container's ID.")
def state_id(t):
    cid, _ = created(t)
    if t.state(cid).get("id") != cid:
        raise Fail(f"id is {t.state(cid).get('id')!r}, expected {cid!r}")


@spec_test(f"{R}#state", "MUST", "`created`: the runtime has finished the create operation, and the "
           "container process has neither exited nor executed the user-specified program.")
def state_status_created(t):
    cid, _ = created(t)
    status_is(t, cid, "created")


@spec_test(f"{R}#state", "MUST", "`running`: the container process has executed the user-specified "
           "program but has not exited.")
def state_status_running(t):
    cid, _ = running(t)
    st = status_is(t, cid, "running")
    cmd = read(f"/proc/{st['pid']}/cmdline", "")
    if "pause" not in cmd:
        raise Fail(f"status running but pid {st['pid']} runs {cmd!r}, not the user program")


@spec_test(f"{R}#state", "MUST", "`stopped`: the container process has exited.")
def state_status_stopped(t):
    cid, _ = stopped(t)
    status_is(t, cid, "stopped")


@spec_test(f"{R}#state", "MUST", "`pid` (int, REQUIRED when `status` is `created` or `running` on Linux) "
           "is the ID of the container process.", name="state_pid_created")
def state_pid_created(t):
    b = t.checker_bundle("pause")
    b.write()
    pidfile = os.path.join(t.dir, "pidfile")
    cid, _ = t.create(b, extra=["--pid-file", pidfile])
    st = t.state(cid)
    pid = st.get("pid")
    if not isinstance(pid, int) or pid <= 0 or not alive(pid):
        raise Fail(f"pid {pid!r} is not a live process")
    pf = read(pidfile, "").strip()
    if pf != str(pid):
        raise Fail(f"--pid-file holds {pf!r}, state pid is {pid}")


@spec_test(f"{R}#state", "MUST", "`pid` (int, REQUIRED when `status` is `created` or `running` on Linux) "
           "is the ID of the container process.", name="state_pid_running")
def state_pid_running(t):
    cid, _ = running(t)
    pid = t.state(cid).get("pid")
    if not isinstance(pid, int) or pid <= 0 or not alive(pid):
        raise Fail(f"pid {pid!r} is not a live process")
    if "pause" not in read(f"/proc/{pid}/cmdline", ""):
        raise Fail(f"pid {pid} is not the container process")
    # as seen by the runtime: the host pid; inside its pid namespace it is 1
    nspid = [l for l in read(f"/proc/{pid}/status", "").splitlines() if l.startswith("NSpid:")]
    if nspid and nspid[0].split()[-1] != "1":
        raise Fail(f"pid {pid} is not the container's init ({nspid[0]})")


@spec_test(f"{R}#state", "MUST", "`bundle` (string, REQUIRED) is the absolute path to the container's "
           "bundle directory.")
def state_bundle_absolute(t):
    b = t.checker_bundle("pause")
    b.write()
    cid = t.new_id()
    r = t.cli("create", "--bundle", os.path.basename(b.path), cid, cwd=os.path.dirname(b.path))
    if not r.ok:
        raise Fail(f"create with a relative --bundle failed: {r.brief()}")
    t.observe(cid)
    got = t.state(cid).get("bundle")
    if got != os.path.realpath(b.path):
        raise Fail(f"bundle is {got!r}, expected {os.path.realpath(b.path)!r}")


@spec_test(f"{R}#state", "MAY", "`annotations` (map, OPTIONAL) contains the list of annotations "
           "associated with the container.")
def state_annotations(t):
    b = t.checker_bundle("pause")
    ann = {"org.example.conformance": "yes", "org.example.empty": ""}
    b.cfg["annotations"] = ann
    b.write()
    cid, _ = t.create(b)
    got = t.state(cid).get("annotations")
    if got != ann:
        raise Fail(f"state annotations are {got!r}, config has {ann!r}")


@spec_test(f"{R}#state", "MAY", "If no annotations were provided then this property MAY either be "
           "absent or an empty map.")
def state_annotations_absent(t):
    cid, _ = created(t)
    st = t.state(cid)
    if "annotations" in st and st["annotations"] != {}:
        raise Fail(f"annotations is {st['annotations']!r}: neither absent nor an empty map")


@spec_test(f"{R}#state", "MUST", "When serialized in JSON, the format MUST adhere to the JSON Schema "
           "`schema/state-schema.json`.")
def state_schema(t):
    b = t.checker_bundle("pause")
    b.cfg["annotations"] = {"org.example.k": "v"}
    b.write()
    cid, _ = t.create(b)
    docs = {"created": t.state(cid)}
    t.start(cid)
    docs["running"] = t.state(cid)
    t.kill(cid, "KILL")
    docs["stopped"] = t.wait_status(cid, "stopped")
    problems = []
    for name, doc in docs.items():
        errs = validate_schema(t.suite.state_schema, doc)
        if errs is None:
            errs = builtin_state_check(doc)
            t.notes.append("validated with the built-in check (jsonschema or the schema is missing)")
        problems += [f"{name}: {e}" for e in errs]
    if problems:
        raise Fail("; ".join(problems[:6]))


def builtin_state_check(doc):
    errs = []
    if not isinstance(doc, dict):
        return ["not an object"]
    for k in ("ociVersion", "id", "status", "bundle"):
        if k not in doc:
            errs.append(f"missing required {k}")
        elif not isinstance(doc[k], str):
            errs.append(f"{k} is not a string")
    if doc.get("status") not in ("creating", "created", "running", "stopped"):
        errs.append(f"status {doc.get('status')!r} not in the enum")
    if "pid" in doc and (not isinstance(doc["pid"], int) or doc["pid"] < 0):
        errs.append("pid is not a non-negative integer")
    ann = doc.get("annotations")
    if ann is not None and (not isinstance(ann, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in ann.items())):
        errs.append("annotations is not a string map")
    return errs
