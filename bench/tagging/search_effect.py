"""The search effect of the taggers: relevance for a merchant who sends only titles and photos, with
the tags and without them, beside the same products sent with their attributes.

The shared fashion catalog is loaded a second time into the live index, as merchant ``bare``, with
each product's id, title and photo alone (``prepare`` writes that folder, outside the repository);
the workers tag it at ingestion with the taggers the index records. Each dev query then runs once per
merchant, filtered to that merchant, through the legs and the ranking /search uses (the recorded
learned ranker, the default profile), and is scored on the same judgments (they name products by
the merchant's own ids, which both merchants share). "Without tags" strips the bare merchant's tags
for one pass and puts them back after (``trainers.apply_tags``, as the training run does).

    python bench/tagging/search_effect.py prepare          # writes ~/.cache/hybrid-search/bench-tagging/bare
    HYBRID_SEARCH_TRAIN_AUTOMATICALLY=false hybrid-search up   # or any running stack
    hybrid-search load-catalog ~/.cache/hybrid-search/bench-tagging/bare --merchant bare
    python bench/tagging/search_effect.py run [--out bench/tagging]
    python bench/tagging/search_effect.py drop             # deletes the bare merchant's products
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import Query, load_qrels, load_queries, query_products
from hybrid_search.evaluation.report import QueryScore, compare, comparison_line, mean, score_queries, summarise
from hybrid_search.evaluation.runner import rank, single_leg_profiles
from hybrid_search.models.sets import artifact_path
from hybrid_search.querying.service import Retrieval, SearchService
from hybrid_search.ranking.learned import LearnedRanker, load_ranker
from hybrid_search.ranking.profiles import BlendProfile, every_leg
from hybrid_search.stores.opensearch.indices import alias_targets
from hybrid_search.stores.services import Services
from hybrid_search.training.trainers import apply_tags

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
CACHE = Path.home() / ".cache" / "hybrid-search" / "bench-tagging"
ATTRIBUTED, BARE = "fashion", "bare"
WINDOW = 200


def prepare(folder: Path) -> None:
    """The shared catalog as a merchant who sends titles and photos only: id, title, image."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with (DATA / "products.jsonl").open() as rows, (folder / "products.jsonl").open("w") as out:
        for line in rows:
            row = json.loads(line)
            if row.get("image"):
                target = folder / row["image"]
                if not target.exists():
                    shutil.copyfile(DATA / row["image"], target)
            out.write(json.dumps({"id": row["id"], "title": row["title"], "image": row.get("image")}) + "\n")
    print(f"wrote {folder}")


def judgment_sets(settings: Settings) -> list[tuple[Path, Path]]:
    """The shared dev sets and ``bench/relevance/intents.py``'s (where it has been run)."""
    root = settings.judgments_root
    sets = [
        (DATA / "queries-dev.jsonl", DATA / "qrels-dev.tsv"),
        (DATA / "queries-dev-intents.jsonl", DATA / "qrels-dev-intents.tsv"),
        (root / "intents" / "queries-intents.jsonl", root / "intents" / "qrels-intents.tsv"),
    ]
    return [pair for pair in sets if pair[0].exists()]


def retrieve(service: SearchService, queries: Sequence[Query], base: Path, merchant: str, tags: str) -> dict:
    """Each query's legs over one merchant's products, its own product left out of a photo query."""
    profile = service.profiles.get("default").profile
    collect = every_leg(WINDOW, profile.attribute_weights)
    out: dict[str, Retrieval] = {}
    for query in tqdm(queries, desc=f"{merchant} ({tags})", file=sys.stderr):
        photo = (base / query.image).read_bytes() if query.image else None
        exclude = tuple(sorted(f"{merchant}/{pid}" for pid in query_products([query])))
        request = SearchRequest(q=query.text, merchant_id=(merchant,), tags=tags)
        out[query.id] = service.retrieve(request, photo, collect, exclude=exclude)
    return out


def scores(profile: BlendProfile, ranker: LearnedRanker | None, queries, retrievals: dict, qrels) -> list[QueryScore]:
    ranked = {qid: rank(r, profile, ranker) for qid, r in retrievals.items()}
    return score_queries(ranked, queries, qrels)


def strip_tags(service: SearchService, index: str) -> None:
    service.client.update_by_query(
        index=index,
        body={
            "query": {"bool": {"filter": [{"term": {"merchant_id": BARE}}, {"exists": {"field": "tags"}}]}},
            "script": {"source": "ctx._source.remove('tags')", "lang": "painless"},
        },
        refresh=True,
        conflicts="proceed",
        request_timeout=600,
    )


