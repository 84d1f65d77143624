"""Per-process scheduling properties that survive execve: process.scheduler
(sched_setattr), process.ioPriority (ioprio_set), process.execCPUAffinity
(initial: here; final: a mask the C stage applies after joining the cgroup) and
linux.personality.

Imported before pivot_root / setns(mnt) (process.preimport): it must not import
anything lazily.
"""
import os

from ..errors import SetupError
from . import shim

POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
            "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
               "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_SHIFT = 13
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}
PERSONALITY_FLAGS = {"UNAME26": 0x0020000, "ADDR_NO_RANDOMIZE": 0x0040000,
                     "FDPIC_FUNCPTRS": 0x0080000, "MMAP_PAGE_ZERO": 0x0100000,
                     "ADDR_COMPAT_LAYOUT": 0x0200000, "READ_IMPLIES_EXEC": 0x0400000,
                     "ADDR_LIMIT_32BIT": 0x0800000, "SHORT_INODE": 0x1000000,
                     "WHOLE_SECONDS": 0x2000000, "STICKY_TIMEOUTS": 0x4000000,
                     "ADDR_LIMIT_3GB": 0x8000000}
MAX_CPUS = 8192  # the C stage takes masks of up to 1024 bytes


def parse_cpus(cpus: str, field: str) -> "set[int]":
    """``"0-3,7"`` -> {0, 1, 2, 3, 7}; SetupError naming ``field`` if malformed."""
    out: "set[int]" = set()
    text = (cpus or "").strip()
    if not text:
        raise SetupError(f"{field}: empty CPU list")
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise SetupError(f"{field}: invalid CPU list {cpus!r} (use e.g. 0-3,7)") from None
        if a < 0 or b < a or b >= MAX_CPUS:
            raise SetupError(f"{field}: invalid CPU range {part!r} in {cpus!r}")
        out.update(range(a, b + 1))
    return out


def affinity_mask(cpus: str, field: str = "process.execCPUAffinity.final") -> bytes:
    """A cpu_set_t-style mask: bit N of byte N//8 is CPU N, padded to whole
    unsigned longs (what sched_setaffinity(2) reads)."""
    ids = parse_cpus(cpus, field)
    nbytes = (max(ids) // 64 + 1) * 8
    mask = bytearray(nbytes)
    for c in ids:
        mask[c // 8] |= 1 << (c % 8)
    return bytes(mask)


def _check(ret: int, field: str, what: str) -> None:
    if ret < 0:
        raise SetupError(f"{field}: {what}: {os.strerror(-ret).lower()}")


def set_scheduler(s: dict) -> None:
    field = "process.scheduler"
    policy = s.get("policy")
    if policy not in POLICIES:
        raise SetupError(f"{field}.policy: unknown policy {policy!r}")
    flags = 0
    for i, f in enumerate(s.get("flags") or ()):
        if f not in SCHED_FLAGS:
            raise SetupError(f"{field}.flags[{i}]: unknown flag {f!r}")
        flags |= SCHED_FLAGS[f]
    r = shim.lib.shim_sched_setattr(POLICIES[policy], flags, int(s.get("nice") or 0),
                                    int(s.get("priority") or 0), int(s.get("runtime") or 0),
                                    int(s.get("deadline") or 0), int(s.get("period") or 0))
    _check(r, field, f"sched_setattr({policy})")


def set_io_priority(io: dict) -> None:
    field = "process.ioPriority"
    cls = io.get("class")
    if cls not in IOPRIO_CLASSES:
        raise SetupError(f"{field}.class: unknown class {cls!r}")
    prio = int(io.get("priority") or 0)
    if not 0 <= prio <= 7:
        raise SetupError(f"{field}.priority: must be between 0 and 7, got {prio}")
    r = shim.lib.shim_ioprio_set(IOPRIO_WHO_PROCESS, 0,
                                 (IOPRIO_CLASSES[cls] << IOPRIO_CLASS_SHIFT) | prio)
    _check(r, field, f"ioprio_set({cls}, {prio})")


def set_personality(p: dict) -> None:
    domain = p.get("domain")
    if domain not in PERSONALITY_DOMAINS:
        raise SetupError(f"linux.personality.domain: unknown domain {domain!r} "
                         "(LINUX or LINUX32)")
    persona = PERSONALITY_DOMAINS[domain]
    for i, f in enumerate(p.get("flags") or ()):
        if f not in PERSONALITY_FLAGS:
            raise SetupError(f"linux.personality.flags[{i}]: unknown flag {f!r}")
        persona |= PERSONALITY_FLAGS[f]
    r = shim.lib.shim_personality(persona)
    _check(r, "linux.personality", "personality")


def apply(proc: dict, personality: "dict | None") -> None:
    """Apply to the calling process what persists across execve."""
    if proc.get("scheduler"):
        set_scheduler(proc["scheduler"])
    if proc.get("ioPriority"):
        set_io_priority(proc["ioPriority"])
    initial = (proc.get("execCPUAffinity") or {}).get("initial")
    if initial:
        field = "process.execCPUAffinity.initial"
        try:
            os.sched_setaffinity(0, parse_cpus(initial, field))
        except OSError as e:
            raise SetupError(f"{field}: sched_setaffinity({initial}): "
                             f"{e.strerror.lower()}") from None
    if personality:
        set_personality(personality)
