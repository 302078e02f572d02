"""GPU workers: one Celery worker process per GPU, each pinned to its GPU by CUDA_VISIBLE_DEVICES.

Each runs the threads pool with two tasks in flight, so while one batch is on the GPU the other is
being read from or written to OpenSearch (the writes overlap the next batch). Only the first runs the
schedule.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

TASKS_IN_FLIGHT = 2


def visible_gpus(spec: str, env: Mapping[str, str], device_count: int) -> list[str]:
    """The physical ids ``spec`` ("all" or positions like "0,2") names among the GPUs this process
    sees: CUDA_VISIBLE_DEVICES's list when set, else 0..count-1."""
    visible = (
        [g.strip() for g in env["CUDA_VISIBLE_DEVICES"].split(",") if g.strip()]
        if env.get("CUDA_VISIBLE_DEVICES")
        else [str(i) for i in range(device_count)]
    )
    if spec == "all":
        return visible
    chosen = []
    for part in spec.split(","):
        if not part.strip().isdigit() or int(part) >= len(visible):
            raise ValueError(f"--gpus: {part.strip()!r} is not one of the {len(visible)} GPUs visible here")
        chosen.append(visible[int(part)])
    return chosen


@dataclass(frozen=True)
class GpuWorker:
    gpu: str
    argv: list[str]
    env: dict[str, str]


def gpu_workers(gpus: list[str], beat: bool, schedule: str | None, loglevel: str) -> list[GpuWorker]:
    """One ``hybrid-search worker --gpus 0`` per physical GPU, each seeing only its own."""
    workers = []
    for n, gpu in enumerate(gpus):
        argv = [sys.executable, "-m", "hybrid_search.cli", "worker", "--gpus", "0", f"--loglevel={loglevel}"]
        if beat and n == 0:
            argv += ["--beat", *([f"--schedule={schedule}"] if schedule else [])]
        else:
            argv.append("--no-beat")
        workers.append(GpuWorker(gpu, argv, {"CUDA_VISIBLE_DEVICES": gpu, "HYBRID_SEARCH_DEVICE": "cuda"}))
    return workers
