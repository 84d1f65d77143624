"""CVE-2019-5736 and kin: a container process grabs /proc/<pid>/exe (or a
/proc/<pid>/fd/N) of a runtime process it can see, and overwrites the host
binary behind it (or walks out of the container through a host directory fd).

Runtime processes a container can see: the waiting C stage of a created
container (pid 1), the processes `exec` puts into the container (Python C2,
then the C stage), and, with a shared pid namespace, the setup of a whole other
container. The attacker (attack.c) scans /proc as fast as it can and keeps
every exe it could open, retrying to open it for writing; a host marker file
must never be readable through any fd, cwd or root it finds.
"""
from __future__ import annotations

import time

import pytest

from security import harness
from security.harness import (Findings, assert_no_escape, installed_files, probe_args,
                              read_findings, sha256, with_attacker)


def _host_targets(sec) -> "tuple[dict[str, str], dict[str, str], list[str]]":
    """(host files, their hashes, sacrificial paths). Only the weakened copy's
    pyruntime-init is ever written to; the real install is only opened."""
    files = installed_files(sec.binary)
    hashes = {p: sha256(p) for p in files.values()}
    sacrifice = [files["pyruntime-init"]] if sec.weakened else []
    return files, hashes, sacrifice


def _caps_plus(cfg: dict, *names: str) -> None:
    caps = cfg["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = sorted(set(caps[k]) | set(names))


@pytest.mark.defence("sealed_exe")
def test_exec_storm_cannot_reach_runtime_binaries(sec, make_bundle, new_id, attack_bin, marker):
    """A looping attacker is the container's process; the test runs many
    `exec`s into it. Every runtime process the attacker catches is either
    inaccessible (non-dumpable) or a sealed memfd; nothing is writable."""
    rt = sec.rt
    files, hashes, sacrifice = _host_targets(sec)
    b = with_attacker(make_bundle(probe_args("/shared/out", marker, 60000, sacrifice),
                                  shared=True), attack_bin)
    cid = new_id("storm")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        harness.read_findings(b.shared_file("out"), need_summary=False)  # START written
        results = []
        deadline = time.monotonic() + 6.0
        n = 0
        while n < 60 and time.monotonic() < deadline:
            results.append(rt("exec", cid, "true").rc)
            n += 1
        rt("kill", cid, "TERM")
        findings = read_findings(b.shared_file("out"))
    finally:
        rt("delete", "--force", cid)
    print(f"\n[attacker] {sec.defence}: {findings.summary}")
    sec.check(assert_no_escape, findings, hashes, files)
    if not sec.expect_escape:
        assert results.count(0) == len(results), f"some execs failed: {results}"
        s = findings.summary
        assert s["exe_denied"] + s["exe_memfd"] >= 5, \
            f"the attacker saw almost no runtime process (test is vacuous): {findings!r}"


@pytest.mark.defence("sealed_exe")
def test_waiting_init_out_of_reach(sec, make_bundle, new_id, attack_bin, marker):
    """An exec'd attacker in a CREATED container goes for pid 1, the C stage
    waiting for `start`: its exe and fds are inaccessible (non-dumpable), and
    after `start` nothing it kept opens for writing."""
    rt = sec.rt
    files, hashes, sacrifice = _host_targets(sec)
    b = with_attacker(make_bundle(["sleep", "1000"], shared=True), attack_bin)
    cid = new_id("waitinit")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        res = rt("exec", "--detach", cid, *probe_args("/shared/out", marker, 2500, sacrifice))
        assert res.rc == 0, res
        read_findings(b.shared_file("out"), need_summary=False)
        time.sleep(0.8)
        assert rt("start", cid).rc == 0
        findings = read_findings(b.shared_file("out"))
    finally:
        rt("delete", "--force", cid)
    print(f"\n[attacker] {sec.defence}: {findings.summary}")
    sec.check(assert_no_escape, findings, hashes, files)
    if not sec.expect_escape:
        assert findings.exe_targets().get(1), f"the attacker never looked at pid 1: {findings!r}"
        assert "-EACCES" in findings.exe_targets()[1] or "-EPERM" in findings.exe_targets()[1], \
            f"the waiting init's /proc/1/exe was accessible: {findings!r}"


def _assert_no_host_dir(findings: Findings) -> None:
    assert not findings.escapes, "ESCAPE: " + "; ".join(findings.escapes[:5])
    dirs = [l for l in findings.kind("FDDIR 1 ")]
    assert not dirs, f"ESCAPE: the waiting init holds a host directory: {dirs}"


@pytest.mark.defence("no_host_dir_in_init")
def test_waiting_init_with_cap_sys_ptrace(sec, make_bundle, new_id, attack_bin, marker):
    """With CAP_SYS_PTRACE (docker --cap-add SYS_PTRACE) non-dumpable is no
    obstacle: the attacker reads /proc/1/exe and /proc/1/fd of the waiting init.
    The exe is the sealed memfd (not writable) and no fd is a host directory
    (the init holds an O_PATH fd of exec.fifo, not the state directory)."""
    rt = sec.rt
    files, hashes, sacrifice = _host_targets(sec)
    b = with_attacker(make_bundle(["sleep", "1000"], shared=True,
                                  edit=lambda c: _caps_plus(c, "CAP_SYS_PTRACE")), attack_bin)
    cid = new_id("ptrace")
    assert rt("create", "--bundle", b.path, cid).rc == 0
    try:
        res = rt("exec", "--detach", cid, *probe_args("/shared/out", marker, 1500, sacrifice))
        assert res.rc == 0, res
        findings = read_findings(b.shared_file("out"))
        assert rt("start", cid).rc == 0
    finally:
        rt("delete", "--force", cid)
    print(f"\n[attacker] {sec.defence}: {findings.summary}")
    sec.check(_assert_no_host_dir, findings)
    if sec.expect_escape:
        return
    assert_no_escape(findings, hashes, files)
    targets = findings.exe_targets().get(1, set())
    assert any("memfd:pyruntime-init" in t for t in targets), \
        f"with CAP_SYS_PTRACE /proc/1/exe should be readable and a sealed memfd: {findings!r}"


@pytest.mark.defence("sealed_exe")
def test_shared_pid_namespace(sec, make_bundle, new_id, attack_bin, marker):
    """Container B joins the pid namespace of container A, where the attacker
    runs: A watches B's whole setup (create, start, exec, delete) five times."""
    rt = sec.rt
    files, hashes, sacrifice = _host_targets(sec)
    a = with_attacker(make_bundle(probe_args("/shared/out", marker, 60000, sacrifice),
                                  shared=True, name="attacker"), attack_bin)
    aid = new_id("pidnsa")
    assert rt("run", "-d", "--bundle", a.path, aid).rc == 0
    bids = []
    try:
        read_findings(a.shared_file("out"), need_summary=False)
        apid = rt.state(aid)["pid"]

        def join_a(cfg):
            for ns in cfg["linux"]["namespaces"]:
                if ns["type"] == "pid":
                    ns["path"] = f"/proc/{apid}/ns/pid"
        b = make_bundle(["sleep", "1000"], edit=join_a, name="victim")
        for i in range(5):
            bid = new_id(f"pidnsb{i}")
            bids.append(bid)
            res = rt("create", "--bundle", b.path, bid)
            if res.rc != 0 and sec.weakened:
                break   # the attack already corrupted the (throw-away) C stage binary
            assert res.rc == 0, res
            assert rt("start", bid).rc == 0
            for _ in range(3):
                rt("exec", bid, "true")
            assert rt("delete", "--force", bid).rc == 0
        rt("kill", aid, "TERM")
        findings = read_findings(a.shared_file("out"))
    finally:
        for bid in bids:
            rt("delete", "--force", bid)
        rt("delete", "--force", aid)
    print(f"\n[attacker] {sec.defence}: {findings.summary}")
    sec.check(assert_no_escape, findings, hashes, files)
    if not sec.expect_escape:
        s = findings.summary
        assert s["exe_denied"] + s["exe_memfd"] >= 5, \
            f"the attacker saw almost none of B's runtime processes: {findings!r}"


def test_exec_storm_with_cap_sys_ptrace(rt, make_bundle, new_id, attack_bin, marker,
                                        runtime_bin):
    """The storm again, but the container has CAP_SYS_PTRACE (non-dumpable does
    not stop it). exec's Python stages never enter the container's pid
    namespace: the C stage forks into it, so nothing the container can see has
    the host interpreter as its exe."""
    files = installed_files(runtime_bin)
    hashes = {p: sha256(p) for p in files.values()}
    b = with_attacker(make_bundle(probe_args("/shared/out", marker, 60000), shared=True,
                                  edit=lambda c: _caps_plus(c, "CAP_SYS_PTRACE")), attack_bin)
    cid = new_id("stormpt")
    assert rt("run", "-d", "--bundle", b.path, cid).rc == 0
    try:
        read_findings(b.shared_file("out"), need_summary=False)
        for _ in range(15):
            assert rt("exec", cid, "true").rc == 0
        rt("kill", cid, "TERM")
        findings = read_findings(b.shared_file("out"))
    finally:
        rt("delete", "--force", cid)
    print(f"\n[attacker] CAP_SYS_PTRACE exec storm: {findings.summary}")
    assert_no_escape(findings, hashes, files)
