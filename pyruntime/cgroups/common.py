"""Helpers shared by the v1 and v2 managers: cgroup file I/O with one-line
errors, value checks and runc's v1 -> v2 conversions, process listing/killing,
mkdir -p / rmdir bookkeeping. No cgroupspy here (destroy/freeze/pids must stay
cheap)."""
import errno
import os
import time

from ..errors import CgroupError

MAX_SHARES = 262144  # kernel MAX_SHARES (1 << 18)
MIN_SHARES = 2


# -- file I/O -----------------------------------------------------------------------

def write(dirpath: str, name: str, value, field: str, shown=None) -> None:
    """Write one value (one write(2)) to dirpath/name; CgroupError names the field."""
    path = f"{dirpath}/{name}"
    data = value if isinstance(value, bytes) else str(value).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as e:
        raise CgroupError(_msg(field, value if shown is None else shown, path, e)) from None
    try:
        os.write(fd, data)
    except OSError as e:
        raise CgroupError(_msg(field, value if shown is None else shown, path, e)) from None
    finally:
        os.close(fd)


def _msg(field: str, value, path: str, e: OSError) -> str:
    v = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    v = v.strip().replace("\n", "\\n")
    return f"{field}: cannot set {v} in {path}: {e.strerror or e}"


def error(field: str, value, path: str, e: OSError) -> CgroupError:
    return CgroupError(_msg(field, value, path, e))


def read(dirpath: str, name: str) -> str:
    with open(f"{dirpath}/{name}") as f:
        return f.read()


def read_or(dirpath: str, name: str, default=None):
    try:
        return read(dirpath, name)
    except OSError:
        return default


def exists(dirpath: str, name: str) -> bool:
    return os.path.exists(f"{dirpath}/{name}")


def parse_uint(s: str) -> int:
    """A cgroup number; "max" (v2) -> -1."""
    s = s.strip()
    if s == "max":
        return -1
    return int(s)


def read_uint(dirpath: str, name: str, default: int = 0) -> int:
    try:
        return parse_uint(read(dirpath, name))
    except (OSError, ValueError):
        return default


def read_kv(dirpath: str, name: str) -> "dict[str, int]":
    """A flat keyed file ("key value" per line) -> dict; missing -> {}."""
    out = {}
    text = read_or(dirpath, name, "")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = parse_uint(parts[1])
            except ValueError:
                pass
    return out


# -- values ---------------------------------------------------------------------------

def opt_int(d: dict, key: str, field: str, lo: "int | None" = None, hi: "int | None" = None):
    """d[key] as an int (None if absent/null); CgroupError on a wrong type/range."""
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise CgroupError(f"{field}: expected an integer, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo if lo is not None else ''}..{hi if hi is not None else ''}"
        raise CgroupError(f"{field}: {v} is out of range ({rng})")
    return v


def opt_bool(d: dict, key: str, field: str):
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise CgroupError(f"{field}: expected true or false, got {v!r}")
    return v


def opt_str(d: dict, key: str, field: str):
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise CgroupError(f"{field}: expected a string, got {v!r}")
    return v


def section(res: dict, key: str, kind=dict):
    v = res.get(key)
    if v is None:
        return kind()
    if not isinstance(v, kind):
        raise CgroupError(f"linux.resources.{key}: expected {'an object' if kind is dict else 'an array'}")
    return v


def swappiness(mem: dict, field: str):
    """memory.swappiness; None when unset. Docker/moby pass -1 (and its uint64
    twin) for "unset"; runc ignores those, so do we."""
    v = mem.get("swappiness")
    if v is None or v == -1 or v == (1 << 64) - 1:
        return None
    v = opt_int(mem, "swappiness", field)
    if not 0 <= v <= 100:
        raise CgroupError(f"{field}: invalid value {v}: the valid range is 0-100")
    return v


def cpu_shares_to_weight(shares: int) -> int:
    """runc's cpu.shares [2, 262144] -> cpu.weight [1, 10000]:
    y = 1 + ((x - 2) * 9999) / 262142 (0 = unset)."""
    if shares == 0:
        return 0
    shares = min(max(shares, MIN_SHARES), MAX_SHARES)
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight: int) -> int:
    """runc's blkio.weight [10, 1000] -> io.weight [1, 10000]:
    y = 1 + (x - 10) * 9999 / 990 (0 = unset)."""
    if weight == 0:
        return 0
    weight = min(max(weight, 10), 1000)
    return 1 + (weight - 10) * 9999 // 990


