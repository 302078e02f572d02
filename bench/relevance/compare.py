"""Two runs of the same relevance bench, per intent: a change judged query by query (Fisher's
paired randomisation test, ``evaluation.report.compare``), for the runs named (default: BM25
alone, the fixed-weight default and the learned ranker).

    python bench/relevance/ranker.py --cache /tmp/before.pickle --out /tmp --name before   # before the change
    python bench/relevance/ranker.py --cache /tmp/after.pickle --out /tmp --name after     # after it
    python bench/relevance/compare.py /tmp/before.json /tmp/after.json [--runs "learned ranker" ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hybrid_search.evaluation.report import QueryScore, compare

RUNS = ("bm25 alone", "fixed-weight default", "learned ranker")


def load(path: Path) -> dict[str, list[QueryScore]]:
    """Per run, its per-query scores as ``write_report`` wrote them."""
    return {
        run: [QueryScore(row["query_id"], row["kind"], row["scores"]) for row in rows]
        for run, rows in json.loads(path.read_text())["queries"].items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--runs", nargs="+", default=list(RUNS))
    parser.add_argument("--metric", default="ndcg@10")
    args = parser.parse_args()
    before, after = load(args.before), load(args.after)
    for run in args.runs:
        print(f"\n{run}, {args.metric}: {args.before.stem} → {args.after.stem}\n")
        print("| intent | before | after | wins / losses / ties | p |")
        print("|---|---|---|---|---|")
        kinds = list(dict.fromkeys(row.kind for row in before[run]))
        for kind in [*kinds, "all"]:
            of = lambda rows, k=kind: [r for r in rows if k in ("all", r.kind)]  # noqa: E731
            c = compare(of(before[run]), of(after[run]), args.metric)
            counts = f"{c.wins} / {c.losses} / {c.ties}"
            print(f"| {kind} | {c.baseline:.3f} | {c.candidate:.3f} | {counts} | {c.p_value:.3f} |")


if __name__ == "__main__":
    main()
