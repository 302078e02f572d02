from hybrid_search.api.photos import photo_type


def test_photo_types_come_from_the_bytes():
    assert photo_type(b"\x89PNG\r\n") == "image/png"
    assert photo_type(b"RIFF\x00\x00\x00\x00WEBPVP8") == "image/webp"
    assert photo_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
