# Generated from spec/state.json (and the schemas it refers to) by tools/gen_validator.py.
# DO NOT EDIT: change the schema, then regenerate with `python3 tools/gen_validator.py`.
"""Validator for state documents, compiled from spec/state.json."""


def _j(p, k):
    """The path of member k (a key, an index, or None: itself) of the value at path p."""
    if k is None:
        return p
    if type(k) is int:
        return f"{p}[{k}]"
    if k and k.isascii() and k.replace("_", "a").replace("-", "a").isalnum():
        return p + "." + k if p else k
    return p + '["' + k.replace("\\", "\\\\").replace('"', '\\"') + '"]'


# Checker factories. A checker is called as check(x, p, k, e): x is the value,
# found under key or index k of the value at path p (k is None for the document
# itself); problems are appended to e as (path, message). Paths are built only
# for a problem, or once per object or array walked.

def _type(t, msg):
    def check(x, p, k, e):
        if type(x) is not t:
            e.append((_j(p, k), msg))
    return check


def _int(lo, hi, msg):
    def check(x, p, k, e):
        if type(x) is not int:
            e.append((_j(p, k), "must be an integer"))
        elif (lo is not None and x < lo) or (hi is not None and x > hi):
            e.append((_j(p, k), msg))
    return check


def _enum(values):
    msg = "must be one of: " + ", ".join(values) if len(values) > 1 else f'must be "{values[0]}"'
    values = frozenset(values)

    def check(x, p, k, e):
        if type(x) is not str or x not in values:
            e.append((_j(p, k), msg))
    return check


def _regex(anchored, at_end, steps):
    """re.search for a pattern that tools/gen_validator.py translated into steps:
    a str is literal text; (chars, negated, min, max) is a repeated character
    class, matched greedily (the generator checked that greedy is exact)."""
    def at(s, i, n):
        for step in steps:
            if type(step) is str:
                if not s.startswith(step, i):
                    return False
                i += len(step)
            else:
                chars, negated, lo, hi = step
                j = i
                end = n if hi is None else min(n, i + hi)
                while j < end and (s[j] in chars) is not negated:
                    j += 1
                if j - i < lo:
                    return False
                i = j
        # like Python's re, $ also matches before a final newline
        return not at_end or i == n or (i == n - 1 and s[i] == "\n")

    def match(s):
        n = len(s)
        if anchored:
            return at(s, 0, n)
        return any(at(s, i, n) for i in range(n + 1))
    return match


def _object(fields, required=(), patterns=(), additional=True):
    if not patterns and additional is True:
        def check(x, p, k, e):
            if type(x) is not dict:
                e.append((_j(p, k), "must be an object"))
                return
            q = _j(p, k)
            for kk, y in x.items():
                c = fields.get(kk)
                if c is not None:
                    c(y, q, kk, e)
            for kk in required:
                if kk not in x:
                    e.append((_j(q, kk), "is required"))
        return check

    def check(x, p, k, e):
        if type(x) is not dict:
            e.append((_j(p, k), "must be an object"))
            return
        q = _j(p, k)
        for kk, y in x.items():
            c = fields.get(kk)
            if c is not None:
                c(y, q, kk, e)
            matched = False
            for match, pc in patterns:
                if match(kk):
                    pc(y, q, kk, e)
                    matched = True
            if c is None and not matched and additional is not True:
                if additional is False:
                    e.append((q, 'unknown property "' + kk + '"'))
                else:
                    additional(y, q, kk, e)
        for kk in required:
            if kk not in x:
                e.append((_j(q, kk), "is required"))
    return check



_p0 = _regex(False, False, (("\n", True, 1, 1),))  # .


# One checker per distinct schema, each defined before its first use.
_c_string = _type(str, "must be a string")
_c_status = _enum(("creating", "created", "running", "stopped"))
_c_pid = _int(0, None, "must not be negative")
_c_StringMap = _object({}, (), ((_p0, _c_string),))
_c_root = _object({
    "ociVersion": _c_string,
    "id": _c_string,
    "status": _c_status,
    "pid": _c_pid,
    "bundle": _c_string,
    "annotations": _c_StringMap,
}, ('ociVersion', 'id', 'status', 'bundle'))


def validate(doc):
    """Check a document against spec/state.json: a list of (json path, message)."""
    e = []
    _c_root(doc, '', None, e)
    return e
