"""Bundles as Python objects: load and validate one, or build one from a
rootfs directory and a config builder with `pyruntime spec`'s defaults.

    from pyruntime import Bundle, ConfigBuilder
    cfg = ConfigBuilder().args("sh", "-c", "echo hi").memory_limit(64 << 20)
    bundle = Bundle.create("/tmp/b", rootfs="/path/to/rootfs", config=cfg)
    problems = bundle.validate()          # [] or [ConfigError(path, message), ...]
"""
import copy
import os

from .errors import ConfigError, InvalidArgument, InvalidConfig

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time: for the type checker only
    from collections.abc import Iterable
    from typing import Any

    JSONDict = dict[str, Any]

__all__ = ["Bundle", "ConfigBuilder", "HOOK_KINDS"]

#: the hook kinds of config.md#posix-platform-hooks, in the order they run
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")


class Bundle:
    """A bundle directory: ``config.json`` plus a root filesystem.

    ``path`` is absolute; ``config`` is the parsed config.json (a dict you may
    edit, then ``save()``)."""

    def __init__(self, path: "str | os.PathLike[str]", config: "JSONDict") -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.config = config

    def __repr__(self) -> str:
        return f"Bundle({self.path!r})"

    @classmethod
    def load(cls, path: "str | os.PathLike[str]", *, validate: bool = False) -> "Bundle":
        """Read ``<path>/config.json``. A missing, unreadable or malformed file
        raises InvalidConfig; the content is checked only with ``validate=True``
        (then InvalidConfig lists every problem), else call validate()."""
        from .jsonfast import JSONError, load_file
        path = os.fspath(path)
        cfg_path = os.path.join(path, "config.json")
        try:
            cfg = load_file(cfg_path)
        except FileNotFoundError:
            raise InvalidConfig([ConfigError("", f"{cfg_path}: no such file or directory")]) \
                from None
        except IsADirectoryError:
            raise InvalidConfig([ConfigError("", f"{cfg_path} is a directory")]) from None
        except PermissionError:
            raise InvalidConfig([ConfigError("", f"{cfg_path}: permission denied")]) from None
        except JSONError as e:
            raise InvalidConfig([ConfigError("", str(e))]) from None
        if not isinstance(cfg, dict):
            raise InvalidConfig([ConfigError("", "must be a JSON object")])
        b = cls(path, cfg)
        if validate:
            b.check()
        return b

    @classmethod
    def create(cls, path: "str | os.PathLike[str]", *,
               rootfs: "str | os.PathLike[str] | None" = None,
               config: "JSONDict | ConfigBuilder | None" = None,
               overwrite: bool = False) -> "Bundle":
        """Write a bundle directory (made if needed) and return it.

        ``config`` (a dict or a :class:`ConfigBuilder`) defaults to
        ``ConfigBuilder()``: `pyruntime spec`'s config, non-terminal. ``rootfs``
        (an existing directory) becomes ``root.path``: relative when it lies
        inside the bundle, absolute otherwise (nothing is copied). An existing
        config.json is only replaced with ``overwrite=True`` (else
        FileExistsError). The config is not validated: call validate()."""
        path = os.path.abspath(os.fspath(path))
        cfg_path = os.path.join(path, "config.json")
        if os.path.exists(cfg_path) and not overwrite:
            raise FileExistsError(f"{cfg_path} exists (pass overwrite=True)")
        if isinstance(config, ConfigBuilder):
            cfg = config.build()
        elif config is not None:
            cfg = copy.deepcopy(config)
        else:
            cfg = ConfigBuilder().build()
        if rootfs is not None:
            rootfs = os.path.abspath(os.fspath(rootfs))
            if not os.path.isdir(rootfs):
                raise InvalidArgument(f"rootfs {rootfs}: not a directory")
            inside = os.path.commonpath([rootfs, path]) == path
            cfg.setdefault("root", {})["path"] = os.path.relpath(rootfs, path) if inside \
                else rootfs
        os.makedirs(path, exist_ok=True)
        b = cls(path, cfg)
        b.save()
        return b

    def save(self) -> None:
        """(Re)write config.json atomically from ``config``."""
        import json
        tmp = os.path.join(self.path, ".config.json.tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps(self.config, indent=2) + "\n")
        os.rename(tmp, os.path.join(self.path, "config.json"))

    def validate(self) -> "list[ConfigError]":
        """Every problem at once (schema and the checks create makes, such as
        a missing rootfs), as ConfigError objects with ``file``, ``path`` (a
        dotted JSON path, e.g. ``process.args`` or ``mounts[2].destination``)
        and ``message``; [] when the bundle is valid."""
        from .bundle import validate
        return validate(self.config, self.path)

    def check(self) -> None:
        """Raise InvalidConfig (with every problem in ``.errors``) unless valid."""
        errors = self.validate()
        if errors:
            raise InvalidConfig(errors)

    @property
    def rootfs(self) -> str:
        """The root filesystem's absolute, resolved path."""
        from .bundle import rootfs_path
        return rootfs_path(self.config, self.path)


class ConfigBuilder:
    """A config.json with `pyruntime spec`'s defaults, edited through chainable
    methods; ``build()`` returns a fresh dict.

    The one difference from `pyruntime spec`: ``process.terminal`` is false
    unless ``terminal=True`` (a script rarely has a console socket). With
    ``rootless=True``, `pyruntime spec --rootless`'s config."""

    def __init__(self, rootless: bool = False, terminal: bool = False) -> None:
        from .specgen import default_config
        self._cfg: "JSONDict" = default_config(rootless=rootless, terminal=terminal)

    # -- process ---------------------------------------------------------------
    def args(self, *args: str) -> "ConfigBuilder":
        """``process.args``: the program and its arguments."""
        self._cfg["process"]["args"] = [str(a) for a in args]
        return self

    def env(self, name: str, value: str) -> "ConfigBuilder":
        """Set one variable of ``process.env`` (replacing an earlier value)."""
        env = [e for e in self._cfg["process"]["env"] if e.split("=", 1)[0] != name]
        self._cfg["process"]["env"] = env + [f"{name}={value}"]
        return self

    def cwd(self, path: str) -> "ConfigBuilder":
        self._cfg["process"]["cwd"] = path
        return self

    def user(self, uid: int, gid: int = 0, additional_gids: "Iterable[int]" = ()
             ) -> "ConfigBuilder":
        gids = list(additional_gids)
        self._cfg["process"]["user"] = {"uid": uid, "gid": gid,
                                        **({"additionalGids": gids} if gids else {})}
        return self

    def terminal(self, on: bool = True) -> "ConfigBuilder":
        self._cfg["process"]["terminal"] = on
        return self

    def rlimit(self, kind: str, soft: int, hard: "int | None" = None) -> "ConfigBuilder":
        """Set one ``process.rlimits`` entry, e.g. ``rlimit("RLIMIT_NOFILE", 256)``."""
        kind = kind.upper() if kind.upper().startswith("RLIMIT_") else "RLIMIT_" + kind.upper()
        rl = [r for r in self._cfg["process"].get("rlimits", []) if r["type"] != kind]
        rl.append({"type": kind, "soft": int(soft), "hard": int(soft if hard is None else hard)})
        self._cfg["process"]["rlimits"] = rl
        return self

    # -- container -------------------------------------------------------------
    def hostname(self, name: str) -> "ConfigBuilder":
        self._cfg["hostname"] = name
        return self

    def readonly_root(self, on: bool = True) -> "ConfigBuilder":
        """``root.readonly`` (true by default, as in `pyruntime spec`)."""
        self._cfg["root"]["readonly"] = on
        return self

    def mount(self, destination: str, source: str, type: str = "bind",
              options: "Iterable[str]" = ("rbind", "ro")) -> "ConfigBuilder":
        """Append to ``mounts`` (default: a read-only recursive bind mount)."""
        self._cfg["mounts"].append({"destination": destination, "source": source, "type": type,
                                    "options": list(options)})
        return self

    def hook(self, kind: str, path: str, *args: str, env: "Iterable[str]" = (),
             timeout: "int | None" = None) -> "ConfigBuilder":
        """Append a hook of ``kind`` (one of HOOK_KINDS): ``path`` (an absolute
        host path) run with argv ``[path, *args]``, environment ``env``
        (``KEY=VALUE`` strings; empty by default, as the spec says) and the
        container's state JSON on stdin; killed after ``timeout`` seconds."""
        if kind not in HOOK_KINDS:
            raise InvalidArgument(f"unknown hook kind {kind!r}: use one of "
                                  f"{', '.join(HOOK_KINDS)}")
        h: "JSONDict" = {"path": path, "args": [path, *args]}
        envl = list(env)
        if envl:
            h["env"] = envl
        if timeout:
            h["timeout"] = timeout
        self._cfg.setdefault("hooks", {}).setdefault(kind, []).append(h)
        return self

    def annotation(self, key: str, value: str) -> "ConfigBuilder":
        self._cfg.setdefault("annotations", {})[key] = value
        return self

    # -- linux -----------------------------------------------------------------
    def namespace(self, ns_type: str, path: "str | None" = None) -> "ConfigBuilder":
        """Add (or replace) a namespace: a new one, or join ``path``."""
        nss = [n for n in self._cfg["linux"]["namespaces"] if n["type"] != ns_type]
        nss.append({"type": ns_type, **({"path": path} if path else {})})
        self._cfg["linux"]["namespaces"] = nss
        return self

    def without_namespace(self, ns_type: str) -> "ConfigBuilder":
        """Share the host's namespace of this type (e.g. ``"network"``)."""
        self._cfg["linux"]["namespaces"] = [n for n in self._cfg["linux"]["namespaces"]
                                            if n["type"] != ns_type]
        return self

    def _resources(self) -> "JSONDict":
        res: "JSONDict" = self._cfg["linux"].setdefault("resources", {})
        return res

    def memory_limit(self, limit: int) -> "ConfigBuilder":
        """``linux.resources.memory.limit`` in bytes."""
        self._resources().setdefault("memory", {})["limit"] = int(limit)
        return self

    def pids_limit(self, limit: int) -> "ConfigBuilder":
        """``linux.resources.pids.limit``: most tasks the container may have."""
        self._resources()["pids"] = {"limit": int(limit)}
        return self

    def cpu_shares(self, shares: int) -> "ConfigBuilder":
        self._resources().setdefault("cpu", {})["shares"] = int(shares)
        return self

    def cgroups_path(self, path: str) -> "ConfigBuilder":
        """``linux.cgroupsPath``."""
        self._cfg["linux"]["cgroupsPath"] = path
        return self

    # -- anything else -----------------------------------------------------------
    def set(self, dotted: str, value: "Any") -> "ConfigBuilder":
        """Set any field by its dotted path, making the objects on the way:
        ``set("linux.sysctl", {"net.ipv4.ip_forward": "1"})``."""
        node = self._cfg
        keys = dotted.split(".")
        for k in keys[:-1]:
            nxt = node.setdefault(k, {})
            if not isinstance(nxt, dict):
                raise InvalidArgument(f"set({dotted!r}): {k} is not an object")
            node = nxt
        node[keys[-1]] = copy.deepcopy(value)
        return self

    def build(self) -> "JSONDict":
        """A fresh copy of the config (later edits of the builder don't touch it)."""
        return copy.deepcopy(self._cfg)