def swap_to_v2(swap: int, memory: int) -> int:
    """runc's ConvertMemorySwapToCgroupV2Value: OCI memory.swap is memory+swap
    (v1 memsw); v2 memory.swap.max is swap alone. 0 = unset, -1 = unlimited.
    Raises ValueError with runc's reasons."""
    if memory == -1 and swap == 0:
        return -1  # "memory unlimited" means swap unlimited too, as on v1
    if swap in (-1, 0):
        return swap
    if memory == -1:
        return swap
    if memory == 0:
        raise ValueError("unable to set swap limit without memory limit")
    if memory < 0:
        raise ValueError(f"invalid memory value: {memory}")
    if swap < memory:
        raise ValueError("memory+swap limit should be >= memory limit")
    return swap - memory


def v2_num(v: int) -> str:
    """-1 -> "max" (cgroup v2 spelling of unlimited)."""
    return "max" if v < 0 else str(v)


def hugepage_sizes(sysfs: str = "/sys/kernel/mm/hugepages") -> "list[str]":
    """The host's huge page sizes as the cgroup files spell them ("2MB", "1GB")."""
    try:
        names = os.listdir(sysfs)
    except OSError:
        return []
    out = []
    for n in sorted(names, key=lambda n: int(n[10:-2]) if n[10:-2].isdigit() else 0):
        if n.startswith("hugepages-") and n.endswith("kB") and n[10:-2].isdigit():
            out.append(kb_to_pagesize(int(n[10:-2])))
    return out


def kb_to_pagesize(kb: int) -> str:
    """The kernel's hugetlb_cgroup file name for a page size (mm/hugetlb_cgroup.c
    mem_fmt(): GB if >= 1 GiB, else MB if >= 1 MiB, else KB)."""
    b = kb * 1024
    if b >= 1 << 30:
        return f"{b >> 30}GB"
    if b >= 1 << 20:
        return f"{b >> 20}MB"
    return f"{b >> 10}KB"


def check_pagesize(ps, field: str, sizes: "list[str] | None" = None) -> str:
    if not isinstance(ps, str) or not ps:
        raise CgroupError(f"{field}: expected a page size such as \"2MB\", got {ps!r}")
    if sizes is None:
        sizes = hugepage_sizes()
    if ps not in sizes:
        have = ", ".join(sizes) if sizes else "none"
        raise CgroupError(f"{field}: invalid hugepage size {ps!r} (this host has: {have})")
    return ps


def dev_key(entry, field: str) -> str:
    if not isinstance(entry, dict):
        raise CgroupError(f"{field}: expected an object")
    ma = opt_int(entry, "major", field + ".major", 0)
    mi = opt_int(entry, "minor", field + ".minor", 0)
    if ma is None or mi is None:
        raise CgroupError(f"{field}: major and minor are required")
    return f"{ma}:{mi}"


def list_of(res: dict, key: str, field: str) -> list:
    v = res.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise CgroupError(f"{field}: expected an array")
    return v


# -- processes ------------------------------------------------------------------------

def procs(dirpath: str) -> "list[int]":
    try:
        text = read(dirpath, "cgroup.procs")
    except OSError:
        return []
    return [int(x) for x in text.split()]


