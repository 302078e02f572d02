"""Query DSL builders. They return plain dicts; user text only ever goes in as a value."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from hybrid_search.core.catalog import TAGGED, doc_id
from hybrid_search.core.schema import SPECS, FieldFilter, fashion_schema

SOURCE_EXCLUDES = ["text_vector", "image_vector", "fused_vector", "behaviour_vector"]
# what no storefront is shown: the vectors, and the indexing pipeline's bookkeeping (the admin sees them)
HIDDEN_FIELDS = (*SOURCE_EXCLUDES, "content_hash", "model_version", "image_path", "status_reason")
# the document _id is "<merchant_id>/<product_id>", both keyword fields with doc values
ID_FIELDS = ("merchant_id", "product_id")
# how a word that may be a slip matches: Lucene's AUTO edit distance, the first character as typed
FUZZY = {"fuzziness": "AUTO", "prefix_length": 1}


def doc_id_of(values: dict[str, Any]) -> str:
    """The document id from a hit's doc-value ``ID_FIELDS`` (first value each), popped from ``values``."""
    return doc_id(*(values.pop(name) for name in ID_FIELDS))


def build_filters(
    filters: Mapping[str, Sequence[str]],
    price_min: float | None = None,
    price_max: float | None = None,
    exclude_ids: Sequence[str] = (),
    where: dict[str, Any] | None = None,
    predicted: bool = False,
    fields: Sequence[FieldFilter] = (),
) -> dict[str, Any]:
    """A bool query of term filters (any of the values per field; with ``predicted``, a product that
    lacks an attribute matches by its tag), a price range, the catalog schema's ``fields`` (any of
    their values, or a range), excluded ids, and ``where``: a storefront's own query (checked by the
    read path's allow-list), as a filter."""
    clauses: list[dict[str, Any]] = [
        attribute_terms(name, list(values), predicted) for name, values in filters.items() if values
    ]
    for field in fields:
        if field.values:
            clauses.append(attribute_terms(field.path, list(field.values), predicted))
        else:
            bounds = {k: v for k, v in (("gte", field.gte), ("lte", field.lte)) if v is not None}
            clauses.append({"range": {field.path: bounds}})
    price = {k: v for k, v in (("gte", price_min), ("lte", price_max)) if v is not None}
    if price:
        clauses.append({"range": {"price": price}})
    if where is not None:
        clauses.append(where)
    query: dict[str, Any] = {"filter": clauses}
    if exclude_ids:
        query["must_not"] = [{"ids": {"values": list(exclude_ids)}}]
    return {"bool": query}


def attribute_terms(name: str, values: list[str], predicted: bool) -> dict[str, Any]:
    """Products whose ``name`` is one of ``values``; with ``predicted``, also those that lack it and
    whose tagger named one of them (``tags.<name>.value``: a tag is only ever beside a missing value)."""
    terms = {"terms": {name: values}}
    if not predicted or name not in TAGGED:
        return terms
    return {"bool": {"should": [terms, {"terms": {f"tags.{name}.value": values}}], "minimum_should_match": 1}}


def expected_match(name: str, values: list[str], boost: float) -> dict[str, Any]:
    """``boost`` for a product whose ``name`` is one of ``values``, and ``boost`` times the confidence
    of a tag that names one (a calibrated probability: the chance the product has it), so that among
    products the query's attributes tie, a merchant's value leads, then the surer tags."""
    merchant = {"constant_score": {"filter": {"terms": {name: values}}, "boost": boost}}
    if name not in TAGGED:
        return merchant
    tagged = {
        "function_score": {
            "query": {"terms": {f"tags.{name}.value": values}},
            "functions": [{"field_value_factor": {"field": f"tags.{name}.confidence", "missing": 0}, "weight": boost}],
            "boost_mode": "replace",
        }
    }
    return {"bool": {"should": [merchant, tagged], "minimum_should_match": 1}}


def searched_fields(fields: Sequence[str] | None) -> list[str]:
    """``fields`` (a catalog schema's ``bm25_fields``), or, where None, the built-in text fields at
    their default boosts (the fashion schema's)."""
    return list(fashion_schema().bm25_fields() if fields is None else fields)


