"""A catalog schema of another shop's shape, applied through the API: its fields mapped, uploads
typed by it, and /search filtering, counting and sorting by them, on a real node."""

from __future__ import annotations

import time
import uuid
from typing import get_args

import pytest
import redis

from hybrid_search.api import create_app
from hybrid_search.core.schema import Analyzer, CatalogSchema
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.embedding import embed_products
from hybrid_search.indexing.reindex import reindex
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.catalog_schema import current_schema
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import (
    alias_targets,
    create_versioned_index,
    ensure_indices,
    install_template,
    recorded_schema,
    render_products_template,
)
from hybrid_search.stores.opensearch.products import get_products, refresh, status_counts
from hybrid_search.stores.opensearch.queries import build_bm25_query, build_filters
from hybrid_search.stores.services import Services
from tests.integration.cleanup import drop_test_indices

ADMIN = {"X-API-Key": "dev-admin-key"}
MERCHANT = {"X-API-Key": "dev-merchant-key"}  # merchant "demo"

FURNITURE = {
    "name": "furniture",
    "fields": {
        "title": {"type": "text"},
        "brand": {"type": "keyword", "filterable": True, "facet": True},
        "material": {"type": "keyword", "searchable": True, "filterable": True, "facet": True},
        "seats": {"type": "number", "filterable": True, "facet": True, "sortable": True},
        "foldable": {"type": "boolean", "filterable": True, "facet": True},
    },
}
TABLES = [
    ("t1", "Oak Dining Table", "Nordwood", {"material": "oak", "seats": "6", "foldable": "false", "legs": "4"}),
    ("t2", "Pine Kitchen Table", "Nordwood", {"material": "pine", "seats": "4", "foldable": "false", "legs": "4"}),
    ("t3", "Folding Camping Table", "Trailmark", {"material": "aluminium", "seats": "4", "foldable": "true"}),
    ("t4", "Oak Extending Table", "Eikhof", {"material": "oak", "seats": "8", "foldable": "false", "legs": "6"}),
    ("t5", "Round Pine Table", "Eikhof", {"material": "pine", "seats": "2", "legs": "one"}),
]


@pytest.fixture(scope="module")
def shop(service_urls, tmp_path_factory):
    prefix = f"c{uuid.uuid4().hex[:8]}"
    settings = Settings(
        opensearch_url=service_urls["opensearch_url"],
        redis_url=service_urls["redis_url"].rsplit("/", 1)[0] + "/9",  # a queue no worker of another test reads
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=tmp_path_factory.mktemp("schema"),
        device="cpu",
        models_poll_s=0.2,  # how soon a serving process reads a schema applied elsewhere
    )
    client = make_client(settings)
    ensure_indices(client, settings, ModelSet.from_settings(settings))
    yield settings, client, create_app(services=Services.from_settings(settings)).test_client()
    drop_test_indices(client, settings)
    redis.Redis.from_url(settings.redis_url).flushdb()  # the load's tasks, queued for no worker


@pytest.fixture
def own_shop(service_urls, tmp_path_factory):
    """A shop on an alias of its own, with no schema applied yet: its settings, client and API."""
    prefix = f"o{uuid.uuid4().hex[:8]}"
    settings = Settings(
        **service_urls,
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=tmp_path_factory.mktemp("own-shop"),
        device="cpu",
        models_poll_s=0.2,
    )
    client = make_client(settings)
    ensure_indices(client, settings, ModelSet.from_settings(settings))
    yield settings, client, create_app(services=Services.from_settings(settings)).test_client()
    drop_test_indices(client, settings)


def upload_embedded(shop, rows) -> None:
    """``rows`` uploaded as merchant demo's, embedded by the real pipeline, and searchable."""
    settings, client, api = shop
    assert api.post("/products", json=rows, headers=MERCHANT).status_code == 202
    keys = [f"demo/{r['product_id']}" for r in rows]
    assert len(embed_products(client, settings.products_alias, keys, EmbeddingPipeline(settings)).ready) == len(rows)
    refresh(client, settings.products_alias)


def rows(tables=TABLES):
    return [{"product_id": pid, "title": t, "brand": b, "attributes": a} for pid, t, b, a in tables]


def ids(answer):
    return [h["id"] for h in answer["hits"]]