def walk_dirs(dirpath: str) -> "list[str]":
    """dirpath and every cgroup below it, parents first."""
    out = []
    stack = [dirpath]
    while stack:
        d = stack.pop()
        out.append(d)
        try:
            with os.scandir(d) as it:
                kids = [e.path for e in it if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        stack.extend(sorted(kids, reverse=True))
    return out


def procs_recursive(dirpath: str) -> "list[int]":
    seen = []
    for d in walk_dirs(dirpath):
        seen.extend(procs(d))
    return seen


def add_proc(dirpath: str, pid: int, field: str = "cgroup") -> None:
    """Write pid to dirpath/cgroup.procs; EINVAL (a task still being created)
    is retried, as runc does."""
    path = f"{dirpath}/cgroup.procs"
    last = None
    for _ in range(5):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as e:
            raise CgroupError(f"cannot join cgroup {dirpath}: {e.strerror}") from None
        try:
            os.write(fd, str(pid).encode())
            return
        except OSError as e:
            last = e
            if e.errno != errno.EINVAL:
                break
        finally:
            os.close(fd)
        time.sleep(0.03)
    raise CgroupError(f"cannot move process {pid} into cgroup {dirpath}: {last.strerror}")


def kill_pids(pids, sig: int = 9) -> None:  # SIGKILL (no `import signal`: start-up)
    me = os.getpid()
    for pid in set(pids):
        if pid == me or pid <= 1:
            continue
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def wait_empty(dirs: "list[str]", timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        if not any(procs_recursive(d) for d in dirs):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


# -- directories ------------------------------------------------------------------------

def mkdir_p(mount: str, path: str) -> "list[str]":
    """Create mount+path one component at a time; returns the dirs this call
    created (parents first). A racing rmdir of a parent (ENOENT) is retried."""
    created = []
    cur = mount.rstrip("/")
    for comp in [c for c in path.split("/") if c]:
        cur = f"{cur}/{comp}"
        for attempt in range(3):
            try:
                os.mkdir(cur, 0o755)
                created.append(cur)
                break
            except FileExistsError:
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise CgroupError(f"cannot create cgroup {cur}: parent vanished") from None
                # a parent was removed under us: recreate the chain
                sub = mkdir_p(mount, os.path.dirname(cur)[len(mount.rstrip("/")):])
                created.extend(sub)
            except OSError as e:
                raise CgroupError(f"cannot create cgroup {cur}: {e.strerror}") from None
    return created


def rmdir_tree(dirpath: str, timeout: float) -> bool:
    """rmdir dirpath and every cgroup under it, deepest first; EBUSY (exiting
    tasks) retried until timeout. True when gone (or never there)."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        busy = False
        for d in reversed(walk_dirs(dirpath)):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                if e.errno in (errno.EBUSY, errno.ENOTEMPTY, errno.EAGAIN):
                    busy = True
                else:
                    raise CgroupError(f"cannot remove cgroup {d}: {e.strerror}") from None
        if not busy or not os.path.isdir(dirpath):
            return not os.path.isdir(dirpath)
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def memory_fields(mem: dict, F: str) -> tuple:
    """linux.resources.memory, checked: (limit, reservation, swap, kernel,
    kernelTCP, swappiness, disableOOMKiller, useHierarchy, checkBeforeUpdate);
    absent numbers are 0, absent flags None."""
    return (opt_int(mem, "limit", F + ".limit") or 0,
            opt_int(mem, "reservation", F + ".reservation") or 0,
            opt_int(mem, "swap", F + ".swap") or 0,
            opt_int(mem, "kernel", F + ".kernel") or 0,
            opt_int(mem, "kernelTCP", F + ".kernelTCP") or 0,
            swappiness(mem, F + ".swappiness"),
            opt_bool(mem, "disableOOMKiller", F + ".disableOOMKiller"),
            opt_bool(mem, "useHierarchy", F + ".useHierarchy"),
            opt_bool(mem, "checkBeforeUpdate", F + ".checkBeforeUpdate"))


def hugepage_limits(res: dict) -> "list[tuple[str, str, int]]":
    """(field, page size, limit) of each linux.resources.hugepageLimits entry,
    checked against the host's page sizes."""
    entries = list_of(res, "hugepageLimits", "linux.resources.hugepageLimits")
    sizes = hugepage_sizes() if entries else []
    out = []
    for i, e in enumerate(entries):
        f = f"linux.resources.hugepageLimits[{i}]"
        if not isinstance(e, dict):
            raise CgroupError(f"{f}: expected an object")
        ps = check_pagesize(e.get("pageSize"), f + ".pageSize", sizes)
        limit = opt_int(e, "limit", f + ".limit")
        if limit is None:
            raise CgroupError(f"{f}.limit: required")
        out.append((f, ps, limit))
    return out


def blkio_fields(bio: dict, F: str) -> tuple:
    """(weight, leafWeight, weightDevice) of linux.resources.blockIO, checked
    (0 and [] when absent)."""
    weight = opt_int(bio, "weight", F + ".weight", 0, 65535) or 0
    leaf = opt_int(bio, "leafWeight", F + ".leafWeight", 0, 65535) or 0
    return weight, leaf, list_of(bio, "weightDevice", F + ".weightDevice")


def cpu_fields(cpu: dict, F: str) -> tuple:
    """linux.resources.cpu, checked: (shares, quota, period, burst,
    realtimeRuntime, realtimePeriod, idle); absent numbers are 0 (burst and
    idle: None)."""
    return (opt_int(cpu, "shares", F + ".shares", 0) or 0,
            opt_int(cpu, "quota", F + ".quota") or 0,
            opt_int(cpu, "period", F + ".period", 0) or 0,
            opt_int(cpu, "burst", F + ".burst", 0),
            opt_int(cpu, "realtimeRuntime", F + ".realtimeRuntime") or 0,
            opt_int(cpu, "realtimePeriod", F + ".realtimePeriod", 0) or 0,
            opt_int(cpu, "idle", F + ".idle"))


def try_rmdir(dirpath: str) -> bool:
    """One rmdir; True when the directory is gone (removed now or never there)."""
    try:
        os.rmdir(dirpath)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def rmdir_quiet(dirpath: str) -> None:
    """One rmdir of an ancestor we created; left alone if something else lives there."""
    try:
        os.rmdir(dirpath)
    except OSError:
        pass
