"""The runc-compatible command line: parse, call the API, print, exit.

No lifecycle logic lives here. Parsing is hand-written (argparse costs ~5 ms of
start-up on every call) and accepts what runc's does: global flags before the
command, ``--flag value`` and ``--flag=value``, short aliases, ``--`` to end flags.
"""
import os
import sys

VERSION = "0.1.0"
SPEC_VERSION = "1.3.0"

GLOBAL_FLAGS = {
    "--root": "str", "--log": "str", "--log-format": "str", "--debug": "bool",
    "--systemd-cgroup": "bool", "--rootless": "str", "--criu": "str",
    "--help": "bool", "-h": "bool", "--version": "bool", "-v": "bool",
}

CREATE_FLAGS = {"--bundle": "str", "-b": "str", "--pid-file": "str", "--console-socket": "str",
                "--preserve-fds": "int", "--no-pivot": "bool", "--no-new-keyring": "bool",
                "--notify-socket": "str"}
COMMANDS = {
    # name: (flags, min positional, max positional (None = any), usage)
    "create": (CREATE_FLAGS, 1, 1, "create [--bundle DIR] [--pid-file F] [--console-socket S] "
               "[--preserve-fds N] [--no-pivot] [--no-new-keyring] ID"),
    "run": (dict(CREATE_FLAGS, **{"--detach": "bool", "-d": "bool", "--keep": "bool"}), 1, 1,
            "run [create flags] [--detach] [--keep] ID"),
    "start": ({}, 1, 1, "start ID"),
    "state": ({}, 1, 1, "state ID"),
    "kill": ({"--all": "bool", "-a": "bool"}, 1, 2, "kill [--all] ID [SIGNAL]"),
    "delete": ({"--force": "bool", "-f": "bool"}, 1, 1, "delete [--force] ID"),
    "list": ({"--quiet": "bool", "-q": "bool", "--format": "str", "-f": "str"}, 0, 0,
             "list [-q] [--format table|json]"),
    "ps": ({"--format": "str", "-f": "str"}, 1, None, "ps [--format table|json] ID [ps options]"),
    "pause": ({}, 1, 1, "pause ID"),
    "resume": ({}, 1, 1, "resume ID"),
    "update": ({"--resources": "str", "-r": "str", "--memory": "str", "--memory-swap": "str",
                "--memory-reservation": "str", "--kernel-memory": "str",
                "--kernel-memory-tcp": "str", "--cpu-shares": "str", "--cpu-share": "str", "--cpu-quota": "str",
                "--cpu-period": "str", "--cpu-rt-period": "str", "--cpu-rt-runtime": "str",
                "--cpuset-cpus": "str", "--cpuset-mems": "str", "--pids-limit": "str",
                "--blkio-weight": "str", "--l3-cache-schema": "str", "--mem-bw-schema": "str"},
               1, 1, "update [--resources FILE|-] [resource flags] ID"),
    "events": ({"--stats": "bool", "--interval": "str"}, 1, 1,
               "events [--stats] [--interval 5s] ID"),
    "exec": ({"--process": "str", "-p": "str", "--tty": "bool", "-t": "bool",
              "--console-socket": "str", "--detach": "bool", "-d": "bool", "--pid-file": "str",
              "--cwd": "str", "--env": "list", "-e": "list", "--user": "str", "-u": "str",
              "--additional-gids": "list", "-g": "list", "--cap": "list", "-c": "list",
              "--no-new-privs": "bool", "--apparmor": "str", "--process-label": "str",
              "--preserve-fds": "int", "--ignore-paused": "bool", "--cgroup": "list"},
             1, None, "exec [flags] ID [-- COMMAND [ARGS...]]"),
    "spec": ({"--bundle": "str", "-b": "str", "--rootless": "bool"}, 0, 0,
             "spec [--bundle DIR] [--rootless]"),
    "features": ({}, 0, 0, "features"),
    "validate": ({"--bundle": "str", "-b": "str"}, 0, 0, "validate [--bundle DIR]"),
}
ALIASES = {"-b": "--bundle", "-d": "--detach", "-a": "--all", "-f": "--force", "-q": "--quiet",
           "-p": "--process", "-t": "--tty", "-e": "--env", "-u": "--user",
           "-g": "--additional-gids", "-c": "--cap", "-r": "--resources", "-h": "--help",
           "-v": "--version"}


class UsageError(Exception):
    pass


def _canon(cmd: str, flag: str) -> str:
    if cmd in ("list", "ps") and flag == "-f":
        return "--format"
    return ALIASES.get(flag, flag)


