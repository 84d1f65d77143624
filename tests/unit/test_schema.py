"""Our JSON Schemas (spec/) and the validators generated from them.

- spec/ accepts the official good fixtures and real configs, rejects the bad ones;
- it agrees with the official runtime-spec 1.3.0 schema (plus a short, documented
  list of errata) on those fixtures and on randomly mutated configs;
- the generated modules agree exactly with jsonschema run on spec/ (valid or not),
  are in sync with spec/, and stay cheap (no re, no jsonschema at import).
"""
import copy
import json
import os
import pathlib
import importlib
import re
import subprocess
import sys

import pytest

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from referencing import Registry, Resource  # noqa: E402
from referencing.jsonschema import DRAFT4, DRAFT202012  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
SPEC = REPO / "spec"
FIXTURES = REPO / "tests" / "fixtures" / "configs"
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO))
import gen_validator  # noqa: E402
from pyruntime import _schema_config, _schema_features, _schema_state  # noqa: E402


def _official_dir():
    for c in (os.environ.get("OCI_SCHEMA_DIR", ""),
              str(REPO.parent / "shared" / "oci-runtime-spec" / "schema")):
        if c and os.path.isfile(os.path.join(c, "config-schema.json")):
            return pathlib.Path(c)
    return None


OFFICIAL = _official_dir()
needs_official = pytest.mark.skipif(OFFICIAL is None, reason="official schema not found")

GENERATED = {"config": _schema_config.validate, "state": _schema_state.validate,
             "features": _schema_features.validate}
OUR_SCHEMA = {"config": "config.json", "state": "state.json", "features": "features.json"}
OFFICIAL_SCHEMA = {"config": "config-schema.json", "state": "state-schema.json",
                   "features": "features-schema.json"}


# ------------------------------------------------------------- validators --

def _strict_int(checker, x):
    # spec/ (and the generated code) read "integer" as Go does: 1.0 is not one
    return type(x) is int


def our_validator(kind):
    """jsonschema (draft 2020-12, strict integers) on spec/."""
    resources = []
    docs = {}
    base = jsonschema.Draft202012Validator
    for p in sorted(SPEC.glob("*.json")):
        doc = json.loads(p.read_text())
        base.check_schema(doc)
        # without "$schema", or jsonschema switches to its stock validator class
        # (non-strict integers) on entering another file through a $ref
        doc = {k: v for k, v in doc.items() if k != "$schema"}
        docs[p.name] = doc
        resources.append((doc["$id"], DRAFT202012.create_resource(doc)))
    registry = Registry().with_resources(resources)
    cls = jsonschema.validators.extend(
        base, type_checker=base.TYPE_CHECKER.redefine("integer", _strict_int))
    return cls(docs[OUR_SCHEMA[kind]], registry=registry)


# Where spec/ knowingly differs from the official JSON schema files, applied to an
# in-memory copy of them (the files stay untouched). Each follows the spec's text.
def _errata(name, doc):
    if name == "defs-linux.json":
        # config-linux.md: fileMode is uint32 (podman sends 8576 = 0o20600)
        doc["definitions"]["Device"]["properties"]["fileMode"] = {
            "$ref": "defs.json#/definitions/uint32"}
        # the same set of types as ^[cbup]$, without Python's "c\n" quirk
        doc["definitions"]["FileType"] = {"type": "string", "enum": ["c", "b", "u", "p"]}
    if name == "defs.json":
        # a broken $ref ("#definitions/uint32") in the official file
        doc["definitions"]["ArrayOfUint32"]["items"] = {"$ref": "#/definitions/uint32"}
    if name == "config-vm.json":
        # config-vm.md: iomems is an array of objects (draft-04 tuple form checked item 0)
        hw = doc["vm"]["properties"]["hwConfig"]["properties"]
        hw["iomems"]["items"] = hw["iomems"]["items"][0]
    if name == "features-linux.json":
        # features-linux.md lists these; the official JSON schema does not
        props = doc["linux"]["properties"]
        props["intelRdt"]["properties"].update(schemata={"type": "boolean"},
                                               monitoring={"type": "boolean"})
        strings = {"$ref": "defs.json#/definitions/ArrayOfStrings"}
        props["memoryPolicy"] = {"type": "object",
                                 "properties": {"modes": strings, "flags": strings}}
    return doc


