"""Is this photo *that* product's photo? Geometric verification of a query photo against candidates'.

A CNN's pooled features say what a photo looks like, not which photo it is: a snapshot of a product
(cropped, turned, mirrored, re-lit) and a clean photo of a look-alike sit at the same cosine to the
catalog (0.93 and 0.94 at the median on the dev queries). Instance retrieval settles that the
classic way: ORB keypoints matched between the two photos, kept where one rotation, scale and shift
(RANSAC) maps them onto each other. A snapshot of a product keeps 54 such inliers with that
product's photo at the median (21 at the 10th percentile); a look-alike query's best match 8 (26
at the 90th; bench/README.md, relevance/ranker). Where the photo as taken matches no candidate
with SURE inliers, its mirror image is tried: ORB descriptors are not mirror-invariant, and a
phone's front camera mirrors (the query against the candidate's mirror image: the query is read once).

What it costs a search (bench/README.md, latency/ranker): the query's keypoints once; per candidate
a probe with the query's strongest keypoints, which half of the pairs on the dev queries fail (every
pair with 10 inliers or more passed it), and the rest of the match for those that pass. A candidate's
keypoints are computed once and kept beside its photo in the store, so no process decodes a
candidate's photo again; a large JPEG (a phone's photo) is decoded at a reduced DCT scale. A search
reads the query's keypoints while its legs' round trip runs and counts the inliers during the next
(``querying/retrieval.py``), so at concurrency 1 the match adds little to a photo search's time, only CPU.

The count is a ranker feature (``ranking/features.py``); nothing here decides a ranking.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from hybrid_search.core.errors import NotFoundError

log = logging.getLogger(__name__)

SIDE = 320  # photos are matched at this longest side: more keypoints than the catalog's 224 px give (measured)
# ORB keypoints of a query photo and of a candidate's: matching costs their product. A query's
# strongest 150 matched snapshots as well as 500 did, at a third of the cost (bench/README.md)
FEATURES = 150
CANDIDATE_FEATURES = 500
# A candidate is first matched with the query's strongest PROBE keypoints; one with fewer than
# PROBED ratio-test matches among them keeps 0 inliers, the rest are matched with the others too.
# On the dev photo queries no pair with 10 inliers or more failed the probe, and half the pairs
# stopped there (bench/README.md)
PROBE = 75
PROBED = 3
RATIO = 0.8  # Lowe's ratio test: a match must be clearly better than the second best
REPROJECTION_PX = 5.0  # how far (at SIDE) an inlier may land from where the fitted transform puts it
SURE = 25  # inliers that settle a photo's orientation: its mirror image is not tried
MIRRORED = 3  # else the mirror image is tried against the first candidates (the CNN's cosine is nearly mirror-blind)
CACHED = 2048  # keypoint sets of candidates kept in memory (about 20 kB each)
KEPT_FORMAT = 1  # how keypoints kept beside a photo are written (``Keypoints.to_bytes``)
# cv2.imdecode flags that decode a JPEG at 1/2, 1/4, 1/8 of its size (DCT scaling): a phone's 12-MP
# snapshot decodes in 3 ms at 1/8 where full size costs 16
_REDUCED = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
)


@dataclass(frozen=True)
class Keypoints:
    """A photo's ORB keypoint positions (n × 2) and descriptors (n × 32 bytes), strongest first; empty if none."""

    points: np.ndarray
    descriptors: np.ndarray | None

    def to_bytes(self) -> bytes:
        """Positions (float32) then descriptors, after their count: what ``from_bytes`` reads."""
        count = 0 if self.descriptors is None else len(self.points)
        head = np.array([count], "<u4").tobytes()
        if not count:
            return head
        return head + self.points.astype("<f4").tobytes() + np.ascontiguousarray(self.descriptors, np.uint8).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Keypoints:
        count = int(np.frombuffer(data[:4], "<u4")[0])
        if len(data) != 4 + count * (8 + 32):
            raise ValueError(f"{len(data)} bytes do not hold {count} keypoints")
        if not count:
            return cls(np.zeros((0, 2), np.float32), None)
        points = np.frombuffer(data[4 : 4 + 8 * count], "<f4").reshape(count, 2).astype(np.float32)
        return cls(points, np.frombuffer(data[4 + 8 * count :], np.uint8).reshape(count, 32).copy())


class PhotoSource(Protocol):
    """Photos by content hash, with what is computed from them kept beside them (``photos.PhotoStore``)."""

    def get(self, digest: str) -> bytes: ...

    def derived(self, digest: str, kind: str) -> bytes | None: ...

    def put_derived(self, digest: str, kind: str, data: bytes) -> None: ...


def _grey(data: bytes) -> np.ndarray | None:
    """A photo's grey levels, a JPEG decoded at the smallest DCT scale that keeps its longest side at
    least ``SIDE`` (the size read from its header); None if undecodable."""
    buffer = np.frombuffer(data, np.uint8)
    flag = cv2.IMREAD_GRAYSCALE
    if data[:3] == b"\xff\xd8\xff":
        try:
            longest = max(Image.open(io.BytesIO(data), formats=["JPEG"]).size)
        except Exception:  # malformed: cv2 decides below
            longest = 0
        flag = next((f for factor, f in _REDUCED if longest >= factor * SIDE), flag)
    return cv2.imdecode(buffer, flag)


