"""cgroup v2 device filter: compile a devices.State (see devices.py) into a
BPF_PROG_TYPE_CGROUP_DEVICE program, as runc's devicefilter package and crun's
ebpf.c do, and load/attach it through the bpf(2) wrappers in ebpf.c.

The program sees ``struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
u32 minor; }`` in R1, access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*,
and returns 1 (allow) or 0 (deny)::

    r2 = ctx->access_type & 0xffff     ; device type
    r3 = ctx->access_type >> 16        ; requested access
    r4 = ctx->major ; r5 = ctx->minor
    for each exception:                ; one block, jumps to the next on mismatch
        if r2 != TYPE goto next
        r1 = r3 & MASK ; if r1 (==|!=) 0 goto next     ; access test (see below)
        if r4 != MAJOR goto next       ; (left out for *)
        if r5 != MINOR goto next       ; (left out for *)
        r0 = VERDICT ; exit
    r0 = DEFAULT ; exit

The access test mirrors the v1 kernel: default-deny exceptions must grant every
requested bit (MASK = ~granted, continue if r1 != 0); default-allow exceptions
deny when any requested bit is listed (MASK = listed, continue if r1 == 0).
"""
from __future__ import annotations

import os
import struct

from ..errors import CgroupError
from .devices import M, R, RWM, W, State

# struct bpf_insn opcodes
BPF_LDX_MEM_W = 0x61   # BPF_LDX | BPF_MEM | BPF_W
BPF_ALU32_AND_K = 0x54
BPF_ALU32_RSH_K = 0x74
BPF_ALU32_MOV_K = 0xB4
BPF_ALU32_MOV_X = 0xBC
BPF_JMP_JEQ_K = 0x15
BPF_JMP_JNE_K = 0x55
BPF_JMP_EXIT = 0x95

BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE = 1, 2, 4
BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR = 1, 2
BPF_F_ALLOW_MULTI = 2
LICENSE = b"Apache\0"


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def bpf_access(bits: int) -> int:
    """devices.py access bits (r=1 w=2 m=4) -> BPF_DEVCG_ACC_* bits."""
    out = 0
    if bits & R:
        out |= BPF_DEVCG_ACC_READ
    if bits & W:
        out |= BPF_DEVCG_ACC_WRITE
    if bits & M:
        out |= BPF_DEVCG_ACC_MKNOD
    return out


def program(state: State) -> bytes:
    """The instructions (8 bytes each) enforcing `state`."""
    head = [
        insn(BPF_LDX_MEM_W, dst=2, src=1, off=0),
        insn(BPF_ALU32_AND_K, dst=2, imm=0xFFFF),
        insn(BPF_LDX_MEM_W, dst=3, src=1, off=0),
        insn(BPF_ALU32_RSH_K, dst=3, imm=16),
        insn(BPF_LDX_MEM_W, dst=4, src=1, off=4),
        insn(BPF_LDX_MEM_W, dst=5, src=1, off=8),
    ]
    blocks = []
    all_bpf = bpf_access(RWM)
    for ex in state.exceptions:
        if ex.type not in ("c", "b"):
            raise CgroupError(f"devices: internal error: exception of type {ex.type!r}")
        # each entry: (opcode, dst, src, imm) with a jump to "next block" as off=None
        b = [(BPF_JMP_JNE_K, 2, 0, BPF_DEVCG_DEV_CHAR if ex.type == "c" else BPF_DEVCG_DEV_BLOCK)]
        acc = bpf_access(ex.access)
        if state.default_allow:
            if acc != all_bpf:  # (any request overlaps rwm)
                b += [(BPF_ALU32_MOV_X, 1, 3, 0), (BPF_ALU32_AND_K, 1, 0, acc), (BPF_JMP_JEQ_K, 1, 0, 0)]
        elif acc != all_bpf:  # (every request is inside rwm)
            b += [(BPF_ALU32_MOV_X, 1, 3, 0), (BPF_ALU32_AND_K, 1, 0, all_bpf & ~acc),
                  (BPF_JMP_JNE_K, 1, 0, 0)]
        if ex.major is not None:
            b.append((BPF_JMP_JNE_K, 4, 0, ex.major))
        if ex.minor is not None:
            b.append((BPF_JMP_JNE_K, 5, 0, ex.minor))
        verdict = 0 if state.default_allow else 1
        b += [(BPF_ALU32_MOV_K, 0, 0, verdict), (BPF_JMP_EXIT, 0, 0, 0)]
        blocks.append(b)
    out = list(head)
    for b in blocks:
        n = len(b)
        for i, (code, dst, src, imm) in enumerate(b):
            if code in (BPF_JMP_JNE_K, BPF_JMP_JEQ_K):
                # jump past the rest of this block: off counts from the next insn
                out.append(insn(code, dst=dst, src=src, off=n - i - 1, imm=imm))
            else:
                out.append(insn(code, dst=dst, src=src, imm=imm))
    out.append(insn(BPF_ALU32_MOV_K, dst=0, imm=1 if state.default_allow else 0))
    out.append(insn(BPF_JMP_EXIT))
    return b"".join(out)


