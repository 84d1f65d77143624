"""`events`: container statistics as runc prints them, once (--stats) or every
--interval, plus {"type":"oom"} when the container hits its memory limit."""
import sys
import time

from .errors import ContainerNotRunning, InvalidArgument


def parse_interval(s: str) -> float:
    s = s.strip()
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if s.endswith(suffix):
            try:
                v = float(s[: -len(suffix)]) * mult
            except ValueError:
                break
            if v > 0:
                return v
            break
    raise InvalidArgument(f"--interval {s!r}: use a duration like 5s or 500ms")


def _stats(data: dict) -> dict:
    """runc's types.Stats always has these two (no omitempty); we have no RDT or
    network statistics, so they are empty, as runc prints them without RDT and
    for a container in a network namespace it did not set up."""
    data.setdefault("intel_rdt", {})
    data.setdefault("network_interfaces", None)
    return data


def events(c, stats_once: bool = False, interval: str = "5s") -> int:
    from .jsonfast import dumps
    period = parse_interval(interval)
    if stats_once:
        sys.stdout.write(dumps({"type": "stats", "id": c.id, "data": _stats(c.stats())}) + "\n")
        sys.stdout.flush()
        return 0
    mgr = c._require_cgroup()
    ooms = mgr.oom_count()
    next_stats = 0.0
    while True:
        # An OOM kill of the init stops the container: read the OOM count once
        # more after seeing "stopped", so that last oom event is not lost.
        stopped = c.status == "stopped"
        now = time.monotonic()
        try:
            n = mgr.oom_count()
            if n > ooms:
                sys.stdout.write(dumps({"type": "oom", "id": c.id}) + "\n")
                ooms = n
            if not stopped and now >= next_stats:
                sys.stdout.write(dumps({"type": "stats", "id": c.id,
                                        "data": _stats(mgr.stats())}) + "\n")
                next_stats = now + period
            sys.stdout.flush()
        except ContainerNotRunning:
            return 0
        except OSError:
            if stopped or c.status == "stopped":
                return 0
            raise
        if stopped:
            return 0
        time.sleep(min(period, 0.25))
    return 0  # pragma: no cover
