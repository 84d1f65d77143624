"""config-linux.md#masked-paths, #readonly-paths, #sysctl."""
import os

from conformance.harness import Fail, spec_test, kv, parse_multi, DEFAULT_MASKED, DEFAULT_READONLY

CL = "config-linux.md"


@spec_test(f"{CL}#masked-paths", "MUST", "`maskedPaths` (array of strings, OPTIONAL) will mask over the provided "
           "paths inside the container so that they cannot be read (the default list).")
def masked_default(t):
    sec = t.shared_probe()
    bad = []
    for p in DEFAULT_MASKED:
        if not os.path.exists(p):
            continue  # nothing to mask on this host
        st = kv(sec.get(f"stat {p}", ""))
        rd = sec.get(f"read {p} 16", "")
        if st.get("type") == "d":
            continue  # directories: checked by masked_custom (listing)
        if not (rd.startswith("ok len=0") or "error=" in rd):
            bad.append(f"{p}: {rd}")
    if bad:
        raise Fail("readable: " + "; ".join(bad))


def _masked(t):
    def run():
        def m(b):
            etc = os.path.join(b.rootfs, "etc")
            with open(os.path.join(etc, "cf-secret"), "w") as f:
                f.write("secret-content")
            os.makedirs(os.path.join(etc, "cf-secret-dir"))
            with open(os.path.join(etc, "cf-secret-dir", "inner"), "w") as f:
                f.write("x")
            b.linux["maskedPaths"] = ["/etc/cf-secret", "/etc/cf-secret-dir", "/etc/cf-not-there"]
        return parse_multi(t.probe(m, "multi", "read", "/etc/cf-secret", "::", "ls", "/etc/cf-secret-dir", "::",
                                   "open", "/etc/cf-secret-dir/inner", "r"))
    return t.shared("masked", run)


@spec_test(f"{CL}#masked-paths", "MUST", "`maskedPaths` will mask over the provided paths inside the container so "
           "that they cannot be read (a file).", name="masked_file")
def masked_file(t):
    rd = _masked(t).get("read /etc/cf-secret", "")
    if rd.startswith("ok") and not rd.startswith("ok len=0"):
        raise Fail(f"the masked file is readable: {rd}")


@spec_test(f"{CL}#masked-paths", "MUST", "`maskedPaths` will mask over the provided paths inside the container so "
           "that they cannot be read (a directory).", name="masked_dir")
def masked_dir(t):
    sec = _masked(t)
    if sec.get("ls /etc/cf-secret-dir", "").strip() or sec.get("open /etc/cf-secret-dir/inner r") == "ok":
        raise Fail(f"the masked directory's content is visible: {sec}")


@spec_test(f"{CL}#masked-paths", "MUST", "The values MUST be absolute paths in the container namespace.")
def masked_relative(t):
    b = t.checker_bundle("exit", "0")
    b.linux["maskedPaths"] = ["proc/kcore"]
    b.write()
    t.expect_error(t.run(b), "a relative masked path")


@spec_test(f"{CL}#readonly-paths", "MUST", "`readonlyPaths` (array of strings, OPTIONAL) will set the provided "
           "paths as readonly inside the container (the default list).")
def readonly_default(t):
    sec = t.shared_probe()
    bad = [p for p in DEFAULT_READONLY if os.path.exists(p) and
           "ro" not in kv(sec.get(f"statfs {p}", "")).get("flags", "").split(",")]
    if bad:
        raise Fail(f"not read-only: {bad}")


@spec_test(f"{CL}#readonly-paths", "MUST", "`readonlyPaths` will set the provided paths as readonly inside the "
           "container (a writable mount).", name="readonly_custom")
def readonly_custom(t):
    def m(b):
        b.add_mount({"destination": "/mnt/rw", "type": "tmpfs", "source": "tmpfs", "options": ["rw"]})
        b.add_mount({"destination": "/mnt/still-rw", "type": "tmpfs", "source": "tmpfs", "options": ["rw"]})
        b.linux["readonlyPaths"] = ["/mnt/rw"]
    sec = parse_multi(t.probe(m, "multi", "write", "/mnt/rw/f", "x", "::", "write", "/mnt/still-rw/f", "x"))
    if sec.get("write /mnt/rw/f x") != "error=EROFS":
        raise Fail(f"write under the read-only path: {sec.get('write /mnt/rw/f x')}")
    if sec.get("write /mnt/still-rw/f x") != "ok":
        raise Fail(f"a path not listed became read-only: {sec.get('write /mnt/still-rw/f x')}")


@spec_test(f"{CL}#readonly-paths", "MUST", "The values MUST be absolute paths in the container namespace.")
def readonly_relative(t):
    b = t.checker_bundle("exit", "0")
    b.linux["readonlyPaths"] = ["proc/sys"]
    b.write()
    t.expect_error(t.run(b), "a relative read-only path")


# -- sysctl ------------------------------------------------------------------------------------------

def _host_sysctl(key):
    try:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return None


@spec_test(f"{CL}#sysctl", "MUST", "`sysctl` (object, OPTIONAL) allows kernel parameters to be modified at "
           "runtime for the container (a network namespace parameter).")
def sysctl_net(t):
    before = _host_sysctl("net.ipv4.ip_forward")
    want = "0" if before == "1" else "1"
    out = t.probe(lambda b: b.linux.update(sysctl={"net.ipv4.ip_forward": want}), "sysctl", "net.ipv4.ip_forward")
    if out.strip() != want:
        raise Fail(f"net.ipv4.ip_forward inside is {out.strip()!r}, configured {want}")
    if _host_sysctl("net.ipv4.ip_forward") != before:
        raise Fail("the runtime's own net.ipv4.ip_forward changed")


@spec_test(f"{CL}#sysctl", "MUST", "`sysctl` (object, OPTIONAL) allows kernel parameters to be modified at "
           "runtime for the container (an IPC namespace parameter).", name="sysctl_ipc")
def sysctl_ipc(t):
    before = _host_sysctl("kernel.msgmax")
    out = t.probe(lambda b: b.linux.update(sysctl={"kernel.msgmax": "4321"}), "sysctl", "kernel.msgmax")
    if out.strip() != "4321":
        raise Fail(f"kernel.msgmax inside is {out.strip()!r}, configured 4321")
    if _host_sysctl("kernel.msgmax") != before:
        raise Fail("the host's kernel.msgmax changed")