def build_bm25_query(
    text: str,
    filters: dict[str, Any],
    fuzzy: bool = False,
    fields: Sequence[str] | None = None,
    slips: Collection[str] | None = None,
) -> dict[str, Any]:
    """multi_match over the catalog schema's searched fields, each in every language it is analysed
    in (``fields``: ``CatalogSchema.bm25_fields``), with the filters.

    ``fuzzy``: words match within Lucene's AUTO edit distance (none up to 2 characters, one up to 5,
    then two; the first character as typed), so a slip ("bakcpack") still finds its word, and an
    exact match scores above an edited one. ``slips``: where given, the words of ``text`` that may
    be slips (the catalog's lexicon lacks them); the others match as typed. A word the catalog uses
    is spelled right as far as the catalog can tell, and expanding it is a leg's cost: "black men's
    shorts" expanded to every near word of 8 fields took 69-102 ms on 1M products, exactly 6-32.
    Each product scores as multi_match would with only those words fuzzy.

    A product scores its best field's score alone (no tie breaker): so Lucene can bound each
    product's score and skip those that cannot reach the window (17 against 64 ms a leg on 1M
    products); the learned ranker and the fixed blend ranked every dev intent the same within
    noise with it (bench/scale/results-1m.md)."""
    searched = searched_fields(fields)
    exact, slipped = _split_slips(text, slips) if fuzzy else (text, "")
    if exact and slipped:
        best = {"dis_max": {"queries": [_field_words(field, exact, slipped) for field in searched]}}
        return {"bool": {"must": [best], "filter": [filters]}}
    multi_match: dict[str, Any] = {"query": exact or slipped, "fields": searched, "type": "best_fields"}
    if slipped:
        multi_match |= FUZZY
    return {"bool": {"must": [{"multi_match": multi_match}], "filter": [filters]}}


def _split_slips(text: str, slips: Collection[str] | None) -> tuple[str, str]:
    """``text`` in two: its words that match as typed, and those that may be slips (every word where
    ``slips`` is None: no lexicon to tell)."""
    if slips is None:
        return "", text
    words = text.split()
    return " ".join(w for w in words if w not in slips), " ".join(w for w in words if w in slips)


def _field_words(field: str, exact: str, slipped: str) -> dict[str, Any]:
    """One searched field (``path^boost``) matching ``exact``'s words as typed and ``slipped``'s
    within the edit distance: the sum of their term scores, as one match of all of them gives."""
    path, _, boost = field.partition("^")
    clauses = [{"match": {path: {"query": exact}}}, {"match": {path: {"query": slipped} | FUZZY}}]
    return {"bool": {"should": clauses, "boost": float(boost or 1)}}


def build_all_words_query(text: str, filters: dict[str, Any], fields: Sequence[str] | None = None) -> dict[str, Any]:
    """Products whose searched fields (as ``build_bm25_query``'s) hold every word of ``text`` between
    them (a storefront's notion of "matches the words"; the BM25 leg ranks any word), with the filters."""
    multi_match = {"query": text, "fields": searched_fields(fields), "type": "cross_fields", "operator": "and"}
    return {"bool": {"must": [{"multi_match": multi_match}], "filter": [filters]}}


def build_title_query(
    text: str, filters: dict[str, Any], phrase: bool = False, fuzzy: bool = False, slips: Collection[str] | None = None
) -> dict[str, Any]:
    """Products whose title has every word of ``text`` (within ``fuzzy`` edits for the words that may
    be ``slips``, as the BM25 leg allows), or has ``text`` as a phrase (two words of slop): the strict
    lexical signals of a shopper retyping a product's name or typing a brand."""
    if phrase:
        return {"bool": {"must": [{"match_phrase": {"title": {"query": text, "slop": 2}}}], "filter": [filters]}}
    exact, slipped = _split_slips(text, slips) if fuzzy else (text, "")
    clauses = [{"match": {"title": {"query": exact, "operator": "and"}}}] if exact else []
    if slipped:
        clauses.append({"match": {"title": {"query": slipped, "operator": "and"} | FUZZY}})
    return {"bool": {"must": clauses, "filter": [filters]}}


def among_ids(query: dict[str, Any], doc_ids: Sequence[str]) -> dict[str, Any]:
    """``query`` scored as it is, over the documents ``doc_ids`` alone."""
    return {"bool": {"must": [query], "filter": [{"ids": {"values": list(doc_ids)}}]}}


# the candidates a k-NN leg's graph search keeps where its k (the ranker's depth, 50) is fewer;
# Lucene keeps k. Recall@10 against exact search on 1M products, ef 50 -> 100 (-> 200): text 0.906
# -> 0.924 (0.946), behaviour 0.950 -> 0.978, fused 0.984 -> 0.994, photo 0.994; the text leg's
# took 9 -> 11 (16) ms (bench/scale/ef_search.py, results-1m.md)
KNN_EF_SEARCH = 100


