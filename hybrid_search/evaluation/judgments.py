"""Queries and graded judgments: TREC qrels beside query JSONL, as in ../shared/data."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybrid_search.core.errors import InvalidInputError


@dataclass(frozen=True)
class Query:
    id: str
    kind: str
    text: str
    lang: str = ""
    image: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)


def load_queries(path: Path) -> list[Query]:
    queries = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                queries.append(
                    Query(
                        id=row["id"],
                        kind=row.get("kind", "all"),
                        text=row.get("text", ""),
                        lang=row.get("lang", ""),
                        image=row.get("image"),
                        spec=row.get("spec", {}),
                    )
                )
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> product id -> grade, from ``query<TAB>product<TAB>grade`` lines."""
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 3:
                qrels[parts[0]][parts[1]] = int(parts[2])
    return dict(qrels)


def query_products(queries: list[Query]) -> set[str]:
    """Catalog products that queries are made of (a photo query's own product, ``spec.exclude``)."""
    out: set[str] = set()
    for query in queries:
        exclude = query.spec.get("exclude") or ()
        out.update((exclude,) if isinstance(exclude, str) else exclude)
    return out


def load_search_relevance_judgments(path: Path) -> tuple[list[Query], dict[str, dict[str, float]]]:
    """Queries and ratings from an OpenSearch Search Relevance Workbench judgment list (the body of
    ``PUT _plugins/_search_relevance/judgments``: ``judgmentRatings`` of ``{query, ratings: [{docId,
    rating}]}``). Queries get ids ``srw-<n>`` and their query class as kind (``zh``, ``short``, ``long``)."""
    from hybrid_search.ranking.query_class import query_class

    data = json.loads(path.read_text(encoding="utf-8"))
    queries, qrels = [], {}
    for n, entry in enumerate(data.get("judgmentRatings", []), start=1):
        qid = f"srw-{n}"
        text = str(entry["query"])
        queries.append(Query(id=qid, kind=query_class(text), text=text))
        qrels[qid] = {str(r["docId"]): float(r["rating"]) for r in entry.get("ratings", [])}
    return queries, qrels


def load_judgments(queries_path: Path | None, qrels_path: Path) -> tuple[list[Query], dict[str, dict[str, float]]]:
    """TREC qrels with a queries JSONL, or (a ``.json`` qrels) a Search Relevance Workbench judgment list."""
    if qrels_path.suffix == ".json":
        return load_search_relevance_judgments(qrels_path)
    if queries_path is None:
        raise InvalidInputError("queries", "TREC qrels need a queries file")
    return load_queries(queries_path), load_qrels(qrels_path)
