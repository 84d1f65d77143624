"""Device rules: parsing, the v1-kernel emulator, v1 transitions and the v2
eBPF program (checked instruction by instruction and, with hypothesis,
against the emulator through a small BPF interpreter)."""
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyruntime.cgroups import CgroupError
from pyruntime.cgroups import devicefilter as bpf
from pyruntime.cgroups import devices as dv
from pyruntime.cgroups.devices import RWM, M, R, Rule, State, W


def rule(allow, t="a", major=None, minor=None, access="rwm"):
    d = {"allow": allow, "access": access}
    if t is not None:
        d["type"] = t
    if major is not None:
        d["major"] = major
    if minor is not None:
        d["minor"] = minor
    return d


# -- parsing ---------------------------------------------------------------------------------

def test_parse_rules():
    rs = dv.parse_rules([rule(False), rule(True, "c", 1, 3, "rw"), {"allow": True, "type": "b", "major": 8,
                                                                    "minor": -1}])
    assert rs == [Rule(False, "a", None, None, RWM), Rule(True, "c", 1, 3, R | W), Rule(True, "b", 8, None, RWM)]
    assert rs[0].is_reset() and rs[0].cgroup_string() == "a"
    assert rs[1].cgroup_string() == "c 1:3 rw" and rs[2].cgroup_string() == "b 8:* rwm"


def test_type_a_non_reset_expands():
    assert dv.parse_rules([rule(False, None, None, None, "m")]) == [
        Rule(False, "c", None, None, M), Rule(False, "b", None, None, M)]
    assert dv.parse_rules([rule(True, "a", 5, None, "r")]) == [Rule(True, "c", 5, None, R),
                                                               Rule(True, "b", 5, None, R)]


@pytest.mark.parametrize("entry,where", [
    ({"type": "c"}, "[0].allow"),
    ({"allow": True, "type": "p"}, "[0].type"),
    ({"allow": True, "access": "rx"}, "[0].access"),
    ({"allow": True, "major": -7}, "[0].major"),
    ({"allow": True, "minor": "1"}, "[0].minor"),
    ("c 1:3 rwm", "[0]"),
])
def test_parse_rules_errors(entry, where):
    with pytest.raises(CgroupError) as ei:
        dv.parse_rules([entry])
    assert str(ei.value).startswith("linux.resources.devices" + where)


# -- emulator --------------------------------------------------------------------------------

def test_default_is_deny_and_defaults_allow_basics():
    st_ = dv.target_state([])
    assert not st_.default_allow
    assert st_.allows("c", 1, 3, R | W)        # /dev/null
    assert st_.allows("c", 136, 7, R | W)      # a pty
    assert not st_.allows("b", 8, 0, M)        # no blanket mknod (runc has one; the spec not)
    assert not st_.allows("b", 8, 0, R)
    assert not st_.allows("c", 1, 1, R)        # /dev/mem


def test_privileged_allows_everything():
    st_ = dv.target_state([rule(True)])
    assert st_.default_allow and st_.exceptions == []
    assert st_.allows("b", 8, 0, RWM)


def test_later_rules_override_earlier():
    st_ = dv.emulate(dv.parse_rules([rule(False), rule(True, "c", 1, 11, "rw"), rule(False, "c", 1, 11, "w")]))
    assert st_.allows("c", 1, 11, R) and not st_.allows("c", 1, 11, W) and not st_.allows("c", 1, 11, R | W)
    # a reset forgets everything before it
    st_ = dv.emulate(dv.parse_rules([rule(False), rule(True, "c", 1, 11), rule(True)]))
    assert st_.default_allow and st_.exceptions == []


def test_kernel_quirks_are_emulated():
    # default-deny: a deny only removes bits from an exactly matching exception
    st_ = dv.emulate(dv.parse_rules([rule(False), rule(True, "c", None, None, "rw"), rule(False, "c", 1, 3)]))
    assert st_.allows("c", 1, 3, R)
    # default-allow: any overlap with a denial denies
    st_ = dv.emulate(dv.parse_rules([rule(True), rule(False, "c", 1, 3, "w")]))
    assert st_.allows("c", 1, 3, R) and not st_.allows("c", 1, 3, R | W)
    # exceptions merge per exact device
    st_ = dv.emulate(dv.parse_rules([rule(False), rule(True, "c", 1, 3, "r"), rule(True, "c", 1, 3, "w")]))
    assert len(st_.exceptions) == 1 and st_.exceptions[0].access == R | W


def test_parse_list():
    assert dv.parse_list("a *:* rwm\n") == State(True)
    got = dv.parse_list("c 1:3 rwm\nc 136:* rw\nb *:* m\n")
    assert got == State(False, [Rule(True, "c", 1, 3, RWM), Rule(True, "c", 136, None, R | W),
                                Rule(True, "b", None, None, M)])
    assert dv.parse_list("") == State(False)


