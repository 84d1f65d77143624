"""Helpers for tests/resources: containers run through the CLI (Ctr,
CtrFactory), error-line checks."""
from __future__ import annotations

import copy
import json
import os
import re
import select
import subprocess
import time

import cgenv
from support.checks import assert_one_line_error, pid_alive

M = 1 << 20


# -- containers ----------------------------------------------------------------------

class Ctr:
    """A started container: ``id``, ``pid`` (host pid of its init), ``bundle``,
    ``cg`` (cgenv.CgDirs, captured while it runs), ``res`` (the run's Result)."""

    def __init__(self, rt, cid, bundle, pid, res):
        self.rt = rt
        self.id = cid
        self.bundle = bundle
        self.pid = pid
        self.res = res
        self.cg = cgenv.CgDirs(pid)

    def read(self, spec: str) -> str:
        return self.cg.read(spec)

    def update(self, *args, resources: "dict | None" = None, stdin: bool = False, **kw):
        """``update [args] ID``; resources go through a file (--resources F) or
        stdin (--resources -)."""
        argv = ["update"]
        inp = None
        if resources is not None:
            if stdin:
                argv += ["--resources", "-"]
                inp = json.dumps(resources)
            else:
                path = os.path.join(self.bundle.path, f"res-{time.monotonic_ns()}.json")
                with open(path, "w") as f:
                    json.dump(resources, f)
                argv += ["--resources", path]
        return self.rt(*argv, *args, self.id, input=inp, **kw)

    def status(self) -> "str | None":
        return self.rt.status(self.id)

    def alive(self) -> bool:
        """The init still runs (cheap: no CLI call)."""
        return pid_alive(self.pid)


def with_resources(resources: "dict | None", keep_devices: bool = True):
    """An edit callback: config.linux.resources = default devices + `resources`."""
    def edit(cfg):
        linux = cfg.setdefault("linux", {})
        base = copy.deepcopy(linux.get("resources") or {}) if keep_devices else {}
        for k, v in (resources or {}).items():
            base[k] = copy.deepcopy(v)
        linux["resources"] = base
    return edit


class CtrFactory:
    def __init__(self, rt, make_bundle, new_id, reaper, is_runc=False):
        self.is_runc = is_runc
        self.rt = rt
        self.make_bundle = make_bundle
        self.new_id = new_id
        self.reaper = reaper
        self.started: "list[str]" = []

    def bundle(self, args=None, resources=None, edit=None, shared=False):
        def both(cfg):
            with_resources(resources)(cfg)
            if edit is not None:
                new = edit(cfg)
                if new is not None:
                    return new
            return cfg
        return self.make_bundle(list(args) if args else ["sleep", "1000"], edit=both,
                                shared=shared)

    def run(self, args=None, resources=None, edit=None, shared=False, tag="c",
            bundle=None, cid=None) -> Ctr:
        """run -d; fails the test if that fails."""
        b = bundle or self.bundle(args, resources, edit, shared)
        cid = cid or self.new_id(tag)
        self.started.append(cid)
        pidfile = os.path.join(b.path, f"{cid}.pid")
        res = self.rt("run", "-d", "--pid-file", pidfile, "--bundle", b.path, cid)
        assert res.rc == 0, f"run failed: {res!r}"
        # (no `state` call: every CLI call costs ~0.2 s in the v2 guest)
        with open(pidfile) as f:
            pid = int(f.read().strip())
        assert pid_alive(pid), f"run -d: the init {pid} is not running"
        return Ctr(self.rt, cid, b, pid, res)

    def create_fails(self, *patterns, args=None, resources=None, edit=None, tag="bad"):
        """create must fail with a one-line error (matching a pattern, if any) and
        leave nothing: no state, no cgroup named after the id. -> (Result, line)."""
        b = self.bundle(args, resources, edit)
        cid = self.new_id(tag)
        self.started.append(cid)
        res = self.rt("create", "--bundle", b.path, cid)
        if self.is_runc:  # runc logs warnings and the error as logrus lines
            assert res.rc != 0, f"create should have failed: {res!r}"
            line = res.err.strip().splitlines()[-1] if res.err.strip() else ""
        else:
            line = assert_one_line_error(res, *patterns)
        assert self.rt("state", cid).rc != 0, f"state of a failed create still exists ({cid})"
        left = cgroup_dirs_named(cid)
        assert not left, f"a failed create left cgroups: {left}"
        return res, line

    def cleanup(self):
        for cid in self.started:
            self.rt("delete", "--force", cid)


def cgroup_dirs_named(name: str) -> "list[str]":
    from support.leaks import cgroup_dirs_named as find
    return find({name})


def field_re(field: str) -> str:
    """A regex matching an error line that names linux.resources.<field>."""
    return r"linux\.resources\." + re.escape(field)


def warnings_of(res) -> "list[str]":
    return [ln for ln in res.err.splitlines() if "level=warning" in ln or "warning" in ln.lower()]


def json_lines(p: subprocess.Popen, until, timeout: float) -> "list[dict]":
    """JSON lines from p.stdout until until(obj) is true or timeout; all seen."""
    seen = []
    buf = b""
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, min(0.2, deadline - time.monotonic())))
        if not r:
            if p.poll() is not None:
                break
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            obj = json.loads(line)
            seen.append(obj)
            if until(obj):
                return seen
    return seen


def stop_proc(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.kill()
    p.wait(5)
    p.stdout.close()
