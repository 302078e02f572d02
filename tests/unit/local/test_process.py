import socket
import sys

import pytest

from hybrid_search.core.errors import LocalServiceError
from hybrid_search.local.process import ManagedProcess, free_ports
from tests.net import free_port, listening


def test_start_waits_until_ready_and_stop_ends_the_process(tmp_path):
    port = free_port()
    proc = ManagedProcess("http", tmp_path / "http.pid", tmp_path / "http.log")
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    pid = proc.start(argv, lambda: listening(port), timeout_s=30)
    assert listening(port)
    assert proc.pid() == pid
    # A second start reuses the running server instead of starting another.
    assert proc.start(argv, lambda: listening(port), timeout_s=30) == pid
    assert proc.stop() is True
    assert proc.pid() is None
    assert not listening(port)
    assert proc.stop() is False


def test_a_server_that_dies_during_start_up_raises_with_its_log(tmp_path):
    proc = ManagedProcess("broken", tmp_path / "b.pid", tmp_path / "b.log")
    argv = [sys.executable, "-c", "import sys; print('bad config line 3'); sys.exit(3)"]
    with pytest.raises(LocalServiceError, match="bad config line 3"):
        proc.start(argv, lambda: False, timeout_s=30)
    assert not (tmp_path / "b.pid").exists()


def test_stale_pid_file_is_ignored(tmp_path):
    (tmp_path / "s.pid").write_text("999999999\n")
    proc = ManagedProcess("stale", tmp_path / "s.pid", tmp_path / "s.log")
    assert proc.pid() is None
    assert not (tmp_path / "s.pid").exists()


def test_kill_ends_the_server_at_once_without_its_shutdown_handler(tmp_path):
    port = free_port()
    proc = ManagedProcess("stubborn", tmp_path / "s.pid", tmp_path / "s.log")
    ignores_term = (
        "import signal, http.server; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port={port}, bind='127.0.0.1')"
    )
    proc.start([sys.executable, "-c", ignores_term], lambda: listening(port), timeout_s=30)
    assert proc.kill() is True
    assert proc.pid() is None and not listening(port)
    assert proc.kill() is False


def test_free_ports_skips_a_port_something_listens_on_and_stays_below_the_ephemeral_range():
    first = free_ports(3, 21000)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first + 1))
        taken.listen()
        again = free_ports(3, first)
    assert again >= first + 2 and again + 3 <= 32768