def official_validator(kind, errata=True):
    def retrieve(uri):
        name = uri.rsplit("/", 1)[-1]
        doc = json.loads((OFFICIAL / name).read_text())
        if errata:
            doc = _errata(name, doc)
        return Resource.from_contents(doc, default_specification=DRAFT4)

    registry = Registry(retrieve=retrieve)
    path = OFFICIAL / OFFICIAL_SCHEMA[kind]
    schema = json.loads(path.read_text())
    schema["id"] = path.as_uri()
    return jsonschema.Draft4Validator(schema, registry=registry)


_CACHE = {}


def validator(which, kind):
    key = (which, kind)
    if key not in _CACHE:
        _CACHE[key] = {"ours": our_validator, "official": official_validator,
                       "official-raw": lambda k: official_validator(k, errata=False)}[which](kind)
    return _CACHE[key]


def load(path):
    try:
        return json.loads(pathlib.Path(path).read_text())
    except ValueError:
        return None  # not JSON: invalid whatever the schema says


def official_fixtures(kind, which):
    if OFFICIAL is None:
        return []
    d = OFFICIAL / "test" / kind / which
    return sorted(d.glob("*.json"))


def captured():
    return sorted(FIXTURES.glob("*.json"))


# ------------------------------------------------------------ the fixtures --

@needs_official
@pytest.mark.parametrize("kind", ["config", "state", "features"])
def test_official_good_fixtures_are_accepted(kind):
    files = official_fixtures(kind, "good")
    assert files
    for f in files:
        doc = load(f)
        assert GENERATED[kind](doc) == [], f.name
        assert validator("ours", kind).is_valid(doc), f.name


@needs_official
@pytest.mark.parametrize("kind", ["config", "state", "features"])
def test_official_bad_fixtures_are_rejected(kind):
    files = official_fixtures(kind, "bad")
    assert files
    for f in files:
        doc = load(f)
        if doc is None:
            continue
        assert GENERATED[kind](doc) != [], f.name
        assert not validator("ours", kind).is_valid(doc), f.name


@needs_official
@pytest.mark.parametrize("kind", ["config", "state", "features"])
def test_official_schema_agrees_on_fixtures(kind):
    for which in ("good", "bad"):
        for f in official_fixtures(kind, which):
            doc = load(f)
            if doc is None:
                continue
            official = validator("official-raw", kind).is_valid(doc)
            assert official == (which == "good"), f.name
            assert (GENERATED[kind](doc) == []) == official, f.name


def test_bad_fixture_messages():
    doc = {"ociVersion": "1.0.0", "root": {"path": "rootfs"},
           "linux": {"resources": {"hugepageLimits": [{"limit": 1, "pageSize": "64kB"}],
                                   "rdma": {"mlx5_1": {"hcaHandles": "x"}}},
                     "netDevices": {"eth0": {"name": 23}}},
           "freebsd": {"jail": {"vnet": "disable"}}}
    assert sorted(_schema_config.validate(doc)) == sorted([
        ("linux.resources.hugepageLimits[0].pageSize",
         "must be a page size like 64KB, 2MB or 1GB"),
        ("linux.resources.rdma.mlx5_1.hcaHandles", "must be an integer"),
        ("linux.netDevices.eth0.name", "must be a string"),
        ("freebsd.jail.vnet", "must be one of: new, inherit"),
    ])
    assert _schema_features.validate({"ociVersionMin": "1.1.0"}) == [
        ("ociVersionMax", "is required")]
    assert _schema_state.validate([]) == [("", "must be an object")]


