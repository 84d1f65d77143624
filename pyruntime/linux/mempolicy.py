"""linux.memoryPolicy: the NUMA memory policy (set_mempolicy(2)), applied to the
container's process before exec (the policy survives execve)."""
from ..errors import SetupError

MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
         "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14,
         "MPOL_F_STATIC_NODES": 1 << 15}
F = "linux.memoryPolicy"


def parse_nodes(spec: str) -> "list[int]":
    nodes: "list[int]" = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi) if hi else int(lo)
        except ValueError:
            raise SetupError(f"{F}.nodes: invalid node list {spec!r}") from None
        if a < 0 or b < a:
            raise SetupError(f"{F}.nodes: invalid node range {part!r}")
        nodes.extend(range(a, b + 1))
    return nodes


def apply(policy: dict) -> None:
    from . import shim
    mode_name = policy.get("mode")
    if mode_name not in MODES:
        raise SetupError(f"{F}.mode: unknown mode {mode_name!r}")
    mode = MODES[mode_name]
    for f in policy.get("flags") or ():
        if f not in FLAGS:
            raise SetupError(f"{F}.flags: unknown flag {f!r}")
        mode |= FLAGS[f]
    nodes = parse_nodes(policy.get("nodes") or "")
    words = max(nodes) // 64 + 1 if nodes else 1
    mask = shim.ffi.new("unsigned long[]", words)
    for n in nodes:
        mask[n // 64] |= 1 << (n % 64)
    r = shim.lib.shim_set_mempolicy(mode, mask if nodes else shim.ffi.NULL,
                                    words * 64 + 1 if nodes else 0)
    if r < 0:
        import os
        raise SetupError(f"{F}: set_mempolicy({mode_name}, nodes {policy.get('nodes') or '-'}): "
                         f"{os.strerror(-r).lower()}")
