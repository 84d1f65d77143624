"""A process to put into a test cgroup. Reads commands on stdin, one per line,
answers one line on stdout each:

    ping                -> pong
    open PATH MODE      -> ok | err ERRNO          (MODE: r, w, rw)
    fork N              -> forked K [err ERRNO]    (children wait for `reap`)
    reap                -> ok
    alloc MB            -> ok                      (touches every page; may be OOM-killed)
    spin PATH           -> ok   (a thread increments a counter in the mmap'd file PATH)
    mkcg DIR            -> ok | err ERRNO          (mkdir DIR, move self into DIR/cgroup.procs)
    exit                -> (exits 0)
"""
import mmap
import os
import struct
import sys
import threading

children = []
hold = []


def reply(s: str) -> None:
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


def spin(path: str) -> None:
    fd = os.open(path, os.O_RDWR)
    mm = mmap.mmap(fd, 8)
    n = 0
    while True:
        n += 1
        struct.pack_into("<Q", mm, 0, n)


def main() -> None:
    rfd, wfd = os.pipe()
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        op = cmd[0]
        if op == "ping":
            reply("pong")
        elif op == "open":
            flags = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}[cmd[2]]
            try:
                os.close(os.open(cmd[1], flags | os.O_NONBLOCK | os.O_NOCTTY))
                reply("ok")
            except OSError as e:
                reply(f"err {e.errno}")
        elif op == "fork":
            k, err = 0, ""
            for _ in range(int(cmd[1])):
                try:
                    pid = os.fork()
                except OSError as e:
                    err = f" err {e.errno}"
                    break
                if pid == 0:
                    os.close(wfd)
                    os.read(rfd, 1)
                    os._exit(0)
                children.append(pid)
                k += 1
            reply(f"forked {k}{err}")
        elif op == "reap":
            os.close(wfd)
            for pid in children:
                os.waitpid(pid, 0)
            children.clear()
            rfd, wfd = os.pipe()
            reply("ok")
        elif op == "alloc":
            size = int(cmd[1]) << 20
            buf = bytearray(size)
            for i in range(0, size, 4096):
                buf[i] = 1
            hold.append(buf)
            reply("ok")
        elif op == "spin":
            threading.Thread(target=spin, args=(cmd[1],), daemon=True).start()
            reply("ok")
        elif op == "mkcg":
            try:
                os.mkdir(cmd[1])
                with open(os.path.join(cmd[1], "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
                reply("ok")
            except OSError as e:
                reply(f"err {e.errno}")
        elif op == "exit":
            reply("bye")
            return
        else:
            reply("unknown")


if __name__ == "__main__":
    main()
