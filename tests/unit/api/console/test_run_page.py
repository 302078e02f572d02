"""The run page's tuning sections, rendered from a result shaped as ``evaluation.jobs.tune`` returns it."""

from dataclasses import asdict

from flask import render_template

from hybrid_search.api import create_app
from hybrid_search.api.console.engineers import _kinds
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.tuning import FoldResult, IntentResult
from hybrid_search.ranking.profiles import BlendProfile

SUMMARY = {"n": 4, "ndcg@10": 0.5, "mrr@10": 0.6, "recall@100": 0.7, "precision@10": 0.3}


def test_a_tuning_run_shows_its_cross_validation_intents_and_saved_version():
    result = {
        "summary": {"default@2": {"keyword": SUMMARY, "all": SUMMARY}, "tuned": {"keyword": SUMMARY, "all": SUMMARY}},
        "comparisons": {
            "tuned vs default@2": {
                "metric": "ndcg@10",
                "baseline": 0.5,
                "candidate": 0.55,
                "wins": 3,
                "losses": 1,
                "ties": 0,
                "p_value": 0.31,
            }
        },
        "cross_validation": {
            "folds": [asdict(FoldResult(0, 3, 1, 0.6, 0.55, 0.5))],
            "mean_test": 0.55,
            "mean_base_test": 0.5,
        },
        "leave_one_intent_out": [asdict(IntentResult("keyword", 3, 1, 0.7, 0.6, "bm25", 0.65))],
        "tuned_profile": BlendProfile().model_dump(mode="json"),
        "saved": {"name": "default", "version": 3},
        "reports": {"png": "/r/tune.png", "sweeps": "/r/tune-sweeps.png", "md": "/r/tune.md"},
    }
    task = "6b3a0d0e-1f2a-4c3b-9d4e-5f6a7b8c9d0e"
    with create_app(Settings()).test_request_context("/ui/engineers/runs/x"):
        html = render_template(
            "console/run.html",
            status={"task_id": task, "state": "SUCCESS", "result": result},
            run={
                "kind": "tune",
                "started": "2026-11-28T12:00:00+00:00",
                "request": {"qrels": "q.tsv", "profile": "default"},
            },
            result=result,
            plots=["tune.png", "tune-sweeps.png"],
            kinds=_kinds(result),
        )
    assert "<h1>Tuning 6b3a0d0e" in html
    assert "1-fold cross-validation: held-out nDCG@10 0.550 tuned against 0.500" in html
    assert '<th scope="row">keyword</th><td>1</td><td>0.600</td><td>0.700</td><td>bm25 0.650</td>' in html
    assert 'href="/ui/engineers/profiles/default">default@3</a>' in html
    assert f"/ui/engineers/runs/{task}/tune-sweeps.png" in html and "Metric vs weight" in html
    assert 'aria-label="3 wins, 1 losses, 0 ties"' in html
