"""JSON without ``import json``.

``json`` imports ``re`` (and ``re`` imports ``enum``, ``sre_compile``...), ~5 ms
of start-up on every runtime call. The C accelerator ``_json`` that ``json`` uses
underneath needs none of that, so the hot paths (state, start, kill, delete) use
it directly. Output and accepted input are the same as ``json``'s.
"""
import _json

__all__ = ["loads", "dumps", "load_file", "JSONError"]


class JSONError(ValueError):
    def __init__(self, msg: str, pos: int = 0):
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


def _parse_constant(name: str) -> float:
    # NaN / Infinity are not JSON; json accepts them by default, we refuse.
    raise JSONError(f"invalid constant {name}")


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_parse_constant)
    memo: dict = {}


_scan = _json.make_scanner(_Context())
_WS = " \t\n\r"


def _position(s: str, pos: int) -> str:
    line = s.count("\n", 0, pos) + 1
    col = pos - s.rfind("\n", 0, pos)
    return f"line {line} column {col}"


def loads(s: "str | bytes") -> object:
    if isinstance(s, (bytes, bytearray)):
        try:
            s = s.decode("utf-8")
        except UnicodeDecodeError as e:
            raise JSONError(f"not UTF-8 text ({e.reason} at byte {e.start})", e.start) from None
    if s.startswith("\ufeff"):
        s = s[1:]
    n = len(s)
    i = 0
    while i < n and s[i] in _WS:
        i += 1
    if i == n:
        raise JSONError("empty document", 0)
    try:
        obj, end = _scan(s, i)
    except JSONError:
        raise
    except Exception:
        # Error path only: let the stdlib parser say what and where.
        import json
        try:
            json.loads(s, parse_constant=_parse_constant)
        except json.JSONDecodeError as e:
            raise JSONError(f"invalid JSON: {e.msg} at {_position(s, e.pos)}", e.pos) from None
        raise JSONError("invalid JSON", 0) from None
    while end < n and s[end] in _WS:
        end += 1
    if end != n:
        raise JSONError(f"invalid JSON: extra data at {_position(s, end)}", end)
    return obj


def _default(o: object) -> object:
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


_encode = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None, ":", ",",
                             False, False, False)
_encode_spaced = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None, ": ",
                                    ", ", False, False, False)


def dumps(obj: object, spaced: bool = False) -> str:
    """Compact JSON (``spaced``: with ", " and ": " like json.dumps' default)."""
    return "".join((_encode_spaced if spaced else _encode)(obj, 0))


def load_file(path: str) -> object:
    with open(path, "rb") as f:
        return loads(f.read())
