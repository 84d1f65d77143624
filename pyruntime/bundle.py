"""An OCI bundle: a directory with config.json and a root filesystem."""
import os

from .errors import ConfigError, InvalidConfig
from .jsonfast import JSONError, load_file


def config_path(bundle_dir: str) -> str:
    return os.path.join(bundle_dir, "config.json")


def load_config(bundle_dir: str, for_create: bool = True) -> dict:
    """Read and validate ``<bundle>/config.json``; raise InvalidConfig listing
    every problem (the first one in the message)."""
    path = config_path(bundle_dir)
    if not os.path.isdir(bundle_dir):
        raise InvalidConfig([ConfigError("", f"bundle directory {bundle_dir} does not exist: "
                                         "no such file or directory", file=bundle_dir)])
    try:
        cfg = load_file(path)
    except FileNotFoundError:
        raise InvalidConfig([ConfigError("", f"{path}: no such file or directory")]) from None
    except IsADirectoryError:
        raise InvalidConfig([ConfigError("", f"{path} is a directory")]) from None
    except PermissionError:
        raise InvalidConfig([ConfigError("", f"{path}: permission denied")]) from None
    except JSONError as e:
        raise InvalidConfig([ConfigError("", str(e))]) from None
    errors = validate(cfg, bundle_dir, for_create)
    if errors:
        raise InvalidConfig(errors)
    return cfg


def validate(cfg: object, bundle_dir: "str | None", for_create: bool = True) -> "list[ConfigError]":
    from . import validation
    if for_create:
        return validation.validate_for_create(cfg, bundle_dir)
    return validation.validate_config(cfg, bundle_dir)


def rootfs_path(cfg: dict, bundle_dir: str) -> str:
    root = (cfg.get("root") or {}).get("path", "rootfs")
    path = root if os.path.isabs(root) else os.path.join(bundle_dir, root)
    return os.path.realpath(path)
