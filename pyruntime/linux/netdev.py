"""linux.netDevices (runtime-spec 1.3): move host network interfaces into the
container's network namespace, renamed when asked, keeping their permanent
global addresses, and set them up. Plain rtnetlink over _socket/struct: no `ip`.

Runs in the runtime process (create.py, once the init has reported "R" and
before it is let go): the host-side socket moves the device (RTM_NEWLINK with
IFLA_NET_NS_FD + IFLA_IFNAME); a second netlink socket, created while this
thread has briefly entered the container's network namespace, re-adds the
addresses and brings the link up there.
"""
import os
import struct

from ..errors import SetupError
from . import shim

NETLINK_ROUTE = 0
AF_NETLINK = 16
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR = 16, 18, 20, 22
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x200, 0x400, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_IFNAME, IFLA_NET_NS_FD = 3, 28
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST, IFA_FLAGS = 1, 2, 4, 8
IFA_F_PERMANENT = 0x80
IFA_SETTABLE_FLAGS = 0x02 | 0x10 | 0x100 | 0x200 | 0x400  # NODAD HOMEADDRESS MANAGETEMP..
IFF_UP = 0x1
RT_SCOPE_UNIVERSE = 0
AF_UNSPEC = 0

_HDR = struct.Struct("=IHHII")       # nlmsghdr
_IFI = struct.Struct("=BxHiII")      # ifinfomsg
_IFA = struct.Struct("=BBBBI")       # ifaddrmsg
_RTA = struct.Struct("=HH")          # rtattr


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attr(kind: int, data: bytes) -> bytes:
    n = _RTA.size + len(data)
    return _RTA.pack(n, kind) + data + b"\0" * (_align(n) - n)


def _attrs(buf: bytes, off: int, end: int) -> "dict[int, bytes]":
    out = {}
    while off + _RTA.size <= end:
        n, kind = _RTA.unpack_from(buf, off)
        if n < _RTA.size:
            break
        out[kind & 0x3FFF] = buf[off + _RTA.size:off + n]
        off += _align(n)
    return out