def test_a_shop_declares_its_fields_and_searches_filter_count_and_sort_by_them(shop):
    settings, client, api = shop
    alias = settings.products_alias
    assert api.get("/schema").get_json()["name"] == "fashion"  # none applied: what /search did before

    bad = {**FURNITURE, "fields": {**FURNITURE["fields"], "care": {"type": "text", "facet": True}}}
    refused = api.put("/schema", json=bad, headers=ADMIN)
    assert refused.status_code == 400 and refused.get_json()["field"] == "fields.care"
    assert api.put("/schema", json=FURNITURE, headers=MERCHANT).status_code == 401
    assert api.get("/schema").get_json()["name"] == "fashion"  # nothing applied

    applied = api.put("/schema", json=FURNITURE, headers=ADMIN)
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["schema"]["version"] == 1 and api.get("/schema").get_json()["version"] == 1

    # a value not of its field's type: a 400 naming it, and nothing of the upload written
    wrong = rows()[:2] + [{"product_id": "t9", "title": "Stool", "attributes": {"seats": "a few"}}]
    refused = api.post("/products", json=wrong, headers=MERCHANT)
    assert refused.status_code == 400 and refused.get_json()["field"] == "products[2].attributes.seats"
    refresh(client, alias)
    assert status_counts(client, alias) == {}

    assert api.post("/products", json=rows(), headers=MERCHANT).status_code == 202
    report = embed_products(client, alias, [f"demo/{pid}" for pid, *_ in TABLES], EmbeddingPipeline(settings))
    assert len(report.ready) == len(TABLES)
    refresh(client, alias)
    stored = get_products(client, alias, ["demo/t1"])["demo/t1"].source
    assert stored["specs"] == {"material": "oak", "seats": 6.0, "foldable": False}
    assert stored["specs_text"] == "oak"  # material is searchable
    # no title says aluminium: the searchable field finds it (BM25), and the text encoder read it
    assert ids(api.get("/search?q=aluminium&size=3").get_json())[0] == "t3"

    oak = api.get("/search?q=table&filter[material]=oak&size=10").get_json()
    assert sorted(ids(oak)) == ["t1", "t4"]
    four_to_six = api.get("/search?q=table&filter[seats]=4..6&filter[foldable]=false&size=10").get_json()
    assert sorted(ids(four_to_six)) == ["t1", "t2"]
    faceted = api.get("/search?q=table&facets=material,foldable,brand&size=10").get_json()
    assert {f["value"]: f["count"] for f in faceted["facets"]["material"]} == {"oak": 2, "pine": 2, "aluminium": 1}
    assert {f["value"]: f["count"] for f in faceted["facets"]["foldable"]} == {"false": 3, "true": 1}
    assert {f["value"]: f["count"] for f in faceted["facets"]["brand"]} == {"Nordwood": 2, "Eikhof": 2, "Trailmark": 1}
    assert faceted["total"] == 5
    by_seats = api.get("/search?q=table&sort=seats:desc&size=10").get_json()
    order = ids(by_seats)  # 8, 6, then the two with 4 (relevance breaks the tie), 2
    assert order[:2] == ["t4", "t1"] and set(order[2:4]) == {"t2", "t3"} and order[4] == "t5"
    assert [h["sort"][0] for h in by_seats["hits"]] == [8.0, 6.0, 4.0, 4.0, 2.0]
    within = api.post("/search", json={"q": "table", "filter": {"material": ["pine"]}, "size": 10}).get_json()
    assert sorted(ids(within)) == ["t2", "t5"]

    for query, field in (
        ("filter[legs]=4", "filter[legs]"),  # not declared yet
        ("filter[seats]=many", "filter[seats]"),
        ("facets=title", "facets"),
        ("sort=material", "sort"),
        ("colour=Black&facets=colour", "facets"),  # the fashion facets are not this shop's
    ):
        answer = api.get(f"/search?q=table&{query}")
        assert answer.status_code == 400 and answer.get_json()["field"] == field, (query, answer.get_json())


