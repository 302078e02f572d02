"""A served API: ``hybrid-search serve`` (gunicorn in front of the app) on the real node and Redis."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.integration.processes import worker_env
from tests.net import free_port


@pytest.fixture(scope="module")
def served(search_settings) -> Iterator[str]:
    port = free_port()
    # one process, one thread: a client that held it would hold the whole API
    env = worker_env(search_settings) | {
        "HYBRID_SEARCH_API_PORT": str(port),
        "HYBRID_SEARCH_API_WORKERS": "1",
        "HYBRID_SEARCH_REQUEST_READ_S": "2",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "hybrid_search.cli", "serve", "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, "hybrid-search serve exited"
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "hybrid-search serve did not answer /health"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
