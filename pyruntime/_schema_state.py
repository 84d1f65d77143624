# Generated from spec/state.json (and the schemas it refers to) by tools/gen_validator.py.
# DO NOT EDIT: change the schema, then regenerate with `python3 tools/gen_validator.py`.
"""Validator for state documents, compiled from spec/state.json."""


from ._schema_runtime import _j, _type, _int, _enum, _regex, _object  # noqa: F401



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