def parse_flags(argv: "list[str]", spec: dict, cmd: str, stop_at_positional: bool):
    """-> (options dict keyed by canonical long name without dashes, positionals, rest)"""
    opts: dict = {}
    pos: "list[str]" = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return opts, pos, argv[i + 1:]
        if a.startswith("-") and len(a) > 1 and not (pos and stop_at_positional):
            name, eq, val = a.partition("=")
            if not name.startswith("--") and len(name) > 2 and name[1] != "-":
                name = "-" + name  # runc (urfave/cli) accepts -root as --root
                if name not in spec:
                    name = a.partition("=")[0]
            kind = spec.get(name)
            if kind is None:
                raise UsageError(f"flag provided but not defined: {name}")
            key = _canon(cmd, name)[2:].replace("-", "_")
            if kind == "bool":
                if eq:
                    if val.lower() not in ("true", "false", "1", "0"):
                        raise UsageError(f"invalid boolean value {val!r} for {name}")
                    opts[key] = val.lower() in ("true", "1")
                else:
                    opts[key] = True
            else:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise UsageError(f"flag needs an argument: {name}")
                    val = argv[i]
                if kind == "int":
                    try:
                        opts[key] = int(val)
                    except ValueError:
                        raise UsageError(f"invalid value {val!r} for flag {name}: "
                                         "not an integer") from None
                elif kind == "list":
                    opts.setdefault(key, []).append(val)
                else:
                    opts[key] = val
        else:
            pos.append(a)
            if stop_at_positional:
                return opts, pos, argv[i + 1:]
        i += 1
    return opts, pos, []


def usage() -> str:
    lines = ["pyruntime: an OCI container runtime (runc-compatible)", "",
             "usage: pyruntime [global flags] COMMAND [flags] [args]", "",
             "global flags: --root DIR (default /run/pyruntime), --log FILE, "
             "--log-format text|json,", "  --debug, --systemd-cgroup, --rootless, --version, --help",
             "", "commands:"]
    for name, (_, _, _, u) in COMMANDS.items():
        lines.append(f"  {u}")
    return "\n".join(lines) + "\n"


def main(argv: "list[str] | None" = None) -> int:
    from . import log
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        gopts, pos, rest = parse_flags(argv, GLOBAL_FLAGS, "", stop_at_positional=True)
    except UsageError as e:
        log.error(str(e))
        return 1
    log.configure(gopts.get("log"), gopts.get("log_format", "text"), gopts.get("debug", False))
    if gopts.get("log_format", "text") not in ("text", "json"):
        log.configure(gopts.get("log"), "text")
        log.error(f"invalid --log-format {gopts['log_format']!r}: use text or json")
        return 1
    if gopts.get("version"):
        sys.stdout.write(f"pyruntime version {VERSION}\nspec: {SPEC_VERSION}\n")
        return 0
    if not pos:
        if gopts.get("help"):
            sys.stdout.write(usage())
            return 0
        sys.stderr.write(usage())
        return 1
    cmd = pos[0]
    if cmd == "help":
        sys.stdout.write(usage())
        return 0
    if cmd not in COMMANDS:
        log.error(f"unknown command {cmd!r} (see pyruntime --help)")
        return 1
    spec, nmin, nmax, u = COMMANDS[cmd]
    spec = dict(spec, **{"--help": "bool", "-h": "bool"})
    try:
        # exec and ps take the container's command after the ID
        opts, args, extra = parse_flags(rest, spec, cmd, stop_at_positional=cmd in ("exec", "ps"))
        if extra[:1] == ["--"]:
            extra = extra[1:]
        if opts.get("help"):
            sys.stdout.write(f"usage: pyruntime {u}\n")
            return 0
        if len(args) < nmin or (nmax is not None and len(args) + len(extra) > nmax
                                and cmd not in ("exec", "ps")):
            raise UsageError(f"{cmd}: wrong number of arguments; usage: pyruntime {u}")
    except UsageError as e:
        log.error(str(e))
        return 1
    if gopts.get("systemd_cgroup"):
        if not os.path.isdir("/run/systemd/system"):
            log.error("--systemd-cgroup: systemd is not running on this host "
                      "(use the cgroupfs driver: drop --systemd-cgroup)")
            return 1
    root = gopts.get("root") or _default_root(gopts)
    from . import commands
    try:
        return getattr(commands, "cmd_" + cmd)(root, opts, args, extra, gopts) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # every error is one line, never a traceback
        from .errors import PyruntimeError
        if isinstance(e, PyruntimeError):
            log.error(e.msg)
            return e.exit_code
        if isinstance(e, OSError):
            log.error(f"{cmd}: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
            return 1
        if log.is_debug():
            import traceback
            log.debug(traceback.format_exc())
        log.error(f"{cmd}: internal error: {type(e).__name__}: {e}")
        return 1


def entry() -> None:
    """The console script: main(), flush, and leave without the interpreter's
    teardown (module and object finalisation costs 2-5 ms on every call, and
    every file we write is closed explicitly before this point)."""
    rc = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            rc = rc or 1
    os._exit(rc)


def report_native_error() -> None:
    """The error path of the native front end (pyruntime/front.c), for a
    failure after its point of no return: sys.argv is ``[-c, message, the
    command line...]``. Log the message as main() logs a command's error
    (--log, --log-format) and exit 1."""
    from . import log
    msg = os.fsencode(sys.argv[1]).decode("utf-8", "replace")
    try:
        gopts = parse_flags(sys.argv[2:], GLOBAL_FLAGS, "", stop_at_positional=True)[0]
    except UsageError:  # the front end only goes native on flags it parsed
        gopts = {}
    log.configure(gopts.get("log"), gopts.get("log_format", "text"))
    log.error(msg)
    os._exit(1)


def _default_root(gopts: dict) -> str:
    rootless = gopts.get("rootless")
    if os.geteuid() != 0 and rootless not in ("false",):
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        if xdg:
            return os.path.join(xdg, "pyruntime")
    return "/run/pyruntime"


if __name__ == "__main__":
    sys.exit(main())
