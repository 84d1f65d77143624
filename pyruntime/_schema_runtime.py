"""Runtime helpers of the validators that tools/gen_validator.py generates
(pyruntime/_schema_*.py import what they use from here). Hand-written; kept
import-light: no re, no jsonschema."""


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


def _pattern(match, msg):
    def check(x, p, k, e):
        if type(x) is not str:
            e.append((_j(p, k), "must be a string"))
        elif not match(x):
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


def _re(pattern):
    """A pattern beyond _regex: re, imported on first use only."""
    def match(s):
        import re
        return re.search(pattern, s) is not None
    return match


def _array(item, min_items=0, msg="must be an array", len_msg=""):
    def check(x, p, k, e):
        if type(x) is not list:
            e.append((_j(p, k), msg))
            return
        if len(x) < min_items:
            e.append((_j(p, k), len_msg))
        if item is not None:
            q = _j(p, k)
            for i, y in enumerate(x):
                item(y, q, i, e)
    return check


def _array_of(t, item_msg, min_items=0, msg="must be an array", len_msg=""):
    """An array of values of one plain type, checked inline (seccomp names: many)."""
    def check(x, p, k, e):
        if type(x) is not list:
            e.append((_j(p, k), msg))
            return
        if len(x) < min_items:
            e.append((_j(p, k), len_msg))
        for i, y in enumerate(x):
            if type(y) is not t:
                e.append((f"{_j(p, k)}[{i}]", item_msg))
    return check


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


def _all(*checks):
    def check(x, p, k, e):
        for c in checks:
            c(x, p, k, e)
    return check
