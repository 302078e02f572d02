"""Training commands: ``train``, ``train-fusion``, ``train-attributes``, ``train-ranker``, and ``status``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from hybrid_search.cli.group import main, progress_bar, service_for, training_state
from hybrid_search.core.settings import Settings


@main.command("train-fusion")
@click.option("--epochs", default=30, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--leave-out-queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="queries JSONL whose photo queries' own products are kept out of training (honest evaluation)",
)
@click.pass_obj
def train_fusion(settings: Settings, epochs: int, seed: int, leave_out_queries: Path | None) -> None:
    """Train the fusion projection on the live index's title/photo pairs; save a versioned artifact."""
    from hybrid_search.evaluation.judgments import load_queries, query_products
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training.trainers import train_fusion_from_index

    leave_out = query_products(load_queries(leave_out_queries)) if leave_out_queries else set()

    with tqdm(total=epochs, desc="train fusion", unit="epoch") as bar:

        def on_epoch(epoch: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.3f}")
            bar.update(1)

        path, metadata = train_fusion_from_index(
            make_client(settings), settings, epochs, seed=seed, on_epoch=on_epoch, leave_out=leave_out
        )
    click.echo(json.dumps(metadata["evaluation"], indent=2))
    click.echo(
        f"saved {path}\nbuild an index with it (the index records it; every process follows the alias): "
        f"HYBRID_SEARCH_FUSION_MODEL={path} hybrid-search reindex"
    )


@main.command("train-attributes")
@click.option("--query-strings", default=6000, show_default=True, help="query-like strings made of catalog values")
@click.option("--seed", default=0, show_default=True)
@click.pass_obj
def train_attributes(settings: Settings, query_strings: int, seed: int) -> None:
    """Train the query-understanding heads (query -> article type, colour, gender, usage, and the
    fields the catalog schema declares understood) on the live index, and record them on it:
    searches use them within seconds."""
    from hybrid_search.models.encoders.text import load_text_encoder
    from hybrid_search.models.live import live_models, record_artifacts
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training.trainers import train_attributes_from_index

    client = make_client(settings)
    encoder = load_text_encoder(live_models(client, settings)[1].text_encoder, settings.device, batches=True)
    path, metadata = train_attributes_from_index(
        client, settings, encoder, query_strings, seed=seed, progress=click.echo
    )
    index = record_artifacts(client, settings, attributes=path)
    click.echo(json.dumps(metadata["evaluation"], indent=2))
    click.echo(f"saved {path}, recorded on {index}: searches use it within {settings.models_poll_s:g} s")


@main.command("train-ranker")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option(
    "--qrels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="judged queries (TREC qrels, or a judgment list such as `judgments from-events` writes from clicks); "
    "without them, the queries the catalog itself yields",
)
@click.option("--profile", default="default", show_default=True, help="whose attribute weights the legs use")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--logged/--no-logged",
    default=True,
    show_default=True,
    help="train judged queries on the features logged when they were served (where kept), not on the legs run now",
)
@click.pass_obj
def train_ranker(
    settings: Settings, queries: Path | None, qrels: Path | None, profile: str, seed: int, logged: bool
) -> None:
    """Train the learned ranker over the legs and record it on the live index: searches rank with it
    within seconds, without a restart."""
    from hybrid_search.evaluation import learning
    from hybrid_search.evaluation.judgments import load_judgments

    service = service_for(settings)
    base = service.profiles.get(profile).profile
    if qrels is None:
        ranker = learning.train_from_catalog(service, base, seed=seed, progress=progress_bar)
    else:
        judged, grades = load_judgments(queries, qrels)
        ranker = learning.train_from_judgments(
            service,
            judged,
            grades,
            (queries or qrels).parent,
            base,
            str(qrels),
            progress=progress_bar,
            logged=service.feature_log if logged else None,
        )
    click.echo(json.dumps(learning.save_and_record(service, ranker), indent=1))


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="the same JSON as GET /jobs")
@click.option("--watch", type=float, default=None, help="print again every this many seconds")
@click.pass_obj
def status(settings: Settings, as_json: bool, watch: float | None) -> None:
    """Embedding progress per products index, and the training run, with estimates."""
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training.runner import jobs_view

    client, state = make_client(settings), training_state(settings)
    while True:
        view = jobs_view(client, state, settings)
        click.echo(json.dumps(view, indent=2) if as_json else _describe_jobs(view, settings))
        if watch is None:
            return
        time.sleep(watch)
        click.echo()


def _describe_jobs(view: dict[str, Any], settings: Settings) -> str:
    lines = []
    for row in view["products"]:
        counts = ", ".join(f"{n} {name}" for name, n in sorted(row["counts"].items())) or "empty"
        eta = f", about {_duration(row['eta_s'])} left" if row["eta_s"] else ""
        lines.append(
            f"{row['index']} ({row['role']}): {counts}; {row['ready_last_minute']} ready in the last minute{eta}"
        )
    run = view["training"]
    if run is not None:
        eta = f", about {_duration(run['eta_s'])} left" if run.get("eta_s") else ""
        error = f": {run['error']}" if run.get("error") else ""
        lines.append(f"training run {run['id']} ({run['reason']}): {run['state']}{error}{eta}")
        for step in run["steps"]:
            detail = ""
            if step["state"] == "running" and step.get("total"):
                detail = f" {step['done']}/{step['total']} {step.get('message', '')}".rstrip()
            elif "skipped" in step:
                detail = f" (skipped: {step['skipped']})"
            seconds = f" {_duration(step['seconds'])}" if "seconds" in step else ""
            lines.append(f"  {step['step']:<10} {step['state']}{seconds}{detail}")
    nxt = view["next_training"]
    if not nxt["automatic"]:
        lines.append(
            "automatic training is off (HYBRID_SEARCH_TRAIN_AUTOMATICALLY); `hybrid-search train` starts a run"
        )
    else:
        due = (
            "a catalog load is due a run" if nxt["catalog_load"] else f"{nxt['changes']} of {nxt['threshold']} changes"
        )
        lines.append(f"next run: {nxt['requested'] or due}, once uploads are quiet for {nxt['quiet_s']:g} s")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


@main.command("train")
@click.option("--wait/--no-wait", default=False, show_default=True, help="follow the run until it ends")
@click.pass_obj
def train(settings: Settings, wait: bool) -> None:
    """Ask the workers for a training run now (attribute heads, fusion, re-fused index, alias swap)."""
    state = training_state(settings)
    asked = time.time()
    state.request("asked for from the command line")
    click.echo("asked: a worker starts the run once uploads are quiet and nothing is pending")
    if wait:
        follow_training(settings, asked)


def follow_training(settings: Settings, since: float) -> dict[str, Any]:
    """Progress bars for the first training run started after ``since``, until it ends; returns it."""
    from hybrid_search.stores.redis.training_state import RUNNING
    from hybrid_search.training.runner import eta

    state = training_state(settings)
    bar, step = None, None
    while True:
        run = state.run()
        if run is None or run.started < since:
            time.sleep(2)
            continue
        if run.step != step or run.state != RUNNING:
            if bar is not None:
                bar.close()
            if run.state != RUNNING:
                return eta(run, state.durations(), time.time())
            step = run.step
            bar = tqdm(total=run.progress_total or None, desc=f"training: {step}", unit="")
        assert bar is not None
        if run.progress_total:
            bar.total = run.progress_total
            bar.update(run.progress_done - bar.n)
            bar.set_postfix_str(run.message)
        time.sleep(2)
