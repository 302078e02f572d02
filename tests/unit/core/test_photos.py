import contextlib
import io

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from PIL import Image

from hybrid_search.core.errors import InvalidInputError, NotFoundError
from hybrid_search.core.photos import PhotoStore, open_image


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


def test_what_is_derived_from_a_photo_lies_beside_it_by_kind(tmp_path):
    store = PhotoStore(tmp_path)
    digest = store.put(b"photo bytes")
    assert store.derived(digest, "orb500-v1") is None
    store.put_derived(digest, "orb500-v1", b"keypoints")
    store.put_derived(digest, "orb500-v1", b"keypoints, again")  # replaced whole
    assert store.derived(digest, "orb500-v1") == b"keypoints, again"
    assert store.derived(digest, "orb300-v1") is None
    assert store.get(digest) == b"photo bytes"
    assert sorted(p.name for p in store.path(digest).parent.iterdir()) == [digest, f"{digest}.orb500-v1"]


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


def _encoded(fmt: str, size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def _png_with_short_ihdr() -> bytes:
    """The probe's 80-byte PNG: an IHDR chunk whose length says 1 (Pillow raised ValueError: a 500)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes, length: int | None = None) -> bytes:
        size = len(data) if length is None else length
        return struct.pack(">I", size) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header, length=1) + chunk(b"IEND", b"")


def test_a_png_with_a_broken_header_is_a_400_not_a_crash():
    with pytest.raises(InvalidInputError) as info:
        open_image(_png_with_short_ihdr(), 10_000, "image")
    assert info.value.field == "image"


@pytest.mark.parametrize("fmt", ["PPM", "QOI", "DDS", "SGI", "IM", "TIFF", "BMP", "ICO"])
def test_only_the_formats_a_shop_sends_are_decoded(fmt):
    try:
        data = _encoded(fmt)
    except (KeyError, OSError, ValueError):
        pytest.skip(f"this Pillow writes no {fmt}")
    with pytest.raises(InvalidInputError, match="JPEG, PNG, WEBP, GIF"):
        open_image(data, 10_000)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_the_formats_a_shop_sends_decode(fmt):
    assert open_image(_encoded(fmt), 10_000).size == (32, 24)


def test_a_large_jpeg_is_decoded_at_a_reduced_scale():
    """DCT scaling: a 4000x3000 JPEG decodes at 1/4 (1000x750), still above what encoders read."""
    assert open_image(_encoded("JPEG", (4000, 3000)), 40_000_000).size == (1000, 750)


@given(st.sampled_from(["JPEG", "PNG", "WEBP", "GIF"]), st.data())
@examples(max_examples=300, deadline=None)
def test_malformed_photos_of_every_admitted_format_are_a_400_or_a_photo(fmt, data):
    """Fuzz: a photo of each admitted format with bytes flipped, cut or inserted after its signature
    decodes or is an InvalidInputError, never another exception (a 500 and a traceback)."""
    photo = bytearray(_encoded(fmt, (40, 30)))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(12, len(photo) - 1))
        edit = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if edit == "flip":
            photo[at] = data.draw(st.integers(0, 255))
        elif edit == "cut":
            del photo[at : at + data.draw(st.integers(1, 16))]
        else:
            photo[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        if len(photo) < 14:
            break
    with contextlib.suppress(InvalidInputError):
        assert open_image(bytes(photo), 40_000_000).mode == "RGB"


def test_a_search_photo_decoded_at_full_size_is_capped_and_a_jpeg_is_not():
    """A 115 KB PNG of 6300x6300 cost an anonymous search 1.8 s of CPU (the probe of 2026-12-05)."""
    from hybrid_search.core.photos import check_full_decode

    with pytest.raises(InvalidInputError, match="PNG of 3000x2500") as info:
        check_full_decode(_encoded("PNG", (3000, 2500)), 6_000_000, "photo")
    assert info.value.field == "photo"
    check_full_decode(_encoded("PNG", (2000, 2000)), 6_000_000)
    check_full_decode(_encoded("JPEG", (4000, 3000)), 6_000_000)  # decoded at a quarter of each side
    check_full_decode(b"not a photo", 6_000_000)  # open_image's 400 names what it is not
