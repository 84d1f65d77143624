"""Host devices: even a container given CAP_MKNOD (and CAP_SYSLOG) cannot
open host devices through nodes it makes (the kernel log, loop-control),
because the default device rules (devices cgroup / eBPF filter) allow only the
standard devices (mknod itself is refused). The self-test weakens the CONFIG
(an "allow all" device rule, as a privileged container has) to show that the
test does see the devices open then. (Block devices are not used: this test
VM refuses to open its disk even to the host's root.)"""
from __future__ import annotations

import os

import pytest


# host devices a root process here can open, none of them allowed by default:
# the kernel log (a host secret; CAP_SYSLOG) and loop-control (loop devices)
DEVICES = [("kmsg", 1, 11, "head -c 64"), ("loopctl", 10, 237, "head -c 0")]


@pytest.mark.parametrize("allow_all", [False, True], ids=["default-rules", "allow-all"])
def test_host_devices_unusable_with_cap_mknod(allow_all, rt, make_bundle, new_id):
    if allow_all and os.environ.get("PYRT_SECURITY_SELFTEST", "") in ("", "0"):
        pytest.skip("self-test only (PYRT_SECURITY_SELFTEST=1)")
    script = ""
    for name, major, minor, read in DEVICES:
        script += (f"mknod /dev/x{name} c {major} {minor} && echo MADE-{name}; "
                   f"[ -c /dev/x{name} ] && {read} /dev/x{name} >/dev/null && "
                   f"echo OPENED-{name}; ")
    script += "echo DONE"

    def edit(c):
        caps = c["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] = sorted(set(caps[k]) | {"CAP_MKNOD", "CAP_SYSLOG", "CAP_DAC_OVERRIDE"})
        if allow_all:
            c["linux"]["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
    b = make_bundle(["sh", "-c", script], edit=edit)
    cid = new_id("hostdisk")
    res = rt("run", "--bundle", b.path, cid)
    rt("delete", "--force", cid)
    assert "DONE" in res.out, res
    opened = [l for l in res.out.splitlines() if l.startswith("OPENED-")]
    if allow_all:
        assert len(opened) == len(DEVICES), \
            f"with an allow-all device rule the devices should open: {res!r}"
        print(f"\n[self-test] allow-all device rule: the test saw {opened}")
    else:
        assert not opened, f"ESCAPE: the container opened host devices: {opened}"
