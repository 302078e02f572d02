import io
from collections import OrderedDict

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import EfficientNet_B0_Weights

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.models.encoders.image import (
    MIN_AUTOCAST_COSINE,
    ImageEncoder,
    load_image_encoder,
    map_state_dict_in_order,
)
from tests.data import photo_bytes, photo_rows

IMAGENET = EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"]
# Article types of the fashion catalog and the ImageNet classes a working model names for them.
EXPECTED = {
    "Sports Shoes": {"running shoe"},
    "Backpacks": {"backpack"},
    "Watches": {"digital watch", "analog clock", "stopwatch", "wall clock", "magnetic compass"},
    "Sunglasses": {"sunglasses", "sunglass"},
    "Tshirts": {"jersey", "sweatshirt", "cardigan"},
}


@pytest.fixture(scope="module")
def encoder():
    return load_image_encoder("efficientnet-lite0", "cpu")


def test_key_mapping_renames_by_position():
    source = OrderedDict([("_conv.weight", torch.ones(2, 3)), ("_bn.bias", torch.zeros(2))])
    target = OrderedDict([("conv.weight", torch.empty(2, 3)), ("bn.bias", torch.empty(2))])
    assert list(map_state_dict_in_order(source, target)) == ["conv.weight", "bn.bias"]


def test_key_mapping_checks_count_and_every_shape():
    with pytest.raises(ValueError, match="1 source tensors for 2"):
        map_state_dict_in_order({"a": torch.ones(1)}, {"a": torch.ones(1), "b": torch.ones(1)})
    with pytest.raises(ValueError, match="does not fit"):
        map_state_dict_in_order({"a": torch.ones(2, 3)}, {"b": torch.ones(3, 2)})


def test_imagenet_predictions_on_real_product_photos_are_sensible(encoder):
    hits = total = 0
    for article_type, classes in EXPECTED.items():
        rows = photo_rows(article_type, 6)
        logits = encoder.classify([photo_bytes(r) for r in rows])
        for row in logits:
            top5 = {IMAGENET[i] for i in np.argsort(-row)[:5]}
            hits += bool(top5 & classes)
            total += 1
    assert total == 30
    assert hits / total >= 0.8


def test_features_are_unit_1280_vectors_and_deterministic(encoder):
    photos = [photo_bytes(r) for r in photo_rows("Backpacks", 3)]
    first = encoder.encode(photos)
    assert first.shape == (3, 1280)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(encoder.encode(photos), first, atol=1e-5)


def test_same_kind_photos_are_closer_than_other_kinds(encoder):
    bags = encoder.encode([photo_bytes(r) for r in photo_rows("Backpacks", 4)])
    shoes = encoder.encode([photo_bytes(r) for r in photo_rows("Sports Shoes", 4)])
    within = (bags @ bags.T)[np.triu_indices(4, 1)].mean()
    across = (bags @ shoes.T).mean()
    assert within > across + 0.1


def test_unreadable_photo_is_named(encoder):
    good = photo_bytes(photo_rows("Backpacks", 1)[0])
    with pytest.raises(InvalidInputError) as info:
        encoder.encode([good, b"\x89PNG broken"])
    assert info.value.field == "photos[1]"


def test_oversized_photo_is_rejected_before_decoding(encoder):
    buffer = io.BytesIO()
    Image.new("RGB", (9000, 5000)).save(buffer, format="PNG")
    with pytest.raises(InvalidInputError, match="over the limit"):
        encoder.preprocess(buffer.getvalue())  # 45 M pixels, over the default 40 M


def test_photos_decoded_in_parallel_give_the_features_of_one_at_a_time(encoder):
    photos = [photo_bytes(r) for r in photo_rows("Backpacks", 12)]
    assert encoder.decode_threads >= 1
    one_at_a_time = encoder.encode_tensors([encoder.preprocess(p) for p in photos])
    np.testing.assert_allclose(encoder.encode(photos), one_at_a_time, atol=1e-5)


def test_decoding_returns_each_failure_in_its_place(encoder):
    good = photo_bytes(photo_rows("Watches", 1)[0])
    decoded = encoder.decode([(lambda: good, "a"), (lambda: b"not a photo", "b"), (lambda: good, "c")])
    assert isinstance(decoded[1], InvalidInputError) and decoded[1].field == "b"
    assert all(isinstance(item, torch.Tensor) for item in (decoded[0], decoded[2]))


@pytest.mark.parametrize("precision", ["bf16"])
def test_autocast_is_kept_only_while_features_stay_within_0999_of_fp32(encoder, precision):
    reduced = ImageEncoder("efficientnet-lite0", "cpu", precision=precision)
    photos = [photo_bytes(r) for t in EXPECTED for r in photo_rows(t, 4)]
    features = reduced.encode(photos)
    assert reduced.autocast_cosine is not None  # measured on the first batch
    assert (reduced.precision == precision) == (reduced.autocast_cosine >= MIN_AUTOCAST_COSINE)
    assert (features * encoder.encode(photos)).sum(axis=1).min() >= MIN_AUTOCAST_COSINE


@pytest.mark.cuda
def test_cuda_features_match_the_cpu_in_fp32_and_under_autocast(encoder):
    photos = [photo_bytes(r) for t in EXPECTED for r in photo_rows(t, 8)]
    on_cpu = encoder.encode(photos)
    on_gpu = ImageEncoder("efficientnet-lite0", "cuda")
    assert on_gpu.batch_size > encoder.batch_size
    assert (on_gpu.encode(photos) * on_cpu).sum(axis=1).min() >= 0.9999
    for precision in ("bf16", "fp16"):
        reduced = ImageEncoder("efficientnet-lite0", "cuda", precision=precision)
        assert (reduced.encode(photos) * on_cpu).sum(axis=1).min() >= MIN_AUTOCAST_COSINE
