"""The public Python API, part 1: what needs no container (the package's
names, the exceptions, Bundle, ConfigBuilder). Containers: test_containers.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import pyruntime
from pyruntime import Bundle, ConfigBuilder, Runtime, errors

from .conftest import spec_config


# -- the package surface ----------------------------------------------------------

def test_top_level_names_are_the_api_classes():
    from pyruntime import api, bundle_api
    assert pyruntime.Runtime is api.Runtime
    assert pyruntime.Container is api.ManagedContainer
    assert pyruntime.Bundle is bundle_api.Bundle
    assert pyruntime.ConfigBuilder is bundle_api.ConfigBuilder
    assert pyruntime.DEVNULL == subprocess.DEVNULL
    for name in pyruntime.__all__:
        assert getattr(pyruntime, name) is not None, name
    with pytest.raises(AttributeError):
        pyruntime.NoSuchName  # noqa: B018


def test_import_pyruntime_loads_nothing_else():
    """``import pyruntime`` (and each CLI call) must stay cheap: names are lazy."""
    code = ("import sys, pyruntime; "
            "print(sorted(m for m in sys.modules if m.startswith('pyruntime')))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['pyruntime']"


def test_cli_hot_path_does_not_load_the_heavy_api_half():
    """``state``/``start``/``kill``/``delete`` import api.py on every call: what it
    imports must stay as small as before the API grew (the launcher runs -I -S)."""
    where = os.path.dirname(os.path.dirname(pyruntime.__file__))
    code = (f"import sys; sys.path.insert(0, {where!r}); "
            "from pyruntime import api, commands, cli; "
            "bad = [m for m in ('pyruntime._apiimpl', 'pyruntime.bundle_api', 'typing', "
            "'pyruntime.validation', 'pyruntime.create', 'threading', 'signal', "
            "'collections', '__future__') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_exception_hierarchy():
    base = errors.PyruntimeError
    for name in ("ContainerNotFound", "ContainerExists", "InvalidConfig", "InvalidArgument",
                 "WrongState", "ContainerNotRunning", "HostUnsupported", "CgroupError",
                 "SetupError", "HookError"):
        cls = getattr(pyruntime, name)
        assert issubclass(cls, base), name
    assert issubclass(errors.ContainerNotRunning, errors.WrongState)
    assert not issubclass(errors.ConfigError, BaseException)
    e = errors.ContainerNotFound("abc")
    assert e.container_id == "abc" and "does not exist" in str(e) and e.exit_code == 1
    e2 = errors.InvalidConfig([errors.ConfigError("process.args", "is required"),
                               errors.ConfigError("hostname", "must be a string")])
    assert str(e2) == "config.json: process.args: is required (and 1 more problem)"
    assert [x.path for x in e2.errors] == ["process.args", "hostname"]
    assert errors.InvalidConfig("plain").errors == [errors.ConfigError("", "plain")]
    ws = errors.ContainerNotRunning("x", "stopped")
    assert ws.status == "stopped" and "container not running" in str(ws)


def test_get_unknown_and_malformed_ids(tmp_path):
    rt = Runtime(root=str(tmp_path))
    with pytest.raises(errors.ContainerNotFound):
        rt.get("nope")
    for bad in ("", "..", "a/b", "x" * 2000, "sp ace"):
        with pytest.raises(errors.InvalidArgument):
            rt.get(bad)
    assert rt.list() == []
    assert not rt.exists("nope")


# -- Bundle and ConfigBuilder --------------------------------------------------------

def test_config_builder_defaults_are_pyruntime_spec():
    assert ConfigBuilder(terminal=True).build() == spec_config()
    default = ConfigBuilder().build()
    spec = spec_config()
    assert default["process"].pop("terminal") is False
    spec["process"].pop("terminal")
    assert default == spec, "ConfigBuilder() differs from `pyruntime spec` beyond terminal"


def test_config_builder_rootless_defaults_are_pyruntime_spec_rootless():
    assert ConfigBuilder(rootless=True, terminal=True).build() == spec_config("--rootless")


def test_config_builder_edits():
    b = (ConfigBuilder().args("sh", "-c", "true").env("A", "1").env("A", "2").cwd("/tmp")
         .user(1000, 100, [5]).hostname("h").readonly_root(False).memory_limit(1 << 20)
         .pids_limit(7).cpu_shares(512).mount("/x", "/srv", options=("rbind", "rw"))
         .hook("poststart", "/bin/true", "a", env=["K=V"], timeout=3)
         .annotation("k", "v").namespace("cgroup").without_namespace("network")
         .rlimit("nofile", 64).set("linux.sysctl", {"kernel.msgmax": "8192"}))
    c = b.build()
    p = c["process"]
    assert p["args"] == ["sh", "-c", "true"] and p["cwd"] == "/tmp"
    assert [e for e in p["env"] if e.startswith("A=")] == ["A=2"]
    assert p["user"] == {"uid": 1000, "gid": 100, "additionalGids": [5]}
    assert {"type": "RLIMIT_NOFILE", "soft": 64, "hard": 64} in p["rlimits"]
    assert c["hostname"] == "h" and c["root"]["readonly"] is False
    res = c["linux"]["resources"]
    assert res["memory"] == {"limit": 1 << 20} and res["pids"] == {"limit": 7}
    assert res["cpu"] == {"shares": 512}
    assert c["mounts"][-1] == {"destination": "/x", "source": "/srv", "type": "bind",
                               "options": ["rbind", "rw"]}
    assert c["hooks"]["poststart"] == [{"path": "/bin/true", "args": ["/bin/true", "a"],
                                        "env": ["K=V"], "timeout": 3}]
    assert c["annotations"] == {"k": "v"}
    types = [n["type"] for n in c["linux"]["namespaces"]]
    assert "cgroup" in types and "network" not in types
    assert c["linux"]["sysctl"] == {"kernel.msgmax": "8192"}
    # build() returns independent copies
    c["hostname"] = "changed"
    assert b.build()["hostname"] == "h"
    with pytest.raises(errors.InvalidArgument):
        ConfigBuilder().hook("prestop", "/bin/true")
    with pytest.raises(errors.InvalidArgument):
        ConfigBuilder().set("hostname.x", 1)


def test_bundle_create_load_roundtrip(tmp_path):
    rootfs = tmp_path / "b" / "rootfs"
    rootfs.mkdir(parents=True)
    b = Bundle.create(tmp_path / "b", rootfs=rootfs, config=ConfigBuilder().args("true"))
    assert b.path == str(tmp_path / "b")
    assert b.config["root"]["path"] == "rootfs"           # inside the bundle: relative
    assert b.rootfs == str(rootfs)
    loaded = Bundle.load(tmp_path / "b")
    assert loaded.config == b.config
    with open(tmp_path / "b" / "config.json") as f:
        assert json.load(f) == b.config
    with pytest.raises(FileExistsError):
        Bundle.create(tmp_path / "b")
    elsewhere = tmp_path / "rootfs2"
    elsewhere.mkdir()
    b2 = Bundle.create(tmp_path / "b", rootfs=elsewhere, overwrite=True)
    assert b2.config["root"]["path"] == str(elsewhere)    # outside: absolute
    assert b2.validate() == []
    with pytest.raises(errors.InvalidArgument):
        Bundle.create(tmp_path / "c", rootfs=tmp_path / "missing")


def test_bundle_validate_gives_structured_errors(tmp_path):
    (tmp_path / "rootfs").mkdir()
    cfg = ConfigBuilder().build()
    del cfg["process"]["args"]
    cfg["hostname"] = 42
    del cfg["mounts"][1]["destination"]
    cfg["linux"]["namespaces"].append({"type": "bogus"})
    b = Bundle(tmp_path, cfg)
    problems = b.validate()
    assert problems and all(isinstance(p, errors.ConfigError) for p in problems)
    by_path = {p.path: p.message for p in problems}
    assert all(p.file == "config.json" for p in problems)
    assert "process.args" in by_path, problems
    assert "hostname" in by_path, problems
    assert "mounts[1].destination" in by_path, problems
    assert any(p.startswith("linux.namespaces[5]") for p in by_path), problems
    with pytest.raises(errors.InvalidConfig) as ei:
        b.check()
    assert ei.value.errors == problems
    # a missing rootfs is a problem of root.path
    b2 = Bundle(tmp_path / "nowhere", ConfigBuilder().build())
    assert [p.path for p in b2.validate()] == ["root.path"]


def test_bundle_load_errors(tmp_path):
    with pytest.raises(errors.InvalidConfig) as ei:
        Bundle.load(tmp_path)
    assert "no such file" in str(ei.value)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(errors.InvalidConfig) as ei:
        Bundle.load(tmp_path)
    assert len(ei.value.errors) == 1
    (tmp_path / "config.json").write_text("[]")
    with pytest.raises(errors.InvalidConfig):
        Bundle.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"ociVersion": "1.0.0"}))
    assert Bundle.load(tmp_path).config == {"ociVersion": "1.0.0"}
    with pytest.raises(errors.InvalidConfig) as ei:
        Bundle.load(tmp_path, validate=True)
    assert len(ei.value.errors) > 1


def test_create_with_an_invalid_config_leaves_nothing(tmp_path):
    (tmp_path / "b" / "rootfs").mkdir(parents=True)
    cfg = ConfigBuilder().build()
    cfg["process"]["args"] = []
    rt = Runtime(root=str(tmp_path / "state"))
    with pytest.raises(errors.InvalidConfig) as ei:
        rt.create("bad", str(tmp_path / "b"), config=cfg)
    assert [e.path for e in ei.value.errors] == ["process.args"]
    assert not os.path.exists(tmp_path / "state" / "bad")


