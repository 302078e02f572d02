"""A detached server process tracked by a pid file: start once, wait until ready, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hybrid_search.core.errors import LocalServiceError


class ManagedProcess:
    """One named server whose pid lives in ``pid_file`` and whose output goes to ``log_file``."""

    def __init__(self, name: str, pid_file: Path, log_file: Path) -> None:
        self.name = name
        self.pid_file = pid_file
        self.log_file = log_file

    def pid(self) -> int | None:
        """The pid of the running server, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(
        self,
        argv: Sequence[str],
        ready: Callable[[], bool],
        timeout_s: float,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> int:
        """Start ``argv`` in its own session unless already running, and wait until ``ready()``."""
        pid = self.pid()
        if pid is None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            with self.log_file.open("ab") as log:
                proc = subprocess.Popen(
                    list(argv),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=cwd,
                    env=env,
                    start_new_session=True,
                )
            pid = proc.pid
            self.pid_file.write_text(f"{pid}\n")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return pid
            if not _alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise LocalServiceError(f"{self.name} exited during start-up; last log lines:\n{self.log_tail()}")
            time.sleep(0.5)
        raise LocalServiceError(f"{self.name} not ready after {timeout_s:.0f}s; last log lines:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 60.0) -> bool:
        """SIGTERM the server, SIGKILL it after ``timeout_s``; False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """SIGKILL the server at once, as a crash would (no shutdown work); False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap our own child if it has exited
        if waited == pid:
            return False
    except ChildProcessError:
        pass  # not our child: fall through to the signal probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) != "Z"


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "?"
    return stat.rsplit(")", 1)[1].split()[0]


def free_ports(count: int, start: int = 20000) -> int:
    """The first of ``count`` consecutive loopback ports nothing listens on, from ``start`` up: below
    Linux's ephemeral range (32768-60999), where clients' own connections (a search load's) could take
    one of a cluster's ports between this check and its node binding it."""
    first = start
    while first + count < 32768:
        taken = next((port for port in range(first, first + count) if _listening(port)), None)
        if taken is None:
            return first
        first = taken + 1
    raise LocalServiceError(f"no {count} free loopback ports in a row from {start} below 32768")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False