def keypoints(data: bytes, mirrored: bool = False, features: int = FEATURES) -> Keypoints:
    """ORB keypoints of a photo's grey levels at ``SIDE``, strongest first (undecodable bytes: none)."""
    image = _grey(data)
    if image is None or min(image.shape) < 8:
        return Keypoints(np.zeros((0, 2), np.float32), None)
    height, width = image.shape
    scale = SIDE / max(height, width)
    image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))))
    if mirrored:
        image = cv2.flip(image, 1)
    found, descriptors = cv2.ORB_create(nfeatures=features).detectAndCompute(image, None)
    if descriptors is None:
        return Keypoints(np.zeros((0, 2), np.float32), None)
    order = np.argsort([-k.response for k in found], kind="stable")
    return Keypoints(np.array([found[i].pt for i in order], np.float32).reshape(-1, 2), descriptors[order])


def _ratio_matches(query: np.ndarray, candidate: np.ndarray, offset: int = 0) -> list[tuple[int, int]]:
    """(query index + ``offset``, candidate index) of the matches that pass Lowe's ratio test."""
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query, candidate, k=2)
    return [
        (best.queryIdx + offset, best.trainIdx)
        for best, second in (p for p in pairs if len(p) == 2)
        if best.distance < RATIO * second.distance
    ]


def inliers(query: Keypoints, candidate: Keypoints, probe: int = PROBE) -> int:
    """How many of ``query``'s keypoints one similarity transform (RANSAC) maps onto ``candidate``'s;
    0 where the query's strongest ``probe`` keypoints find fewer than ``PROBED`` matches."""
    if query.descriptors is None or candidate.descriptors is None or len(query.points) < 2 or len(candidate.points) < 2:
        return 0
    good = _ratio_matches(query.descriptors[:probe], candidate.descriptors)
    if len(good) < PROBED:
        return 0
    if len(query.points) > probe:
        good += _ratio_matches(query.descriptors[probe:], candidate.descriptors, offset=probe)
    if len(good) < 3:  # a similarity transform needs two points; RANSAC a third to check them
        return 0
    source = query.points[[q for q, _ in good]]
    target = candidate.points[[c for _, c in good]]
    _, mask = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX)
    return int(mask.sum()) if mask is not None else 0


class PhotoMatcher:
    """Counts inliers between a query photo and candidates' photos (by content hash). A candidate's
    keypoints (and its mirror image's, for the first few) are computed once: kept beside its photo in
    the store, for every process and every restart, and the last ``CACHED`` sets in memory; the same
    products come up again and again."""

    def __init__(
        self,
        photos: PhotoSource,
        cached: int = CACHED,
        features: int = FEATURES,
        candidate_features: int = CANDIDATE_FEATURES,
        mirrored: int = MIRRORED,
    ) -> None:
        self._photos = photos
        self._cached = cached
        self.features, self.candidate_features, self.mirrored = features, candidate_features, mirrored
        self._cache: OrderedDict[tuple[str, bool], Keypoints] = OrderedDict()
        self._lock = threading.Lock()

    def _kind(self, mirrored: bool) -> str:
        """The name of a candidate's kept keypoints: it changes with whatever changes them."""
        return f"orb{self.candidate_features}-{SIDE}px{'-mirrored' if mirrored else ''}-v{KEPT_FORMAT}"

    def _candidate(self, digest: str, mirrored: bool = False) -> Keypoints:
        key = (digest, mirrored)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        found = self._kept(digest, mirrored)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self._cached:
                self._cache.popitem(last=False)
        return found

    def _kept(self, digest: str, mirrored: bool) -> Keypoints:
        """A candidate's keypoints as kept beside its photo, else computed and kept (a store that
        cannot keep them costs only the time to compute them again)."""
        kind = self._kind(mirrored)
        data = self._photos.derived(digest, kind)
        if data is not None:
            try:
                return Keypoints.from_bytes(data)
            except ValueError:  # written by something else: computed again below
                log.warning("unreadable %s keypoints of photo %s: computed again", kind, digest)
        found = keypoints(self._photos.get(digest), mirrored=mirrored, features=self.candidate_features)
        try:
            self._photos.put_derived(digest, kind, found.to_bytes())
        except OSError as exc:
            log.warning("could not keep the keypoints of photo %s: %s", digest, exc)
        return found

    def read(self, photo: bytes) -> Keypoints:
        """A query photo's keypoints: what ``matches`` reads of it (a search reads them while its
        legs run, which is why it is a step of its own)."""
        return keypoints(photo, features=self.features)

    def matches(self, photo: bytes | Keypoints, candidates: Sequence[tuple[str, str]]) -> Mapping[str, int]:
        """Doc id -> inliers between ``photo`` (or its keypoints, ``read`` already) and the doc's photo
        (or its mirror image), for each (doc id, photo hash) of ``candidates`` (best first) whose
        photo the store has."""
        if not candidates:
            return {}
        pictured = {}
        for doc_id, digest in candidates:
            try:
                pictured[doc_id] = (digest, self._candidate(digest))
            except NotFoundError:  # a store that lost a photo: that product is not verified
                continue
        query = photo if isinstance(photo, Keypoints) else self.read(photo)
        out = {doc_id: inliers(query, candidate) for doc_id, (_, candidate) in pictured.items()}
        if max(out.values(), default=0) >= SURE:
            return out
        # maybe mirrored, as a front camera takes it: the query against the candidate's mirror image
        # (the same pairs as the query's mirror image against the candidate, with the query read once)
        for doc_id in list(out)[: self.mirrored]:
            flipped = self._candidate(pictured[doc_id][0], mirrored=True)
            out[doc_id] = max(out[doc_id], inliers(query, flipped))
        return out
