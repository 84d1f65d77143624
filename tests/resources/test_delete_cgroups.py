"""delete removes the container's cgroups in every hierarchy (the hybrid
unified one too), killing what is left in them first; it never removes a
cgroup the container did not create; a failed create leaves no cgroup."""
from __future__ import annotations

import os
import secrets

import pytest

from rsupport import field_re
from support.checks import wait_file


def _mounts(cgh) -> "list[str]":
    """Every hierarchy's mount point (v1 controllers, named ones, unified)."""
    out = list(cgh.v1_names.values())
    if cgh.unified:
        out.append(cgh.unified)
    return out


def _make_parent(cgh, fill_cpuset: bool = True) -> "tuple[str, list[str]]":
    name = f"/pyrt-res-{secrets.token_hex(4)}"
    made = []
    for m in _mounts(cgh):
        d = m.rstrip("/") + name
        os.mkdir(d)
        made.append(d)
        if fill_cpuset and os.path.exists(os.path.join(d, "cpuset.cpus")) and \
                not os.path.exists(os.path.join(d, "cgroup.controllers")):
            # a v1 cpuset cgroup starts with no cpus/mems: usable only once filled
            for f in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(m, f)) as src, open(os.path.join(d, f), "w") as dst:
                    dst.write(src.read().strip())
    return name, made


def _remove(made: "list[str]") -> None:
    for d in made:
        for dirpath, _, _ in sorted(os.walk(d), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


@pytest.fixture
def parent_cgroup(cgh):
    """A pre-existing (empty) cgroup /pyrt-res-<hex> in every hierarchy, made by
    the test (v1 cpuset: cpus/mems filled from the root, as a cgroup manager
    would); removed afterwards (with whatever is left below it)."""
    name, made = _make_parent(cgh)
    yield name, made
    _remove(made)


def test_delete_removes_every_cgroup(ctr, cgh, rt):
    c = ctr.run()
    dirs = c.cg.all_dirs()
    if not cgh.is_v2:
        # every mounted v1 hierarchy (named ones included) and, on hybrid, the unified one
        assert len(c.cg.by_ctrl) >= len([k for k in cgh.v1 if not k.startswith("name=")])
        if cgh.unified:
            assert c.cg.unified and os.path.isdir(c.cg.unified), \
                f"the container did not join the hybrid unified hierarchy: {c.cg.raw}"
    assert all(os.path.isdir(d) for d in dirs)
    assert rt("kill", c.id, "KILL").rc == 0
    rt.wait_status(c.id, "stopped")
    assert all(os.path.isdir(d) for d in dirs), "cgroups must stay until delete"
    r = rt("delete", c.id)
    assert r.rc == 0, r
    left = [d for d in dirs if os.path.isdir(d)]
    assert not left, f"delete left cgroups: {left}"


def _no_pidns(cfg):
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]


def test_delete_kills_leftover_processes(ctr, cgh, rt, reaper):
    """Without a pid namespace, the init's death does not take its children
    along: delete of the stopped container kills them before removing the
    cgroups (as runc does)."""
    script = "sleep 1000 & echo $! > /shared/child; exec sleep 1000"
    c = ctr.run(["sh", "-c", script], shared=True, edit=_no_pidns)
    child = int(wait_file(c.bundle.shared_file("child")).strip())
    assert child in c.cg.procs()
    dirs = c.cg.all_dirs()
    assert rt("kill", c.id, "KILL").rc == 0
    reaper.wait_pid(c.pid)
    rt.wait_status(c.id, "stopped")
    assert os.path.exists(f"/proc/{child}"), "the child died with the init"
    r = rt("delete", c.id)
    assert r.rc == 0, r
    reaper.wait_gone(child, 10)
    left = [d for d in dirs if os.path.isdir(d)]
    assert not left, f"delete left cgroups: {left}"


def test_preexisting_parent_survives(ctr, cgh, rt, parent_cgroup):
    name, made = parent_cgroup
    b = ctr.bundle()
    leaf = f"leaf-{secrets.token_hex(3)}"
    b.edit(lambda cfg: cfg["linux"].__setitem__("cgroupsPath", f"{name}/{leaf}"))
    c = ctr.run(bundle=b)
    dirs = c.cg.all_dirs()
    assert all(d.endswith(f"{name}/{leaf}") for d in dirs), dirs
    assert rt("delete", "--force", c.id).rc == 0
    assert not [d for d in dirs if os.path.isdir(d)], "the container's own cgroups are gone"
    gone = [d for d in made if not os.path.isdir(d)]
    assert not gone, f"delete removed a pre-existing parent cgroup: {gone}"


