"""Fuzzing the command line (hypothesis): random commands, flags and values
(known ones, odd ones, random text), against a --root holding a live
container, a stopped one and a valid bundle. Every call ends in success or a
one-line error, never a traceback nor an "internal error"; afterwards nothing
is half-made (each container left in --root answers `state` with a sane
status) and `delete --force` of everything leaves nothing (leak check).

Exceptions, by design: with no command at all the usage text is printed (as
runc does); `exec`/`run` print what the container's program prints.

PYRT_FUZZ_CLI_EXAMPLES (default 150) sets the number of command lines tried.
"""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability.faults import assert_commands_sane
from support.leaks import cgroup_hierarchies
from support.runtime import RT, RuntimeTimeout

EXAMPLES = int(os.environ.get("PYRT_FUZZ_CLI_EXAMPLES", "150"))

COMMANDS = ["create", "run", "start", "state", "kill", "delete", "list", "ps", "pause",
            "resume", "update", "exec", "spec", "features", "validate", "help", "bogus", ""]
FLAGS = ["--bundle", "-b", "--pid-file", "--console-socket", "--preserve-fds", "--no-pivot",
         "--no-new-keyring", "--detach", "-d", "--keep", "--all", "-a", "--force", "-f",
         "--quiet", "-q", "--format", "--resources", "-r", "--memory", "--memory-swap",
         "--cpu-shares", "--cpu-quota", "--cpu-period", "--cpuset-cpus", "--pids-limit",
         "--blkio-weight", "--process", "-p", "--tty", "-t", "--cwd", "--env", "-e", "--user",
         "-u", "--additional-gids", "-g", "--cap", "-c", "--no-new-privs", "--ignore-paused",
         "--help", "-h", "--version", "--debug", "--log-format", "--systemd-cgroup",
         "--rootless", "--stats", "--interval", "--", "-", "--bogus", "-x", "--root="]
VALUES = ["0", "1", "-1", "9", "KILL", "SIGTERM", "RTMIN+3", "SIGBOGUS", "99999999999999999999",
          "", " ", "=", "json", "table", "text", "1:1", "0:0", "root", "a:b", "CAP_SYS_ADMIN",
          "NET_RAW", "/", "/proc/self/fd/3", "..", "../..", "x=y", "=y", "true", "false",
          "64m", "1e9", "0-1", "/nonexistent", "é\u202e", "a" * 300, "live", "stopped",
          "nosuch", "new1", "-", "--", "{}", "[]", "sh", "ls", "echo"]


@st.composite
def command_lines(draw):
    flag_or_value = st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES))
    if draw(st.integers(0, 3)) == 0:
        # well-formed enough to get somewhere: create/run/exec with odd flags
        cmd = draw(st.sampled_from(["create", "run", "exec"]))
        flags = draw(st.lists(flag_or_value, max_size=4))
        if cmd == "exec":
            return ["exec", *flags, "live", *draw(st.lists(st.sampled_from(
                ["true", "sh", "-c", "exit 3", "ls", "/", "echo", "x"]), min_size=1,
                max_size=3))]
        extra = ["-d"] if cmd == "run" else []
        return [cmd, *extra, "--bundle", "@bundle", *flags,
                draw(st.sampled_from(["new1", "new2", "n" * 64, "new.3+_-"]))]
    cmd = draw(st.sampled_from(COMMANDS))
    argv = [cmd] if cmd else []
    pool = st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES), st.text(max_size=12)
                     .filter(lambda s: "\0" not in s), st.sampled_from(["@bundle", "@proc"]))
    argv += draw(st.lists(pool, max_size=6))
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(["live", "stopped", "nosuch", "new2", ""])))
    if draw(st.booleans()) and draw(st.booleans()):
        argv = [draw(st.sampled_from(FLAGS + ["--log-format"]))] + argv   # a global flag
    return argv


def _pyruntime_lines(err: str) -> "list[str]":
    return [l for l in err.splitlines() if l.strip() and "level=warning" not in l]


