"""Running the legs of a query in one _msearch, and passing plain searches through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch

from hybrid_search.core.errors import BackendError, InvalidInputError, NotFoundError
from hybrid_search.stores.opensearch.client import client_query_errors, mget_found, translated_errors
from hybrid_search.stores.opensearch.facets import respelled, with_spelling
from hybrid_search.stores.opensearch.queries import build_bm25_query, build_filters, doc_id_of


@dataclass(frozen=True)
class LegHit:
    doc_id: str
    score: float
    fields: dict[str, str] = field(default_factory=dict)  # the leg's doc-value fields, first value each


def run_legs(client: OpenSearch, index: str, legs: Mapping[str, dict[str, Any]]) -> dict[str, list[LegHit]]:
    """Each leg's hits, best first, from a single _msearch round trip (bodies from ``leg_body``)."""
    return run_legs_counted(client, index, legs, None)[0]


@dataclass(frozen=True)
class MatchSet:
    """What a blended search matched (``match_set_body``): its ``total`` and the aggregations (facets)
    over those products."""

    total: int
    aggregations: dict[str, Any] = field(default_factory=dict)


SELECTED = "match set: selected"  # the aggregation that counts a post_filter's share of the match set


def match_set_body(
    queries: Sequence[dict[str, Any]], aggs: Mapping[str, Any] | None, selected: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Counts (and aggregates, with ``aggs``) the products any of ``queries`` matches; each carries
    its filters, and a k-NN query matches its nearest ``k`` only. With ``selected`` (a post_filter)
    the count is of those it keeps, the aggregations of all."""
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"should": list(queries), "minimum_should_match": 1}},
    }
    aggs = with_spelling(aggs or {}) | ({SELECTED: {"filter": selected}} if selected is not None else {})
    return body | ({"aggs": aggs} if aggs else {})


def _matched(response: dict[str, Any]) -> MatchSet:
    aggregations = respelled(dict(response.get("aggregations", {})))
    selected = aggregations.pop(SELECTED, None)
    total = selected["doc_count"] if selected is not None else response["hits"]["total"]["value"]
    return MatchSet(total, aggregations)


def run_legs_counted(
    client: OpenSearch, index: str, legs: Mapping[str, dict[str, Any]], match_set: dict[str, Any] | None
) -> tuple[dict[str, list[LegHit]], MatchSet | None]:
    """``run_legs``, and with ``match_set`` (a ``match_set_body``) what it counts, in the same round trip."""
    bodies = [*legs.values(), *([match_set] if match_set is not None else [])]
    if not bodies:
        return {}, None
    lines: list[dict[str, Any]] = []
    for body in bodies:
        lines += [{"index": index}, body]
    with translated_errors("searching"):
        responses = client.msearch(body=lines)["responses"]
    labels = [*(f"the {leg} leg" for leg in legs), "the match set"]
    for label, response in zip(labels, responses, strict=False):
        if "error" in response:
            reason = response["error"].get("reason") if isinstance(response["error"], dict) else response["error"]
            if response.get("status") == 400:  # the query's words, or the storefront's aggregations
                raise InvalidInputError("aggs" if label == labels[-1] else "q", f"{label} was rejected: {reason}")
            raise BackendError(f"{label} failed: {reason}")
    out = {
        name: [_leg_hit(hit) for hit in response["hits"]["hits"]]
        for name, response in zip(legs, responses[: len(legs)], strict=True)
    }
    if match_set is None:
        return out, None
    return out, _matched(responses[-1])


def count_match_set(client: OpenSearch, index: str, match_set: dict[str, Any]) -> MatchSet:
    """``match_set_body``'s count on its own (where the legs ran inside OpenSearch's hybrid query)."""
    with client_query_errors(f"counting {index}"):
        return _matched(client.search(index=index, body=match_set))


def run_hybrid(
    client: OpenSearch, index: str, body: dict[str, Any], explain: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """The hits of one ``hybrid`` query (``hybrid.build_hybrid_body``) and how many documents matched;
    with ``explain``, each hit's named sub-query scores and its blend explanation."""
    params = {"explain": "true", "include_named_queries_score": "true"} if explain else {}
    with translated_errors("running the hybrid query"):
        hits = client.search(index=index, body=body, params=params)["hits"]
    return hits["hits"], hits["total"]["value"]


