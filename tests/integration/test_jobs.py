"""Jobs against the real node: a catalog moving into a new template schema."""

from hybrid_search import jobs
from hybrid_search.models import ModelSet
from hybrid_search.opensearch.indices import (
    alias_targets,
    create_versioned_index,
    install_template,
    products_index_name,
    render_products_template,
)
from hybrid_search.pipeline import EmbeddingPipeline, embed_products


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
    plan = jobs.reindex(client, settings, lambda ids, index: queued.append((ids, index)))
    new = products_index_name(alias, version)
    assert (plan.index, plan.swap_pending, queued) == (new, True, [(["m1/p1"], new)])
    copied = client.get(index=new, id="m1/p1")["_source"]
    assert copied["status"] == "pending" and "fused_vector" not in copied
    assert copied["text_vector"] == product["text_vector"] and copied["image_vector"] == product["image_vector"]

    report = embed_products(client, new, ["m1/p1"], EmbeddingPipeline(settings))  # re-fuses, encodes nothing
    assert report.ready == ["m1/p1"]
    client.indices.refresh(index=new)
    assert jobs.activate_when_ready(client, settings, new)
    assert alias_targets(client, alias) == [new] and old != new
    moved = client.get(index=alias, id="m1/p1")["_source"]
    assert moved["text_vector"] == product["text_vector"] and len(moved["fused_vector"]) == settings.fused_dim