def test_fuzz_cli(rt, make_bundle, testdir, leak_checker, new_id):
    # The fuzzed calls go through an RT that registers no ids with the leak
    # checker: it matches cgroup dir names by substring, so an "id" like "0"
    # would make its cleanup kill processes in unrelated cgroups.
    frt = RT(rt.binary, rt.root, rt.workdir)
    ids = {"live": new_id("fzlive"), "stopped": new_id("fzstopped")}
    live = make_bundle(["sleep", "1000"], name="live")
    b = make_bundle(["true"], name="fuzz")     # what @bundle names (create/run/spec -b)
    proc_file = os.path.join(testdir, "process.json")
    with open(proc_file, "w") as f:
        json.dump({"args": ["true"], "cwd": "/", "env": ["PATH=/bin"]}, f)
    cwd = os.path.join(testdir, "cwd")
    os.makedirs(cwd)
    stats = {"tried": 0, "ok": 0, "error": 0, "usage": 0, "timeout": 0}
    made: "set[str]" = set()

    def ensure(cid: str, running: bool, statuses: dict) -> None:
        want = "running" if running else "stopped"
        if statuses.get(cid) == want:
            return
        rt("delete", "--force", cid)
        assert rt("create", "--bundle", live.path, cid).rc == 0
        if running:
            assert rt("start", cid).rc == 0
        else:
            assert rt("kill", cid, "KILL").rc == 0
            rt.wait_status(cid, "stopped")

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(command_lines())
    def run_one(argv):
        ls = frt("list", "--format", "json")
        statuses = {c["id"]: c["status"] for c in json.loads(ls.out or "[]")}
        ensure(ids["live"], True, statuses)
        ensure(ids["stopped"], False, statuses)
        b.write_config()   # `spec -b @bundle` may have replaced it
        argv = [b.path if a == "@bundle" else proc_file if a == "@proc" else ids.get(a, a)
                for a in argv]
        cmd = next((a for a in argv if not a.startswith("-")), "")
        stats["tried"] += 1
        try:
            res = frt(*argv, cwd=cwd, timeout=20)
        except RuntimeTimeout:
            # a foreground exec/run waits for what runs in the container (e.g. a shell
            # on a tty); anything else must answer
            assert cmd in ("exec", "run"), f"{argv} did not finish in 20s"
            stats["timeout"] += 1
            return
        assert "Traceback" not in res.err and "Traceback" not in res.out, res
        assert "internal error" not in res.err, res
        lines = _pyruntime_lines(res.err)
        if res.rc == 0:
            stats["ok"] += 1
        elif res.err.startswith("pyruntime: an OCI container runtime"):
            stats["usage"] += 1
        elif cmd not in ("exec", "run"):
            stats["error"] += 1
            assert len(lines) == 1, f"not a one-line error: {res!r}"
        else:
            stats["error"] += 1
        # nothing half-made: every container in --root answers state sanely
        ls = frt("list", "--format", "json")
        assert ls.rc == 0 and "Traceback" not in ls.err, ls
        for cid in os.listdir(rt.root):
            if cid not in ids.values() and cid not in made and not cid.startswith("."):
                assert_commands_sane(frt, cid)
                made.add(cid)

    try:
        run_one()
    finally:
        for cid in os.listdir(rt.root):
            frt("delete", "--force", cid)
        print(f"\n[fuzz cli] {stats}, containers made: {len(made)}")
    left = [d for d in _cgroup_dirs_exactly(made)]
    assert not left, f"cgroups left: {left}"


def _cgroup_dirs_exactly(names: "set[str]") -> "list[str]":
    """Cgroup dirs whose name IS one of ``names`` (the ids the fuzz made)."""
    out = []
    for hier in cgroup_hierarchies():
        for dirpath, dirnames, _ in os.walk(hier):
            out.extend(os.path.join(dirpath, d) for d in dirnames if d in names)
    return out