def test_a_new_version_adds_a_field_to_the_products_already_indexed_in_place(shop):
    settings, client, api = shop
    alias = settings.products_alias
    live = alias_targets(client, alias)
    with_legs = {**FURNITURE, "fields": {**FURNITURE["fields"], "legs": {"type": "number", "filterable": True}}}
    applied = api.put("/schema", json=with_legs, headers=ADMIN).get_json()
    assert applied["schema"]["version"] == 2
    assert applied["not_of_type"] == {"legs": 1}  # t5's "one" stays in its attributes, not in the field
    refresh(client, alias)
    time.sleep(0.3)  # the search service reads the schema again after models_poll_s
    assert sorted(ids(api.get("/search?q=table&filter[legs]=4").get_json())) == ["t1", "t2"]

    # the next index of the family (a new model version, a reindex) is made with the fields
    template = client.indices.get_index_template(name=alias)["index_templates"][0]["index_template"]
    mappings = template["template"]["mappings"]
    assert mappings["properties"]["specs"]["properties"]["legs"] == {"type": "double"}
    assert mappings["_meta"]["catalog_schema"]["version"] == 2
    ensure_indices(client, settings, ModelSet.from_settings(settings))  # a restart keeps them in the template
    again = client.indices.get_index_template(name=alias)["index_templates"][0]["index_template"]
    assert again["template"]["mappings"]["properties"]["specs"] == mappings["properties"]["specs"]
    assert alias_targets(client, alias) == live  # no new index: fields are added in place


def test_a_language_added_to_fields_already_indexed_searches_them_at_once(own_shop):
    """German titles and care notes, analysed in English first (Stühle is not Stuhl there), then the
    schema adds German to both: mapped in place, every product analysed again as stored (vectors and
    status kept), and the BM25 query the live schema gives finds them by their German stems."""
    settings, client, api = own_shop
    alias = settings.products_alias
    first = {"name": "moebel", "fields": {"title": {"type": "text"}, "care": {"type": "text", "searchable": True}}}
    assert api.put("/schema", json=first, headers=ADMIN).status_code == 200
    care = {"s1": "Mit feuchten Tüchern abwischen", "s2": "Nicht in die Sonne stellen"}
    titles = {"s1": "Zwei Stühle aus Eiche", "s2": "Eichentisch"}
    upload_embedded(own_shop, [{"product_id": k, "title": titles[k], "attributes": {"care": care[k]}} for k in care])
    (live,) = alias_targets(client, alias)

    def bm25(text: str) -> dict[str, float]:
        fields = current_schema(client, alias).bm25_fields()
        hits = client.search(index=alias, body={"query": build_bm25_query(text, build_filters({}), fields=fields)})
        return {hit["_id"]: hit["_score"] for hit in hits["hits"]["hits"]}

    assert bm25("stuhl") == {} and bm25("tuch") == {}  # English stems: stühl, tüchern
    assert set(bm25("sonne")) == {"demo/s2"}  # a searchable field's words, as English reads them

    german = ["english", "german"]
    second = {
        "name": "moebel",
        "fields": {
            "title": {"type": "text", "searchable": True, "analyzers": german},
            "care": {"type": "text", "searchable": True, "boost": 3, "analyzers": german},
        },
    }
    applied = api.put("/schema", json=second, headers=ADMIN).get_json()
    assert applied["schema"]["version"] == 2 and applied["rebuilt_as"] is None
    assert alias_targets(client, alias) == [live]  # a language is a sub-field: mapped in place
    assert set(bm25("stuhl")) == {"demo/s1"} and set(bm25("tuch")) == {"demo/s1"}
    assert "specs.care.german^3" in current_schema(client, alias).bm25_fields()
    stored = get_products(client, alias, ["demo/s1"])["demo/s1"].source
    assert stored["status"] == "ready" and len(stored["text_vector"]) == settings.text_dim  # not embedded again
    template = client.indices.get_index_template(name=alias)["index_templates"][0]["index_template"]
    title = template["template"]["mappings"]["properties"]["title"]
    assert title["fields"]["german"] == {"type": "text", "analyzer": "german"} and "zh" in title["fields"]

    # the care notes kept for search, not shown: the hits leave them out wherever the product holds them
    hidden = {"name": "moebel", "fields": {**second["fields"], "care": {**second["fields"]["care"], "shown": False}}}
    assert api.put("/schema", json=hidden, headers=ADMIN).status_code == 200
    time.sleep(0.3)  # the search service reads the schema again after models_poll_s
    hits = api.get("/search?q=tuch&size=5").get_json()["hits"]
    assert {hit["id"] for hit in hits} == {"s1", "s2"}
    for hit in hits:
        product = hit["product"]
        assert "specs_text" not in product and "care" not in {**product.get("specs", {}), **product["attributes"]}
        assert product["title"] == titles[hit["id"]]
    assert get_products(client, alias, ["demo/s1"])["demo/s1"].source["attributes"]["care"] == care["s1"]


