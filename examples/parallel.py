#!/usr/bin/env python3
"""Ten containers in parallel, from ten threads, all from one bundle.

Each container writes its own ID to its stdout (a pipe per container) and to a
directory of the host bind-mounted into all of them, sleeps a second and exits
with a status of its own. ``Runtime.run`` (create, start, wait, delete) runs in
a thread per container; the script collects every exit status and output and
asserts them, and that the ten really ran at the same time. Run as root from a
checkout:

    python3 examples/parallel.py
"""
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from _busybox import busybox_rootfs, require_root

from pyruntime import Bundle, ConfigBuilder, Runtime

N = 10


def main() -> None:
    require_root()
    work = tempfile.mkdtemp(prefix="pyruntime-parallel-")
    try:
        # the rootfs at <bundle>/rootfs: the default root.path of every config below
        busybox_rootfs(os.path.join(work, "bundle", "rootfs"))
        shared = os.path.join(work, "shared")
        os.mkdir(shared)
        bundle = Bundle.create(os.path.join(work, "bundle"))
        rt = Runtime(root=os.path.join(work, "state"))

        def one(i: int) -> "tuple[str, int, str]":
            cid = f"par-{i}"
            cfg = (ConfigBuilder().mount("/out", shared, options=("rbind", "rw"))
                   .env("ID", cid).hostname(cid)
                   .args("sh", "-c", f'echo "$ID" > /out/$ID; echo "$(hostname)"; '
                                     f'sleep 1; exit {20 + i}'))
            r, w = os.pipe()
            try:   # the config given here is used instead of the bundle's config.json
                status = rt.run(cid, bundle, config=cfg.build(), stdout=w)
            finally:
                os.close(w)
            with os.fdopen(r) as f:
                return cid, status, f.read().strip()

        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=N) as pool:
            results = list(pool.map(one, range(N)))
        elapsed = time.monotonic() - t0

        for i, (cid, status, out) in enumerate(results):
            print(f"  {cid}: exit status {status}, said {out!r}")
            assert status == 20 + i, (cid, status)
            assert out == cid, (cid, out)
            with open(os.path.join(shared, cid)) as f:
                assert f.read().strip() == cid
        assert sorted(os.listdir(shared)) == sorted(c for c, _, _ in results)
        assert elapsed < N * 1.0 * 0.6, f"not parallel: {elapsed:.1f}s for {N} x 1s"
        assert not rt.list(), "containers left behind"
        print(f"parallel: OK ({N} containers in {elapsed:.1f}s, every exit status collected)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