def run(out: Path, ranker_artifact: str | None) -> None:
    settings = Settings()
    service = SearchService.from_services(Services.from_settings(settings))
    profile = service.profiles.get("default").profile
    ranker = (
        load_ranker(artifact_path(ranker_artifact, settings)) if ranker_artifact else service.models.current().ranker
    )
    index = alias_targets(service.client, settings.products_alias)[0]
    queries, qrels, bases = [], {}, {}
    for queries_path, qrels_path in judgment_sets(settings):
        judged = load_queries(queries_path)
        queries += judged
        bases |= {q.id: queries_path.parent for q in judged}
        qrels |= load_qrels(qrels_path)

    def retrieved(merchant: str, tags: str = "predicted") -> dict:
        found: dict[str, Retrieval] = {}
        for base in sorted(set(bases.values())):
            group = [q for q in queries if bases[q.id] == base]
            found |= retrieve(service, group, base, merchant, tags)
        return found

    states = {"with their attributes": retrieved(ATTRIBUTED), "titles and photos, tagged": retrieved(BARE)}
    pipeline = service.models.current().pipeline
    taggers, version = pipeline.taggers, pipeline.tagger_version
    strip_tags(service, index)
    try:
        states["titles and photos, no tags"] = retrieved(BARE)
    finally:
        counts = apply_tags(service.client, index, taggers, version)
        service.client.indices.refresh(index=index)
        print(f"tags put back: {counts}")
    runs = {name: scores(profile, ranker, queries, found, qrels) for name, found in states.items()}
    legs = {
        (state, leg): summarise(scores(alone, None, queries, found, qrels))
        for state, found in states.items()
        for leg, alone in single_leg_profiles(profile).items()
    }
    write(out, runs, legs)


def write(out: Path, runs: dict[str, list[QueryScore]], legs: dict[tuple[str, str], dict]) -> None:
    tables = {name: summarise(rows) for name, rows in runs.items()}
    kinds = list(next(iter(tables.values())))
    lines = [
        "# Search effect of the taggers: a merchant who sends titles and photos only",
        "",
        "nDCG@10 (MRR@10) per query kind; each merchant's products alone (see search_effect.py).",
        "",
        "| kind (queries) | " + " | ".join(runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for kind in kinds:
        cells = [f"{tables[n][kind]['ndcg@10']:.3f} ({tables[n][kind]['mrr@10']:.3f})" for n in runs]
        count = int(next(iter(tables.values()))[kind]["n"])
        lines.append(f"| {kind} ({count}) | " + " | ".join(cells) + " |")
    lines += ["", "Each leg alone, nDCG@10 over every query (per kind: the .json):", ""]
    lines += ["| leg | " + " | ".join(runs) + " |", "|---|" + "---|" * len(runs)]
    for leg in sorted({leg for _, leg in legs}):
        lines.append(f"| {leg} | " + " | ".join(f"{legs[(state, leg)]['all']['ndcg@10']:.3f}" for state in runs) + " |")
    by_leg = {f"{state}: {leg}": table for (state, leg), table in legs.items()}
    (out / "results-search-effect.json").write_text(json.dumps({"runs": tables, "legs": by_leg}, indent=1))
    lines += ["", "Paired (two-sided randomisation test), tagged against:", ""]
    tagged = runs["titles and photos, tagged"]

    def of(rows: list[QueryScore], kind: str) -> list[QueryScore]:
        return [row for row in rows if kind == "all" or row.kind == kind]

    for other in ("with their attributes", "titles and photos, no tags"):
        for kind in [*sorted({row.kind for row in tagged}), "all"]:
            lines.append("- " + comparison_line(f"{kind}: {other}", compare(of(runs[other], kind), of(tagged, kind))))
    (out / "results-search-effect.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"all: {', '.join(f'{n} {mean(rows):.3f}' for n, rows in runs.items())}")


def drop() -> None:
    settings = Settings()
    service = SearchService.from_services(Services.from_settings(settings))
    body = {"query": {"term": {"merchant_id": BARE}}}
    result = service.client.delete_by_query(index=settings.products_alias, body=body, refresh=True)
    print(f"deleted {result['deleted']} products of merchant {BARE!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("prepare", "run", "drop"))
    parser.add_argument("--folder", type=Path, default=CACHE / "bare")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    # the learned ranker to rank with (an artifact name), where not the one the live index records
    parser.add_argument("--ranker")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.folder)
    elif args.step == "run":
        run(args.out, args.ranker)
    else:
        drop()


if __name__ == "__main__":
    main()
