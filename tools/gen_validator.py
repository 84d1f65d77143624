#!/usr/bin/env python3
"""Compile the JSON Schemas in ``spec/`` into plain-Python validators.

    python3 tools/gen_validator.py           # (re)write pyruntime/_schema_*.py
    python3 tools/gen_validator.py --check   # exit 1 if a generated file is stale

Each generated module exposes ``validate(doc) -> list[tuple[str, str]]``: the
problems found, as (json path, message), e.g. ``("mounts[2].destination",
"must be a string")``; the root's path is "". ``_schema_config`` also has
``validate_process`` (``exec --process`` files) and ``validate_resources``
(``update -r``). The modules import nothing
at import time (``re`` only lazily, for a pattern that cannot be translated into
plain string operations), so they cost little to load and run.

Only the subset of JSON Schema that spec/ uses is supported; anything else is an
error here (never a silently skipped keyword), so the generated code and the
schema cannot drift apart: tests compare the two on mutated configs.

Semantics follow the jsonschema package's draft 2020-12 validator with one
documented exception: "integer" means a JSON number written without fraction or
exponent (Python ``int``), as in the Go bindings; 1.0 is not an integer.
Regular expressions follow Python's ``re.search`` (what jsonschema uses), e.g.
``$`` also matches before a final newline.
"""
import json
import re
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC_DIR = os.path.join(ROOT, "spec")

# (schema file, output module, {extra public function: "file#/pointer"})
MODULES = [
    ("config.json", "pyruntime/_schema_config.py",
     {"validate_process": "config.json#/$defs/Process",
      "validate_resources": "config-linux.json#/$defs/Resources"}),
    ("state.json", "pyruntime/_schema_state.py", {}),
    ("features.json", "pyruntime/_schema_features.py", {}),
]

ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples",
               "$defs", "x-message"}
SUPPORTED = ANNOTATIONS | {
    "$ref", "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "pattern", "properties", "required",
    "additionalProperties", "patternProperties", "items", "minItems", "maxItems",
    "allOf", "anyOf"}

TYPE_TEST = {
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "string": "type({v}) is str",
    "integer": "type({v}) is int",
    "number": "type({v}) in (int, float)",
    "boolean": "type({v}) is bool",
    "null": "{v} is None",
}
TYPE_MSG = {
    "object": "must be an object",
    "array": "must be an array",
    "string": "must be a string",
    "integer": "must be an integer",
    "number": "must be a number",
    "boolean": "must be a boolean",
    "null": "must be null",
}
OBJECT_KW = ("properties", "required", "additionalProperties", "patternProperties")
ARRAY_KW = ("items", "minItems", "maxItems")
STRING_KW = ("minLength", "maxLength", "pattern")
NUMBER_KW = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


class GenError(Exception):
    pass


# ---------------------------------------------------------------- patterns --

class _Unsupported(Exception):
    pass


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_META = set("\\.^$*+?{}[]()|/-")


def _parse_class(pat, i):
    """Parse a [...] class starting after '['; return ((negated, chars), next index)."""
    neg = False
    if i < len(pat) and pat[i] == "^":
        neg, i = True, i + 1
    chars = set()
    first = True
    while True:
        if i >= len(pat):
            raise _Unsupported("unterminated class")
        c = pat[i]
        if c == "]" and not first:
            return (neg, frozenset(chars)), i + 1
        first = False
        if c == "[":
            raise _Unsupported("nested [ in class")
        if c == "\\":
            i += 1
            e = pat[i]
            if e in _ESCAPES:
                c = _ESCAPES[e]
            elif e in _META:
                c = e
            else:
                raise _Unsupported("escape \\" + e)
        i += 1
        if i + 1 < len(pat) and pat[i] == "-" and pat[i + 1] != "]":
            hi = pat[i + 1]
            if hi == "\\":
                raise _Unsupported("escaped range end")
            if ord(hi) < ord(c) or ord(hi) - ord(c) > 512:
                raise _Unsupported("bad or huge range")
            chars.update(chr(x) for x in range(ord(c), ord(hi) + 1))
            i += 2
        else:
            chars.add(c)