def run(prog: bytes, dtype: str, major: int, minor: int, access: int) -> int:
    """A tiny interpreter for the instructions program() emits (tests use it to
    check the compiled program against devices.State.allows)."""
    acc_type = (bpf_access(access) << 16) | (BPF_DEVCG_DEV_CHAR if dtype == "c" else BPF_DEVCG_DEV_BLOCK)
    ctx = [acc_type, major, minor]
    reg = [0] * 11
    reg[1] = -1  # pointer to ctx (only used as a base)
    pc, n = 0, len(prog) // 8
    steps = 0
    while pc < n:
        steps += 1
        if steps > 100000:
            raise RuntimeError("runaway program")
        code, regs, off, imm = struct.unpack_from("<BBhi", prog, pc * 8)
        dst, src = regs & 0xF, regs >> 4
        pc += 1
        if code == BPF_LDX_MEM_W:
            assert src == 1 and off % 4 == 0
            reg[dst] = ctx[off // 4] & 0xFFFFFFFF
        elif code == BPF_ALU32_AND_K:
            reg[dst] = (reg[dst] & imm) & 0xFFFFFFFF
        elif code == BPF_ALU32_RSH_K:
            reg[dst] = (reg[dst] & 0xFFFFFFFF) >> imm
        elif code == BPF_ALU32_MOV_K:
            reg[dst] = imm & 0xFFFFFFFF
        elif code == BPF_ALU32_MOV_X:
            reg[dst] = reg[src] & 0xFFFFFFFF
        elif code == BPF_JMP_JNE_K:
            if reg[dst] != imm:
                pc += off
        elif code == BPF_JMP_JEQ_K:
            if reg[dst] == imm:
                pc += off
        elif code == BPF_JMP_EXIT:
            return reg[0]
        else:
            raise ValueError(f"unknown opcode {code:#x}")
    raise ValueError("program fell off the end")


# -- loading (bpf(2) through pyruntime._shim) ------------------------------------------

# Tests (and builds without the lead's shim) may set this to (ffi, lib) of a
# module compiled from ebpf.c/ebpf.cdef alone.
SHIM = None


def _shim():
    if SHIM is not None:
        return SHIM
    try:
        from .. import _shim
    except ImportError as e:
        raise CgroupError(f"linux.resources.devices: the C shim (pyruntime._shim) is not built: {e}") from None
    if not hasattr(_shim.lib, "pyrt_ebpf_load_cgroup_dev"):
        raise CgroupError("linux.resources.devices: pyruntime._shim lacks the eBPF functions (rebuild it)")
    return _shim.ffi, _shim.lib


def attach(dirpath: str, prog: bytes) -> None:
    """Load `prog` and attach it to the cgroup dirpath, then detach the device
    programs that were there before (an update replaces, never stacks)."""
    ffi, lib = _shim()
    field = "linux.resources.devices"
    try:
        cg = os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise CgroupError(f"{field}: cannot open {dirpath}: {e.strerror}") from None
    try:
        old_ids, old_flags = _query(ffi, lib, cg)
        log = ffi.new("char[]", 65536)
        fd = lib.pyrt_ebpf_load_cgroup_dev(prog, len(prog) // 8, LICENSE, log, 65536)
        if fd < 0:
            detail = ffi.string(log).decode(errors="replace").strip().splitlines()
            tail = f" (verifier: {detail[-1]})" if detail else ""
            raise CgroupError(f"{field}: cannot load the device filter program: {os.strerror(-fd)}{tail}")
        try:
            flags = BPF_F_ALLOW_MULTI
            if old_ids and not old_flags & BPF_F_ALLOW_MULTI:
                flags = old_flags  # someone attached without MULTI: same flags replace it
            rc = lib.pyrt_ebpf_attach_cgroup_dev(fd, cg, flags)
            if rc < 0:
                raise CgroupError(f"{field}: cannot attach the device filter to {dirpath}: {os.strerror(-rc)}")
        finally:
            os.close(fd)
        if flags & BPF_F_ALLOW_MULTI:
            for pid in old_ids:
                ofd = lib.pyrt_ebpf_prog_fd_by_id(pid)
                if ofd < 0:
                    continue  # already gone
                try:
                    rc = lib.pyrt_ebpf_detach_cgroup_dev(ofd, cg)
                finally:
                    os.close(ofd)
                if rc < 0 and rc != -2:  # ENOENT: detached meanwhile
                    raise CgroupError(f"{field}: cannot detach the old device filter from {dirpath}: "
                                      f"{os.strerror(-rc)}")
    finally:
        os.close(cg)


def _query(ffi, lib, cg: int):
    cap = 64
    while True:
        ids = ffi.new("uint32_t[]", cap)
        cnt = ffi.new("uint32_t *", cap)
        flags = ffi.new("uint32_t *", 0)
        rc = lib.pyrt_ebpf_query_cgroup_dev(cg, ids, cnt, flags)
        if rc == -28 and cnt[0] > cap:  # ENOSPC
            cap = cnt[0]
            continue
        if rc < 0:
            raise CgroupError(f"linux.resources.devices: cannot list the device programs: {os.strerror(-rc)}")
        return [ids[i] for i in range(cnt[0])], flags[0]


def attached_count(dirpath: str) -> int:
    """How many device programs are attached directly to dirpath (tests)."""
    ffi, lib = _shim()
    cg = os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return len(_query(ffi, lib, cg)[0])
    finally:
        os.close(cg)