@pytest.mark.runtime_pyruntime_only(reason="runc removes the cgroupsPath directory even when "
                                           "it existed before the container")
def test_preexisting_leaf_is_not_removed(ctr, cgh, rt, parent_cgroup, reaper):
    """cgroupsPath names an existing cgroup: the container joins it, delete kills
    the container's processes but leaves the directory."""
    name, made = parent_cgroup
    b = ctr.bundle(["sh", "-c", "sleep 1000 & exec sleep 1000"])
    b.edit(lambda cfg: cfg["linux"].__setitem__("cgroupsPath", name))
    c = ctr.run(bundle=b)
    assert sorted(c.cg.all_dirs()) == sorted(made), (c.cg.all_dirs(), made)
    pids = c.cg.procs()
    assert rt("delete", "--force", c.id).rc == 0
    for p in pids:
        reaper.wait_gone(p, 10)
    gone = [d for d in made if not os.path.isdir(d)]
    assert not gone, f"delete removed a cgroup it did not create: {gone}"


def test_delete_does_not_kill_foreign_processes_in_a_shared_cgroup(ctr, cgh, rt, reaper,
                                                                   parent_cgroup):
    """A process that is not the container's, in a pre-existing cgroup the
    container was put in, must survive the container's delete --force."""
    name, made = parent_cgroup
    foreign = reaper.spawn(["sleep", "1000"])
    try:
        for d in made:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(foreign.pid))
        b = ctr.bundle()
        b.edit(lambda cfg: cfg["linux"].__setitem__("cgroupsPath", name))
        c = ctr.run(bundle=b)
        assert foreign.pid in c.cg.procs()
        assert rt("delete", "--force", c.id).rc == 0
        alive = foreign.poll() is None
    finally:
        if foreign.poll() is None:
            foreign.kill()
        foreign.wait(5)
    assert alive


def test_failed_create_leaves_no_cgroup(ctr, cgh, parent_cgroup):
    """A resource the kernel refuses (cpuset.cpus of a CPU that does not exist,
    or no cpuset at all), and a failure after the cgroups were set up (no such
    executable): nothing left, and a pre-existing parent survives."""
    name, made = parent_cgroup
    ctr.create_fails(field_re("cpu.cpus"), resources={"cpu": {"cpus": "63"}})
    ctr.create_fails(r"nonexistent|not found|no such file", args=["/nonexistent"],
                     resources={"pids": {"limit": 10}})
    leaf = f"leaf-{secrets.token_hex(3)}"
    ctr.create_fails(field_re("cpu.cpus"), resources={"cpu": {"cpus": "63"}},
                     edit=lambda cfg: cfg["linux"].__setitem__("cgroupsPath", f"{name}/{leaf}"))
    assert all(os.path.isdir(d) for d in made), "a failed create removed the parent"
    assert not any(os.path.exists(os.path.join(d, leaf)) for d in made), \
        "a failed create left its cgroup under the pre-existing parent"


def test_preexisting_parent_with_empty_cpuset(ctr, cgh, rt, runtime_is_runc):
    """v1: a pre-existing parent whose cpuset.cpus/mems are still empty (a plain
    mkdir, e.g. a parent made by hand or by another tool). runc fills the empty
    ancestors from theirs (cpuset's ensureParent); a runtime that does not
    fails to join the cgroup (ENOSPC)."""
    if cgh.is_v2 or not cgh.has_controller("cpuset"):
        pytest.skip(f"{cgh.mode}: no v1 cpuset hierarchy")
    name, made = _make_parent(cgh, fill_cpuset=False)
    try:
        b = ctr.bundle()
        b.edit(lambda cfg: cfg["linux"].__setitem__("cgroupsPath", f"{name}/leaf"))
        cid = ctr.new_id("cpuset")
        ctr.started.append(cid)
        r = rt("run", "-d", "--bundle", b.path, cid)
        assert r.rc == 0, r
        assert rt("delete", "--force", cid).rc == 0
    finally:
        _remove(made)
