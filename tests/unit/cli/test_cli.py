from hybrid_search.cli.serving import compute_threads
from hybrid_search.cli.training import _describe_jobs
from hybrid_search.core.settings import Settings
from hybrid_search.stores.redis.training_state import FAILED, TrainingRun
from hybrid_search.training.runner import eta


def test_status_describes_a_failed_run():
    """`hybrid-search status` after a run failed at a step: that step failed, the later ones not run."""
    run = TrainingRun(
        id="r1",
        state=FAILED,
        reason="a catalog load",
        started=0.0,
        finished=3.0,
        step="profile",
        step_started=2.0,
        heartbeat=2.0,
        error="profile: reading search events: not found",
        steps={"attributes": {"seconds": 1.0}},
    )
    view = {
        "products": [],
        "training": eta(run, {}, 10.0),
        "next_training": {"automatic": False},
    }
    text = _describe_jobs(view, Settings())
    assert "training run r1 (a catalog load): failed: profile: reading search events: not found" in text
    assert "  profile    failed" in text and "  attributes done 1 s" in text


def test_compute_threads_sizes_torch_even_when_it_is_loaded_already(monkeypatch):
    """The API package imports torch before ``serve`` sizes the pools: the environment alone came
    too late, and a request thread's pool took every core (a photo search 37 ms instead of 24 in a
    request thread, 2-core machine)."""
    import torch

    before = torch.get_num_threads()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(name, "")  # restored after the test
    try:
        compute_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
