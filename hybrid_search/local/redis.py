"""A real Redis from Debian's redis-server package, on loopback, with AOF persistence on."""

from __future__ import annotations

import shutil
from pathlib import Path

from hybrid_search.core.errors import LocalServiceError
from hybrid_search.local.apt import apt_install
from hybrid_search.local.process import ManagedProcess
from hybrid_search.stores.redis.client import connect, ping


def ensure_redis_server() -> str:
    """Path of redis-server, installing Debian's package first when it is missing and we are root."""
    found = shutil.which("redis-server")
    if found:
        return found
    apt_install(["redis-server"])
    found = shutil.which("redis-server")
    if not found:
        raise LocalServiceError("redis-server is still missing after apt-get install")
    return found


def redis_command(server: str, port: int, data_dir: Path) -> list[str]:
    """Loopback only; AOF on so queued Celery work survives a restart; no RDB snapshots."""
    return [
        server,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]


class LocalRedis:
    """Start, stop and query the state of one local Redis."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.process = ManagedProcess("Redis", data_dir / "redis.pid", data_dir / "redis.log")

    def healthy(self) -> bool:
        return ping(connect(f"redis://127.0.0.1:{self.port}/0", timeout_s=1))[0]

    def start(self, timeout_s: float = 30.0) -> int:
        if self.process.pid() is None and self.healthy():
            raise LocalServiceError(f"something else already serves Redis on port {self.port}")
        server = ensure_redis_server()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.process.start(redis_command(server, self.port, self.data_dir), self.healthy, timeout_s)

    def stop(self) -> bool:
        return self.process.stop(timeout_s=30.0)

    def status(self) -> dict[str, object]:
        return {"url": f"redis://127.0.0.1:{self.port}/0", "pid": self.process.pid(), "healthy": self.healthy()}