def parse_pattern(pat):
    """Parse the small regex subset we translate: anchors at the ends, literal
    characters, '.', [classes] and the quantifiers ? * + {n} {n,} {n,m}.
    Returns (anchored_start, anchored_end, [(negated, chars, min, max|None)])."""
    i, n = 0, len(pat)
    start = pat.startswith("^")
    if start:
        i = 1
    end = False
    atoms = []
    while i < n:
        c = pat[i]
        if c == "$" and i == n - 1:
            end = True
            i += 1
            break
        if c in "()|^$*+?{}":
            raise _Unsupported("construct " + c)
        if c == ".":
            atom, i = (True, frozenset("\n")), i + 1
        elif c == "[":
            atom, i = _parse_class(pat, i + 1)
        elif c == "\\":
            e = pat[i + 1] if i + 1 < n else ""
            if e in _ESCAPES:
                atom = (False, frozenset(_ESCAPES[e]))
            elif e in _META:
                atom = (False, frozenset(e))
            else:
                raise _Unsupported("escape \\" + e)
            i += 2
        else:
            atom, i = (False, frozenset(c)), i + 1
        lo, hi = 1, 1
        if i < n and pat[i] in "*+?{":
            q = pat[i]
            if q == "*":
                lo, hi, i = 0, None, i + 1
            elif q == "+":
                lo, hi, i = 1, None, i + 1
            elif q == "?":
                lo, hi, i = 0, 1, i + 1
            else:
                j = pat.index("}", i)
                body = pat[i + 1:j]
                if "," in body:
                    a, b = body.split(",", 1)
                    lo, hi = int(a), (int(b) if b else None)
                else:
                    lo = hi = int(body)
                i = j + 1
            if i < n and pat[i] in "*+?{":
                raise _Unsupported("lazy or stacked quantifier")
        atoms.append((atom[0], atom[1], lo, hi))
    return start, end, atoms


def _overlap(a, b):
    """Can one character be in both atom sets?"""
    (na, ca), (nb, cb) = a, b
    if na and nb:
        return True
    if na:
        return not cb <= ca
    if nb:
        return not ca <= cb
    return bool(ca & cb)


def _deterministic(atoms):
    """Greedy matching is exact if no repeated atom can take a character that one
    of the following atoms (up to the first mandatory one) would need."""
    for k, (neg, chars, lo, hi) in enumerate(atoms):
        if hi == lo:
            continue
        for neg2, chars2, lo2, _ in atoms[k + 1:]:
            if _overlap((neg, chars), (neg2, chars2)):
                return False
            if lo2 >= 1:
                break
    return True


# ----------------------------------------------------------------- compiler --

def _pylit(s):
    return json.dumps(s, ensure_ascii=True) if isinstance(s, str) else repr(s)


def _tuple(items):
    """Python source of a tuple of the given item sources."""
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _range_msg(lo, hi, xlo, xhi):
    bits = {(-2 ** (b - 1), 2 ** (b - 1) - 1): b for b in (8, 16, 32, 64)}
    if xlo is None and xhi is None:
        if (lo, hi) in bits:
            return f"must fit in a signed {bits[lo, hi]}-bit integer"
        if lo is not None and hi is not None:
            return f"must be between {lo} and {hi}"
        if lo == 0:
            return "must not be negative"
        if lo is not None:
            return f"must be at least {lo}"
        return f"must be at most {hi}"
    parts = []
    for op, val in ((">=", lo), (">", xlo), ("<=", hi), ("<", xhi)):
        if val is not None:
            parts.append(f"{op} {val}")
    return "must be " + " and ".join(parts)


RUNTIME_MODULE = os.path.join(ROOT, "pyruntime", "_schema_runtime.py")


def runtime_names():
    """The helper functions pyruntime/_schema_runtime.py defines, in order."""
    with open(RUNTIME_MODULE) as f:
        return re.findall(r"^def (\w+)\(", f.read(), re.M)


