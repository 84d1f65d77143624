"""linux.seccomp: the filter compiled with libseccomp (through cffi in ABI mode:
no headers needed, only libseccomp.so.2), exported as raw BPF for the C stage,
which loads it with seccomp(2) right before exec (or, without
noNewPrivileges, before dropping its capabilities, as runc does).

SCMP_ACT_NOTIFY: the C stage loads the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER
and sends the notify fd over linux.seccomp.listenerPath (connected here, by the
runtime) together with the container process state built by listener_state().

Only imported when a config has seccomp; cffi itself is loaded on first use.
"""
import os

from ..errors import InvalidConfig, SetupError

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000,          # = KILL_THREAD, as in libseccomp and runc
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,         # | errno
    "SCMP_ACT_TRACE": 0x7FF00000,         # | msg
    "SCMP_ACT_NOTIFY": 0x7FC00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
WITH_DATA = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")
EPERM = 1
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
# seccomp(2) SECCOMP_SET_MODE_FILTER flags
FILTER_FLAG_TSYNC = 1
FILTER_FLAG_LOG = 2
FILTER_FLAG_SPEC_ALLOW = 4
FILTER_FLAG_NEW_LISTENER = 8
FILTER_FLAG_WAIT_KILLABLE_RECV = 32
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": FILTER_FLAG_TSYNC,
         "SECCOMP_FILTER_FLAG_LOG": FILTER_FLAG_LOG,
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW": FILTER_FLAG_SPEC_ALLOW,
         "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": FILTER_FLAG_WAIT_KILLABLE_RECV}
ARCHES = ("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
          "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
          "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
          "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
          "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
          "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB")
SCMP_FLTATR_CTL_OPTIMIZE = 8
NR_SCMP_ERROR = -1

_CDEF = """
typedef void *scmp_filter_ctx;
struct scmp_version { unsigned int major; unsigned int minor; unsigned int micro; };
struct scmp_arg_cmp { unsigned int arg; int op; uint64_t datum_a; uint64_t datum_b; };
scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
uint32_t seccomp_arch_resolve_name(const char *arch_name);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int seccomp_attr_set(scmp_filter_ctx ctx, int attr, uint32_t value);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
const struct scmp_version *seccomp_version(void);
"""
_lib = None
_ffi = None


def _load():
    global _lib, _ffi
    if _lib is None:
        try:
            from cffi import FFI
        except ImportError:
            from ..errors import HostUnsupported
            raise HostUnsupported("linux.seccomp: the cffi module is missing") from None
        ffi = FFI()
        ffi.cdef(_CDEF)
        try:
            lib = ffi.dlopen("libseccomp.so.2")
        except OSError:
            from ..errors import HostUnsupported
            raise HostUnsupported("linux.seccomp: libseccomp.so.2 is not installed on this "
                                  "host (apt-get install libseccomp2)") from None
        _ffi, _lib = ffi, lib
    return _ffi, _lib


def libseccomp_version() -> str:
    ffi, lib = _load()
    v = lib.seccomp_version()
    return f"{v.major}.{v.minor}.{v.micro}"


class Filter:
    """A compiled filter: ``bpf`` (struct sock_filter[]) and the seccomp(2) ``flags``."""

    def __init__(self, bpf: bytes, flags: int, listener_path: "str | None", metadata: str):
        self.bpf = bpf
        self.flags = flags
        self.listener_path = listener_path
        self.listener_metadata = metadata

    @property
    def notify(self) -> bool:
        return bool(self.flags & FILTER_FLAG_NEW_LISTENER)


def _bad(field: str, msg: str) -> InvalidConfig:
    from ..errors import ConfigError
    return InvalidConfig([ConfigError(field, msg)])


