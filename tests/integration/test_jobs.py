"""Jobs against the real node: a catalog moving into a new template schema; tags from value names."""

import json
import uuid

from hybrid_search.core.catalog import doc_id, parse_products, product_document
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.core.settings import Settings
from hybrid_search.indexing import reindex
from hybrid_search.indexing.embedding import embed_products
from hybrid_search.models.encoders.tagger import load_taggers
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import (
    alias_targets,
    create_versioned_index,
    ensure_indices,
    install_template,
    products_index_name,
    render_products_template,
)
from hybrid_search.stores.opensearch.products import refresh, write_documents
from hybrid_search.training import trainers
from tests.data import fashion_rows
from tests.integration.cleanup import drop_test_indices


def test_a_new_template_schema_moves_the_catalog_and_keeps_its_encoded_vectors(client, settings, cleanup):
    """An index of schema 3 or older, keyed by the product id alone, moves to "<merchant>/<id>" keys."""
    alias, version = settings.products_alias, ModelSet.from_settings(settings).version
    install_template(client, alias, render_products_template(settings, alias))
    old = create_versioned_index(client, alias, version)  # named as before schema versions were in the name
    product = {
        "product_id": "p1",
        "merchant_id": "m1",
        "title": "Black Backpack",
        "status": "ready",
        "model_version": version,
        "text_vector": [1.0, 0.0, 0.0, 0.0],
        "image_vector": [0.0, 1.0, 0.0],
        "image_hash": "h1",
        "has_image": True,
        "fused_vector": [0.0, 0.0, 1.0],
    }
    client.index(index=alias, id="p1", body=product, refresh=True)
    queued: list[tuple[list[str], str]] = []
    plan = reindex.reindex(client, settings, lambda ids, index: queued.append((ids, index)))
    new = products_index_name(alias, version)
    assert (plan.index, plan.swap_pending, plan.queued, queued) == (new, True, 0, [])  # re-fused, nothing encoded
    copied = client.get(index=new, id="m1/p1")["_source"]
    assert copied["status"] == "ready" and len(copied["fused_vector"]) == settings.fused_dim
    assert copied["text_vector"] == product["text_vector"] and copied["image_vector"] == product["image_vector"]
    assert reindex.activate_when_ready(client, settings, new)
    assert alias_targets(client, alias) == [new] and old != new
    moved = client.get(index=alias, id="m1/p1")["_source"]
    assert moved["text_vector"] == product["text_vector"] and len(moved["fused_vector"]) == settings.fused_dim


def test_an_attribute_no_product_has_is_tagged_from_the_names_of_its_values(service_urls, tmp_path):
    """A shop whose products carry no colour at all, and a vocabulary naming colours: the tags step
    learns colour zero-shot from the names, and tags the products with it."""
    vocabulary = tmp_path / "vocabulary.json"
    vocabulary.write_text(
        json.dumps(
            {
                "colour": [
                    "Black",
                    "White",
                    "Blue",
                    "Red",
                    "Grey",
                    "Green",
                    "Yellow",
                    "Purple",
                    "Pink",
                    "Brown",
                    "Navy Blue",
                    "Maroon",
                ]
            }
        )
    )
    prefix = f"z{uuid.uuid4().hex[:8]}"
    settings = Settings(
        **service_urls,
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=tmp_path / "data",
        device="cpu",
        tag_vocabulary=vocabulary,
    )
    client = make_client(settings)
    ensure_indices(client, settings, ModelSet.from_settings(settings))
    try:
        rows = [r for r in fashion_rows() if r["article_type"] in ("Tshirts", "Casual Shoes", "Handbags")][:300]
        products = parse_products([{**FASHION_FORMAT.product(r), "colour": "", "image": None} for r in rows])
        docs = [product_document(p, "shop", None) for p in products]
        write_documents(client, settings.products_alias, docs, refresh=True)
        ids = [doc_id("shop", d["product_id"]) for d in docs]
        pipeline = EmbeddingPipeline(settings)
        for start in range(0, len(ids), 100):
            assert not embed_products(client, settings.products_alias, ids[start : start + 100], pipeline).failed
        refresh(client, settings.products_alias)

        path, metadata = trainers.train_tagger_from_index(client, settings, pipeline.text_encoder)
        colour = metadata["evaluation"]["colour"]
        assert colour["source"] == "zero-shot" and colour["named"] > 0.3, colour
        assert "source" not in metadata["evaluation"]["article_type"]  # labelled: learned from the labels
        index = alias_targets(client, settings.products_alias)[0]
        counts = trainers.apply_tags(client, index, load_taggers(path), "v1")
        refresh(client, index)
        truth = {r["id"]: r["colour"] for r in rows}
        tagged = [
            (hit["_source"]["tags"]["colour"]["value"], truth[hit["_source"]["product_id"]])
            for hit in client.search(
                index=index, body={"size": 300, "query": {"exists": {"field": "tags.colour.value"}}}
            )["hits"]["hits"]
        ]
        assert counts["colour"] == len(tagged) > 100
        assert sum(got == want for got, want in tagged) / len(tagged) > 0.85
        assert "colour" not in client.get(index=index, id=ids[0])["_source"]  # beside the merchant's, never over
    finally:
        drop_test_indices(client, settings)