def _leg_hit(hit: dict[str, Any]) -> LegHit:
    values = {name: found[0] for name, found in hit.get("fields", {}).items() if found}
    return LegHit(doc_id_of(values), hit["_score"], values)


def passthrough_search(client: OpenSearch, index: str, body: dict[str, Any], params: Mapping[str, str]) -> Any:
    """Forward a search (the backend's own query DSL) and return OpenSearch's answer, its hits naming
    ``index`` (the alias asked for), not the versioned index behind it, its facet values spelled as
    the merchant spells them (``facets``)."""
    with client_query_errors(f"searching {index}"):
        return _naming(client.search(index=index, body=_spelling(body), params=dict(params)), index)


def passthrough_msearch(client: OpenSearch, index: str, bodies: Sequence[dict[str, Any]]) -> Any:
    """Several searches of ``index`` in one round trip; a search that fails is an error among the
    responses, as OpenSearch answers it."""
    lines = [line for body in bodies for line in ({"index": index}, _spelling(body))]
    with client_query_errors(f"searching {index}"):
        answer = client.msearch(body=lines)
    answer["responses"] = [_naming(response, index) for response in answer["responses"]]
    return answer


def scroll_page(client: OpenSearch, index: str, scroll_id: str, keep_alive: str) -> Any:
    """The next page of a scroll a ``passthrough_search`` opened on ``index``, as OpenSearch answers it."""
    with client_query_errors("continuing the scroll"):
        return _naming(client.scroll(body={"scroll_id": scroll_id, "scroll": keep_alive}), index)


def clear_scrolls(client: OpenSearch, scroll_ids: Sequence[str]) -> int:
    """Close the scrolls' search contexts; how many were still open."""
    try:
        with translated_errors("clearing scrolls"):
            return int(client.clear_scroll(body={"scroll_id": list(scroll_ids)})["num_freed"])
    except NotFoundError:  # OpenSearch's answer when none was open
        return 0