def build_knn_query(
    field: str, vector: Sequence[float], k: int, filters: dict[str, Any], ef_search: int = 0
) -> dict[str, Any]:
    """Lucene HNSW k-NN with the filters applied during the graph search (efficient filtering);
    ``ef_search`` above ``k``: the candidates the graph search keeps (Lucene's own is ``k``), for
    recall where near neighbours crowd (``KNN_EF_SEARCH``)."""
    knn: dict[str, Any] = {"vector": [float(x) for x in vector], "k": k}
    if ef_search > k:
        knn["method_parameters"] = {"ef_search": ef_search}
    if filters["bool"].get("filter") or filters["bool"].get("must_not"):
        knn["filter"] = filters
    return {"knn": {field: knn}}


def leg_body(size: int, query: dict[str, Any], fields: Sequence[str] = ()) -> dict[str, Any]:
    """A leg's search body: ids and scores (plus any keyword ``fields``), all read from doc values:
    loading stored fields for a window of hits, even just for ``_id``, costs several times the query.
    Matches are not counted: counting makes Lucene score every match, where without it a query whose
    clauses bound their scores skips the documents that cannot reach the window (a search's total
    is the match set's count, ``search.match_set_body``)."""
    return {
        "size": size,
        "query": query,
        "track_total_hits": False,
        "_source": False,
        "stored_fields": "_none_",
        "docvalue_fields": [*ID_FIELDS, *fields],
    }


def named(query: dict[str, Any], name: str) -> dict[str, Any]:
    """``query`` with ``_name`` set (a k-NN query carries it inside its field), so hits say which matched."""
    ((kind, params),) = query.items()
    if kind == "knn":
        ((field, knn),) = params.items()
        return {"knn": {field: {**knn, "_name": name}}}
    return {kind: {**params, "_name": name}}


WORDS = "words"  # an intent's catalog words that no attribute names (brand, material, pattern): word -> share
# the weight of a head a catalog schema adds (specs.<name>, a field of the shop's own), unless a
# profile's attribute_weights gives "declared" one
DECLARED, DECLARED_WEIGHT = "declared", 1.0
# A product for everyone fits a query for either gender (the catalog's own convention).
ALSO_MATCHES = {"gender": {"men": ("unisex",), "women": ("unisex",)}}


def build_attribute_query(
    intent: Mapping[str, Mapping[str, float]], weights: Mapping[str, float], filters: dict[str, Any]
) -> dict[str, Any]:
    """Products scored by the attribute values a query asks for: the sum, over attributes, of the
    attribute's weight times the probability of the product's value (constant-score terms). A head
    a catalog schema adds is named by its field (``specs.material``) and weighs ``declared``.

    The query's catalog words (``words``: brands, materials, patterns) count within the article types
    it asks for: a title with the word and of a type scores the words weight times the word's share
    times the type's probability, so a word reorders products of the wanted type and never lifts
    another type (a "sneakers" title that is a sports shoe, for a query for casual shoes).

    The disjunction is the one scoring clause of a ``must``, beside the filters: so Lucene can pass
    the window's lowest score down to it and skip products that cannot reach the window (with the
    disjunction and the filters side by side in one ``bool`` it scores every match: 62 against
    2 ms a leg on 1M products, the same scores; bench/scale/results-1m.md)."""
    should: list[dict[str, Any]] = []
    types = intent.get("article_type") or {}
    for name, values in intent.items():
        declared = name.startswith(f"{SPECS}.")
        weight = weights.get(DECLARED, DECLARED_WEIGHT) if declared else weights.get(name, 0.0)
        for value, probability in values.items():
            if name == WORDS:
                for article_type, p in types.items():
                    boost = round(weight * probability * p, 4)
                    if boost > 0:
                        word = [{"match": {"title": value}}, attribute_terms("article_type", [article_type], True)]
                        should.append({"constant_score": {"filter": {"bool": {"filter": word}}, "boost": boost}})
                continue
            boost = round(weight * probability, 4)
            if boost > 0:
                matches = [value, *ALSO_MATCHES.get(name, {}).get(value.lower(), ())]
                should.append(expected_match(name, matches, boost))
    if not should:
        should = [{"match_none": {}}]
    return {"bool": {"must": [{"bool": {"should": should, "minimum_should_match": 1}}], "filter": [filters]}}
