"""Test helpers for tests/cgroups (imported by conftest and the tests)."""
import os
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Helper:
    def __init__(self):
        self.p = subprocess.Popen([sys.executable, "-S", "-u", os.path.join(HERE, "helper.py")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.cmd("ping") == "pong"

    @property
    def pid(self) -> int:
        return self.p.pid

    def cmd(self, line: str, timeout: float = 30.0) -> "str | None":
        """Send one command; its answer, or None if the helper died."""
        try:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise TimeoutError(f"helper: no answer to {line!r}")
        out = self.p.stdout.readline()
        return out.strip() if out else None

    def alive(self) -> bool:
        return self.p.poll() is None

    def wait(self, timeout: float = 10.0) -> int:
        return self.p.wait(timeout)

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass



def wait_until(fn, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(interval)
    return bool(fn())