class Netlink:
    """A blocking NETLINK_ROUTE socket in the namespace it was created in."""

    def __init__(self) -> None:
        import _socket
        self.sock = _socket.socket(AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC,
                                   NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    @classmethod
    def in_netns(cls, ns_fd: int) -> "Netlink":
        """A socket bound to the network namespace ``ns_fd`` (this thread enters it
        for the socket() call only)."""
        orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            shim.setns(ns_fd, shim.CLONE_NEWNET)
            try:
                return cls()
            finally:
                shim.setns(orig, shim.CLONE_NEWNET)
        finally:
            os.close(orig)

    def close(self) -> None:
        self.sock.close()

    def _send(self, mtype: int, flags: int, body: bytes) -> int:
        self.seq += 1
        self.sock.send(_HDR.pack(_HDR.size + len(body), mtype, flags | NLM_F_REQUEST,
                                 self.seq, 0) + body)
        return self.seq

    def request(self, mtype: int, body: bytes, flags: int = 0) -> None:
        """Send one request and wait for its ack; OSError(errno) on a kernel error."""
        seq = self._send(mtype, flags | NLM_F_ACK, body)
        while True:
            buf = self.sock.recv(65536)
            off = 0
            while off + _HDR.size <= len(buf):
                n, t, _f, s, _p = _HDR.unpack_from(buf, off)
                if n < _HDR.size:
                    raise OSError(71, "bad netlink message")
                if s == seq and t == NLMSG_ERROR:
                    err = struct.unpack_from("=i", buf, off + _HDR.size)[0]
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return
                off += _align(n)

    def dump(self, mtype: int, body: bytes) -> "list[tuple[int, bytes]]":
        """-> [(message type, payload)] of a NLM_F_DUMP request."""
        seq = self._send(mtype, NLM_F_DUMP, body)
        out = []
        while True:
            buf = self.sock.recv(1 << 16)
            off = 0
            while off + _HDR.size <= len(buf):
                n, t, _f, s, _p = _HDR.unpack_from(buf, off)
                if n < _HDR.size:
                    raise OSError(71, "bad netlink message")
                if s == seq:
                    if t == NLMSG_DONE:
                        return out
                    if t == NLMSG_ERROR:
                        err = struct.unpack_from("=i", buf, off + _HDR.size)[0]
                        raise OSError(-err, os.strerror(-err))
                    out.append((t, buf[off + _HDR.size:off + n]))
                off += _align(n)

    def links(self) -> "dict[int, str]":
        """{ifindex: name} of every link in this socket's namespace."""
        out = {}
        for t, msg in self.dump(RTM_GETLINK, _IFI.pack(AF_UNSPEC, 0, 0, 0, 0)):
            if t != RTM_NEWLINK:
                continue
            _fam, _type, index, _flags, _change = _IFI.unpack_from(msg, 0)
            name = _attrs(msg, _IFI.size, len(msg)).get(IFLA_IFNAME, b"")
            out[index] = name.rstrip(b"\0").decode(errors="replace")
        return out

    def permanent_addresses(self, index: int) -> "list[tuple]":
        """(family, prefixlen, flags, attrs) of the link's permanent global addresses."""
        out = []
        for t, msg in self.dump(RTM_GETADDR, _IFA.pack(AF_UNSPEC, 0, 0, 0, 0)):
            if t != RTM_NEWADDR:
                continue
            fam, plen, flags, scope, idx = _IFA.unpack_from(msg, 0)
            if idx != index or scope != RT_SCOPE_UNIVERSE:
                continue
            attrs = _attrs(msg, _IFA.size, len(msg))
            if IFA_FLAGS in attrs:
                flags = struct.unpack("=I", attrs[IFA_FLAGS][:4])[0]
            if not flags & IFA_F_PERMANENT:
                continue
            out.append((fam, plen, flags, attrs))
        return out

    def add_address(self, index: int, addr: tuple) -> None:
        fam, plen, flags, attrs = addr
        body = _IFA.pack(fam, plen, flags & 0xFF & IFA_SETTABLE_FLAGS, RT_SCOPE_UNIVERSE, index)
        for kind in (IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST):
            if kind in attrs:
                body += _attr(kind, attrs[kind])
        if flags & IFA_SETTABLE_FLAGS:
            body += _attr(IFA_FLAGS, struct.pack("=I", flags & IFA_SETTABLE_FLAGS))
        try:
            self.request(RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_EXCL)
        except FileExistsError:
            pass

    def set_up(self, index: int) -> None:
        self.request(RTM_NEWLINK, _IFI.pack(AF_UNSPEC, 0, index, IFF_UP, IFF_UP))


def move(netdevices: dict, pid: int) -> None:
    """Move every host interface named in linux.netDevices into the network
    namespace of ``pid``."""
    import _socket
    if not netdevices:
        return
    try:
        ns_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise SetupError(f"linux.netDevices: cannot open the container's network namespace: "
                         f"{e.strerror.lower()}") from None
    host = target = None
    try:
        host = Netlink()
        target = Netlink.in_netns(ns_fd)
        for hostname, spec in netdevices.items():
            where = f'linux.netDevices["{hostname}"]'
            newname = (spec or {}).get("name") or hostname
            try:
                index = _socket.if_nametoindex(hostname)
            except OSError:
                raise SetupError(f"{where}: no network device {hostname!r} on the host") \
                    from None
            addrs = host.permanent_addresses(index)
            before = target.links()
            if "%d" not in newname and newname in before.values():
                raise SetupError(f"{where}: a device named {newname!r} already exists in the "
                                 "container's network namespace")
            body = _IFI.pack(AF_UNSPEC, 0, index, 0, 0) + \
                _attr(IFLA_NET_NS_FD, struct.pack("=i", ns_fd)) + \
                _attr(IFLA_IFNAME, newname.encode() + b"\0")
            try:
                host.request(RTM_NEWLINK, body)
            except OSError as e:
                raise SetupError(f"{where}: cannot move {hostname} into the container as "
                                 f"{newname}: {os.strerror(e.errno).lower()}") from None
            moved = [i for i in target.links() if i not in before]
            if len(moved) != 1:
                raise SetupError(f"{where}: moved {hostname}, but cannot find it in the "
                                 "container's network namespace")
            try:
                for a in addrs:
                    target.add_address(moved[0], a)
                target.set_up(moved[0])
            except OSError as e:
                raise SetupError(f"{where}: cannot configure {newname} in the container: "
                                 f"{os.strerror(e.errno).lower()}") from None
    except OSError as e:
        raise SetupError(f"linux.netDevices: rtnetlink: {os.strerror(e.errno or 5).lower()}") \
            from None
    finally:
        for s in (host, target):
            if s is not None:
                s.close()
        os.close(ns_fd)
