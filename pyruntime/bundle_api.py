"""Bundles as Python objects: load and validate one, or build one from a
rootfs directory and a config builder with `pyruntime spec`'s defaults.

    from pyruntime import Bundle
    from pyruntime.bundle_api import ConfigBuilder
    cfg = ConfigBuilder().args("sh", "-c", "echo hi").memory_limit(64 << 20).build()
    bundle = Bundle.create("/tmp/b", rootfs="/path/to/rootfs", config=cfg)
    problems = bundle.validate()          # [] or [ConfigError(path, message), ...]
"""
import copy
import os

from .errors import ConfigError, InvalidConfig

__all__ = ["Bundle", "ConfigBuilder"]


class Bundle:
    """A bundle directory: ``config.json`` plus a root filesystem."""

    def __init__(self, path: str, config: dict):
        self.path = os.path.abspath(path)
        self.config = config

    @classmethod
    def load(cls, path: str) -> "Bundle":
        """Read config.json (not validated: call validate())."""
        from .jsonfast import JSONError, load_file
        cfg_path = os.path.join(path, "config.json")
        try:
            cfg = load_file(cfg_path)
        except FileNotFoundError:
            raise InvalidConfig([ConfigError("", f"{cfg_path}: no such file or directory")]) \
                from None
        except JSONError as e:
            raise InvalidConfig([ConfigError("", str(e))]) from None
        if not isinstance(cfg, dict):
            raise InvalidConfig([ConfigError("", "must be a JSON object")])
        return cls(path, cfg)

    @classmethod
    def create(cls, path: str, *, rootfs: "str | None" = None,
               config: "dict | ConfigBuilder | None" = None, overwrite: bool = False) -> "Bundle":
        """Write a bundle. ``rootfs`` (a directory) is symlinked as ``<path>/rootfs``
        unless it already lives inside the bundle; config defaults to `spec`'s."""
        os.makedirs(path, exist_ok=True)
        if isinstance(config, ConfigBuilder):
            config = config.build()
        cfg = copy.deepcopy(config) if config is not None else ConfigBuilder().build()
        if rootfs is not None:
            rootfs = os.path.abspath(rootfs)
            inside = os.path.commonpath([rootfs, os.path.abspath(path)]) == os.path.abspath(path)
            cfg.setdefault("root", {})["path"] = (os.path.relpath(rootfs, path) if inside
                                                  else rootfs)
        cfg_path = os.path.join(path, "config.json")
        if os.path.exists(cfg_path) and not overwrite:
            raise FileExistsError(f"{cfg_path} exists (pass overwrite=True)")
        b = cls(path, cfg)
        b.save()
        return b

    def save(self) -> None:
        from .commands import indent_json
        tmp = os.path.join(self.path, ".config.json.tmp")
        with open(tmp, "w") as f:
            f.write(indent_json(self.config) + "\n")
        os.rename(tmp, os.path.join(self.path, "config.json"))

    def validate(self) -> "list[ConfigError]":
        """Every problem at once, as ConfigError(path, message) objects."""
        from .bundle import validate
        return validate(self.config, self.path)

    @property
    def rootfs(self) -> str:
        from .bundle import rootfs_path
        return rootfs_path(self.config, self.path)


class ConfigBuilder:
    """A config.json with `pyruntime spec`'s defaults (non-terminal), edited
    through chainable methods; ``build()`` returns a fresh dict."""

    def __init__(self, rootless: bool = False):
        from .specgen import default_config
        self._cfg = default_config(rootless=rootless, terminal=False)

    def args(self, *args: str) -> "ConfigBuilder":
        self._cfg["process"]["args"] = list(args)
        return self

    def env(self, name: str, value: str) -> "ConfigBuilder":
        env = [e for e in self._cfg["process"]["env"] if e.split("=", 1)[0] != name]
        self._cfg["process"]["env"] = env + [f"{name}={value}"]
        return self

    def cwd(self, path: str) -> "ConfigBuilder":
        self._cfg["process"]["cwd"] = path
        return self

    def user(self, uid: int, gid: int = 0, additional_gids=()) -> "ConfigBuilder":
        self._cfg["process"]["user"] = {"uid": uid, "gid": gid,
                                        **({"additionalGids": list(additional_gids)}
                                           if additional_gids else {})}
        return self

    def terminal(self, on: bool = True) -> "ConfigBuilder":
        self._cfg["process"]["terminal"] = on
        return self

    def hostname(self, name: str) -> "ConfigBuilder":
        self._cfg["hostname"] = name
        return self

    def readonly_root(self, on: bool = True) -> "ConfigBuilder":
        self._cfg["root"]["readonly"] = on
        return self

    def _resources(self) -> dict:
        return self._cfg["linux"].setdefault("resources", {})

    def memory_limit(self, limit: int) -> "ConfigBuilder":
        self._resources().setdefault("memory", {})["limit"] = int(limit)
        return self

    def pids_limit(self, limit: int) -> "ConfigBuilder":
        self._resources()["pids"] = {"limit": int(limit)}
        return self

    def cpu_shares(self, shares: int) -> "ConfigBuilder":
        self._resources().setdefault("cpu", {})["shares"] = int(shares)
        return self

    def mount(self, destination: str, source: str, type: str = "bind",
              options=("rbind", "ro")) -> "ConfigBuilder":
        self._cfg["mounts"].append({"destination": destination, "source": source, "type": type,
                                    "options": list(options)})
        return self

    def hook(self, kind: str, path: str, *args: str, env=(), timeout: "int | None" = None
             ) -> "ConfigBuilder":
        h: dict = {"path": path, "args": [path, *args] if args else [path]}
        if env:
            h["env"] = list(env)
        if timeout:
            h["timeout"] = timeout
        self._cfg.setdefault("hooks", {}).setdefault(kind, []).append(h)
        return self

    def annotation(self, key: str, value: str) -> "ConfigBuilder":
        self._cfg.setdefault("annotations", {})[key] = value
        return self

    def namespace(self, ns_type: str, path: "str | None" = None) -> "ConfigBuilder":
        nss = [n for n in self._cfg["linux"]["namespaces"] if n["type"] != ns_type]
        nss.append({"type": ns_type, **({"path": path} if path else {})})
        self._cfg["linux"]["namespaces"] = nss
        return self

    def set(self, dotted: str, value) -> "ConfigBuilder":
        """Set any field: set("linux.sysctl", {"net.ipv4.ip_forward": "1"})."""
        node = self._cfg
        keys = dotted.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
        return self

    def build(self) -> dict:
        return copy.deepcopy(self._cfg)