class Compiler:
    """Turns each distinct (sub)schema into a checker ``def _c..(x, p, k, e)``:
    x is the value, found under key or index k of the value at path p (k is None
    for the root); problems are appended to e as (path, message). Paths are only
    built when a problem is reported, or once per object or array walked."""

    def __init__(self, docs):
        self.docs = docs            # file name -> schema document
        self.memo = {}              # (file or None, schema text) -> checker name
        self.defs = []              # (name, lines), each after the checkers it uses
        self.patterns = {}          # pattern -> matcher name
        self.pattern_code = []
        self.hint = None

    def resolve(self, ref, cur_file):
        if "#" in ref:
            file, ptr = ref.split("#", 1)
        else:
            file, ptr = ref, ""
        file = file or cur_file
        if file not in self.docs:
            raise GenError(f"{cur_file}: $ref to unknown file {file!r}")
        node = self.docs[file]
        for part in [q for q in ptr.split("/") if q]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise GenError(f"{cur_file}: unresolvable $ref {ref!r}")
            node = node[part]
        return file, ptr, node

    def check_keywords(self, schema, where):
        if not isinstance(schema, dict):
            raise GenError(f"{where}: schema must be an object")
        unknown = set(schema) - SUPPORTED
        if unknown:
            raise GenError(f"{where}: unsupported keyword(s) {sorted(unknown)}")
        if "$ref" in schema and set(schema) - ANNOTATIONS - {"$ref"}:
            raise GenError(f"{where}: $ref with sibling validation keywords is not supported")
        if "anyOf" in schema and len(schema["anyOf"]) != 1:
            raise GenError(f"{where}: anyOf with several branches is not supported")
        t = schema.get("type")
        if t is not None and (not isinstance(t, str) or t not in TYPE_TEST):
            raise GenError(f"{where}: type must be one type name, got {t!r}")
        groups = {"object": OBJECT_KW, "array": ARRAY_KW, "string": STRING_KW,
                  "number": NUMBER_KW}
        for kind, kws in groups.items():
            if t is not None and any(k in schema for k in kws) and t != kind \
                    and not (kind == "number" and t == "integer"):
                raise GenError(f"{where}: {kws} used with type {t}")
        if "x-message" in schema and "pattern" not in schema:
            raise GenError(f"{where}: x-message is only for pattern")
        if "enum" in schema and not all(isinstance(x, str) for x in schema["enum"]):
            raise GenError(f"{where}: only string enums are supported")
        if "const" in schema and not isinstance(schema["const"], str):
            raise GenError(f"{where}: only string const is supported")
        if (("enum" in schema) or ("const" in schema)) and set(schema) - ANNOTATIONS - {
                "type", "enum", "const"}:
            raise GenError(f"{where}: enum/const with other validation keywords")
        if "items" in schema and not isinstance(schema["items"], dict):
            raise GenError(f"{where}: items must be a schema")

    @staticmethod
    def is_leaf(schema):
        return not any(k in schema for k in ("properties", "required", "additionalProperties",
                                             "patternProperties", "items", "minItems",
                                             "maxItems", "allOf", "anyOf", "$ref"))

    def deref(self, schema, file, where):
        hint = None
        while "$ref" in schema:
            self.check_keywords(schema, where)
            file, ptr, schema = self.resolve(schema["$ref"], file)
            hint = ptr.rsplit("/", 1)[-1] if ptr else file.rsplit(".", 1)[0]
        self.check_keywords(schema, where)
        self.hint = hint
        return schema, file

    def pattern_func(self, pat):
        """A module-level matcher name for pattern (re.search semantics)."""
        if pat in self.patterns:
            return self.patterns[pat]
        name = f"_p{len(self.patterns)}"
        self.patterns[pat] = name
        try:
            start, end, atoms = parse_pattern(pat)
            if not _deterministic(atoms):
                raise _Unsupported("not deterministic")
        except (_Unsupported, ValueError):
            self.pattern_code.append(f"{name} = _re({_pylit(pat)})")
            return name
        steps = []
        for neg, chars, lo, hi in atoms:
            if not neg and len(chars) == 1 and lo == hi:
                lit = next(iter(chars)) * lo
                if steps and isinstance(steps[-1], str):
                    steps[-1] += lit
                else:
                    steps.append(lit)
            else:
                steps.append(("".join(sorted(chars)), neg, lo, hi))
        code = _tuple(_pylit(st) if isinstance(st, str) else
                      f"({_pylit(st[0])}, {st[1]}, {st[2]}, {st[3]})" for st in steps)
        self.pattern_code.append(f"{name} = _regex({start}, {end}, {code})  # {pat}")
        return name

    # -- checkers: one module-level name per distinct schema
    PYTYPE = {"string": "str", "boolean": "bool", "object": "dict", "array": "list",
              "null": "type(None)"}

    def checker(self, schema, file, where, name=None):
        schema, file = self.deref(schema, file, where)
        hint = "".join(c if c.isalnum() else "_" for c in self.hint or "")
        sig = {k: v for k, v in schema.items() if k not in ANNOTATIONS or k == "x-message"}
        text = json.dumps(sig, sort_keys=True)
        key = (file if '"$ref"' in text else None, text)
        if key in self.memo:
            return self.memo[key]
        expr = self.checker_expr(schema, sig, file, where)
        if list(sig) == ["type"]:
            hint = sig["type"]
        if not hint:  # name an inline schema after where it is: _c_mounts, _c_mounts_item
            segs = [w for w in where.replace("#", "/").split("/") if w]
            last = segs[-1] if segs else ""
            if last == "items" and len(segs) > 1:
                last = segs[-2] + "_item"
            if last.replace("_", "a").isalnum() and last.isascii():
                hint = last
        fname = name or (f"_c_{hint}" if hint else f"_c{len(self.memo)}")
        while fname in self.memo.values():
            fname += "_"
        self.memo[key] = fname
        self.defs.append((fname, [f"{fname} = {expr}"]))
        return fname

    def checker_expr(self, schema, sig, file, where):
        t = schema.get("type")
        parts = [self.checker(sub, file, f"{where}/allOf")
                 for sub in schema.get("allOf", []) + schema.get("anyOf", [])]
        rest = {k: v for k, v in sig.items() if k not in ("allOf", "anyOf")}
        if parts:
            if rest:
                parts.append(self.checker(rest, file, where))
            return f"_all({', '.join(parts)})" if len(parts) > 1 else parts[0]
        if "enum" in schema or "const" in schema:
            vals = schema["enum"] if "enum" in schema else [schema["const"]]
            return f"_enum({_tuple(_pylit(v) for v in vals)})"
        if t is None:
            if sig:
                raise GenError(f"{where}: validation keywords without a type are not supported")
            return "_all()"
        allowed = {"type"} | {"integer": {"minimum", "maximum"},
                              "string": {"pattern", "x-message"},
                              "array": {"items", "minItems"},
                              "object": set(OBJECT_KW)}.get(t, set())
        if set(sig) - allowed:
            raise GenError(f"{where}: unsupported with type {t}: {sorted(set(sig) - allowed)}")
        if t == "integer":
            lo, hi = schema.get("minimum"), schema.get("maximum")
            if lo is None and hi is None:
                return '_type(int, "must be an integer")'
            return f"_int({lo!r}, {hi!r}, {_pylit(_range_msg(lo, hi, None, None))})"
        if t == "string" and "pattern" in schema:
            fn = self.pattern_func(schema["pattern"])
            msg = schema.get("x-message") or f"must match the pattern {schema['pattern']}"
            return f"_pattern({fn}, {_pylit(msg)})"
        if t == "array":
            n = schema.get("minItems", 0)
            args = ""
            if n:
                lm = "must be a non-empty array" if n == 1 else f"must have at least {n} items"
                tm = "must be a non-empty array" if n == 1 else "must be an array"
                args = f", {n}, {_pylit(tm)}, {_pylit(lm)}"
            items = schema.get("items")
            if items is None:
                return f"_array(None{args})"
            it, _ = self.deref(items, file, where + "/items")
            isig = [k for k in it if k not in ANNOTATIONS]
            if isig == ["type"] and it["type"] in self.PYTYPE:
                return f"_array_of({self.PYTYPE[it['type']]}, {_pylit(TYPE_MSG[it['type']])}{args})"
            return f"_array({self.checker(items, file, where + '/items')}{args})"
        if t == "object":
            props = schema.get("properties", {})
            names = [(n, self.checker(sub, file, f"{where}/{n}")) for n, sub in props.items()]
            fields = "{" + ", ".join(f"{_pylit(n)}: {c}" for n, c in names) + "}"
            if len(fields) > 60:
                fields = "{\n" + "".join(f"    {_pylit(n)}: {c},\n" for n, c in names) + "}"
            args = [fields]
            req = schema.get("required", [])
            pprops = schema.get("patternProperties", {})
            addl = schema.get("additionalProperties", True)
            if req or pprops or addl is not True:
                args.append(repr(tuple(req)))
            if pprops or addl is not True:
                args.append(_tuple(
                    f"({self.pattern_func(pat)}, {self.checker(sub, file, f'{where}/{pat}')})"
                    for pat, sub in pprops.items()))
            if addl is not True:
                if addl is False:
                    args.append("False")
                elif isinstance(addl, dict):
                    args.append(self.checker(addl, file, where + "/additionalProperties"))
                else:
                    raise GenError(f"{where}: bad additionalProperties")
            return f"_object({', '.join(args)})"
        if t == "number":
            raise GenError(f"{where}: type number is not supported")
        return f"_type({self.PYTYPE[t]}, {_pylit(TYPE_MSG[t])})"

    def helpers(self):
        """The import of the runtime helpers this module uses (pyruntime/_schema_runtime.py)."""
        used = "\n".join(b for _, body in self.defs for b in body) + "\n".join(self.pattern_code)
        names = [n for n in runtime_names() if n == "_j" or f"{n}(" in used]
        return "from ._schema_runtime import " + ", ".join(names) + "  # noqa: F401"

    def module(self, entry, exports, header):
        root = self.checker(self.docs[entry], entry, entry, name="_c_root")
        extra = {}
        for public, ref in exports.items():
            file, ptr = ref.split("#", 1)
            _, _, node = self.resolve("#" + ptr, file)
            extra[public] = self.checker(node, file, ref)
        lines = header + ["", "", self.helpers(), ""]
        if self.pattern_code:
            lines += ["", ""] + self.pattern_code
        lines += ["", "", "# One checker per distinct schema, each defined before its first use."]
        for _, body in self.defs:
            lines += body
        lines += ["", "", "def validate(doc):",
                  f'    """Check a document against spec/{entry}: a list of (json path, message)."""',
                  "    e = []", f"    {root}(doc, '', None, e)", "    return e"]
        for public, fn in extra.items():
            lines += ["", "", f"def {public}(doc):",
                      f'    """Check a document against spec/{exports[public]}: a list of (json path, message)."""',
                      "    e = []", f"    {fn}(doc, '', None, e)", "    return e"]
        return "\n".join(lines) + "\n"