def action_value(action, errno_ret, field: str) -> int:
    if action not in ACTIONS:
        raise _bad(f"{field}.action" if field != "linux.seccomp" else
                   "linux.seccomp.defaultAction", f"unknown action {action!r}")
    base = ACTIONS[action]
    if action in WITH_DATA:
        n = EPERM if errno_ret is None else errno_ret
        if type(n) is not int or not 0 <= n <= 0xFFFF:
            what = "errnoRet" if field != "linux.seccomp" else "defaultErrnoRet"
            raise _bad(f"{field}.{what}", f"must be between 0 and 65535, got {n!r}")
        return base | n
    if errno_ret is not None:
        what = "errnoRet" if field != "linux.seccomp" else "defaultErrnoRet"
        raise _bad(f"{field}.{what}", f"{action} does not take an errno")
    return base


def compile_filter(cfg: dict) -> Filter:
    """Compile linux.seccomp into BPF. Syscall names libseccomp does not know
    (for the native architecture) are skipped, as runc does."""
    ffi, lib = _load()
    default = action_value(cfg.get("defaultAction"), cfg.get("defaultErrnoRet"),
                           "linux.seccomp")
    notify = cfg.get("defaultAction") == "SCMP_ACT_NOTIFY"
    flags = 0
    for i, f in enumerate(cfg.get("flags") or ()):
        if f not in FLAGS:
            raise _bad(f"linux.seccomp.flags[{i}]", f"unknown flag {f!r}")
        flags |= FLAGS[f]
    ctx = lib.seccomp_init(default)
    if ctx == ffi.NULL:
        raise SetupError("linux.seccomp: libseccomp could not create a filter "
                         f"(defaultAction {cfg.get('defaultAction')})")
    try:
        for i, arch in enumerate(cfg.get("architectures") or ()):
            token = 0
            if isinstance(arch, str) and arch.startswith("SCMP_ARCH_"):
                token = lib.seccomp_arch_resolve_name(arch[10:].lower().encode())
            if not token:
                raise _bad(f"linux.seccomp.architectures[{i}]",
                           f"unknown architecture {arch!r} (libseccomp "
                           f"{libseccomp_version()})")
            r = lib.seccomp_arch_add(ctx, token)
            if r < 0 and r != -17:  # EEXIST: the native one
                raise SetupError(f"linux.seccomp.architectures[{i}]: cannot add {arch}: "
                                 f"{os.strerror(-r).lower()}")
        for i, rule in enumerate(cfg.get("syscalls") or ()):
            field = f"linux.seccomp.syscalls[{i}]"
            act = action_value(rule.get("action"), rule.get("errnoRet"), field)
            if rule.get("action") == "SCMP_ACT_NOTIFY":
                notify = True
                if "write" in (rule.get("names") or ()):
                    # the runtime's C stage reports on a pipe after loading the filter
                    raise _bad(f"{field}.names", "SCMP_ACT_NOTIFY cannot be used for write")
            conds = _conditions(ffi, rule.get("args") or (), field)
            if act == default:
                continue  # libseccomp refuses rules that repeat the default (runc skips them)
            for name in rule.get("names") or ():
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == NR_SCMP_ERROR:
                    continue  # unknown to libseccomp: ignored, like runc
                for group in conds:
                    arr = ffi.new("struct scmp_arg_cmp[]", group) if group else ffi.NULL
                    r = lib.seccomp_rule_add_array(ctx, act, nr, len(group), arr)
                    if r < 0:
                        if nr < 0:
                            break  # a pseudo-syscall of no architecture in the filter
                        raise SetupError(f"{field}: cannot add a rule for {name}: "
                                         f"{os.strerror(-r).lower()}")
        if len(cfg.get("syscalls") or ()) > 8:
            lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)  # binary tree; best effort
        bpf = _export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)
    if notify:
        flags |= FILTER_FLAG_NEW_LISTENER
        # single-threaded C stage: TSYNC is moot, and the kernel refuses it with
        # NEW_LISTENER (unless TSYNC_ESRCH)
        flags &= ~FILTER_FLAG_TSYNC
    else:
        flags &= ~FILTER_FLAG_WAIT_KILLABLE_RECV  # only meaningful (and valid) with a listener
    return Filter(bpf, flags, cfg.get("listenerPath") or None if notify else None,
                  cfg.get("listenerMetadata") or "")


