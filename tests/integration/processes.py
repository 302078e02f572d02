"""Real ``hybrid-search worker`` processes for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hybrid_search.core.settings import Settings


class Worker:
    """A real ``hybrid-search worker`` process with its own environment."""

    def __init__(self, env: dict[str, str], log: Path, beat: bool = False, args: tuple[str, ...] = ()) -> None:
        """With ``beat``, the worker also runs the schedule (reconciler, training), its state beside the log;
        ``args`` go to ``hybrid-search worker`` as they are."""
        self.log = log
        self.env = env
        self.beat = beat
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.write_text("")
        schedule = ["--beat", f"--schedule={self.log.with_suffix('.schedule')}"] if self.beat else ["--no-beat"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hybrid_search.cli", "worker", *schedule, "--loglevel=info", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while " ready." not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker did not become ready"
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYBRID_SEARCH_")}
    if settings.opensearch_hosts:
        env["HYBRID_SEARCH_OPENSEARCH_HOSTS"] = ",".join(settings.opensearch_hosts)
    for name in (
        "opensearch_url",
        "redis_url",
        "products_alias",
        "events_alias",
        "data_dir",
        "embed_batch_size",
        "task_visibility_timeout_s",
        "device",
        "text_encoder",
        "fusion_model",
        "attribute_model",
        "query_dictionary",
        "query_dictionaries",
        "judgments_dir",
        "models_poll_s",
        "train_after_changes",
        "train_quiet_s",
        "train_check_s",
        "train_lease_s",
        "train_fusion_epochs",
        "train_profile_after_queries",
        "number_of_shards",
        "number_of_replicas",
    ):
        value = getattr(settings, name)
        if value is not None:
            env[f"HYBRID_SEARCH_{name.upper()}"] = str(value)
    return env