def test_every_analyzer_a_schema_may_name_is_one_opensearch_has(shop):
    _, client, _ = shop
    index = f"analyzers-{uuid.uuid4().hex[:8]}"
    subfields = {name: {"type": "text", "analyzer": name} for name in get_args(Analyzer)}
    client.indices.create(
        index=index, body={"mappings": {"properties": {"care": {"type": "text", "fields": subfields}}}}
    )
    try:
        analysed = client.indices.analyze(index=index, body={"field": "care.german", "text": "Stühle"})
        assert [token["token"] for token in analysed["tokens"]] == ["stuhl"]
    finally:
        client.indices.delete(index=index)


def test_a_type_change_builds_a_new_index_and_swaps_the_alias_to_it(shop):
    """legs, a number in version 2, becomes a keyword: the catalog is copied as it is (vectors,
    status) into an index mapped for version 3, legs typed again from each product's attributes (t5's
    "one" now fits), and the alias moves; the old index stays for a rollback."""
    settings, client, api = shop
    alias = settings.products_alias
    (before,) = alias_targets(client, alias)
    legs = {"type": "keyword", "filterable": True, "facet": True}
    retyped = {**FURNITURE, "fields": {**FURNITURE["fields"], "legs": legs}}

    building = create_versioned_index(client, alias, "a-training-run", activate=False)
    refused = api.put("/schema", json=retyped, headers=ADMIN)  # one build at a time
    assert refused.status_code == 409 and building in refused.get_json()["message"]
    client.indices.delete(index=building)

    answer = api.put("/schema", json=retyped, headers=ADMIN)
    assert answer.status_code == 200, answer.get_json()
    applied = answer.get_json()
    assert (applied["schema"]["version"], applied["schema"]["mapping_version"]) == (3, 3)
    assert applied["rebuilt_as"] not in (None, before) and applied["rebuilt_as"].endswith("-c3")
    assert applied["not_of_type"] == {}
    assert alias_targets(client, alias) == [applied["rebuilt_as"]]
    assert client.indices.exists(index=before)  # kept to point the alias back at
    mapping = client.indices.get_mapping(index=applied["rebuilt_as"])[applied["rebuilt_as"]]["mappings"]
    assert mapping["properties"]["specs"]["properties"]["legs"] == {"type": "keyword", "ignore_above": 256}

    t1, t5 = (get_products(client, alias, [f"demo/{pid}"])[f"demo/{pid}"].source for pid in ("t1", "t5"))
    assert t1["status"] == "ready" and len(t1["text_vector"]) == settings.text_dim  # not embedded again
    assert t1["specs"] == {"material": "oak", "seats": 6.0, "foldable": False, "legs": "4"}
    assert t5["specs"]["legs"] == "one"
    refresh(client, alias)
    time.sleep(0.3)  # the search service reads the schema again after models_poll_s
    faceted = api.get("/search?q=table&facets=legs&size=10").get_json()
    assert {f["value"]: f["count"] for f in faceted["facets"]["legs"]} == {"4": 2, "6": 1, "one": 1}
    assert ids(api.get("/search?q=aluminium&size=3").get_json())[0] == "t3"
    assert status_counts(client, alias) == {"ready": len(TABLES)}

    # the index's name holds the schema version it maps: a reindex with the same models stays in it
    plan = reindex(client, settings, lambda ids, index: None)
    assert (plan.index, plan.swap_pending) == (applied["rebuilt_as"], False)

    # while such a change is being copied, an upload is written to both indices, each typed by its own
    # schema: legs "three" is a keyword where the alias points, and left out where legs is a number
    numbered = CatalogSchema.parse({**FURNITURE, "fields": {**FURNITURE["fields"], "legs": {"type": "number"}}})
    numbered = numbered.model_copy(update={"version": 4, "mapping_version": 4})
    install_template(client, alias, render_products_template(settings, alias, numbered))
    building = create_versioned_index(client, alias, "a-retype-being-copied", activate=False)
    tables = [("t6", "Bar Table", "Eikhof", {"legs": "three"}), ("t7", "Side Table", "Eikhof", {"legs": "3"})]
    assert api.post("/products", json=rows(tables), headers=MERCHANT).status_code == 202
    live = get_products(client, alias, ["demo/t6", "demo/t7"])
    built = get_products(client, building, ["demo/t6", "demo/t7"])
    assert [live[k].source["specs"] for k in ("demo/t6", "demo/t7")] == [{"legs": "three"}, {"legs": "3"}]
    assert "specs" not in built["demo/t6"].source and built["demo/t7"].source["specs"] == {"legs": 3.0}
    client.indices.delete(index=building)
    install_template(client, alias, render_products_template(settings, alias, recorded_schema(client, alias)))


