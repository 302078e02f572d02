"""Where /search's time goes as the catalog grows: each leg's query, as the API sends it, run alone
on one or more indices (OpenSearch's ``took``), and the BM25 leg's body in the shapes that decide
whether Lucene can skip documents that cannot reach the page.

The bodies are the API's own: ``/search`` runs in-process (``create_app``) against the live alias,
and every ``_msearch`` body it sends is recorded, then sent alone to each index named, ``--repeat``
times (the fastest counts, so a stall of these 2 cores does not). Per leg: median and p90 over the
queries.

    python bench/scale/legs.py --indices <fashion index> scale-products-n1000000 [--queries 40]
                               [--repeat 3] [--bm25-shapes] [--attribute-shapes]

A ``/search`` that counts its match set (facets, a storefront) sends it in the same ``_msearch``; it
has a row of its own.

The queries: the shared dev set's English (keyword, synonym) and Chinese ones, and the typo queries
of ``bench/relevance/derived.py`` where they have been built.

``--bm25-shapes``: the BM25 leg's body as served (a product's best field alone; the words the
catalog's lexicon knows as typed, the others fuzzy; a Latin query without the cjk sub-fields), with
every word fuzzy over every sub-field as before, that with ``tie_breaker`` 0.3 as before that, that
tie breaker as 0.7 x ``dis_max`` + 0.3 x ``most_fields``, and no word fuzzy over the served fields
(English and typo queries). ``--attribute-shapes``: the attributes leg's body as
served, as it was before (its disjunction beside the filters in one ``bool``), and that with the
merchant's values alone (English queries). Each with ``track_total_hits`` true and false, on the
last index named.
Results: bench/scale/results-1m.md.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import opensearchpy

from hybrid_search.api import create_app
from hybrid_search.core.schema import fashion_schema
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import load_queries
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.queries import build_bm25_query

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"


def served_bodies(settings: Settings, texts: list[str]) -> list[list[dict[str, Any]]]:
    """Per query, the search bodies of the ``_msearch`` calls ``/search?q=`` made, in order."""
    sent: list[dict[str, Any]] = []
    original = opensearchpy.OpenSearch.msearch

    def record(self: opensearchpy.OpenSearch, body: Any = None, **kwargs: Any) -> Any:
        sent.extend(body[1::2])
        return original(self, body=body, **kwargs)

    opensearchpy.OpenSearch.msearch = record
    try:
        client = create_app(settings).test_client()
        headers = {"X-API-Key": next(iter(settings.client_keys))}
        out = []
        for text in texts:
            sent.clear()
            response = client.get("/search", query_string={"q": text}, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"/search?q={text}: {response.status_code} {response.get_json()}")
            out.append(list(sent))
        return out
    finally:
        opensearchpy.OpenSearch.msearch = original


def took(client: Any, index: str, body: dict[str, Any], repeat: int) -> int:
    return min(client.search(index=index, body=body)["took"] for _ in range(repeat))


def summary(values: list[int]) -> str:
    return f"{statistics.median(values):.0f} / {sorted(values)[int(0.9 * len(values))]:.0f}"


def leg_name(body: dict[str, Any]) -> str:
    """The leg a body runs, from its query's shape (the API's legs, in ``querying/legs.py``)."""
    if body.get("size") == 0:
        return "match set (the total)"
    query = body["query"]
    if "knn" in query:
        return f"{next(iter(query['knn']))} k-NN"
    must = query.get("bool", {}).get("must", [{}])[0]
    if "multi_match" in must or "dis_max" in must:  # dis_max: some words fuzzy, some as typed
        return "BM25"
    if "match" in must:
        return "title words"
    if "match_phrase" in must:
        return "title phrase"
    return "attributes"


def legs_table(client: Any, indices: list[str], bodies: dict[str, list[list[dict]]], repeat: int) -> list[str]:
    lines = [
        "| leg | " + " | ".join(f"{index} {kind}" for kind in bodies for index in indices) + " |",
        "|---|" + "---|" * (len(indices) * len(bodies)),
    ]
    cells: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for kind, per_query in bodies.items():
        for calls in per_query:
            for body in calls:
                for index in indices:
                    cells[leg_name(body)][(index, kind)].append(took(client, index, body, repeat))
    for leg, per in cells.items():
        row = [summary(per[(index, kind)]) if per.get((index, kind)) else "–" for kind in bodies for index in indices]
        lines.append(f"| {leg} | " + " | ".join(row) + " |")
    return lines


def bm25_shapes(body: dict[str, Any], text: str) -> dict[str, dict[str, Any]]:
    """The served BM25 body (the words the lexicon knows as typed, the others fuzzy; a Latin query
    without the cjk sub-fields) and the variants that show what keeps Lucene from skipping: every
    word fuzzy over every sub-field (before), that with ``tie_breaker`` 0.3 (before that), that tie
    breaker as 0.7 x ``dis_max`` + 0.3 x ``most_fields``, and no word fuzzy over the served fields.
    The fields are the built-in ones at their boosts (the fashion schema's)."""
    filters = body["query"]["bool"]["filter"][0]

    def rebuilt(fuzzy: bool, fields: tuple[str, ...] | None = None, **change: Any) -> dict[str, Any]:
        query = build_bm25_query(text, filters, fuzzy, fields)
        query["bool"]["must"][0]["multi_match"] |= change
        return body | {"query": query}

    before = rebuilt(True)
    every = before["query"]["bool"]["must"][0]["multi_match"]
    tie = 0.3
    halves = [
        {"multi_match": every | {"boost": 1 - tie}},
        {"multi_match": every | {"type": "most_fields", "boost": tie}},
    ]
    split = body | {"query": {"bool": {"must": [{"bool": {"should": halves}}], "filter": [filters]}}}
    return {
        "as served": body,
        "every word fuzzy, every sub-field (before)": before,
        "that with tie_breaker 0.3 (before that)": rebuilt(True, tie_breaker=tie),
        "tie_breaker 0.3 as 0.7 x dis_max + 0.3 x most_fields": split,
        "no word fuzzy, the served fields": rebuilt(False, fashion_schema().bm25_fields(cjk=False)),
    }


def attribute_shapes(body: dict[str, Any], _: str) -> dict[str, dict[str, Any]]:
    """The served attributes body (its disjunction the one scoring clause of a ``must``), the shape
    before it (the disjunction beside the filters in one ``bool``: the same scores), and that shape
    with the merchant's values alone (no tag clauses, no ``function_score``)."""
    query = body["query"]["bool"]
    (disjunction,) = query["must"]
    should = disjunction["bool"]["should"]

    def flat(clauses: list[dict[str, Any]]) -> dict[str, Any]:
        return body | {"query": {"bool": {"should": clauses, "minimum_should_match": 1, "filter": query["filter"]}}}

    def merchant(clause: dict[str, Any]) -> dict[str, Any]:
        inner = clause.get("bool", {}).get("should")
        return inner[0] if inner is not None and len(inner) == 2 and "function_score" in inner[1] else clause

    return {
        "as served": body,
        "before: the disjunction beside the filters": flat(should),
        "before, the merchant's values alone": flat([merchant(clause) for clause in should]),
    }


SHAPES = {"BM25": bm25_shapes, "attributes": attribute_shapes}


def shapes_table(
    client: Any, index: str, texts: list[str], bodies: list[list[dict]], repeat: int, leg: str
) -> list[str]:
    lines = [f"| {leg} body | track_total_hits true | false |", "|---|---|---|"]
    results: dict[str, dict[bool, list[int]]] = defaultdict(lambda: defaultdict(list))
    for text, calls in zip(texts, bodies, strict=True):
        served = next((body for body in calls if body.get("size") and leg_name(body) == leg), None)
        if served is None:
            continue
        for name, body in SHAPES[leg](served, text).items():
            for count in (True, False):
                results[name][count].append(took(client, index, body | {"track_total_hits": count}, repeat))
    for name, per in results.items():
        lines.append(f"| {name} | {summary(per[True])} | {summary(per[False])} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--indices", nargs="+", required=True)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bm25-shapes", action="store_true")
    parser.add_argument("--attribute-shapes", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    client = make_client(settings)
    queries = load_queries(DATA / "queries-dev.jsonl")
    texts = {
        "English": [q.text for q in queries if q.kind in ("keyword", "synonym")][: args.queries],
        "Chinese": [q.text for q in queries if q.kind == "chinese"][: args.queries],
    }
    typos = settings.judgments_root / "derived" / "queries-derived.jsonl"  # bench/relevance/derived.py
    if typos.exists():
        texts["typo"] = [q.text for q in load_queries(typos) if q.kind == "typo"][: args.queries]
    bodies = {kind: served_bodies(settings, kind_texts) for kind, kind_texts in texts.items()}
    print("took ms, median / p90, each leg's body alone\n")
    print("\n".join(legs_table(client, args.indices, bodies, args.repeat)))
    for leg, wanted in (("BM25", args.bm25_shapes), ("attributes", args.attribute_shapes)):
        for kind in ("English", "typo") if leg == "BM25" else ("English",):
            if wanted and kind in texts:
                print(f"\nthe {leg} leg's body on {args.indices[-1]}, {kind} queries, took ms median / p90\n")
                table = shapes_table(client, args.indices[-1], texts[kind][:20], bodies[kind][:20], args.repeat, leg)
                print("\n".join(table))


if __name__ == "__main__":
    main()
