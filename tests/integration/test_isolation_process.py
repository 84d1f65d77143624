"""The process properties of config.md / config-linux.md, seen from inside a
real container: capabilities (every set), rlimits, noNewPrivileges,
oomScoreAdj, umask, user/additionalGids, LSM labels (refused on a host without
the LSM), scheduler, ioPriority, execCPUAffinity, personality, cwd, fds,
LISTEN_FDS, the session keyring and --no-pivot."""
from __future__ import annotations

import json
import os

import pytest

from support.checks import assert_one_line_error

from .isolation_support import (cap_mask, install_probe, probe,  # noqa: F401
                                sections, session_keyring_id, status_fields, writable_tmp)

CAPS = {
    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID",
                 "CAP_SYS_TIME"],
    "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"],
    "effective": ["CAP_CHOWN", "CAP_KILL"],
    "inheritable": ["CAP_NET_BIND_SERVICE", "CAP_SETUID"],
    "ambient": ["CAP_NET_BIND_SERVICE"],
}
CAP_LINES = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def _run(rt, b, cid, *extra, **kw):
    return rt("run", *extra, "--bundle", b.path, cid, **kw)


# -- capabilities ---------------------------------------------------------------

def _caps_from(text: str) -> "dict[str, int]":
    f = status_fields(text)
    return {k: int(f[k], 16) for k in CAP_LINES}


def test_capability_sets_exactly_as_configured_before_exec(rt, make_bundle, new_id, reaper):
    """In a created container the init (the C stage, waiting for start) holds
    exactly the five configured sets: nothing is recomputed by an exec yet."""
    b = make_bundle(["true"], lambda c: c["process"].update(capabilities=CAPS))
    cid = new_id("capsc")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        pid = rt.state(cid)["pid"]
        with open(f"/proc/{pid}/status") as f:
            caps = _caps_from(f.read())
        assert caps["CapBnd"] == cap_mask(CAPS["bounding"])
        assert caps["CapPrm"] == cap_mask(CAPS["permitted"])
        assert caps["CapEff"] == cap_mask(CAPS["effective"])
        assert caps["CapInh"] == cap_mask(CAPS["inheritable"])
        assert caps["CapAmb"] == cap_mask(CAPS["ambient"])
    finally:
        assert rt("delete", "--force", cid).rc == 0


def test_capabilities_of_a_non_root_program(rt, make_bundle, new_id):
    """After execve of a program without file capabilities as uid 1000 the kernel
    keeps the bounding, inheritable and ambient sets; permitted = effective =
    ambient."""
    def edit(c):
        c["process"].update(capabilities=CAPS, user={"uid": 1000, "gid": 1000})
    b = make_bundle(["cat", "/proc/self/status"], edit)
    res = _run(rt, b, new_id("capsu"))
    assert res.rc == 0, res
    caps = _caps_from(res.out)
    amb = cap_mask(CAPS["ambient"])
    assert caps == {"CapBnd": cap_mask(CAPS["bounding"]), "CapInh": cap_mask(CAPS["inheritable"]),
                    "CapAmb": amb, "CapPrm": amb, "CapEff": amb}


def test_capabilities_of_root(rt, make_bundle, new_id):
    """uid 0 without no_new_privs: execve gives permitted = effective = bounding |
    inheritable (with no_new_privs it could not exceed the old permitted set)."""
    b = make_bundle(["cat", "/proc/self/status"],
                    lambda c: c["process"].update(capabilities=CAPS, noNewPrivileges=False))
    res = _run(rt, b, new_id("capsr"))
    assert res.rc == 0, res
    caps = _caps_from(res.out)
    bnd = cap_mask(CAPS["bounding"])
    assert caps["CapBnd"] == bnd
    assert caps["CapPrm"] == caps["CapEff"] == bnd | cap_mask(CAPS["inheritable"])
    assert caps["CapAmb"] == cap_mask(CAPS["ambient"])


def test_no_capabilities_object_keeps_the_runtimes(rt, make_bundle, new_id):
    def edit(c):
        del c["process"]["capabilities"]
    b = make_bundle(["cat", "/proc/self/status"], edit)
    res = _run(rt, b, new_id("capsn"))
    assert res.rc == 0, res
    with open("/proc/self/status") as f:
        mine = _caps_from(f.read())
    assert _caps_from(res.out)["CapBnd"] == mine["CapBnd"]


