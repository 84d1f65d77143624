"""linux.resources.devices: rule parsing and an emulator of the cgroup v1
devices controller (security/device_cgroup.c), so that both versions enforce
the same thing:

* v1: the emulated target state is compared with devices.list and only the
  difference is written (an `update` of a running container never passes
  through "deny everything");
* v2: the emulated state is compiled into an eBPF program (devicefilter.py).

Semantics (the kernel's, and runc's devices emulator): rules apply in order,
starting from "deny all". A rule for every device (type "a" or absent, no
major/minor) with access "rwm" resets: default allow/deny, exceptions cleared.
Any other rule, when it has the same verdict as the default, removes access
bits from an exception with exactly the same type/major/minor; otherwise it
adds (merges into) an exception. A request is allowed
- in default-deny: iff an exception matches it and grants ALL requested bits;
- in default-allow: iff no exception matches it with ANY requested bit.
A rule of type "a" that is not a reset stands for the same rule on "c" and "b".
"""
from ..errors import CgroupError

# access bits (cgroupspy's DeviceAccess uses the same: r=1 w=2 m=4)
R, W, M = 1, 2, 4
RWM = R | W | M
_ACC = {"r": R, "w": W, "m": M}


def access_str(bits: int) -> str:
    return "".join(c for c, b in (("r", R), ("w", W), ("m", M)) if bits & b)


def parse_access(s, field: str) -> int:
    if s is None or s == "":
        return RWM  # the spec makes access optional; the kernel's default is rwm
    if not isinstance(s, str):
        raise CgroupError(f"{field}: expected a string of r, w, m, got {s!r}")
    bits = 0
    for c in s:
        if c not in _ACC:
            raise CgroupError(f"{field}: invalid device access {s!r} (expected a combination of r, w, m)")
        bits |= _ACC[c]
    return bits


class Rule:
    """One device rule; major/minor None = wildcard (*)."""

    __slots__ = ("allow", "type", "major", "minor", "access")

    def __init__(self, allow: bool, type: str, major, minor, access: int):
        self.allow, self.type, self.major, self.minor, self.access = allow, type, major, minor, access

    @property
    def key(self):
        return (self.type, self.major, self.minor)

    def is_reset(self) -> bool:
        return self.type == "a" and self.major is None and self.minor is None and self.access == RWM

    def cgroup_string(self) -> str:
        """The v1 devices.allow/deny spelling: "c 1:3 rwm", "a" for everything."""
        if self.is_reset():
            return "a"
        ma = "*" if self.major is None else str(self.major)
        mi = "*" if self.minor is None else str(self.minor)
        return f"{self.type} {ma}:{mi} {access_str(self.access)}"

    def __eq__(self, other):
        return isinstance(other, Rule) and (self.allow, self.type, self.major, self.minor, self.access) == (
            other.allow, other.type, other.major, other.minor, other.access)

    def __repr__(self) -> str:
        return f"Rule({'allow' if self.allow else 'deny'} {self.cgroup_string()})"


def _num(v, field: str):
    if v is None or v == -1:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > 0x7FFFFFFF:
        raise CgroupError(f"{field}: invalid device number {v!r}")
    return v