def _conditions(ffi, args, field: str) -> "list[list[tuple]]":
    """The rule's argument comparisons -> groups, one rule per group. As in runc:
    all in one rule, unless an argument index repeats (then one rule each)."""
    conds = []
    counts: "dict[int, int]" = {}
    for j, a in enumerate(args):
        op = a.get("op")
        if op not in OPERATORS:
            raise _bad(f"{field}.args[{j}].op", f"unknown operator {op!r}")
        idx = a.get("index")
        if type(idx) is not int or not 0 <= idx <= 5:
            raise _bad(f"{field}.args[{j}].index", f"must be between 0 and 5, got {idx!r}")
        conds.append((idx, OPERATORS[op], int(a.get("value", 0)) & (2**64 - 1),
                      int(a.get("valueTwo", 0)) & (2**64 - 1)))
        counts[idx] = counts.get(idx, 0) + 1
    if not conds:
        return [[]]
    if any(n > 1 for n in counts.values()):
        return [[c] for c in conds]
    return [conds]


def _export(lib, ctx) -> bytes:
    fd = os.memfd_create("pyruntime-seccomp", os.MFD_CLOEXEC)
    try:
        r = lib.seccomp_export_bpf(ctx, fd)
        if r < 0:
            raise SetupError(f"linux.seccomp: cannot export the filter: {os.strerror(-r).lower()}")
        size = os.fstat(fd).st_size
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while size > 0:
            b = os.read(fd, size)
            if not b:
                break
            chunks.append(b)
            size -= len(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def connect_listener(path: str) -> int:
    """A connected AF_UNIX SOCK_STREAM fd (close-on-exec) to linux.seccomp.listenerPath."""
    from .terminal import connect_unix
    return connect_unix(path, "linux.seccomp.listenerPath", SetupError)


def listener_state(filt: Filter, pid: int, state: dict) -> bytes:
    """The container process state sent with the notify fd (config-linux.md)."""
    from ..jsonfast import dumps
    out = {"ociVersion": state.get("ociVersion", ""), "fds": ["seccompFd"], "pid": pid}
    if filt.listener_metadata:
        out["metadata"] = filt.listener_metadata
    out["state"] = state
    data = dumps(out)
    return data.encode() if isinstance(data, str) else data


def known_arches() -> "list[str]":
    """The SCMP_ARCH_* names the installed libseccomp resolves."""
    ffi, lib = _load()
    return [a for a in ARCHES if lib.seccomp_arch_resolve_name(a[10:].lower().encode())]


def supported_flags() -> "list[str]":
    """The flags of FLAGS this kernel accepts: seccomp(SECCOMP_SET_MODE_FILTER,
    flag, NULL) fails with EFAULT for a known flag and EINVAL for an unknown one
    (runc's probe). WAIT_KILLABLE_RECV is only valid with NEW_LISTENER."""
    from cffi import FFI
    ffi = FFI()
    ffi.cdef("long syscall(long number, ...);")
    libc = ffi.dlopen(None)
    import platform
    nr = {"x86_64": 317, "aarch64": 277, "i686": 354, "i386": 354, "ppc64le": 358,
          "s390x": 348, "riscv64": 277, "armv7l": 383}.get(platform.machine())
    if nr is None:
        return []
    out = []
    for name, flag in FLAGS.items():
        if flag == FILTER_FLAG_WAIT_KILLABLE_RECV:
            flag |= FILTER_FLAG_NEW_LISTENER
        r = libc.syscall(ffi.cast("long", nr), ffi.cast("long", 1), ffi.cast("long", flag),
                         ffi.cast("void *", 0))
        if r < 0 and ffi.errno == 14:  # EFAULT: the flag passed, the NULL filter did not
            out.append(name)
    return out
