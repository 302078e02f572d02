"""Scores per query and per kind, paired comparisons, and reports as JSON, Markdown and PNG."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hybrid_search.evaluation.judgments import Query
from hybrid_search.evaluation.metrics import mrr_at_k, ndcg_at_k, precision_at_k, recall_at_k

HEADLINE = ("ndcg@10", "mrr@10", "recall@100")


@dataclass(frozen=True)
class QueryScore:
    query_id: str
    kind: str
    scores: dict[str, float]


def score_queries(
    rankings: Mapping[str, Sequence[str]], queries: Sequence[Query], qrels: Mapping[str, Mapping[str, int]]
) -> list[QueryScore]:
    """One row per judged query (queries without judgments are left out: nothing to score)."""
    rows = []
    for query in queries:
        grades = qrels.get(query.id)
        if not grades:
            continue
        ranked = rankings.get(query.id, [])
        rows.append(
            QueryScore(
                query.id,
                query.kind,
                {
                    "ndcg@10": ndcg_at_k(ranked, grades, 10),
                    "mrr@10": mrr_at_k(ranked, grades, 10),
                    "recall@100": recall_at_k(ranked, grades, 100),
                    "precision@10": precision_at_k(ranked, grades, 10),
                },
            )
        )
    return rows


def summarise(rows: Sequence[QueryScore]) -> dict[str, dict[str, float]]:
    """Mean of each metric per kind, plus ``all``; ``n`` is the number of queries."""
    groups: dict[str, list[QueryScore]] = {}
    for row in rows:
        groups.setdefault(row.kind, []).append(row)
    groups["all"] = list(rows)
    metrics = list(rows[0].scores) if rows else []
    return {
        kind: {"n": len(group), **{m: sum(r.scores[m] for r in group) / len(group) for m in metrics}}
        for kind, group in groups.items()
        if group
    }


def mean(rows: Sequence[QueryScore], metric: str = "ndcg@10") -> float:
    return sum(r.scores[metric] for r in rows) / len(rows) if rows else 0.0


@dataclass(frozen=True)
class Comparison:
    metric: str
    baseline: float
    candidate: float
    wins: int
    losses: int
    ties: int
    p_value: float  # two-sided paired randomisation (sign-flip) test on the per-query differences


def compare(
    baseline: Sequence[QueryScore],
    candidate: Sequence[QueryScore],
    metric: str = "ndcg@10",
    trials: int = 10_000,
    seed: int = 0,
    tolerance: float = 1e-9,
) -> Comparison:
    """Paired comparison over the queries both runs scored."""
    a = {r.query_id: r.scores[metric] for r in baseline}
    b = {r.query_id: r.scores[metric] for r in candidate}
    common = sorted(a.keys() & b.keys())
    diffs = [b[q] - a[q] for q in common]
    wins = sum(d > tolerance for d in diffs)
    losses = sum(d < -tolerance for d in diffs)
    return Comparison(
        metric,
        sum(a[q] for q in common) / len(common) if common else 0.0,
        sum(b[q] for q in common) / len(common) if common else 0.0,
        wins,
        losses,
        len(diffs) - wins - losses,
        randomisation_p_value(diffs, trials, seed),
    )


def randomisation_p_value(diffs: Sequence[float], trials: int = 10_000, seed: int = 0) -> float:
    """Share of random sign flips whose mean difference is at least as extreme as the observed one
    (Fisher's paired randomisation test, as Smucker et al. recommend for IR); add-one smoothed."""
    if not diffs:
        return 1.0
    observed = abs(sum(diffs))
    rng = random.Random(seed)
    extreme = 0
    for _ in range(trials):
        if abs(sum(d if rng.random() < 0.5 else -d for d in diffs)) >= observed - 1e-12:
            extreme += 1
    return (extreme + 1) / (trials + 1)


def markdown_table(
    summaries: Mapping[str, Mapping[str, Mapping[str, float]]], metrics: Sequence[str] = HEADLINE
) -> str:
    """Rows are runs, columns metric x kind (kinds in first-seen order, ``all`` last)."""
    kinds: list[str] = []
    for summary in summaries.values():
        kinds += [k for k in summary if k not in kinds and k != "all"]
    kinds.append("all")
    header = ["run"] + [f"{m} {k}" for m in metrics for k in kinds]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, summary in summaries.items():
        cells = [f"{summary[k][m]:.3f}" if m in summary.get(k, {}) else "–" for m in metrics for k in kinds]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def comparison_line(name: str, c: Comparison) -> str:
    return (
        f"{name}: {c.metric} {c.baseline:.3f} → {c.candidate:.3f} "
        f"({c.wins} wins / {c.losses} losses / {c.ties} ties, p = {c.p_value:.4f})"
    )


def write_report(
    directory: Path,
    name: str,
    runs: Mapping[str, Sequence[QueryScore]],
    comparisons: Mapping[str, Comparison] | None = None,
    extra: Mapping[str, Any] | None = None,
    sweeps: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> dict[str, Path]:
    """``name``.json (everything, per-query rows included), ``name``.md and ``name``.png; plus
    ``name``-sweeps.png (metric vs weight) when ``sweeps`` are given."""
    directory.mkdir(parents=True, exist_ok=True)
    summaries = {run: summarise(rows) for run, rows in runs.items()}
    comparisons = dict(comparisons or {})
    paths = {"json": directory / f"{name}.json", "md": directory / f"{name}.md", "png": directory / f"{name}.png"}
    paths["json"].write_text(
        json.dumps(
            {
                "summary": summaries,
                "comparisons": {k: asdict(c) for k, c in comparisons.items()},
                "queries": {run: [asdict(r) for r in rows] for run, rows in runs.items()},
                **(extra or {}),
            },
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    text = [f"# {name}", "", markdown_table(summaries)]
    if comparisons:
        text += ["", "Paired comparisons (per-query nDCG@10):", ""]
        text += [f"- {comparison_line(k, c)}" for k, c in comparisons.items()]
    paths["md"].write_text("\n".join(text) + "\n", encoding="utf-8")
    plot_per_kind(summaries, paths["png"])
    if sweeps:
        paths["sweeps"] = directory / f"{name}-sweeps.png"
        plot_sweeps(sweeps, paths["sweeps"])
    return paths


def plot_per_kind(
    summaries: Mapping[str, Mapping[str, Mapping[str, float]]], path: Path, metric: str = "ndcg@10"
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(dict.fromkeys(k for s in summaries.values() for k in s))
    wide = 1.6 * len(kinds) * max(1, len(summaries)) / 3
    fig, ax = plt.subplots(figsize=(min(max(6, wide), 24), 4 if wide <= 24 else 6))  # stays readable on a page
    width = 0.8 / max(1, len(summaries))
    for i, (run, summary) in enumerate(summaries.items()):
        ax.bar(
            [k + i * width for k in range(len(kinds))],
            [summary.get(kind, {}).get(metric, 0.0) for kind in kinds],
            width,
            label=run,
        )
    ax.set_xticks([k + width * (len(summaries) - 1) / 2 for k in range(len(kinds))], kinds)
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sweeps(sweeps: Mapping[str, Sequence[tuple[float, float]]], path: Path, metric: str = "ndcg@10") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in sweeps.items():
        xs, ys = zip(*sorted(points), strict=True) if points else ((), ())
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("weight")
    ax.set_ylabel(metric)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
