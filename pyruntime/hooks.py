"""OCI hooks (config.md#posix-platform-hooks): each hook gets the container's
state JSON on stdin, runs with its own args/env, and is killed after `timeout`
seconds. A failing hook fails the operation, except poststop, whose failure is
only a warning (runtime.md, lifecycle steps 9 and 13)."""
import os
import select

from .errors import PyruntimeError
from .jsonfast import dumps

# runtime.md: a failure of these is an error (and the container is stopped);
# only poststop failures are warnings.
FATAL = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart")


class HookError(PyruntimeError):
    pass


def run_hooks(kind: str, hooks: "list[dict] | None", state: dict) -> None:
    """Run every hook of ``kind`` in order. Raises HookError for the fatal kinds;
    logs a warning and continues for poststart/poststop."""
    if not hooks:
        return
    payload = dumps(state).encode()
    for i, hook in enumerate(hooks):
        try:
            run_one(hook, payload, f"hooks.{kind}[{i}]")
        except HookError as e:
            if kind in FATAL:
                raise
            from . import log
            log.warning(str(e))


def run_one(hook: dict, stdin_data: bytes, where: str) -> None:
    path = hook["path"]
    args = hook.get("args") or [path]
    env = hook.get("env") or []
    envd = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    timeout = hook.get("timeout")
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.posix_spawn(path, args, envd, file_actions=[(os.POSIX_SPAWN_DUP2, r, 0)])
    except OSError as e:
        os.close(r)
        os.close(w)
        raise HookError(f"{where}: cannot run {path}: {e.strerror.lower()}") from None
    os.close(r)
    try:
        try:
            os.write(w, stdin_data)
        except BrokenPipeError:
            pass  # the hook need not read its stdin
    finally:
        os.close(w)
    status = _wait(pid, timeout)
    if status is None:
        raise HookError(f"{where}: {path} did not finish within {timeout}s and was killed")
    if os.WIFSIGNALED(status):
        raise HookError(f"{where}: {path} was killed by signal {os.WTERMSIG(status)}")
    code = os.WEXITSTATUS(status)
    if code != 0:
        raise HookError(f"{where}: {path} exited with status {code}")


def _wait(pid: int, timeout: "int | None") -> "int | None":
    if not timeout:
        return os.waitpid(pid, 0)[1]
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        if not ready:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        return os.waitpid(pid, 0)[1]
    finally:
        os.close(pidfd)
