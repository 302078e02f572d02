from hybrid_search.stores.redis.training_state import DONE, FAILED, RUNNING, TrainingRun
from hybrid_search.training.runner import STEPS, eta


def run(**fields):
    base = {"id": "r1", "state": RUNNING, "reason": "a catalog load", "started": 0.0, "heartbeat": 0.0}
    return TrainingRun(**(base | fields))


def test_eta_of_the_current_step_comes_from_its_progress_and_later_steps_from_the_last_run():
    done = {"attributes": {"artifact": "attributes-a.npz", "seconds": 90.0}, "behaviour": {"skipped": "no events"}}
    now = 130.0
    view = eta(run(step="fusion", step_started=100.0, progress_done=10, progress_total=30, steps=done), {}, now)
    by_step = {s["step"]: s for s in view["steps"]}
    assert by_step["attributes"]["state"] == "done" and by_step["attributes"]["seconds"] == 90.0
    assert by_step["fusion"] == {
        "step": "fusion",
        "state": "running",
        "seconds": 30.0,
        "done": 10,
        "total": 30,
        "message": "",
        "eta_s": 60.0,  # 10 epochs in 30 s, 20 to go
    }
    assert {by_step[name]["state"] for name in ("copy", "embed", "ranker", "profile")} == {"waiting"}
    assert view["eta_s"] is None  # the later steps have never run: no estimate for the whole run
    last = {"copy": 40.0, "embed": 200.0, "ranker": 100.0, "profile": 0.0}
    assert (
        eta(run(step="fusion", step_started=100.0, progress_done=10, progress_total=30, steps=done), last, now)["eta_s"]
        == 400.0
    )


def test_a_step_without_progress_is_estimated_from_the_last_run_or_not_at_all():
    fresh = run(step=STEPS[0], step_started=0.0)
    assert eta(fresh, {}, 5.0)["steps"][0]["eta_s"] is None
    assert eta(fresh, {STEPS[0]: 80.0}, 5.0)["steps"][0]["eta_s"] == 80.0


def test_a_finished_run_has_no_estimate():
    steps = {name: {"seconds": 1.0} for name in STEPS}
    view = eta(run(state=DONE, step="profile", step_started=0.0, finished=9.0, steps=steps), {}, 10.0)
    assert view["eta_s"] is None and {s["state"] for s in view["steps"]} == {"done"}
    assert view["finished"] == 9.0


def test_a_failed_run_shows_the_step_it_stopped_at_and_the_steps_it_never_ran():
    done = {"attributes": {"seconds": 1.0}, "behaviour": {"skipped": "no events"}}
    failed = run(state=FAILED, step="fusion", step_started=0.0, finished=3.0, error="fusion: out of memory", steps=done)
    view = eta(failed, {}, 10.0)
    by_step = {s["step"]: s["state"] for s in view["steps"]}
    assert by_step["attributes"] == "done" and by_step["fusion"] == FAILED
    assert {by_step[name] for name in STEPS[STEPS.index("fusion") + 1 :]} == {"not run"}
    assert view["eta_s"] is None and view["error"] == "fusion: out of memory"
