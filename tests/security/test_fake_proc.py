"""A fake /proc (CVE-2019-16884, CVE-2025-52881 class): a tmpfs or a bind mount
at /proc, or over a part of it, in config.mounts, so that the sysctl writes
of the runtime go elsewhere -- into a file of the host, or into ANOTHER procfs
file (a global sysctl of the host). The runtime must refuse: /proc must be
procfs, and each sysctl file must be on the container's own /proc mount.
"""
from __future__ import annotations

import os

import pytest

from support.checks import assert_one_line_error

SYSCTL = "/proc/sys/fs/lease-break-time"


def _fake_tree(d: str) -> str:
    p = os.path.join(d, "sys", "net", "ipv4")
    os.makedirs(p)
    for name in ("ip_forward", "lease-break-time"):
        open(os.path.join(p, name), "w").close()
    return d


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


@pytest.mark.defence("procfs_check")
def test_fake_proc_refused(sec, make_bundle, new_id, testdir):
    rt = sec.rt
    host_before = _read(SYSCTL)
    fake = _fake_tree(os.path.join(testdir, "fakeproc"))
    # (name, mounts to add/replace, sysctl)
    cases = [
        ("tmpfs-at-proc", {"destination": "/proc", "type": "tmpfs", "source": "tmpfs"},
         {"net.ipv4.ip_forward": "1"}),
        ("bind-at-proc", {"destination": "/proc", "type": "bind", "source": fake,
                          "options": ["rbind"]}, {"net.ipv4.ip_forward": "1"}),
        ("bind-at-proc-sys", {"destination": "/proc/sys", "type": "bind",
                              "source": os.path.join(fake, "sys"), "options": ["rbind"]},
         {"net.ipv4.ip_forward": "1"}),
        ("bind-at-proc-sys-net", {"destination": "/proc/sys/net/ipv4", "type": "bind",
                                  "source": os.path.join(fake, "sys", "net", "ipv4"),
                                  "options": ["rbind"]}, {"net.ipv4.ip_forward": "1"}),
        # procfs over procfs: the "network" sysctl is the host's global fs one
        ("proc-on-proc", {"destination": "/proc/sys/net/ipv4", "type": "bind",
                          "source": "/proc/sys/fs", "options": ["rbind"]},
         {"net.ipv4.lease-break-time": str(int(host_before) + 5)}),
    ]
    results = []
    try:
        for name, mount, sysctl in cases:
            def edit(c, mount=mount, sysctl=sysctl):
                if mount["destination"] == "/proc":
                    c["mounts"][0] = mount
                else:
                    c["mounts"].insert(1, mount)
                c["linux"]["sysctl"] = sysctl
            b = make_bundle(["true"], edit=edit, name=name)
            cid = new_id(name)
            res = rt("run", "--bundle", b.path, cid)
            rt("delete", "--force", cid)
            results.append((name, res))
        host_after = _read(SYSCTL)
        fake_files = {n: _read(os.path.join(fake, "sys", "net", "ipv4", n))
                      for n in ("ip_forward", "lease-break-time")}
    finally:
        if _read(SYSCTL) != host_before:
            with open(SYSCTL, "w") as f:
                f.write(host_before)

    def no_redirect():
        assert host_after == host_before, \
            f"ESCAPE: a sysctl write reached the host's {SYSCTL}: {host_after!r}"
        assert not any(fake_files.values()), f"sysctl writes went to a fake /proc: {fake_files}"
        ok = [name for name, res in results if res.rc == 0]
        assert not ok, f"accepted a /proc that is not the container's procfs: {ok}"
    sec.check(no_redirect)
    if not sec.expect_escape:
        for name, res in results:
            assert_one_line_error(res, "procfs", "proc")
