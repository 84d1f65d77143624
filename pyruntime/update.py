"""`update`: a LinuxResources object from --resources (a file or - for stdin),
or else runc's individual flags. As in runc, when --resources is given the
flags are ignored (runc's update.go reads them only without --resources; its
help says "all other options are ignored"); we say so in a warning."""
import sys

from .errors import ConfigError, InvalidArgument, InvalidConfig

# flag -> (section, key, kind)
FLAGS = {
    "memory": ("memory", "limit", "bytes"),
    "memory_swap": ("memory", "swap", "bytes"),
    "memory_reservation": ("memory", "reservation", "bytes"),
    "kernel_memory": ("memory", "kernel", "bytes"),
    "kernel_memory_tcp": ("memory", "kernelTCP", "bytes"),
    "cpu_share": ("cpu", "shares", "int"),   # runc's spelling (--cpu-share)
    "cpu_shares": ("cpu", "shares", "int"),
    "cpu_quota": ("cpu", "quota", "int"),
    "cpu_period": ("cpu", "period", "int"),
    "cpu_rt_period": ("cpu", "realtimePeriod", "int"),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", "int"),
    "cpuset_cpus": ("cpu", "cpus", "str"),
    "cpuset_mems": ("cpu", "mems", "str"),
    "pids_limit": ("pids", "limit", "int"),
    "blkio_weight": ("blockIO", "weight", "int"),
}
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


def parse_bytes(value: str, flag: str) -> int:
    """"512m", "1g", "1048576", "-1" (unlimited)."""
    v = value.strip().lower()
    if v == "-1":
        return -1
    num = v.rstrip("kmgtb")
    unit = v[len(num):]
    try:
        n = float(num)
    except ValueError:
        raise InvalidArgument(f"--{flag.replace('_', '-')}: invalid size {value!r}") from None
    if unit not in _UNITS or n < 0:
        raise InvalidArgument(f"--{flag.replace('_', '-')}: invalid size {value!r}")
    return int(n * _UNITS[unit])


def resources_from_flags(opts: dict) -> dict:
    res: dict = {}
    src = opts.get("resources")
    if src:
        res = _load_resources(src)
        ignored = [f for f in FLAGS if f in opts]
        if ignored:
            from . import log
            log.warning("update: --resources given, so (as in runc) these flags are ignored: "
                        + ", ".join("--" + f.replace("_", "-") for f in ignored))
        return res
    for flag, (section, key, kind) in FLAGS.items():
        if flag not in opts:
            continue
        raw = opts[flag]
        if kind == "bytes":
            val = parse_bytes(raw, flag)
        elif kind == "int":
            try:
                val = int(raw)
            except ValueError:
                raise InvalidArgument(f"--{flag.replace('_', '-')}: {raw!r} is not an "
                                      "integer") from None
        else:
            val = raw
        res.setdefault(section, {})[key] = val
    if not res:
        raise InvalidArgument("update: nothing to update (give --resources or a resource flag)")
    return res


def _load_resources(src: str) -> dict:
    from .jsonfast import JSONError, loads
    name = "stdin" if src == "-" else src
    try:
        if src == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(src, "rb") as f:
                raw = f.read()
        res = loads(raw)
    except OSError as e:
        raise InvalidConfig([ConfigError("", (e.strerror or str(e)).lower(), file=name)]) from None
    except JSONError as e:
        raise InvalidConfig([ConfigError("", str(e), file=name)]) from None
    if not isinstance(res, dict):
        raise InvalidConfig([ConfigError("", "must be a LinuxResources JSON object", file=name)])
    from .validation import validate_resources
    errors = validate_resources(res, file=name)
    if errors:
        raise InvalidConfig(errors)
    return res
