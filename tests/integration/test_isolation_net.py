"""linux.netDevices: a host interface (one end of a veth pair the test makes)
moved into the container's network namespace, renamed, up, with its permanent
global addresses kept; errors for a missing device and a name clash."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess

import pytest

from support.checks import assert_one_line_error, wait_for


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


@pytest.fixture
def veth():
    """(name, peer): a veth pair on the host, with an IPv4 and an IPv6 address on
    ``name``; removed at the end if the container did not take it with it."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is needed")
    tag = secrets.token_hex(3)
    name, peer = f"pyrt{tag}a", f"pyrt{tag}b"
    res = _ip("link", "add", name, "type", "veth", "peer", "name", peer, check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot create a veth pair here: {res.stderr.strip()}")
    try:
        _ip("addr", "add", "10.213.7.5/24", "dev", name)
        _ip("addr", "add", "fd42:7::5/64", "dev", name, "nodad")
        yield name, peer
    finally:
        for n in (name, peer):
            if _exists(n):
                _ip("link", "del", n, check=False)
        # a device moved into a container's namespace dies with it (asynchronously)
        wait_for(lambda: not _exists(peer), timeout=10, what=f"{peer} to disappear")


def _run(rt, b, cid):
    return rt("run", "--bundle", b.path, cid)


SCRIPT = ("ls /sys/class/net; echo ---; cat /sys/class/net/{n}/flags; echo ---; "
          "ip -o addr show dev {n}")


def test_net_device_moved_renamed_up_with_addresses(rt, make_bundle, new_id, veth):
    name, peer = veth
    b = make_bundle(["sh", "-c", SCRIPT.format(n="ctr0")],
                    lambda c: c["linux"].update(netDevices={name: {"name": "ctr0"}}))
    res = _run(rt, b, new_id("netdev"))
    assert res.rc == 0, res
    links, flags, addrs = [s.strip() for s in res.out.split("---")]
    assert sorted(links.split()) == ["ctr0", "lo"]
    assert int(flags, 16) & 0x1, "the device is not up"
    assert "inet 10.213.7.5/24" in addrs and "scope global" in addrs, addrs
    assert "inet6 fd42:7::5/64" in addrs, addrs
    assert not _exists(name), "the device is still on the host"


def test_net_device_keeps_its_name(rt, make_bundle, new_id, veth):
    name, _ = veth
    b = make_bundle(["ls", "/sys/class/net"],
                    lambda c: c["linux"].update(netDevices={name: {}}))
    res = _run(rt, b, new_id("netdevn"))
    assert res.rc == 0, res
    assert sorted(res.out.split()) == sorted(["lo", name])


def test_net_device_name_template(rt, make_bundle, new_id, veth):
    name, _ = veth
    b = make_bundle(["ls", "/sys/class/net"],
                    lambda c: c["linux"].update(netDevices={name: {"name": "ctr%d"}}))
    res = _run(rt, b, new_id("netdevt"))
    assert res.rc == 0, res
    assert sorted(res.out.split()) == ["ctr0", "lo"]


def test_missing_net_device_is_an_error(rt, make_bundle, new_id):
    missing = f"pyrtno{secrets.token_hex(2)}"
    b = make_bundle(["true"], lambda c: c["linux"].update(netDevices={missing: {}}))
    cid = new_id("netdevm")
    line = assert_one_line_error(_run(rt, b, cid), missing)
    assert "netDevices" in line
    assert rt("state", cid).rc != 0


def test_name_clash_in_the_container_is_an_error(rt, make_bundle, new_id, veth):
    name, _ = veth
    b = make_bundle(["true"], lambda c: c["linux"].update(netDevices={name: {"name": "lo"}}))
    cid = new_id("netdevc")
    line = assert_one_line_error(_run(rt, b, cid), r"already exists")
    assert name in line
    assert rt("state", cid).rc != 0
    assert _exists(name), "a refused device must stay on the host"
