"""Linux security modules: process.apparmorProfile, process.selinuxLabel and
linux.mountLabel need the LSM enabled on the host. The labels themselves are
written by the C stage (pyruntime/init.c, write_attr) right before it drops
its credentials; this module only refuses early, with one clear line, what the
host cannot do (otherwise the container would silently run unconfined)."""
import os

from ..errors import HostUnsupported


def apparmor_enabled() -> bool:
    """runc's test: the module parameter says Y and procfs has the apparmor attr dir."""
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            if not f.read().startswith("Y"):
                return False
    except OSError:
        return False
    return os.path.isdir("/proc/self/attr/apparmor") or os.path.exists("/proc/self/attr/exec")


def selinux_enabled() -> bool:
    """selinuxfs mounted at /sys/fs/selinux (what libselinux checks first)."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4 and fields[4] == "/sys/fs/selinux":
                    return True
    except OSError:
        pass
    return False


def check(proc: dict, linux: dict) -> None:
    if proc.get("apparmorProfile") and not apparmor_enabled():
        raise HostUnsupported(f"process.apparmorProfile {proc['apparmorProfile']!r}: AppArmor "
                              "is not enabled on this host")
    if proc.get("selinuxLabel") and not selinux_enabled():
        raise HostUnsupported(f"process.selinuxLabel {proc['selinuxLabel']!r}: SELinux is not "
                              "enabled on this host")
    if linux.get("mountLabel") and not selinux_enabled():
        raise HostUnsupported(f"linux.mountLabel {linux['mountLabel']!r}: SELinux is not "
                              "enabled on this host")
