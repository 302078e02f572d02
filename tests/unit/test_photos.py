import io

import pytest
from PIL import Image

from hybrid_search.errors import InvalidInputError, NotFoundError
from hybrid_search.photos import PhotoStore, open_image


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_images_decode_to_rgb():
    assert open_image(_png(8, 4, "L"), 1000).mode == "RGB"


def test_non_images_are_rejected_naming_the_field():
    with pytest.raises(InvalidInputError) as info:
        open_image(b"not an image at all", 1000, "products[2].image")
    assert info.value.field == "products[2].image"


def test_truncated_images_are_rejected():
    with pytest.raises(InvalidInputError):
        open_image(_png(64, 64)[:60], 10_000)


def test_decompression_bombs_are_rejected_from_the_header():
    with pytest.raises(InvalidInputError, match="over the limit"):
        open_image(_png(200, 100), max_pixels=19_999)


def test_store_is_content_addressed_and_idempotent(tmp_path):
    store = PhotoStore(tmp_path)
    digest = store.put(b"photo")
    assert store.put(b"photo") == digest
    assert store.get(digest) == b"photo"
    assert store.path(digest).parent.name == digest[:2]
    with pytest.raises(NotFoundError):
        store.get("0" * 64)


@pytest.mark.parametrize(("width", "height"), [(6000, 1), (1, 6000), (12_001, 1000), (300, 14)])
def test_strips_and_long_sides_are_rejected_before_any_resize(width, height):
    # a 6000x1 strip passes the pixel limit; resized to the model's short side it would be 1.3
    # million pixels long (seconds and gigabytes for one search)
    with pytest.raises(InvalidInputError) as info:
        open_image(_png(width, height, "L"), 40_000_000, "photo")
    assert info.value.field == "photo"


def test_ordinary_product_photo_shapes_pass():
    for width, height in ((1800, 2400), (60, 80), (400, 40)):
        assert open_image(_png(width, height, "L"), 40_000_000).size == (width, height)