@pytest.mark.parametrize("path", captured(), ids=lambda p: p.name)
def test_real_configs_are_accepted(path):
    doc = load(path)
    assert _schema_config.validate(doc) == []
    assert validator("ours", "config").is_valid(doc)


def test_captured_fixtures_present():
    names = {p.name for p in captured()}
    assert {"runc-spec.json", "runc-spec-rootless.json", "containerd-default.json",
            "podman-run.json", "podman-run-userns-resources.json"} <= names


@needs_official
def test_official_schema_rejects_podman_device_mode():
    """The reason for the fileMode erratum: the official file says 0..511, the
    spec's text says uint32, and podman sends the file type bits."""
    doc = load(FIXTURES / "podman-run-userns-resources.json")
    errors = list(validator("official-raw", "config").iter_errors(doc))
    assert [list(e.absolute_path) for e in errors] == [["linux", "devices", 0, "fileMode"]]
    assert validator("official", "config").is_valid(doc)


# ------------------------------------------------------ mutated documents --

POOL = [None, True, False, 0, 1, -1, 7, 255, 256, 511, 512, 65536, 2 ** 31, 2 ** 32,
        2 ** 63, 2 ** 64, -2 ** 63 - 1, 1.5, 1.0, "", "x", "/abs", "rootfs", "RLIMIT_NOFILE",
        "RLIMIT_nofile", "RLIMIT_", "CAP_SYS_ADMIN", "CAP_", "cap_x", "pid", "user", "time",
        "c", "p", "cc", "2MB", "2mb", "0MB", "MB:0=20", "MB:", "L3:0=ff", "0-3,7", "0 - 3",
        "a-b", "SCMP_ACT_ALLOW", "SCMP_ACT_NOTIFY", "SCMP_CMP_EQ", "SCMP_ARCH_X86_64",
        "private", "shared", "new", "inherit", "disable", "LINUX", "MPOL_BIND", "SCHED_FIFO",
        "IOPRIO_CLASS_BE", "creating", "stopped", "paused", "raw", "class", [], {}, ["x"],
        [1], [{}], {"x": 1}, {"a": "b"}, {"": 1}, {"type": "pid"}, {"path": "/x"},
        {"containerID": 0, "hostID": 0, "size": 1}, ["CAP_KILL"], [{"names": []}]]
KEYS = ["ociVersion", "root", "process", "mounts", "hooks", "linux", "annotations", "path",
        "type", "args", "env", "cwd", "user", "uid", "gid", "rlimits", "soft", "hard",
        "namespaces", "uidMappings", "size", "devices", "major", "minor", "fileMode",
        "resources", "memory", "limit", "cpu", "pids", "seccomp", "defaultAction",
        "syscalls", "names", "action", "sysctl", "netDevices", "name", "rdma", "hcaHandles",
        "hugepageLimits", "pageSize", "intelRdt", "memBwSchema", "memoryPolicy", "mode",
        "personality", "domain", "timeOffsets", "boottime", "secs", "scheduler", "policy",
        "ioPriority", "class", "execCPUAffinity", "initial", "timeout", "prestart",
        "consoleSize", "height", "freebsd", "jail", "vnet", "windows", "layerFolders", "vm",
        "kernel", "zos", "status", "pid", "id", "bundle", "ociVersionMin", "ociVersionMax",
        "capabilities", "unknownKey", ""]


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


values = st.one_of(st.sampled_from(POOL), st.integers(), st.text(max_size=6),
                   st.floats(allow_nan=False, allow_infinity=False)).map(copy.deepcopy)


