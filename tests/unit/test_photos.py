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
