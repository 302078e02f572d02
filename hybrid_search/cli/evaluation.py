"""Search engineers' commands: ``judgments from-events``, ``eval``, ``tune``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hybrid_search.cli.group import main, progress_bar, service_for
from hybrid_search.core.settings import Settings

JUDGMENTS = (
    click.option(
        "--queries",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="queries JSONL (not needed with a .json judgment list)",
    ),
    click.option(
        "--qrels",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        required=True,
        help="TREC qrels, or an OpenSearch Search Relevance judgment list (.json)",
    ),
    click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True),
)


def _judgments(command: Any) -> Any:
    for option in reversed(JUDGMENTS):
        command = option(command)
    return command


@main.group()
def judgments() -> None:
    """Judgment lists for eval and tune."""


@judgments.command("from-events")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where to write it (default: <judgments dir>/clicks.json)",
)
@click.option("--min-impressions", default=1, show_default=True, help="rate a product once shown this often")
@click.pass_obj
def judgments_from_events(settings: Settings, out: Path | None, min_impressions: int) -> None:
    """Implicit judgments from behaviour: COEC over the events index's impressions and clicks, as a
    Search Relevance Workbench judgment list; then ``tune --qrels <it>.json``."""
    from hybrid_search.evaluation import jobs
    from hybrid_search.stores.opensearch.client import make_client

    path = out or settings.judgments_root / "clicks.json"
    result = jobs.judgments_from_events(make_client(settings), settings, path, min_impressions)
    click.echo(json.dumps(result.to_json(), indent=1))


@main.command("eval")
@_judgments
@click.option("--profile", "names", multiple=True, default=["default"], show_default=True, help="stored profiles")
@click.option("--legs/--no-legs", default=False, show_default=True, help="also score each leg alone")
@click.option("--name", default="eval", show_default=True, help="report file name")
@click.pass_obj
def evaluate(
    settings: Settings, queries: Path, qrels: Path, out: Path, names: tuple[str, ...], legs: bool, name: str
) -> None:
    """Score stored profiles on judged queries: nDCG@10, MRR@10, recall@100 per query kind."""
    from hybrid_search.evaluation import jobs
    from hybrid_search.evaluation.report import markdown_table

    service = service_for(settings)
    profiles = {}
    for profile_name in names:
        stored = service.profiles.get(profile_name)
        profiles[f"{stored.name}@{stored.version}"] = stored.profile
    result = jobs.evaluate(service, queries, qrels, profiles, out, name, legs, progress_bar)
    click.echo(markdown_table(result.summary))
    for label, c in result.comparisons.items():
        click.echo(f"{label}: {c.wins} wins / {c.losses} losses / {c.ties} ties, p = {c.p_value:.4f}")
    click.echo(f"reports: {', '.join(result.reports.values())}")


@main.command("tune")
@_judgments
@click.option("--profile", "base", default="default", show_default=True, help="the profile to start from")
@click.option("--folds", default=5, show_default=True, help="cross-validation folds over queries (1: none)")
@click.option("--rounds", default=3, show_default=True, help="coordinate ascent rounds")
@click.option(
    "--intents/--no-intents",
    default=False,
    show_default=True,
    help="also leave-one-intent-out: tune on every query kind but one, score the one left out",
)
@click.option(
    "--judged-only/--all-ranked",
    default=False,
    show_default=True,
    help="score condensed lists, leaving unjudged products out (for click judgments, which judge what was shown)",
)
@click.option(
    "--prior-queries",
    default=None,
    type=click.FloatRange(min=0),
    help="shrink each tuned profile towards where it started, as if that were worth this many queries "
    "(default: tuning.PRIOR_QUERIES)",
)
@click.option(
    "--save/--no-save", default=False, show_default=True, help="store the result as the profile's next version"
)
@click.option("--name", default="tune", show_default=True, help="report file name")
@click.pass_obj
def tune(
    settings: Settings,
    queries: Path | None,
    qrels: Path,
    out: Path,
    base: str,
    folds: int,
    rounds: int,
    intents: bool,
    judged_only: bool,
    prior_queries: float | None,
    save: bool,
    name: str,
) -> None:
    """Tune a blend profile (grid + coordinate ascent, per query class, cross-validated) on judged queries."""
    from hybrid_search.evaluation import jobs
    from hybrid_search.evaluation.report import markdown_table

    service = service_for(settings)
    stored = service.profiles.get(base)
    result = jobs.tune(
        service,
        queries,
        qrels,
        stored,
        out,
        folds=folds,
        rounds=rounds,
        leave_intents_out=intents,
        save_as=base if save else None,
        name=name,
        progress=progress_bar,
        judged_only=judged_only,
        prior_queries=prior_queries,
    )
    click.echo(markdown_table(result.summary))
    cv = result.cross_validation
    if cv.mean_test is not None and cv.mean_base_test is not None:
        click.echo(f"{folds}-fold CV, held-out nDCG@10: base {cv.mean_base_test:.3f} -> tuned {cv.mean_test:.3f}")
    for r in result.leave_one_intent_out:
        click.echo(
            f"left out {r.intent} ({r.test_queries} queries): base {r.base_test_score:.3f}, tuned on the "
            f"rest {r.test_score:.3f}, best leg {r.best_leg} {r.best_leg_score:.3f}"
        )
    for label, c in result.comparisons.items():
        click.echo(f"{label}: {c.wins} wins / {c.losses} losses / {c.ties} ties, p = {c.p_value:.4f}")
    if result.saved:
        click.echo(f"saved as {result.saved[0]}@{result.saved[1]} (active)")
    click.echo(f"reports: {', '.join(result.reports.values())}")
