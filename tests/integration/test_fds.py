"""File descriptors: ``--preserve-fds N`` passes fds 3..3+N-1; nothing else leaks in."""
from __future__ import annotations

import os
import shlex

# the fds of the init (a shell) while ls, its child, runs; the trailing "true"
# keeps busybox ash from exec'ing ls in place of itself
LIST_FDS = "ls /proc/1/fd; true"


def _with_fds(rt, testdir, args, fd3: "str | None", fd4: "str | None", **kw):
    """Run the runtime with fd 3 / fd 4 open (not close-on-exec) on files."""
    redirs = []
    for fd, content in ((3, fd3), (4, fd4)):
        if content is not None:
            path = os.path.join(testdir, f"fd{fd}.txt")
            with open(path, "w") as f:
                f.write(content)
            redirs.append(f"{fd}<{shlex.quote(path)}")
    script = f'exec "$@" {" ".join(redirs)}'
    return rt(*args, argv=["/bin/sh", "-c", script, "sh"] + rt.argv(args), **kw)


def test_preserve_fds_passes_fd3_and_nothing_else(rt, make_bundle, new_id, testdir):
    b = make_bundle(["sh", "-c", f"cat <&3; echo ---; {LIST_FDS}"])
    cid = new_id("pfd")
    res = _with_fds(rt, testdir, ["run", "--preserve-fds", "1", "--bundle", b.path, cid],
                    "from-fd-3\n", "from-fd-4\n")
    assert res.rc == 0, res
    content, _, fds = res.out.partition("---\n")
    assert content == "from-fd-3\n"
    assert sorted(fds.split(), key=int) == ["0", "1", "2", "3"], \
        f"fds open in the container: {fds.split()}"


def test_without_preserve_fds_only_stdio(rt, make_bundle, new_id, testdir):
    b = make_bundle(["sh", "-c", LIST_FDS])
    cid = new_id("nofd")
    res = _with_fds(rt, testdir, ["run", "--bundle", b.path, cid], "from-fd-3\n", "from-fd-4\n")
    assert res.rc == 0, res
    assert sorted(res.out.split(), key=int) == ["0", "1", "2"], \
        f"fds open in the container: {res.out.split()}"


def test_preserve_fds_with_create_and_start(rt, make_bundle, new_id, testdir, reaper):
    b = make_bundle(["sh", "-c", f"cat <&3; echo ---; {LIST_FDS}"])
    cid = new_id("pfdc")
    out_path = os.path.join(testdir, "container.out")
    with open(out_path, "w") as out:   # create's stdout becomes the container's
        res = _with_fds(rt, testdir, ["create", "--preserve-fds=1", "--bundle", b.path, cid],
                        "created-fd-3\n", "from-fd-4\n", stdout=out)
    assert res.rc == 0, res
    pid = rt.state(cid)["pid"]
    assert rt("start", cid).rc == 0
    assert reaper.wait_pid(pid) == 0
    with open(out_path) as f:
        content, _, fds = f.read().partition("---\n")
    assert content == "created-fd-3\n"
    assert sorted(fds.split(), key=int) == ["0", "1", "2", "3"], fds
    rt.wait_status(cid, "stopped")
    assert rt("delete", cid).rc == 0


def test_the_fd_trampoline_really_opens_fd3_and_fd4(rt, testdir):
    """Guards the tests above against passing vacuously."""
    script = 'exec "$@" 3<"$0" 4<"$0"'
    path = os.path.join(testdir, "f")
    open(path, "w").close()
    res = rt(argv=["/bin/sh", "-c", script, path, "/bin/ls", "/proc/self/fd"])
    assert res.rc == 0, res
    assert {"3", "4"} <= set(res.out.split())