def test_dropped_capability_is_enforced(rt, make_bundle, new_id):
    """Without CAP_CHOWN, root inside cannot chown."""
    def edit(c):
        writable_tmp(c)
        c["process"]["capabilities"] = {k: ["CAP_KILL"] for k in CAPS}
    b = make_bundle(["sh", "-c", "touch /tmp/f && chown 1:1 /tmp/f; echo rc=$?"], edit)
    res = _run(rt, b, new_id("nochown"))
    assert res.rc == 0, res
    assert "rc=1" in res.out and "Operation not permitted" in res.err, res


def test_unknown_capability_is_a_warning(rt, make_bundle, new_id):
    """config.md: a capability that cannot be mapped MUST be logged as a warning;
    runtimes SHOULD NOT fail. The known ones are still applied."""
    def edit(c):
        c["process"]["capabilities"] = {k: list(v) for k, v in CAPS.items()}
        c["process"]["capabilities"]["bounding"].append("CAP_NO_SUCH_THING")
        c["process"]["noNewPrivileges"] = False
    b = make_bundle(["cat", "/proc/self/status"], edit)
    res = _run(rt, b, new_id("badcap"))
    assert res.rc == 0, res
    assert "CAP_NO_SUCH_THING" in res.err and "warn" in res.err.lower(), res
    assert _caps_from(res.out)["CapBnd"] == cap_mask(CAPS["bounding"])


# -- rlimits ----------------------------------------------------------------------

