"""One function per CLI command: turn parsed flags into API calls and print
results. Nothing here touches a syscall or the state store directly."""
import os
import sys

from .errors import ContainerNotFound, InvalidArgument


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _runtime(root: str):
    from .api import Runtime
    return Runtime(root)


def _create_kw(opts: dict) -> dict:
    return {"pid_file": opts.get("pid_file"), "console_socket": opts.get("console_socket"),
            "preserve_fds": opts.get("preserve_fds", 0), "no_pivot": opts.get("no_pivot", False),
            "no_new_keyring": opts.get("no_new_keyring", False)}


def cmd_create(root, opts, args, extra, gopts):
    _runtime(root).create(args[0], opts.get("bundle") or os.getcwd(), **_create_kw(opts))


def cmd_run(root, opts, args, extra, gopts):
    return _runtime(root).run(args[0], opts.get("bundle") or os.getcwd(),
                              detach=opts.get("detach", False), keep=opts.get("keep", False),
                              **_create_kw(opts))


def cmd_start(root, opts, args, extra, gopts):
    _runtime(root).get(args[0]).start()


def cmd_state(root, opts, args, extra, gopts):
    _out(indent_json(_runtime(root).get(args[0]).state()) + "\n")


def cmd_kill(root, opts, args, extra, gopts):
    sig = args[1] if len(args) > 1 else "SIGTERM"
    from .container import parse_signal
    signum = parse_signal(sig)  # an unknown signal is an error even for a missing container
    _runtime(root).get(args[0]).kill(signum, all_processes=opts.get("all", False))


def cmd_delete(root, opts, args, extra, gopts):
    from .state import validate_id
    validate_id(args[0])
    try:
        c = _runtime(root).get(args[0])
    except ContainerNotFound:
        if opts.get("force"):
            return 0
        raise
    try:
        c.delete(force=opts.get("force", False))
    except ContainerNotFound:
        if not opts.get("force"):
            raise


def cmd_list(root, opts, args, extra, gopts):
    fmt = opts.get("format", "table")
    if fmt not in ("table", "json"):
        raise InvalidArgument(f"invalid --format {fmt!r}: use table or json")
    states = []
    for c in _runtime(root).list():
        st = c.state()
        st["owner"] = _owner(c.dir)
        states.append(st)
    if opts.get("quiet"):
        _out("".join(s["id"] + "\n" for s in states))
        return
    if fmt == "json":
        from .jsonfast import dumps
        _out(dumps([{k: s[k] for k in ("ociVersion", "id", "pid", "status", "bundle", "rootfs",
                                        "created", "owner")} for s in states]) + "\n")
        return
    rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
    for s in states:
        rows.append([s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"],
                     s["owner"]])
    _out(_table(rows))


def _owner(path: str) -> str:
    """The user owning a container's state directory (runc's list OWNER)."""
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return ""
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


def _table(rows: "list[list[str]]") -> str:
    """runc's tabwriter layout: minimum width 12, padding 3."""
    widths = [max(12, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths)] + [r[-1]]
        lines.append("".join(cells).rstrip() + "\n")
    return "".join(lines)


def indent_json(obj, level: int = 0) -> str:
    """json.dumps(obj, indent=2) without importing json (runc prints state indented)."""
    from .jsonfast import dumps
    pad = "  " * (level + 1)
    if isinstance(obj, dict) and obj:
        items = [f"{pad}{dumps(str(k))}: {indent_json(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(obj, list) and obj:
        items = [pad + indent_json(v, level + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"
    return dumps(obj)


def cmd_spec(root, opts, args, extra, gopts):
    from .specgen import default_config
    bundle = opts.get("bundle") or os.getcwd()
    path = os.path.join(bundle, "config.json")
    if os.path.exists(path):
        raise InvalidArgument(f"File {path} exists. Remove it first")
    cfg = default_config(rootless=bool(opts.get("rootless")))
    try:
        with open(path, "x") as f:
            f.write(indent_json(cfg) + "\n")
    except OSError as e:
        raise InvalidArgument(f"cannot write {path}: {e.strerror.lower()}") from None


def cmd_features(root, opts, args, extra, gopts):
    from .features import features
    _out(indent_json(features()) + "\n")


def cmd_validate(root, opts, args, extra, gopts):
    """List every problem of a bundle's config.json at once."""
    from .bundle import load_config
    from .errors import InvalidConfig
    bundle = os.path.abspath(opts.get("bundle") or os.getcwd())
    try:
        load_config(bundle)
    except InvalidConfig as e:
        for err in e.errors:
            sys.stderr.write(str(err) + "\n")
        return 1
    _out(f"{os.path.join(bundle, 'config.json')}: valid\n")


def cmd_pause(root, opts, args, extra, gopts):
    _runtime(root).get(args[0]).pause()


def cmd_resume(root, opts, args, extra, gopts):
    _runtime(root).get(args[0]).resume()


def cmd_ps(root, opts, args, extra, gopts):
    fmt = opts.get("format", "table")
    if fmt not in ("table", "json"):
        raise InvalidArgument(f"invalid --format {fmt!r}: use table or json")
    pids = _runtime(root).get(args[0]).pids()
    if fmt == "json":
        from .jsonfast import dumps
        _out(dumps(pids) + "\n")
        return
    import subprocess
    ps_args = (args[1:] + extra) or ["-ef"]
    out = subprocess.run(["ps"] + ps_args, capture_output=True, text=True)
    if out.returncode != 0:
        raise InvalidArgument(f"ps {' '.join(ps_args)}: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return
    header = lines[0]
    try:
        col = header.split().index("PID")
    except ValueError:
        raise InvalidArgument("ps: the output has no PID column") from None
    wanted = set(pids)
    keep = [header] + [ln for ln in lines[1:]
                       if len(ln.split()) > col and ln.split()[col].isdigit()
                       and int(ln.split()[col]) in wanted]
    _out("\n".join(keep) + "\n")


def cmd_update(root, opts, args, extra, gopts):
    from .update import resources_from_flags
    resources = resources_from_flags(opts)
    _runtime(root).get(args[0]).update(resources)


def cmd_events(root, opts, args, extra, gopts):
    from .events import events
    return events(_runtime(root).get(args[0]), stats_once=opts.get("stats", False),
                  interval=opts.get("interval", "5s"))


def cmd_exec(root, opts, args, extra, gopts):
    from .execproc import exec_from_cli
    return exec_from_cli(_runtime(root), args[0], opts, args[1:] + extra)