def parse_rules(entries, field: str = "linux.resources.devices") -> "list[Rule]":
    """OCI linux.resources.devices -> Rules (type "a" non-resets expanded)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise CgroupError(f"{field}: expected an array")
    out = []
    for i, e in enumerate(entries):
        f = f"{field}[{i}]"
        if not isinstance(e, dict):
            raise CgroupError(f"{f}: expected an object")
        allow = e.get("allow")
        if not isinstance(allow, bool):
            raise CgroupError(f"{f}.allow: required, true or false")
        t = e.get("type") or "a"
        if t not in ("a", "b", "c"):
            raise CgroupError(f"{f}.type: invalid device type {t!r} (expected a, b or c)")
        r = Rule(allow, t, _num(e.get("major"), f + ".major"), _num(e.get("minor"), f + ".minor"),
                 parse_access(e.get("access"), f + ".access"))
        out.extend(expand(r))
    return out


def expand(r: Rule) -> "list[Rule]":
    if r.type == "a" and not r.is_reset():
        return [Rule(r.allow, "c", r.major, r.minor, r.access),
                Rule(r.allow, "b", r.major, r.minor, r.access)]
    return [r]


# The devices runtime-linux.md requires (runc's specconv.AllowedDevices), appended
# after the config's rules. runc also allows mknod of every device ("c *:* m",
# "b *:* m"); we do not: a config that grants rw but not m on a device must get
# EPERM from mknod (config-linux.md#allowed-device-list).
DEFAULT_RULES = [
    Rule(True, "c", 1, 3, RWM),          # /dev/null
    Rule(True, "c", 1, 8, RWM),          # /dev/random
    Rule(True, "c", 1, 7, RWM),          # /dev/full
    Rule(True, "c", 5, 0, RWM),          # /dev/tty
    Rule(True, "c", 1, 5, RWM),          # /dev/zero
    Rule(True, "c", 1, 9, RWM),          # /dev/urandom
    Rule(True, "c", 136, None, RWM),     # /dev/pts/*
    Rule(True, "c", 5, 2, RWM),          # /dev/ptmx
    Rule(True, "c", 10, 200, RWM),       # /dev/net/tun
]


class State:
    """The devices controller's state: default verdict + exceptions (ordered,
    one per exact type/major/minor)."""

    __slots__ = ("default_allow", "exceptions")

    def __init__(self, default_allow: bool = False, exceptions: "list[Rule] | None" = None):
        self.default_allow = default_allow
        self.exceptions = exceptions or []

    def apply(self, r: Rule) -> None:
        if r.is_reset():
            self.default_allow = r.allow
            self.exceptions = []
            return
        if r.type == "a":  # (parse_rules already expanded these)
            for x in expand(r):
                self.apply(x)
            return
        if r.allow == self.default_allow:
            self._rm(r)
        else:
            self._add(r)

    def _add(self, r: Rule) -> None:
        for ex in self.exceptions:
            if ex.key == r.key:
                ex.access |= r.access
                return
        self.exceptions.append(Rule(not self.default_allow, r.type, r.major, r.minor, r.access))

    def _rm(self, r: Rule) -> None:
        for ex in list(self.exceptions):
            if ex.key == r.key:
                ex.access &= ~r.access
                if not ex.access:
                    self.exceptions.remove(ex)

    def allows(self, dtype: str, major: int, minor: int, access: int) -> bool:
        """The kernel's verdict for one access (dtype "c"/"b")."""
        for ex in self.exceptions:
            if ex.type != dtype:
                continue
            if ex.major is not None and ex.major != major:
                continue
            if ex.minor is not None and ex.minor != minor:
                continue
            if self.default_allow:
                if access & ex.access:
                    return False
            elif not access & ~ex.access:
                return True
        return self.default_allow

    def rules(self) -> "list[Rule]":
        """A minimal rule list that rebuilds this state from anything."""
        return [Rule(self.default_allow, "a", None, None, RWM)] + [
            Rule(ex.allow, ex.type, ex.major, ex.minor, ex.access) for ex in self.exceptions]

    def as_tuple(self):
        return (self.default_allow, sorted((e.type, -1 if e.major is None else e.major,
                                            -1 if e.minor is None else e.minor, e.access)
                                           for e in self.exceptions))

    def __eq__(self, other):
        return isinstance(other, State) and self.as_tuple() == other.as_tuple()

    def __repr__(self) -> str:
        return f"State({'allow' if self.default_allow else 'deny'}, {self.exceptions})"


def emulate(rules: "list[Rule]", start: "State | None" = None) -> State:
    st = start or State(False)
    for r in rules:
        st.apply(r)
    return st


def target_state(entries, with_defaults: bool = True) -> State:
    rules = parse_rules(entries)
    if with_defaults:
        rules = rules + [Rule(r.allow, r.type, r.major, r.minor, r.access) for r in DEFAULT_RULES]
    return emulate(rules)


def parse_list(text: str) -> State:
    """v1 devices.list -> State. The kernel prints "a *:* rwm" alone in
    default-allow mode (its exceptions are not shown)."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if any(p[0] == "a" for p in lines):
        return State(True)
    st = State(False)
    for p in lines:
        if len(p) != 3 or ":" not in p[1]:
            continue
        ma, mi = p[1].split(":", 1)
        st.exceptions.append(Rule(True, p[0], None if ma == "*" else int(ma),
                                  None if mi == "*" else int(mi), parse_access(p[2], "devices.list")))
    return st


def transition(current: State, target: State) -> "list[Rule]":
    """The v1 writes (a Rule with allow=True goes to devices.allow, else to
    devices.deny) that turn `current` into `target`. When the default stays
    the same there is no reset: an `update` of a running container never
    passes through "deny everything"."""
    if current.default_allow != target.default_allow or (current.default_allow and current.exceptions):
        return target.rules()
    adds, rms = [], []
    cur = {e.key: e.access for e in current.exceptions}
    tgt = {e.key: e.access for e in target.exceptions}
    for e in target.exceptions:
        more = e.access & ~cur.get(e.key, 0)
        if more:
            adds.append(Rule(not target.default_allow, e.type, e.major, e.minor, more))
    for e in current.exceptions:
        less = e.access & ~tgt.get(e.key, 0)
        if less:
            rms.append(Rule(target.default_allow, e.type, e.major, e.minor, less))
    if target.default_allow:
        return rms + adds  # exceptions deny: lift old denials, then add new ones
    return adds + rms      # exceptions grant: grant new access before taking old away


def as_writes(rules: "list[Rule]") -> "list[tuple[str, str]]":
    """[(file, line)] as written to the v1 devices controller."""
    return [("devices.allow" if r.allow else "devices.deny", r.cgroup_string()) for r in rules]
