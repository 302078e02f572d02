import io
import random

import pytest
from PIL import Image

from hybrid_search.encoders.photo_match import CANDIDATE_FEATURES, PhotoMatcher, inliers, keypoints
from hybrid_search.errors import NotFoundError
from hybrid_search.evaluation.synthetic import phone_snapshot
from tests.data import photo_bytes, photo_rows


@pytest.fixture(scope="module")
def shoes() -> list[bytes]:
    return [photo_bytes(row) for row in photo_rows("Sports Shoes", 6)]


def mirrored(data: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(out, "PNG")
    return out.getvalue()


def test_a_snapshot_of_a_photo_keeps_many_inliers_with_it_and_few_with_look_alikes(shoes):
    rng = random.Random(3)
    for original in shoes[:3]:
        snapshot = phone_snapshot(original, rng)
        own = inliers(keypoints(snapshot), keypoints(original, features=CANDIDATE_FEATURES))
        others = [
            inliers(keypoints(snapshot), keypoints(other, features=CANDIDATE_FEATURES))
            for other in shoes
            if other != original
        ]
        assert own >= 15 and own > 3 * max(others), (own, others)


def test_the_mirror_image_of_a_query_is_tried_too(shoes):
    original = shoes[0]
    flipped = mirrored(phone_snapshot(original, random.Random(5)))
    matcher = PhotoMatcher({"a": original, "b": shoes[1]}.__getitem__)
    counts = matcher.matches(flipped, [("doc-a", "a"), ("doc-b", "b")])
    assert counts["doc-a"] >= 25 and counts["doc-a"] > 3 * counts["doc-b"]


def test_undecodable_or_blank_photos_have_no_inliers(shoes):
    assert inliers(keypoints(b"not a photo"), keypoints(shoes[0])) == 0
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, "PNG")
    assert inliers(keypoints(blank.getvalue()), keypoints(shoes[0])) == 0


def test_candidates_keypoints_are_cached_and_a_photo_the_store_lacks_is_left_out(shoes):
    reads: list[str] = []

    def photo(digest: str) -> bytes:
        reads.append(digest)
        if digest == "gone":
            raise NotFoundError("photo gone is not in the store")
        return shoes[int(digest)]

    matcher = PhotoMatcher(photo, cached=2)
    query = phone_snapshot(shoes[0], random.Random(1))
    first = matcher.matches(query, [("p0", "0"), ("p1", "1"), ("lost", "gone")])
    assert set(first) == {"p0", "p1"}
    assert matcher.matches(query, [("p0", "0"), ("p1", "1")]) == first
    assert reads == ["0", "1", "gone"]  # the second query read no photo again
    matcher.matches(query, [("p2", "2")])  # holds two: the least recently used goes
    matcher.matches(query, [("p0", "0")])
    assert reads[-1] == "0"
    assert matcher.matches(query, []) == {}
