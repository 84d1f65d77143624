"""config.md: specification version, extensibility, valid values, annotations;
config-linux.md: personality, memory policy, network devices."""
import os
import secrets
import subprocess

from conformance.harness import Fail, Skip, spec_test, kv, parse_multi

C = "config.md"
CL = "config-linux.md"


@spec_test(f"{C}#extensibility", "MUST", "Runtimes MAY log unknown properties but MUST otherwise ignore them.")
def unknown_properties_ignored(t):
    def m(b):
        b.cfg["org.example.cfUnknownTop"] = {"x": [1, 2]}
        b.process["cfUnknownProcess"] = True
        b.linux["cfUnknownLinux"] = "x"
        b.cfg["mounts"][0]["cfUnknownMount"] = 1
        b.cfg["root"]["cfUnknownRoot"] = None
        b.cfg["hostname"] = "cf-unknown-props"
    out = t.probe(m, "uname")
    if "nodename=cf-unknown-props" not in out:
        raise Fail(f"the known properties next to unknown ones were not applied: {out!r}")


@spec_test(f"{C}#extensibility", "MUST NOT", "That includes not generating errors if they encounter an unknown "
           "property.")
def unknown_properties_no_error(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["cfUnknownTopLevel"] = "value"
    b.linux.setdefault("resources", {})["cfUnknownResource"] = {"a": 1}
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"unknown properties caused an error: {r.brief()}")


@spec_test(f"{C}#annotations", "MUST", "Runtimes MUST handle unknown annotation keys like any other unknown "
           "property.")
def annotations_unknown_keys(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["annotations"] = {"com.example.cf-unknown": "1", "org.opencontainers.image.os": "linux"}
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"unknown annotation keys caused an error: {r.brief()}")


