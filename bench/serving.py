"""The API as the benches run it: ``hybrid-search serve`` in a subprocess, called as a storefront."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import requests

from hybrid_search.core.settings import Settings

API_PORT = 8099


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


class Api:
    """``hybrid-search serve`` on API_PORT with the given environment, for the life of a with-block."""

    def __init__(self, settings: Settings, **env: str) -> None:
        self.url = f"http://127.0.0.1:{API_PORT}"
        self.env = {**os.environ, "HYBRID_SEARCH_API_PORT": str(API_PORT), **env}
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=16))
        self.session.headers["X-API-Key"] = next(iter(settings.client_keys))  # called as a storefront is
        self.settings = settings

    def __enter__(self) -> Api:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "hybrid_search.cli", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while True:
            try:
                if self.session.get(f"{self.url}/health", timeout=2).ok:
                    return self
            except requests.RequestException:  # refused, or queued while the workers warm up
                pass
            if time.monotonic() > deadline:
                raise SystemExit("API did not start")
            time.sleep(0.5)

    def __exit__(self, *_: object) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)

    def search(self, params: Callable[[int], dict], files: Callable[[int], dict] | None = None):
        def call(i: int) -> dict:
            if files is None:
                response = self.session.get(f"{self.url}/search", params=params(i), timeout=60)
            else:
                response = self.session.post(f"{self.url}/search", data=params(i), files=files(i), timeout=60)
            response.raise_for_status()
            return response.json()["timings_ms"]

        return call