@st.composite
def mutated(draw, docs):
    name, doc = draw(st.sampled_from(docs))
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "delete", "add", "append"]))
        if not path:
            if op == "replace" and draw(st.booleans()):
                doc = draw(values)
            continue
        parent, last = _get(doc, path[:-1]), path[-1]
        target = parent[last]
        if op == "replace":
            parent[last] = draw(values)
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(target, dict):
            target[draw(st.sampled_from(KEYS))] = draw(values)
        elif op == "append" and isinstance(target, list):
            target.append(copy.deepcopy(draw(st.sampled_from(target))) if target and
                          draw(st.booleans()) else draw(values))
        else:
            parent[last] = draw(values)
    return name, doc


def _seed_docs(kind):
    docs = []
    for f in official_fixtures(kind, "good"):
        docs.append((f.name, load(f)))
    if kind == "config":
        docs += [(p.name, load(p)) for p in captured()]
    if not docs:  # no official fixtures around: our own minimal ones
        docs = {"config": [("min", {"ociVersion": "1.0.0", "root": {"path": "rootfs"}})],
                "state": [("min", {"ociVersion": "1.0.0", "id": "a", "status": "created",
                                   "pid": 1, "bundle": "/b"})],
                "features": [("min", {"ociVersionMin": "1.0.0",
                                      "ociVersionMax": "1.3.0"})]}[kind]
    return docs


def _agree(kind, doc, with_official):
    generated = GENERATED[kind](doc)
    ours = validator("ours", kind).is_valid(doc)
    assert (generated == []) == ours, (generated, [e.message for e in
                                                   validator("ours", kind).iter_errors(doc)])
    if with_official:
        official = validator("official", kind).is_valid(doc)
        assert official == ours, [e.message for e in validator("official", kind).iter_errors(doc)]


SETTINGS = settings(max_examples=int(os.environ.get("SCHEMA_EXAMPLES", "300")), deadline=None,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("kind", ["config", "state", "features"])
def test_mutations_agree(kind):
    docs = _seed_docs(kind)

    @SETTINGS
    @given(mutated(docs))
    def check(named):
        _agree(kind, named[1], OFFICIAL is not None)

    check()


def test_type_edge_cases_agree():
    base = {"ociVersion": "1.0.0", "root": {"path": "rootfs"},
            "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}}}
    for v in [True, 1.0, 1e3, -0.0, 2 ** 32, 2 ** 32 - 1, -1, "0", None, [0], {"a": 0}]:
        doc = copy.deepcopy(base)
        doc["process"]["user"]["uid"] = v
        _agree("config", doc, OFFICIAL is not None)
    for key in ["", "\n", "\n\n", "a\n", "\na", " "]:
        doc = copy.deepcopy(base)
        doc["annotations"] = {key: 1}
        _agree("config", doc, OFFICIAL is not None)


# --------------------------------------------------------------- generator --

@pytest.mark.parametrize("entry,out,exports", gen_validator.MODULES)
def test_generated_modules_in_sync(entry, out, exports):
    assert gen_validator.generate(entry, exports) == (REPO / out).read_text(), \
        "stale: run python3 tools/gen_validator.py"


def test_generated_header():
    for _, out, _ in gen_validator.MODULES:
        head = (REPO / out).read_text().splitlines()[:3]
        assert "Generated" in head[0] and "DO NOT EDIT" in head[1]
        assert "python3 tools/gen_validator.py" in head[1]


def test_generated_modules_import_nothing():
    for _, out, _ in gen_validator.MODULES:
        src = (REPO / out).read_text()
        imports = [line for line in src.splitlines() if re.match(r"\s*(import|from)\s", line)]
        # only the shared helpers (pyruntime/_schema_runtime.py, itself import-free
        # but for _re()'s lazy "import re" inside a function)
        assert all(line.startswith("from ._schema_runtime import ") for line in imports), \
            (out, imports)
        assert "jsonschema" not in src


def test_import_is_light():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import pyruntime.validation as v, pyruntime._schema_config, "
            "pyruntime._schema_state, pyruntime._schema_features\n"
            "v.validate_config({'ociVersion': '1.0.0', 'root': {'path': 'r'}, "
            "'process': {'cwd': '/', 'rlimits': [{'type': 'RLIMIT_X', 'soft': 1, 'hard': 1}],"
            " 'execCPUAffinity': {'initial': '0-3'}}, 'annotations': {'a': 'b'}})\n"
            "print('re' in sys.modules, 'jsonschema' in sys.modules)\n" % str(REPO))
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "False"]


