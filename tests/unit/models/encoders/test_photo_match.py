import io
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hybrid_search.core.photos import PhotoStore
from hybrid_search.evaluation.synthetic import phone_snapshot
from hybrid_search.models.encoders.photo_match import (
    CANDIDATE_FEATURES,
    Keypoints,
    PhotoMatcher,
    _grey,
    inliers,
    keypoints,
)
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


class CountingStore(PhotoStore):
    """The real store on disk, counting which photos are decoded and which keypoints are written."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []
        self.kept: list[tuple[str, str]] = []

    def get(self, digest: str) -> bytes:
        self.reads.append(digest)
        return super().get(digest)

    def put_derived(self, digest: str, kind: str, data: bytes) -> None:
        self.kept.append((digest, kind))
        super().put_derived(digest, kind, data)


@pytest.fixture
def store(tmp_path: Path, shoes: list[bytes]) -> tuple[CountingStore, list[str]]:
    photos = CountingStore(tmp_path / "photos")
    return photos, [photos.put(shoe) for shoe in shoes]


def test_the_mirror_image_of_a_query_is_tried_too(shoes, store):
    photos, digests = store
    flipped = mirrored(phone_snapshot(shoes[0], random.Random(5)))
    counts = PhotoMatcher(photos).matches(flipped, [("doc-a", digests[0]), ("doc-b", digests[1])])
    assert counts["doc-a"] >= 25 and counts["doc-a"] > 3 * counts["doc-b"]


def test_the_mirror_images_keypoints_are_computed_for_the_first_candidates_only(shoes, store):
    photos, digests = store
    matcher = PhotoMatcher(photos, mirrored=2)
    query = phone_snapshot(shoes[5], random.Random(2))  # none of the candidates' photos
    candidates = [(f"p{i}", digests[i]) for i in range(4)]
    first = matcher.matches(query, candidates)
    assert [digest for digest, kind in photos.kept if kind.endswith("-mirrored-v1")] == digests[:2]
    assert matcher.matches(query, candidates) == first


def test_a_query_read_beforehand_matches_as_its_photo_does(shoes, store):
    photos, digests = store
    matcher = PhotoMatcher(photos)
    query = mirrored(phone_snapshot(shoes[1], random.Random(7)))  # mirrored: the mirror path reads it too
    candidates = [(f"p{i}", digests[i]) for i in range(4)]
    read = matcher.read(query)
    assert matcher.matches(read, candidates) == matcher.matches(query, candidates)
    assert matcher.matches(read, candidates)["p1"] >= 25


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_and_matches_as_the_small_one_does(shoes):
    photo = Image.open(io.BytesIO(shoes[0])).convert("RGB")
    large, small = io.BytesIO(), io.BytesIO()
    photo.resize((photo.width * 6, photo.height * 6)).save(large, "JPEG", quality=92)
    photo.resize((photo.width * 3 // 2, photo.height * 3 // 2)).save(small, "JPEG", quality=92)
    candidate = keypoints(shoes[0], features=CANDIDATE_FEATURES)
    assert max(_grey(large.getvalue()).shape) == photo.width * 6 // 4  # the largest reduction still >= SIDE
    assert inliers(keypoints(large.getvalue()), candidate) >= 25
    assert inliers(keypoints(small.getvalue()), candidate) >= 25


def test_candidates_keypoints_are_kept_beside_their_photos_for_every_process(shoes, store):
    photos, digests = store
    query = shoes[0]  # the product's own photo: sure at once, no mirror image computed
    candidates = [("p0", digests[0]), ("p1", digests[1]), ("lost", "0" * 64)]
    first = PhotoMatcher(photos).matches(query, candidates)
    assert set(first) == {"p0", "p1"}  # a photo the store lacks is left out
    assert photos.reads == [digests[0], digests[1], "0" * 64]
    another_process = PhotoMatcher(photos)
    assert another_process.matches(query, candidates) == first
    assert photos.reads[3:] == ["0" * 64]  # no photo decoded again (their keypoints were read) but the lost one
    assert [digest for digest, _ in photos.kept] == digests[:2]


def test_unreadable_kept_keypoints_are_computed_again(shoes, store):
    photos, digests = store
    matcher = PhotoMatcher(photos)
    expected = matcher.matches(shoes[0], [("p0", digests[0])])
    kind = photos.kept[0][1]
    photos.put_derived(digests[0], kind, b"\x05\x00\x00\x00 too short")
    assert PhotoMatcher(photos).matches(shoes[0], [("p0", digests[0])]) == expected
    assert photos.reads == [digests[0], digests[0]]


def test_keypoints_survive_their_bytes(shoes):
    found = keypoints(shoes[0], features=CANDIDATE_FEATURES)
    again = Keypoints.from_bytes(found.to_bytes())
    assert np.array_equal(again.points, found.points) and np.array_equal(again.descriptors, found.descriptors)
    assert Keypoints.from_bytes(keypoints(b"not a photo").to_bytes()).descriptors is None


def test_candidates_keypoints_are_cached_in_memory_the_least_recently_used_going_first(shoes, store):
    photos, digests = store
    matcher = PhotoMatcher(photos, cached=2, mirrored=0)
    matcher.matches(shoes[0], [("p0", digests[0]), ("p1", digests[1])])
    derived = []
    photos.derived = lambda digest, kind: derived.append(digest) or PhotoStore.derived(photos, digest, kind)  # type: ignore[method-assign]
    matcher.matches(shoes[0], [("p0", digests[0]), ("p1", digests[1])])
    assert derived == []  # both in memory
    matcher.matches(shoes[0], [("p2", digests[2])])  # holds two: the least recently used (p0) goes
    matcher.matches(shoes[0], [("p0", digests[0])])
    assert derived == [digests[2], digests[0]]
    assert matcher.matches(shoes[0], []) == {}
