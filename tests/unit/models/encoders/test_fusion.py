import copy

import numpy as np
import pytest

from hybrid_search.models.encoders.device import l2_normalise
from hybrid_search.models.encoders.fusion import (
    ConcatFuser,
    FusionConfig,
    FusionModel,
    LearnedFuser,
    load_fusion,
    retrieval_metrics,
    save_fusion,
    train_fusion,
)


def _aligned_pairs(n=256, seed=0):
    """Titles and photos that share a hidden 16-d cause through different random linear maps."""
    rng = np.random.default_rng(seed)
    cause = rng.standard_normal((n, 16))
    text = l2_normalise(cause @ rng.standard_normal((16, 32)) + 0.1 * rng.standard_normal((n, 32)))
    image = l2_normalise(cause @ rng.standard_normal((16, 48)) + 0.1 * rng.standard_normal((n, 48)))
    return text, image


CONFIG = FusionConfig(text_dim=32, image_dim=48, behaviour_dim=4, joint_dim=16, hidden_dim=64, dropout=0.0)


def test_concat_fuser_is_unit_and_weights_per_part_cosines():
    rng = np.random.default_rng(1)
    text, image, behaviour = rng.standard_normal((5, 8)), rng.standard_normal((5, 12)), rng.standard_normal((5, 4))
    fuser = ConcatFuser((8, 12, 4), dim=512, weights=(1.0, 0.0, 0.0))
    fused = fuser.fuse(text, image, behaviour, np.ones(5, bool), np.ones(5, bool))
    assert fused.shape == (5, 512)
    np.testing.assert_allclose(np.linalg.norm(fused, axis=1), 1.0, rtol=1e-5)
    # With all weight on text, a text query finds its own product.
    assert (np.argmax(fuser.text_query(text) @ fused.T, axis=1) == np.arange(5)).all()


def test_concat_fuser_ignores_missing_photos():
    fuser = ConcatFuser((4, 4, 2), dim=64)
    text = np.eye(4)[:2]
    with_junk = fuser.fuse(text, np.full((2, 4), 9.0), np.zeros((2, 2)), np.zeros(2, bool), np.zeros(2, bool))
    without = fuser.fuse(text, np.zeros((2, 4)), np.zeros((2, 2)), np.zeros(2, bool), np.zeros(2, bool))
    np.testing.assert_allclose(with_junk, without, atol=1e-6)


def test_training_loss_falls_and_beats_the_untrained_model():
    text, image = _aligned_pairs()
    result = train_fusion(text[:200], image[:200], config=CONFIG, epochs=25, batch_size=64, device="cpu")
    assert result.losses[-1] < 0.6 * result.losses[0]
    trained = LearnedFuser(result.model, "t", "cpu")
    untrained = LearnedFuser(FusionModel(CONFIG), "u", "cpu")
    held_text, held_image = text[200:], image[200:]
    good = retrieval_metrics(trained.text_query(held_text), trained.image_query(held_image))
    base = retrieval_metrics(untrained.text_query(held_text), untrained.image_query(held_image))
    assert good["recall@10"] > base["recall@10"] + 0.3


def test_training_is_reproducible_with_a_seed():
    text, image = _aligned_pairs(64)
    a = train_fusion(text, image, config=CONFIG, epochs=2, batch_size=32, device="cpu", seed=3)
    b = train_fusion(text, image, config=CONFIG, epochs=2, batch_size=32, device="cpu", seed=3)
    assert a.losses == b.losses


def test_gate_only_weighs_present_modalities():
    model = FusionModel(CONFIG).eval()
    fuser = LearnedFuser(model, "x", "cpu")
    text, image = _aligned_pairs(4)
    behaviour = np.zeros((4, 4))
    no_photo = fuser.fuse(text, image, behaviour, np.zeros(4, bool), np.zeros(4, bool))
    np.testing.assert_allclose(no_photo, fuser.text_query(text), atol=1e-5)


def test_artifact_round_trip_is_versioned_by_its_weights(tmp_path):
    model = FusionModel(CONFIG).eval()
    path = save_fusion(model, tmp_path, {"note": "x"})
    assert path.name.startswith("fusion-") and path.suffix == ".pt"
    fuser, metadata = load_fusion(path, "cpu")
    assert fuser.version == path.stem
    assert metadata["note"] == "x"
    text, _ = _aligned_pairs(3)
    np.testing.assert_allclose(fuser.text_query(text), LearnedFuser(model, "m", "cpu").text_query(text), atol=1e-6)
    assert save_fusion(model, tmp_path, {}).name == path.name


def test_retrieval_metrics_by_hand():
    queries = np.eye(3)
    candidates = np.array([[1, 0, 0], [0.0, 0.1, 1], [0, 1, 0.1]])  # q1's pair ranks 2nd, q2's pair 2nd
    metrics = retrieval_metrics(queries, candidates, k=1, labels=np.array(["a", "b", "b"]))
    assert metrics["recall@1"] == pytest.approx(1 / 3)
    assert metrics["ndcg@1"] == pytest.approx(1 / 3)
    assert metrics["type_precision@1"] == pytest.approx(1.0)


@pytest.mark.cuda
def test_a_fusion_trained_on_the_cpu_fuses_the_same_on_cuda(tmp_path):
    text, image = _aligned_pairs()
    result = train_fusion(text, image, config=CONFIG, epochs=3, batch_size=64, device="cpu", seed=0)
    on_cpu, on_gpu = LearnedFuser(copy.deepcopy(result.model), "t", "cpu"), LearnedFuser(result.model, "t", "cuda")
    behaviour, has = np.zeros((len(text), 4)), np.ones(len(text), bool)
    for fuser_call in ("fuse", "text_query"):
        args = (text, image, behaviour, has, ~has) if fuser_call == "fuse" else (text,)
        a, b = getattr(on_cpu, fuser_call)(*args), getattr(on_gpu, fuser_call)(*args)
        assert (a * b).sum(axis=1).min() >= 0.9999
    trained_on_gpu = train_fusion(text, image, config=CONFIG, epochs=3, batch_size=64, device="cuda", seed=0)
    assert abs(trained_on_gpu.losses[-1] - result.losses[-1]) < 0.05 * result.losses[0]