def test_rlimits_are_set(rt, make_bundle, new_id):
    def edit(c):
        c["process"]["rlimits"] = [
            {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
            {"type": "RLIMIT_NPROC", "soft": 777, "hard": 778},
            {"type": "RLIMIT_MSGQUEUE", "soft": 8192, "hard": 16384},
        ]
    b = make_bundle(["sh", "-c", "ulimit -n; ulimit -Hn; echo ---; cat /proc/self/limits"], edit)
    res = _run(rt, b, new_id("rlim"))
    assert res.rc == 0, res
    ulim, limits = sections(res.out)
    assert ulim == ["123", "456"]
    rows = {}
    for line in limits[1:]:
        name = line[:26].strip()
        soft, hard = line[26:].split()[:2]
        rows[name] = (soft, hard)
    assert rows["Max open files"] == ("123", "456")
    assert rows["Max core file size"] == ("0", "4096")
    assert rows["Max processes"] == ("777", "778")
    assert rows["Max msgqueue size"] == ("8192", "16384")


def test_rlimit_with_an_invalid_type_is_an_error(rt, make_bundle, new_id):
    b = make_bundle(["true"], lambda c: c["process"]["rlimits"].append(
        {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}))
    cid = new_id("badrl")
    assert_one_line_error(_run(rt, b, cid), r"RLIMIT_BOGUS")
    assert rt("state", cid).rc != 0


# -- noNewPrivileges, oomScoreAdj, umask, user -------------------------------------------

@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(rt, make_bundle, new_id, nnp):
    b = make_bundle(["cat", "/proc/self/status"],
                    lambda c: c["process"].update(noNewPrivileges=nnp))
    res = _run(rt, b, new_id("nnp"))
    assert res.rc == 0, res
    assert status_fields(res.out)["NoNewPrivs"] == ("1" if nnp else "0")


def test_oom_score_adj_set(rt, make_bundle, new_id):
    b = make_bundle(["cat", "/proc/self/oom_score_adj"],
                    lambda c: c["process"].update(oomScoreAdj=345))
    res = _run(rt, b, new_id("oom"))
    assert res.rc == 0, res
    assert res.out.strip() == "345"


def test_oom_score_adj_unset_is_inherited(rt, make_bundle, new_id):
    """Not set: the runtime MUST NOT change it (the caller's value is inherited)."""
    b = make_bundle(["cat", "/proc/self/oom_score_adj"])
    res = rt(argv=["/bin/sh", "-c", 'echo 77 > /proc/self/oom_score_adj && exec "$@"', "sh",
                   *rt.argv(["run", "--bundle", b.path, new_id("oomu")])])
    assert res.rc == 0, res
    assert res.out.strip() == "77"


@pytest.mark.parametrize("umask, want", [(0o027, "0027"), (0o077, "0077"), (None, "0022")])
def test_umask(rt, make_bundle, new_id, umask, want):
    def edit(c):
        writable_tmp(c)
        if umask is not None:
            c["process"]["user"]["umask"] = umask
    b = make_bundle(["sh", "-c", "umask; touch /tmp/f; stat -c %a /tmp/f"], edit)
    res = _run(rt, b, new_id("umask"))
    assert res.rc == 0, res
    got_umask, mode = res.out.split()
    assert got_umask == want
    assert int(mode, 8) == 0o666 & ~int(want, 8)


def test_user_and_additional_gids(rt, make_bundle, new_id):
    b = make_bundle(["cat", "/proc/self/status"], lambda c: c["process"].update(
        user={"uid": 1000, "gid": 1001, "additionalGids": [5, 6, 4242]}))
    res = _run(rt, b, new_id("gids"))
    assert res.rc == 0, res
    f = status_fields(res.out)
    assert f["Uid"].split() == ["1000"] * 4
    assert f["Gid"].split() == ["1001"] * 4
    assert sorted(map(int, f["Groups"].split())) == [5, 6, 4242]


def test_no_additional_gids_means_no_supplementary_groups(rt, make_bundle, new_id):
    b = make_bundle(["cat", "/proc/self/status"], lambda c: c["process"].update(
        user={"uid": 1000, "gid": 1000}))
    res = _run(rt, b, new_id("nogids"))
    assert res.rc == 0, res
    assert status_fields(res.out)["Groups"] == ""


# -- LSM labels on a host without the LSM --------------------------------------------------

def _host_has_apparmor() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().startswith("Y")
    except OSError:
        return False


def _host_has_selinux() -> bool:
    return os.path.isdir("/sys/fs/selinux") and bool(os.listdir("/sys/fs/selinux"))


@pytest.mark.parametrize("where, key, value, pattern, host_has", [
    ("process", "apparmorProfile", "pyrt-test-profile", r"apparmor", _host_has_apparmor),
    ("process", "selinuxLabel", "system_u:system_r:container_t:s0", r"selinux",
     _host_has_selinux),
    ("linux", "mountLabel", "system_u:object_r:container_file_t:s0", r"selinux",
     _host_has_selinux),
])
def test_lsm_label_without_the_lsm_is_a_clear_error(rt, make_bundle, new_id, where, key, value,
                                                    pattern, host_has):
    if host_has():
        pytest.skip("this host has the LSM enabled")
    b = make_bundle(["true"], lambda c: c[where].update({key: value}))
    cid = new_id("lsm")
    line = assert_one_line_error(_run(rt, b, cid), pattern)
    assert key in line, line
    assert rt("state", cid).rc != 0


# -- scheduling, I/O priority, affinity, personality ---------------------------------------

def _stat_fields(text: str) -> "list[str]":
    # /proc/<pid>/stat: "pid (comm) state ..." -> fields from state on (index 0 = field 3)
    return text[text.rindex(")") + 2:].split()


def _rt_runtime_of_my_cpu_cgroup() -> "int | None":
    """cpu.rt_runtime_us of this process's v1 cpu cgroup (None: no RT group scheduling)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "cpu" in ctrls.split(","):
                for base in ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"):
                    try:
                        with open(f"{base}{path.rstrip('/')}/cpu.rt_runtime_us") as g:
                            return int(g.read())
                    except OSError:
                        continue
    return None


@pytest.mark.parametrize("sched, policy, nice, rtprio", [
    ({"policy": "SCHED_BATCH", "nice": 7}, 3, 7, 0),
    ({"policy": "SCHED_IDLE"}, 5, 0, 0),
    ({"policy": "SCHED_OTHER", "nice": -3}, 0, -3, 0),
    ({"policy": "SCHED_RR", "priority": 12}, 2, 0, 12),
])
def test_scheduler(rt, make_bundle, new_id, sched, policy, nice, rtprio):
    if policy in (1, 2) and _rt_runtime_of_my_cpu_cgroup() == 0:
        pytest.skip("RT group scheduling with no RT runtime for our cgroup: an RT task "
                    "cannot join any container cgroup here")

    def edit(c):
        c["process"]["scheduler"] = sched
        if policy in (1, 2) and os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
            # RT group scheduling: an RT task may only join a cgroup with RT runtime
            c["linux"]["resources"]["cpu"] = {"realtimeRuntime": 10000,
                                              "realtimePeriod": 1000000}
    b = make_bundle(["cat", "/proc/self/stat"], edit)
    res = _run(rt, b, new_id("sched"))
    if res.rc != 0 and "rt_runtime_us" in res.err:
        pytest.skip(f"no RT runtime available to the container's cgroup here: {res.err.strip()}")
    assert res.rc == 0, res
    f = _stat_fields(res.out)
    # field 19 nice, 40 rt_priority, 41 policy (1-based, man 5 proc)
    assert (int(f[19 - 3]), int(f[40 - 3]), int(f[41 - 3])) == (nice, rtprio, policy), res.out


def test_scheduler_that_cannot_be_applied_names_the_field(rt, make_bundle, new_id):
    """SCHED_DEADLINE with an impossible runtime > deadline: the kernel refuses."""
    b = make_bundle(["true"], lambda c: c["process"].update(scheduler={
        "policy": "SCHED_DEADLINE", "runtime": 20_000_000, "deadline": 10_000_000,
        "period": 30_000_000}))
    cid = new_id("dl")
    assert_one_line_error(_run(rt, b, cid), r"process\.scheduler")
    assert rt("state", cid).rc != 0


@pytest.mark.parametrize("cls, prio, want", [
    ("IOPRIO_CLASS_IDLE", 0, "idle"),
    ("IOPRIO_CLASS_BE", 6, "best-effort: prio 6"),
    ("IOPRIO_CLASS_RT", 2, "realtime: prio 2"),
])
def test_io_priority(rt, make_bundle, new_id, cls, prio, want):
    b = make_bundle(["ionice", "-p", "1"],
                    lambda c: c["process"].update(ioPriority={"class": cls, "priority": prio}))
    res = _run(rt, b, new_id("ionice"))
    assert res.rc == 0, res
    assert res.out.strip() == want


def _cpus() -> "list[int]":
    return sorted(os.sched_getaffinity(0))


def test_exec_cpu_affinity_final(rt, make_bundle, new_id, reaper):
    """execCPUAffinity is for exec'd processes: final is their affinity once in
    the container's cgroup."""
    cpus = _cpus()
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    b = make_bundle(["sleep", "1000"])
    cid = new_id("aff")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        proc_json = os.path.join(os.path.dirname(b.path), f"{cid}-process.json")
        with open(proc_json, "w") as f:
            json.dump({"args": ["grep", "Cpus_allowed_list", "/proc/self/status"],
                       "cwd": "/", "env": ["PATH=/bin:/sbin:/usr/bin"],
                       "user": {"uid": 0, "gid": 0},
                       "execCPUAffinity": {"initial": str(cpus[0]),
                                           "final": str(cpus[-1])}}, f)
        res = rt("exec", "--process", proc_json, cid)
        assert res.rc == 0, res
        assert res.out.split() == ["Cpus_allowed_list:", str(cpus[-1])]
    finally:
        assert rt("delete", "--force", cid).rc == 0


def test_exec_cpu_affinity_invalid_list_names_the_field(rt, make_bundle, new_id):
    b = make_bundle(["sleep", "1000"])
    cid = new_id("affbad")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        proc_json = os.path.join(os.path.dirname(b.path), f"{cid}-process.json")
        with open(proc_json, "w") as f:
            json.dump({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                       "env": ["PATH=/bin:/sbin:/usr/bin"],
                       "execCPUAffinity": {"final": "100000-100001"}}, f)
        res = rt("exec", "--process", proc_json, cid)
        assert_one_line_error(res, r"execCPUAffinity")
    finally:
        assert rt("delete", "--force", cid).rc == 0


@pytest.mark.parametrize("domain, machine, persona", [("LINUX32", "i686", "00000008"),
                                                      ("LINUX", os.uname().machine, "00000000")])
def test_personality(rt, make_bundle, new_id, domain, machine, persona):
    b = make_bundle(["sh", "-c", "uname -m; cat /proc/self/personality"],
                    lambda c: c["linux"].update(personality={"domain": domain}))
    res = _run(rt, b, new_id("pers"))
    assert res.rc == 0, res
    assert res.out.split() == [machine, persona]


def test_personality_applies_to_exec_too(rt, make_bundle, new_id):
    b = make_bundle(["sleep", "1000"],
                    lambda c: c["linux"].update(personality={"domain": "LINUX32"}))
    cid = new_id("persx")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        res = rt("exec", cid, "uname", "-m")
        assert res.rc == 0, res
        assert res.out.strip() == "i686"
    finally:
        assert rt("delete", "--force", cid).rc == 0


# -- cwd ------------------------------------------------------------------------------------

def test_cwd(rt, make_bundle, new_id):
    b = make_bundle(["pwd"], lambda c: c["process"].update(cwd="/etc"))
    res = _run(rt, b, new_id("cwd"))
    assert res.rc == 0, res
    assert res.out.strip() == "/etc"


def test_cwd_that_is_a_file_is_an_error(rt, make_bundle, new_id):
    b = make_bundle(["pwd"], lambda c: c["process"].update(cwd="/etc/passwd"))
    cid = new_id("cwdf")
    assert_one_line_error(_run(rt, b, cid), r"cwd")
    assert rt("state", cid).rc != 0


def test_missing_cwd_is_created_like_runc(rt, make_bundle, new_id):
    def edit(c):
        writable_tmp(c)
        c["process"]["cwd"] = "/tmp/a/b"
    b = make_bundle(["pwd"], edit)
    res = _run(rt, b, new_id("cwdm"))
    assert res.rc == 0, res
    assert res.out.strip() == "/tmp/a/b"


# -- file descriptors ---------------------------------------------------------------------

def test_no_runtime_fd_reaches_the_container(rt, make_bundle, new_id):
    """Only stdio: no state dir, memfd, socket, namespace or cgroup fd of the runtime."""
    b = make_bundle(["sh", "-c", "ls -l /proc/1/fd; true"])
    res = _run(rt, b, new_id("fds"))
    assert res.rc == 0, res
    fds = {}
    for line in res.out.splitlines():
        if "->" in line:
            name, target = line.split("->", 1)
            fds[name.split()[-1]] = target.strip()
    assert set(fds) == {"0", "1", "2"}, fds
    for target in fds.values():
        assert not any(w in target for w in ("memfd", "socket", "pyruntime", "cgroup", "ns:")), fds


def test_listen_fds_socket_activation(rt, make_bundle, new_id, testdir):
    """LISTEN_FDS/LISTEN_PID for the runtime's own pid: fds 3.. are passed (before
    any --preserve-fds ones) and the container gets LISTEN_FDS=n, LISTEN_PID=1."""
    b = make_bundle(["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3; cat <&4; cat <&5; "
                     "ls /proc/1/fd; true"])
    for n in (3, 4, 5):
        with open(os.path.join(testdir, f"fd{n}"), "w") as f:
            f.write(f"content-{n}\n")
    cid = new_id("listen")
    args = rt.argv(["run", "--preserve-fds", "1", "--bundle", b.path, cid])
    script = ('export LISTEN_FDS=2 LISTEN_PID=$$; exec "$@" 3<"$D/fd3" 4<"$D/fd4" '
              '5<"$D/fd5"')
    res = rt(argv=["/bin/sh", "-c", script, "sh", *args], env={**os.environ, "D": testdir})
    assert res.rc == 0, res
    lines = res.out.split("\n")
    assert lines[0] == "2 1"
    assert lines[1:4] == ["content-3", "content-4", "content-5"]
    assert sorted(lines[4:-1], key=int) == ["0", "1", "2", "3", "4", "5"]


def test_listen_fds_for_another_pid_is_ignored(rt, make_bundle, new_id, testdir):
    b = make_bundle(["sh", "-c", "echo \"[$LISTEN_FDS]\"; ls /proc/1/fd; true"])
    path = os.path.join(testdir, "fd3")
    open(path, "w").close()
    args = rt.argv(["run", "--bundle", b.path, new_id("listen2")])
    res = rt(argv=["/bin/sh", "-c", 'LISTEN_FDS=1 LISTEN_PID=1 exec "$@" 3<"$0"', path, *args])
    assert res.rc == 0, res
    assert res.out.split() == ["[]", "0", "1", "2"]


# -- session keyring --------------------------------------------------------------------------

def test_new_session_keyring_per_container(rt, make_bundle, new_id, probe):
    b = make_bundle(["/probe", "keyring"])
    install_probe(b, probe)
    cid = new_id("keyr")
    res = _run(rt, b, cid)
    assert res.rc == 0, res
    key_id, desc = res.out.split(maxsplit=1)
    assert int(key_id) != session_keyring_id()
    assert desc.strip().endswith(f";_ses.{cid}"), desc


def test_no_new_keyring_keeps_the_callers(rt, make_bundle, new_id, probe):
    b = make_bundle(["/probe", "keyring"])
    install_probe(b, probe)
    # a session keyring of our own for the runtime to inherit
    script = "exec \"$@\""
    res = rt(argv=["/bin/sh", "-c", script, "sh",
                   *rt.argv(["run", "--no-new-keyring", "--bundle", b.path, new_id("keyn")])])
    assert res.rc == 0, res
    key_id = int(res.out.split()[0])
    assert key_id == session_keyring_id(), res.out


# -- --no-pivot ------------------------------------------------------------------------------

def test_no_pivot(rt, make_bundle, new_id):
    b = make_bundle(["sh", "-c", "cat /marker; ls /; echo ---; cat /proc/self/mountinfo"])
    with open(os.path.join(b.rootfs, "marker"), "w") as f:
        f.write("no-pivot-marker\n")
    res = _run(rt, b, new_id("nopiv"), "--no-pivot")
    assert res.rc == 0, res
    top, mounts = sections(res.out)
    assert top[0] == "no-pivot-marker"
    assert "work" not in top[1:] and "marker" in top[1:]
    root = [line for line in mounts if line.split()[4] == "/"]
    assert root, mounts