PATTERNS = ["^RLIMIT_[A-Z]+$", "^[0-9, -]*$", ".", "^[1-9][0-9]*[KMG]B$", "^MB:[^\\n]*$",
            "^CAP_[A-Z_]+$", "ab?c", "^x{2,3}$", "^[^a]+b$", "^\\.\\$$", "z$", "^a.c"]


def _matcher(pat):
    c = gen_validator.Compiler({})
    name = c.pattern_func(pat)
    ns = {}
    ns.update(vars(importlib.import_module("pyruntime._schema_runtime")))
    exec("\n".join(c.pattern_code), ns)
    return ns[name], c.pattern_code


@pytest.mark.parametrize("pat", PATTERNS)
def test_pattern_translation_matches_re(pat):
    match, code = _matcher(pat)
    alphabet = "RLIMT_ABCZaz019 ,-KMGB:\n.$xbc"

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.text(alphabet=alphabet, max_size=12) | st.sampled_from(
        ["RLIMIT_NOFILE", "RLIMIT_NOFILE\n", "2MB", "2MB\n", "MB:x", "MB:\n", "\n", "",
         "CAP_SYS_ADMIN", "a\n", "0-3,7", "xx", "xxxx", ".$", "abc", "ac"]))
    def check(s):
        assert match(s) == (re.search(pat, s) is not None), (pat, s, code)

    check()


def test_spec_patterns_need_no_re():
    docs = gen_validator.load_docs()
    for entry, _, exports in gen_validator.MODULES:
        c = gen_validator.Compiler(docs)
        c.module(entry, exports, [])
        assert not any("_re(" in line for line in c.pattern_code), c.pattern_code


def _compile(doc):
    # exec'd outside the package: import the shared helpers by their full name
    src = gen_validator.Compiler({"t.json": doc}).module("t.json", {}, ["# t"])
    return src.replace("from ._schema_runtime import", "from pyruntime._schema_runtime import")


def test_generator_rejects_unsupported_keywords():
    for bad in [{"type": "object", "oneOf": [{}, {}]},
                {"type": "string", "format": "uri"},
                {"type": ["string", "null"]},
                {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                {"$ref": "#/$defs/x", "type": "object", "$defs": {"x": {}}},
                {"type": "object", "properties": {"a": {"$ref": "other.json"}}}]:
        with pytest.raises(gen_validator.GenError):
            _compile(bad)


def test_generator_additional_properties_false():
    src = _compile({"type": "object", "properties": {"a": {"type": "string"}},
                    "additionalProperties": False, "required": ["a"]})
    ns = {}
    exec(src, ns)
    assert ns["validate"]({"a": "x"}) == []
    assert ns["validate"]({"a": 1, "foo": 2}) == [("a", "must be a string"),
                                                  ("", 'unknown property "foo"')]
    assert ns["validate"]({"x": {}}) == [("", 'unknown property "x"'), ("a", "is required")]


def test_generator_output_is_deterministic():
    a = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'tools');"
                        "import gen_validator as g; print(g.generate('config.json'))"],
                       cwd=REPO, capture_output=True, text=True, check=True,
                       env=dict(os.environ, PYTHONHASHSEED="1")).stdout
    b = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'tools');"
                        "import gen_validator as g; print(g.generate('config.json'))"],
                       cwd=REPO, capture_output=True, text=True, check=True,
                       env=dict(os.environ, PYTHONHASHSEED="2")).stdout
    assert a == b