def test_load_catalog_checks_a_file_against_its_schema_before_applying_either(shop, tmp_path):
    """``load-catalog --schema``: a value not of its field's type stops the load before the schema
    is applied or a row written; a good file applies the schema, then uploads typed products."""
    import json

    from click.testing import CliRunner

    from hybrid_search.cli import main
    from hybrid_search.core.errors import InvalidInputError
    from tests.integration.processes import worker_env

    settings, client, api = shop
    alias = settings.products_alias
    before = api.get("/schema").get_json()["version"]
    schema = {**FURNITURE, "name": "furniture-shop", "fields": {**FURNITURE["fields"], "width_cm": {"type": "number"}}}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    lines = [
        "sku,name,maker,specs.material,specs.seats,specs.width_cm",
        "b1,Beech Bench,Eikhof,beech,3,140",
        "b2,Garden Bench,Trailmark,teak,three,120",
    ]
    (tmp_path / "products.csv").write_text("\n".join(lines) + "\n")
    maps = [
        "product_id=sku",
        "title=name",
        "brand=maker",
        *(f"attributes.{f}=specs.{f}" for f in ("material", "seats", "width_cm")),
    ]
    args = [
        "load-catalog",
        str(tmp_path),
        "--schema",
        str(tmp_path / "schema.json"),
        "--no-wait",
        *(f"--map={m}" for m in maps),
    ]
    env = {k: v for k, v in worker_env(settings).items() if k.startswith("HYBRID_SEARCH_")}

    refused = CliRunner().invoke(main, args, env=env)
    assert isinstance(refused.exception, InvalidInputError), refused.output
    assert refused.exception.field == "products.csv[1].attributes.seats"
    assert api.get("/schema").get_json()["version"] == before  # not applied
    refresh(client, alias)
    assert get_products(client, alias, ["demo/b1", "catalog/b1"]) == {}

    (tmp_path / "products.csv").write_text("\n".join(lines).replace("three", "3") + "\n")
    loaded = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert loaded.exit_code == 0, loaded.output
    assert f"catalog schema furniture-shop applied as version {before + 1}" in loaded.output
    stored = get_products(client, alias, ["catalog/b2"])["catalog/b2"].source
    assert stored["specs"] == {"material": "teak", "seats": 3.0, "width_cm": 120.0}
    assert stored["status"] == "pending"  # queued for the workers


