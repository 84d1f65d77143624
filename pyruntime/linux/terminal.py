"""Terminals: the container's pty is created inside the container (its devpts),
and the master is sent to the caller over --console-socket (SCM_RIGHTS), with the
pty's name as payload, as runc does."""
import fcntl
import os
import struct

TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430
TIOCGPTPEER = 0x5441
TIOCSCTTY = 0x540E


def open_pty() -> "tuple[int, int, str]":
    """(master, slave, slave path) from the current root's /dev/ptmx."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    n = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))[0]
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    return master, slave, f"/dev/pts/{n}"


def set_size(fd: int, size: "dict | None") -> None:
    """process.consoleSize {height, width} on the pty (TIOCSWINSZ)."""
    if not size:
        return
    import termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ,
                struct.pack("HHHH", int(size.get("height", 0)), int(size.get("width", 0)), 0, 0))


def send_fd(sock_fd: int, fd: int, name: str) -> None:
    import _socket as socket
    s = socket.socket(fileno=os.dup(sock_fd))
    try:
        s.sendmsg([name.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))])
    finally:
        s.close()


def recv_fd(sock) -> int:
    """Receive one fd sent with send_fd (used by `run` with its own pty relay)."""
    import _socket as socket
    msg, anc, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            return struct.unpack("i", data[:4])[0]
    raise OSError("no file descriptor received on the console socket")


def connect_unix(path: str, what: str, error: type) -> int:
    """A connected AF_UNIX SOCK_STREAM fd (close-on-exec) to ``path``; a failure
    raises ``error`` naming ``what`` (the flag or field that gave the path)."""
    import _socket
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise error(f"{what} {path}: cannot connect: {(e.strerror or str(e)).lower()}") from None
    return s.detach()


def connect_console_socket(path: str) -> int:
    from ..errors import InvalidArgument
    return connect_unix(path, "--console-socket", InvalidArgument)


def make_controlling(slave: int, ctty: bool = True) -> None:
    """stdio = the pty slave, and (ctty) it becomes our controlling terminal."""
    for i in (0, 1, 2):
        os.dup2(slave, i)
    if ctty:
        fcntl.ioctl(0, TIOCSCTTY, 0)
    if slave > 2:
        os.close(slave)