def load_docs(spec_dir=SPEC_DIR):
    docs = {}
    for name in sorted(os.listdir(spec_dir)):
        if name.endswith(".json"):
            with open(os.path.join(spec_dir, name)) as f:
                docs[name] = json.load(f)
    return docs


def generate(entry, exports=None, spec_dir=SPEC_DIR):
    """Return the source of the validator module for spec/<entry>."""
    docs = load_docs(spec_dir)
    header = [
        f"# Generated from spec/{entry} (and the schemas it refers to) by tools/gen_validator.py.",
        "# DO NOT EDIT: change the schema, then regenerate with `python3 tools/gen_validator.py`.",
        f'"""Validator for {entry[:-5]} documents, compiled from spec/{entry}."""',
    ]
    return Compiler(docs).module(entry, exports or {}, header)


def main(argv):
    check = "--check" in argv
    stale = []
    for entry, out, exports in MODULES:
        src = generate(entry, exports)
        path = os.path.join(ROOT, out)
        try:
            with open(path) as f:
                old = f.read()
        except FileNotFoundError:
            old = None
        if old != src:
            stale.append(out)
            if not check:
                with open(path, "w") as f:
                    f.write(src)
    if check:
        if stale:
            print("stale (run python3 tools/gen_validator.py):", ", ".join(stale))
            return 1
        return 0
    for out in stale:
        print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