@spec_test(f"{C}#annotations", "MAY", "Values MAY be an empty string.")
def annotations_empty_value(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["annotations"] = {"com.example.empty": ""}
    b.write()
    r = t.run(b)
    if not r.ok:
        raise Fail(f"an empty annotation value was refused: {r.brief()}")


@spec_test(f"{C}#annotations", "MUST NOT", "Keys MUST NOT be an empty string (runtimes MUST generate an error for "
           "invalid values).")
def annotations_empty_key(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["annotations"] = {"": "x"}
    b.write()
    t.expect_error(t.run(b), "an annotation with an empty key")


@spec_test(f"{C}#annotations", "MUST", "Values MUST be strings (runtimes MUST generate an error for invalid values).")
def annotations_non_string(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["annotations"] = {"com.example.number": 5}
    b.write()
    t.expect_error(t.run(b), "an annotation whose value is a number")


@spec_test(f"{C}#specification-version", "MUST", "`ociVersion` (string, REQUIRED) MUST be in SemVer v2.0.0 format "
           "(runtimes MUST generate an error for invalid values).")
def oci_version_not_semver(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["ociVersion"] = "not-a-version"
    b.write()
    t.expect_error(t.run(b), "ociVersion 'not-a-version'")


@spec_test(f"{C}#specification-version", "MUST", "`ociVersion` (string, REQUIRED): the runtime generates an error "
           "for a config of an incompatible major version (compatibility holds within major versions only).")
def oci_version_major(t):
    b = t.checker_bundle("exit", "0")
    b.cfg["ociVersion"] = "2.0.0"
    b.write()
    t.expect_error(t.run(b), "ociVersion 2.0.0")


@spec_test(f"{C}#valid-values", "MUST", "Runtimes MUST generate an error when invalid or unsupported values are "
           "encountered (a `process.user.uid` that is not an integer).")
def invalid_value_type(t):
    b = t.checker_bundle("exit", "0")
    b.process["user"]["uid"] = "root"
    b.write()
    t.expect_error(t.run(b), "process.user.uid \"root\"")


# -- personality, memory policy -------------------------------------------------------------------

@spec_test(f"{CL}#personality", "MUST", "`domain` (string, REQUIRED) - the execution domain. `LINUX32` will set the "
           "`uname` system call to show a 32 bit CPU type, such as `i686`.")
def personality_linux32(t):
    import platform
    if platform.machine() not in ("x86_64", "aarch64", "ppc64le", "s390x"):
        raise Skip(f"no 32-bit personality on {platform.machine()}")
    out = kv(t.probe(lambda b: b.linux.update(personality={"domain": "LINUX32"}), "uname").replace("\n", " "))
    if out.get("machine") == platform.machine():
        raise Fail(f"uname machine is still {out.get('machine')} under LINUX32")


@spec_test(f"{CL}#personality", "MUST", "`domain` (string, REQUIRED) - the execution domain: `LINUX`.")
def personality_linux(t):
    import platform
    out = kv(t.probe(lambda b: b.linux.update(personality={"domain": "LINUX"}), "uname").replace("\n", " "))
    if out.get("machine") != platform.machine():
        raise Fail(f"uname machine {out.get('machine')} under LINUX")


@spec_test(f"{CL}#memory-policy", "MUST", "`memoryPolicy` (object, OPTIONAL) sets the NUMA memory policy for the "
           "container (`mode`, `nodes`).")
def memory_policy(t):
    out = kv(t.probe(lambda b: b.linux.update(memoryPolicy={"mode": "MPOL_BIND", "nodes": "0"}), "mempolicy"))
    if (out.get("mode"), out.get("nodes")) != ("MPOL_BIND", "0x1"):
        raise Fail(f"memory policy inside: {out}")


# -- network devices ----------------------------------------------------------------------------------

def _veth(t, addr=None):
    if not t.host.veth_ok():
        raise Skip("cannot create veth devices in the runner's network namespace")
    name = f"cfv{secrets.token_hex(3)}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"], check=True,
                   capture_output=True)
    t.notes.append(name)
    if addr:
        subprocess.run(["ip", "addr", "add", addr, "dev", name], check=True, capture_output=True)
    return name


def _netdev(t):
    def run():
        name = _veth(t, "192.0.2.10/24")
        try:
            def m(b):
                b.linux["netDevices"] = {name: {"name": "cfmoved0"}}
                b.args("/bin/sh", "-c", "ls /sys/class/net; echo ::; cat /sys/class/net/cfmoved0/flags; echo ::; "
                       "ip -o -4 addr show dev cfmoved0")
            out = t.probe(m, "x")
        finally:
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        parts = [p.strip() for p in out.split("::")]
        return {"ifaces": parts[0].split(), "flags": parts[1] if len(parts) > 1 else "",
                "addr": parts[2] if len(parts) > 2 else "", "host_name": name}
    return t.shared("netdevices", run)


@spec_test(f"{CL}#network-devices", "MUST", "`netDevices` (object, OPTIONAL) - A set of network devices that MUST be "
           "made available in the container.")
def netdev_moved(t):
    g = _netdev(t)
    if "cfmoved0" not in g["ifaces"]:
        raise Fail(f"interfaces in the container: {g['ifaces']}")


@spec_test(f"{CL}#network-devices", "MUST", "`name` (string, OPTIONAL) - the name of the network device inside the "
           "container namespace.")
def netdev_renamed(t):
    g = _netdev(t)
    if g["host_name"] in g["ifaces"] or "cfmoved0" not in g["ifaces"]:
        raise Fail(f"interfaces in the container: {g['ifaces']}")


@spec_test(f"{CL}#network-devices", "MUST", "The runtime MUST set the network device state to \"up\" after moving "
           "it to the network namespace.")
def netdev_up(t):
    g = _netdev(t)
    try:
        up = int(g["flags"], 16) & 1
    except ValueError:
        raise Fail(f"no flags for the moved device: {g['flags']!r}")
    if not up:
        raise Fail(f"the moved device is down (flags {g['flags']})")


@spec_test(f"{CL}#network-devices", "MUST", "The runtime MUST preserve existing network interface attributes, "
           "including all permanent IP addresses of any family with global scope.")
def netdev_addresses(t):
    g = _netdev(t)
    if "192.0.2.10/24" not in g["addr"]:
        raise Fail(f"addresses of the moved device: {g['addr']!r}")


@spec_test(f"{CL}#network-devices", "MUST", "If a network device with the specified name already exists in the "
           "container namespace, the runtime MUST generate an error.")
def netdev_name_exists(t):
    name = _veth(t)
    try:
        b = t.checker_bundle("exit", "0")
        b.linux["netDevices"] = {name: {"name": "lo"}}
        b.write()
        r = t.run(b)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)
    t.expect_error(r, "moving a device under the name of one that exists (lo)")