def test_transition_same_default_never_resets():
    cur = dv.target_state([rule(False), rule(True, "c", 1, 11, "r")])
    tgt = dv.target_state([rule(False), rule(True, "c", 1, 11, "rw"), rule(True, "c", 4, 1)])
    w = dv.as_writes(dv.transition(cur, tgt))
    assert ("devices.allow", "a") not in w and ("devices.deny", "a") not in w
    assert w == [("devices.allow", "c 1:11 w"), ("devices.allow", "c 4:1 rwm")]
    back = dv.as_writes(dv.transition(tgt, cur))
    assert back == [("devices.deny", "c 1:11 w"), ("devices.deny", "c 4:1 rwm")]
    assert dv.transition(tgt, tgt) == []


def test_transition_default_change_resets():
    cur = dv.target_state([rule(False)])
    tgt = dv.target_state([rule(True), rule(False, "c", 1, 1)])
    w = dv.as_writes(dv.transition(cur, tgt))
    assert w == [("devices.allow", "a"), ("devices.deny", "c 1:1 rwm")]


# -- hypothesis: emulator, transitions and the BPF program agree ------------------------------------

majors = st.one_of(st.none(), st.sampled_from([1, 5, 8, 136]))
minors = st.one_of(st.none(), st.sampled_from([0, 1, 3, 11]))
accesses = st.sampled_from(["r", "w", "m", "rw", "rm", "wm", "rwm"])
rules_st = st.lists(st.builds(rule, st.booleans(), st.sampled_from(["a", "b", "c", None]), majors, minors,
                              accesses), max_size=8)
requests = st.tuples(st.sampled_from(["c", "b"]), st.sampled_from([1, 5, 8, 136, 200]),
                     st.sampled_from([0, 1, 3, 11, 99]), st.sampled_from([R, W, M, R | W, R | M, RWM]))


@settings(max_examples=400, deadline=None)
@given(rules_st, st.lists(requests, min_size=1, max_size=12), st.booleans())
def test_program_matches_emulator(entries, reqs, defaults):
    state = dv.target_state(entries, with_defaults=defaults)
    prog = bpf.program(state)
    for dtype, ma, mi, acc in reqs:
        assert bpf.run(prog, dtype, ma, mi, acc) == int(state.allows(dtype, ma, mi, acc)), (state, dtype, ma, mi)


@settings(max_examples=300, deadline=None)
@given(rules_st, rules_st)
def test_transition_reaches_target(a, b):
    cur, tgt = dv.target_state(a), dv.target_state(b)
    after = dv.emulate(dv.transition(cur, tgt), start=dv.emulate(cur.rules()))
    assert after == tgt


# -- the program itself ----------------------------------------------------------------------------

def insns(prog):
    return [struct.unpack_from("<BBhi", prog, i) for i in range(0, len(prog), 8)]


def test_program_deny_all():
    got = insns(bpf.program(State(False)))
    assert got == [
        (0x61, 0x12, 0, 0),        # r2 = *(u32 *)(r1 + 0)
        (0x54, 0x02, 0, 0xFFFF),   # w2 &= 0xffff
        (0x61, 0x13, 0, 0),        # r3 = *(u32 *)(r1 + 0)
        (0x74, 0x03, 0, 16),       # w3 >>= 16
        (0x61, 0x14, 4, 0),        # r4 = major
        (0x61, 0x15, 8, 0),        # r5 = minor
        (0xB4, 0x00, 0, 0),        # w0 = 0
        (0x95, 0x00, 0, 0),        # exit
    ]


def test_program_one_exception():
    prog = insns(bpf.program(State(False, [Rule(True, "c", 1, 3, R | W)])))
    block = prog[6:-2]
    assert block == [
        (0x55, 0x02, 7, bpf.BPF_DEVCG_DEV_CHAR),  # if r2 != char goto next (+7)
        (0xBC, 0x31, 0, 0),                       # w1 = w3
        (0x54, 0x01, 0, bpf.BPF_DEVCG_ACC_MKNOD),  # w1 &= ~(read|write)
        (0x55, 0x01, 4, 0),                       # if r1 != 0 goto next
        (0x55, 0x04, 3, 1),                       # if r4 != 1 goto next
        (0x55, 0x05, 2, 3),                       # if r5 != 3 goto next
        (0xB4, 0x00, 0, 1),                       # w0 = 1
        (0x95, 0x00, 0, 0),                       # exit
    ]
    assert prog[-2:] == [(0xB4, 0, 0, 0), (0x95, 0, 0, 0)]


def test_program_wildcards_and_rwm_skip_checks():
    prog = insns(bpf.program(State(False, [Rule(True, "b", None, None, RWM)])))
    assert prog[6:-2] == [(0x55, 0x02, 2, bpf.BPF_DEVCG_DEV_BLOCK), (0xB4, 0, 0, 1), (0x95, 0, 0, 0)]


def test_run_refuses_unknown_opcodes():
    with pytest.raises(ValueError):
        bpf.run(bpf.insn(0x07), "c", 1, 3, R)


def test_attach_without_shim_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(bpf, "SHIM", None)
    import sys
    import pyruntime
    monkeypatch.setitem(sys.modules, "pyruntime._shim", None)  # "not built"
    # an earlier test may have imported it: the package attribute must go too
    monkeypatch.delattr(pyruntime, "_shim", raising=False)
    with pytest.raises(CgroupError) as ei:
        bpf.attach("/nonexistent", bpf.program(State(False)))
    assert "pyruntime._shim" in str(ei.value)