def test_a_marketplace_names_the_built_in_attributes_its_own_way(own_shop):
    """Fashion products as a marketplace describes them: its "kind" and "color" are the product's
    type and colour (stored there: the heads, the lexicon and the embedding read them), filtered and
    counted under its own names."""
    from tests.data import fashion_rows

    settings, client, api = own_shop
    schema = {
        "name": "marketplace",
        "fields": {
            "kind": {"type": "keyword", "understood_as": "article_type", "filterable": True, "facet": True},
            "color": {"type": "keyword", "understood_as": "colour", "filterable": True, "facet": True},
            "audience": {"type": "keyword", "understood_as": "gender", "filterable": True},
        },
    }
    # a product loaded before the schema: its own kind becomes its type when the schema is applied
    early = {"product_id": "early-1", "title": "Canvas Tote", "attributes": {"kind": "Handbags"}}
    assert api.post("/products", json=[early], headers=MERCHANT).status_code == 202
    assert api.put("/schema", json=schema, headers=ADMIN).status_code == 200
    early_source = get_products(client, settings.products_alias, ["demo/early-1"])["demo/early-1"].source
    assert early_source["article_type"] == "Handbags" and "colour" not in early_source
    picked = [r for r in fashion_rows() if r["article_type"] in ("Backpacks", "Watches")][:12]
    rows = [
        {
            "product_id": f"mp-{r['id']}",
            "title": r["title"],
            "attributes": {"kind": r["article_type"], "color": r["colour"], "audience": r["gender"]},
        }
        for r in picked
    ]
    upload_embedded(own_shop, rows)
    stored = get_products(client, settings.products_alias, [f"demo/{rows[0]['product_id']}"])
    source = next(iter(stored.values())).source
    assert (source["article_type"], source["colour"]) == (picked[0]["article_type"], picked[0]["colour"])
    assert "specs" not in source

    backpacks = api.get("/search?q=bag&filter[kind]=Backpacks&facets=kind,color&size=20").get_json()
    expected = {f"mp-{r['id']}" for r in picked if r["article_type"] == "Backpacks"}
    assert set(ids(backpacks)) == expected
    assert backpacks["facets"]["kind"] == [{"value": "Backpacks", "count": len(expected)}]
    colours = {r["colour"] for r in picked if r["article_type"] == "Backpacks"}
    assert {f["value"] for f in backpacks["facets"]["color"]} == colours


def test_the_heads_learn_a_field_of_the_shops_own(own_shop):
    """A furniture shop's material, declared ``understood``: the training step gives the heads a
    ``specs.material`` head, so "walnut shelf" finds walnut shelves in the attributes leg although
    no title names a material and the field is not searchable (BM25 finds none of them)."""
    from hybrid_search.models.encoders.attributes import NAMES_NONE, load_attribute_model
    from hybrid_search.models.encoders.text import load_text_encoder
    from hybrid_search.models.live import record_artifacts
    from hybrid_search.training.trainers import train_attributes_from_index

    settings, client, api = own_shop
    schema = {
        "name": "furniture",
        "fields": {
            "kind": {"type": "keyword", "understood_as": "article_type", "filterable": True},
            "material": {"type": "keyword", "understood": True, "filterable": True, "facet": True},
        },
    }
    assert api.put("/schema", json=schema, headers=ADMIN).status_code == 200
    styles = ("Nordic", "Classic", "Studio", "Heritage")
    kinds = ("Table", "Chair", "Shelf", "Bed")
    materials = ("oak", "walnut", "steel")
    rows = [
        {"product_id": f"{s}-{k}-{m}", "title": f"{s} {k}", "attributes": {"kind": k, "material": m}}
        for s in styles
        for k in kinds
        for m in materials
    ]
    upload_embedded(own_shop, rows)

    encoder = load_text_encoder(settings.text_encoder, "cpu", batches=True)  # as the training step
    path, metadata = train_attributes_from_index(client, settings, encoder, query_strings=600, holdout=0.1)
    heads = load_attribute_model(path)
    assert set(heads.heads) == {"article_type", "specs.material"}
    assert set(heads.heads["specs.material"].classes) == {*materials, NAMES_NONE}
    assert "walnut" in heads.lexicon.attribute_words  # a value's word, not a title's catalog word
    record_artifacts(client, settings, attributes=path)
    time.sleep(0.3)

    intent = heads.text_intent(encoder.encode(["walnut shelf"], kind="query")[0])
    assert max(intent["specs.material"], key=intent["specs.material"].get) == "walnut"
    # a query that names no material asks for none (not the material shelves most often have)
    unnamed = heads.text_intent(encoder.encode(["nordic shelf"], kind="query")[0])
    assert max(unnamed["specs.material"].values(), default=0) < 0.2, unnamed
    for name, weights in (("attributes-only", {"attributes": 1.0}), ("bm25-only", {"bm25": 1.0})):
        assert api.put(f"/profiles/{name}", json={"weights": weights}, headers=ADMIN).status_code == 201
    found = api.get("/search?q=walnut shelf&profile=attributes-only&size=4&explain=true").get_json()
    assert {h["id"] for h in found["hits"]} == {f"{s}-Shelf-walnut" for s in styles}, found["hits"]
    alone = api.get("/search?q=walnut&profile=bm25-only&size=4").get_json()
    assert alone["hits"] == []  # no product's words name it: the head found them
