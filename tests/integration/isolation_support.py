"""Helpers for the isolation tests (tests/integration/test_isolation_*.py).

* ``probe`` (fixture): path of a tiny static C program, built once per session,
  that a test copies into a bundle's rootfs (``install_probe``) to look at what
  busybox cannot: clocks, the session keyring, raw syscalls.
* ``status_fields(text)``: ``/proc/<pid>/status`` as a dict.
* ``UsernsHolder``: a process sitting in its own user namespace with given
  mappings (to test joining a user namespace by path).
* ``sections(out)``: output split on ``---`` lines.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import time

import pytest

from support.reaper import get_reaper

PROBE_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static int keyring(void)
{
    /* KEYCTL_GET_KEYRING_ID(KEY_SPEC_SESSION_KEYRING, create=0), KEYCTL_DESCRIBE */
    long id = syscall(SYS_keyctl, 0, -3, 0, 0, 0);
    if (id < 0) { printf("error %d\n", errno); return 1; }
    char buf[512];
    long n = syscall(SYS_keyctl, 6, id, buf, sizeof buf - 1, 0);
    if (n < 0) { printf("%ld describe-error %d\n", id, errno); return 1; }
    buf[n < (long)sizeof buf ? n : (long)sizeof buf - 1] = 0;
    printf("%ld %s\n", id, buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "clocks")) {
        struct timespec m, b;
        clock_gettime(CLOCK_MONOTONIC, &m);
        clock_gettime(CLOCK_BOOTTIME, &b);
        printf("%lld %lld\n", (long long)m.tv_sec, (long long)b.tv_sec);
        return 0;
    }
    if (!strcmp(argv[1], "keyring")) return keyring();
    if (!strcmp(argv[1], "mkdir") && argc > 2) {
        /* the raw syscall, its return value and errno */
        long r = syscall(SYS_mkdir, argv[2], 0755);
        printf("%ld %d\n", r, r < 0 ? errno : 0);
        return 0;
    }
    if (!strcmp(argv[1], "getpid")) {
        long r = syscall(SYS_getpid);
        printf("%ld\n", r);
        return 0;
    }
    return 2;
}
"""


@pytest.fixture(scope="session")
def probe(session_dir) -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler for the probe helper")
    d = os.path.join(session_dir, "cache", "probe")
    out = os.path.join(d, "probe")
    if not os.path.exists(out):
        os.makedirs(d, exist_ok=True)
        src = os.path.join(d, "probe.c")
        with open(src, "w") as f:
            f.write(PROBE_C)
        res = subprocess.run([cc, "-static", "-O2", "-o", out, src], capture_output=True,
                             text=True)
        if res.returncode != 0:
            pytest.skip(f"cannot build the static probe helper: {res.stderr.strip()[:200]}")
    return out


def install_probe(bundle, probe_path: str) -> str:
    """Copy the probe into the bundle's rootfs as /probe; returns the in-container path."""
    dst = os.path.join(bundle.rootfs, "probe")
    shutil.copy2(probe_path, dst)
    os.chmod(dst, 0o755)
    return "/probe"


def status_fields(text: str) -> "dict[str, str]":
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


def proc_status(pid: int) -> "dict[str, str]":
    with open(f"/proc/{pid}/status") as f:
        return status_fields(f.read())


def sections(out: str) -> "list[list[str]]":
    secs: "list[list[str]]" = [[]]
    for line in out.splitlines():
        if line == "---":
            secs.append([])
        else:
            secs[-1].append(line)
    return secs


def cap_mask(names) -> int:
    from pyruntime.linux.process import CAP_NUMBER
    m = 0
    for n in names:
        m |= 1 << CAP_NUMBER[n]
    return m


def writable_tmp(cfg: dict) -> dict:
    """A tmpfs at /tmp (the default root is read-only)."""
    cfg["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                          "options": ["nosuid", "nodev", "mode=1777"]})
    return cfg


CLONE_NEWUSER = 0x10000000


class UsernsHolder:
    """A process (`sleep`) alone in a new user namespace with the given mappings;
    ``path`` is its /proc/<pid>/ns/user. Use as a context manager."""

    def __init__(self, uid_map: str, gid_map: str) -> None:
        self.uid_map = uid_map
        self.gid_map = gid_map
        self.proc = None

    def __enter__(self) -> "UsernsHolder":
        unshare = shutil.which("unshare")
        if unshare is None:
            pytest.skip("util-linux unshare is needed")
        self.proc = get_reaper().spawn([unshare, "--user", "sleep", "1000"],
                                       stdin=subprocess.DEVNULL)
        pid = self.proc.pid
        mine = os.stat("/proc/self/ns/user").st_ino
        deadline = time.monotonic() + 10
        while True:
            try:
                if os.stat(f"/proc/{pid}/ns/user").st_ino != mine:
                    break
            except FileNotFoundError:
                raise AssertionError("the user namespace holder died") from None
            if time.monotonic() > deadline:
                raise AssertionError("the user namespace holder did not unshare")
            time.sleep(0.01)
        with open(f"/proc/{pid}/uid_map", "w") as f:
            f.write(self.uid_map)
        with open(f"/proc/{pid}/gid_map", "w") as f:
            f.write(self.gid_map)
        return self

    @property
    def path(self) -> str:
        return f"/proc/{self.proc.pid}/ns/user"

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def libc():
    return ctypes.CDLL(None, use_errno=True)


def session_keyring_id() -> int:
    """This process's session keyring id (KEYCTL_GET_KEYRING_ID, create=0)."""
    SYS_keyctl = 250  # x86_64
    r = libc().syscall(SYS_keyctl, 0, ctypes.c_long(-3), 0, 0, 0)
    return r
