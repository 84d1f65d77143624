#!/usr/bin/env python3
"""One container with resource limits, its output captured through a pipe.

The container gets 32 MiB of memory and at most 16 tasks. Inside, a shell
tries what the limits forbid and reports on its stdout, which is a pipe this
script reads:

  * a  8 MiB allocation succeeds, a 64 MiB one is killed by the OOM killer;
  * of 30 background processes, only the ones the pids limit allows start.

The script asserts all that, and what the cgroup says from outside
(``Container.stats()``) while the container runs. Run as root from a checkout:

    python3 examples/limits.py
"""
import os
import shutil
import tempfile

from _busybox import busybox_rootfs, require_root

from pyruntime import Bundle, ConfigBuilder, Runtime

MEMORY = 32 << 20
PIDS = 16

SCRIPT = """
dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; echo "small: $?"
dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo "big: $?"
# a fork bomb in a child shell: it dies at the first fork the pids limit refuses
sh -c 'for i in $(seq 30); do sleep 60 & done' 2>/dev/null
set -- /proc/[0-9]*        # builtins only from here on: no fork is left
echo "tasks: $#"
read go                    # wait until the host has looked at the cgroup
kill -9 -1                 # PID 1 of the container: kills everything else
echo done
"""


def main() -> None:
    require_root()
    work = tempfile.mkdtemp(prefix="pyruntime-limits-")
    try:
        rootfs = busybox_rootfs(os.path.join(work, "rootfs"))
        cfg = ConfigBuilder().args("sh", "-c", SCRIPT).memory_limit(MEMORY).pids_limit(PIDS)
        bundle = Bundle.create(os.path.join(work, "bundle"), rootfs=rootfs, config=cfg)
        assert bundle.validate() == [], bundle.validate()

        rt = Runtime(root=os.path.join(work, "state"))
        out_r, out_w = os.pipe()           # the container's stdout and stderr
        in_r, in_w = os.pipe()             # its stdin
        with rt.create("limits", bundle, stdin=in_r, stdout=out_w, stderr=out_w) as c:
            os.close(out_w)                # the container holds the only write end now
            os.close(in_r)
            c.start()
            out = os.fdopen(out_r)
            lines = [out.readline().strip() for _ in range(3)]
            print("container said:", *lines, sep="\n  ")
            stats = c.stats()              # from the host, while it runs
            os.write(in_w, b"go\n")
            os.close(in_w)
            rest = out.read().split()
            status = c.wait()
        assert status == 0, status
        assert rest == ["done"], rest
        assert lines[0] == "small: 0", lines
        assert lines[1] == "big: 137", lines        # 128 + SIGKILL: the OOM killer
        tasks = int(lines[2].split(": ")[1])
        assert PIDS - 3 <= tasks < PIDS, tasks       # the failed fork's shell is gone
        assert stats["memory"]["usage"]["limit"] == MEMORY, stats["memory"]["usage"]
        assert stats["pids"]["limit"] == PIDS, stats["pids"]
        assert stats["pids"]["current"] == tasks, (stats["pids"], tasks)
        assert stats["memory"]["usage"]["failcnt"] > 0 or stats["memory"]["usage"]["max"] > 0
        assert not rt.list(), "the container was not deleted"
        print(f"limits: OK (memory {MEMORY >> 20} MiB: the big allocation was OOM-killed; "
              f"pids {PIDS}: the fork bomb stopped at {tasks} tasks)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