def test_paths_are_dotted_json_paths():
    doc = {"process": {"args": [1]}, "mounts": [{}, {}, {"destination": 5}],
           "linux": {"namespaces": [{"type": "bogus"}], "sysctl": {"net.ipv4.x": 1},
                     "netDevices": {"eth0": {"name": 1}}},
           "annotations": {'we"ird': 1}}
    assert _schema_config.validate(doc) == [
        ("process.args[0]", "must be a string"),
        ("process.cwd", "is required"),
        ("mounts[0].destination", "is required"),
        ("mounts[1].destination", "is required"),
        ("mounts[2].destination", "must be a string"),
        ("linux.namespaces[0].type",
         "must be one of: mount, pid, network, uts, ipc, user, cgroup, time"),
        ("linux.sysctl[\"net.ipv4.x\"]", "must be a string"),
        ("linux.netDevices.eth0.name", "must be a string"),
        ("annotations[\"we\\\"ird\"]", "must be a string"),
        ("ociVersion", "is required"),
    ]


def test_messages():
    v = _schema_config.validate
    base = {"ociVersion": "1.0.0"}
    cases = [
        ({"hostname": 1}, ("hostname", "must be a string")),
        ({"root": {"path": "r", "readonly": "yes"}}, ("root.readonly", "must be a boolean")),
        ({"process": {"cwd": "/", "user": {"uid": -1}}},
         ("process.user.uid", "must be between 0 and 4294967295")),
        ({"process": {"cwd": "/", "oomScoreAdj": 1.5}},
         ("process.oomScoreAdj", "must be an integer")),
        ({"process": {"cwd": "/", "scheduler": {"policy": "SCHED_OTHER", "nice": 2 ** 31}}},
         ("process.scheduler.nice", "must fit in a signed 32-bit integer")),
        ({"hooks": {"poststop": [{"path": "/x", "timeout": 0}]}},
         ("hooks.poststop[0].timeout", "must be at least 1")),
        ({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                                "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}}},
         ("linux.seccomp.syscalls[0].names", "must be a non-empty array")),
        ({"process": {"cwd": "/", "rlimits": [{"type": "NOFILE", "soft": 1, "hard": 1}]}},
         ("process.rlimits[0].type", "must be an RLIMIT_* name")),
        ({"mounts": {}}, ("mounts", "must be an array")),
        ({"linux": []}, ("linux", "must be an object")),
        ({"windows": {"layerFolders": []}}, ("windows.layerFolders",
                                              "must be a non-empty array")),
        ({"windows": {"layerFolders": ["x"], "devices": [{"id": "x", "idType": "y"}]}},
         ("windows.devices[0].idType", 'must be "class"')),
    ]
    for extra, expected in cases:
        assert v(dict(base, **extra)) == [expected], extra
    assert _schema_state.validate({"ociVersion": "1", "id": "a", "status": "up",
                                   "bundle": "/b", "pid": -1}) == [
        ("status", "must be one of: creating, created, running, stopped"),
        ("pid", "must not be negative")]


def test_validators_are_cheap():
    """Import + validate in a fresh interpreter; generous bound (CI machines are
    noisy), the real figure is in docs/validation.md."""
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from pyruntime.jsonfast import load_file\n"
            "cfg = load_file(%r)\n"
            "import pyruntime.errors\n"
            "t = time.perf_counter()\n"
            "import pyruntime._schema_config as c\n"
            "assert c.validate(cfg) == []\n"
            "print(time.perf_counter() - t)\n" % (str(REPO), str(FIXTURES / "runc-spec.json")))
    best = min(float(subprocess.run([sys.executable, "-I", "-S", "-c", code],
                                    capture_output=True, text=True, check=True).stdout)
               for _ in range(5))
    assert best < 0.005


def test_spec_files_are_our_own():
    for p in SPEC.glob("*.json"):
        doc = json.loads(p.read_text())
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema", p.name
        assert doc["$id"].endswith("/" + p.name)
        assert "definitions" not in doc, p.name
        assert doc.get("description"), p.name