def highlights(
    client: OpenSearch,
    index: str,
    ids: Sequence[str],
    highlight: dict[str, Any],
    text: str,
    fields: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The ``highlight`` fragments of the products ``ids`` for what the shopper typed (``text``, as
    the BM25 leg reads it over ``fields``, unless the highlight names its own ``highlight_query``):
    one ids search."""
    spec = {"highlight_query": build_bm25_query(text, build_filters({}), fields=fields)} | highlight
    body = {"size": len(ids), "query": {"ids": {"values": list(ids)}}, "_source": False, "highlight": spec}
    with client_query_errors(f"highlighting {index}"):
        hits = client.search(index=index, body=body)["hits"]["hits"]
    return {hit["_id"]: hit["highlight"] for hit in hits if hit.get("highlight")}


def count_documents(client: OpenSearch, index: str, body: dict[str, Any]) -> Any:
    with client_query_errors(f"counting {index}"):
        return client.count(index=index, body=body)


def node_info(client: OpenSearch) -> dict[str, Any]:
    """The cluster's name, uuid and version (what a client checks before it talks to it)."""
    with translated_errors("reading the cluster's version"):
        info = client.info()
    return {key: info[key] for key in ("cluster_name", "cluster_uuid", "version")}


def storefront_mapping(client: OpenSearch, alias: str, hidden: Sequence[str]) -> dict[str, Any]:
    """The mapping of the index behind ``alias`` without the ``hidden`` fields and, where any are
    hidden, without ``_meta`` (the models and their artifacts)."""
    with translated_errors(f"reading the mapping of {alias}"):
        mappings = next(iter(client.indices.get_mapping(index=alias).values()))["mappings"]
    if not hidden:
        return mappings
    properties = {name: spec for name, spec in mappings.get("properties", {}).items() if name not in hidden}
    return {key: value for key, value in mappings.items() if key != "_meta"} | {"properties": properties}


def document_source(client: OpenSearch, index: str, doc_id: str, excludes: Sequence[str]) -> dict[str, Any] | None:
    """A document's source without ``excludes`` (None: there is no such document)."""
    params = {"_source_excludes": ",".join(excludes)} if excludes else {}
    try:
        with translated_errors(f"reading {doc_id}"):
            return client.get(index=index, id=doc_id, params=params)["_source"]
    except NotFoundError:
        return None


def _spelling(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its aggregations asking for the merchant's spelling of each facet value."""
    return {key: with_spelling(value) if key in ("aggs", "aggregations") else value for key, value in body.items()}


def _naming(response: dict[str, Any], index: str) -> dict[str, Any]:
    """A search's answer as the client should see it: hits naming ``index``, facet values spelled."""
    for hit in response.get("hits", {}).get("hits", []):
        hit["_index"] = index
    if "aggregations" in response:
        respelled(response["aggregations"])
    return response


def get_source(client: OpenSearch, index: str, doc_id: str, fields: list[str]) -> dict[str, Any]:
    with translated_errors(f"reading {doc_id}"):
        return client.get(index=index, id=doc_id, params={"_source_includes": ",".join(fields)})["_source"]


def get_sources(
    client: OpenSearch, index: str, ids: list[str], fields: list[str] | None = None, excludes: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The sources (only ``fields``, or all but ``excludes``) of the documents among ``ids`` that exist,
    as of now (real-time gets)."""
    if not ids:
        return {}
    params = {"_source_includes": ",".join(fields)} if fields else {"_source_excludes": ",".join(excludes or [])}
    return {doc["_id"]: doc["_source"] for doc in mget_found(client, index, ids, params, "reading products")}


# cosine + 2 (scores must not be negative); 0 for a document without the vector
_COSINE_SCRIPT = "doc[params.field].size() == 0 ? 0 : 2 + cosineSimilarity(params.query_value, doc[params.field])"


def cosines_and_sources(
    client: OpenSearch,
    index: str,
    ids: list[str],
    excludes: list[str],
    cosine_to: tuple[str, Sequence[float]] | None = None,
) -> dict[str, tuple[float | None, dict[str, Any]]]:
    """For each document among ``ids`` that exists: with ``cosine_to`` (field, vector), the cosine of
    its vector in that field with the vector (None when it has none), computed in OpenSearch so that
    no vector travels; and its source but ``excludes``, as of the last refresh."""
    if not ids:
        return {}
    query: dict[str, Any] = {"ids": {"values": ids}}
    if cosine_to is not None:
        field, vector = cosine_to
        script = {"source": _COSINE_SCRIPT, "params": {"field": field, "query_value": [float(x) for x in vector]}}
        query = {"script_score": {"query": query, "script": script}}
    body = {"size": len(ids), "query": query, "_source": {"excludes": excludes}}
    with translated_errors("reading products"):
        hits = client.search(index=index, body=body)["hits"]["hits"]
    scored = cosine_to is not None
    return {hit["_id"]: (hit["_score"] - 2 if scored and hit["_score"] else None, hit["_source"]) for hit in hits}


def search_sources(client: OpenSearch, index: str, ids: list[str], excludes: list[str]) -> dict[str, dict[str, Any]]:
    """Like ``get_sources``, as of the last refresh: for hits a search just returned. One ids query
    costs less than half of a ten-id _mget (one real-time get per id)."""
    return {pid: source for pid, (_, source) in cosines_and_sources(client, index, ids, excludes).items()}
