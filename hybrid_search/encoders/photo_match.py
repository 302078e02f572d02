"""Is this photo *that* product's photo? Geometric verification of a query photo against candidates'.

A CNN's pooled features say what a photo looks like, not which photo it is: a snapshot of a product
(cropped, turned, mirrored, re-lit) and a clean photo of a look-alike sit at the same cosine to the
catalog (0.93 and 0.94 at the median on the dev queries). Instance retrieval settles that the
classic way: ORB keypoints matched between the two photos, kept where one rotation, scale and shift
(RANSAC) maps them onto each other. A snapshot of a product keeps 54 such inliers with that
product's photo at the median (21 at the 10th percentile); a look-alike query's best match 8 (26
at the 90th; bench/README.md, relevance/ranker). Where the photo as taken matches no candidate
with SURE inliers, its mirror image is tried: ORB descriptors are not mirror-invariant, and a
phone's front camera mirrors.

The count is a ranker feature (``ranking/features.py``); nothing here decides a ranking.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from hybrid_search.errors import NotFoundError

SIDE = 320  # photos are matched at this longest side: more keypoints than the catalog's 224 px give (measured)
# ORB keypoints of a query photo and of a candidate's: matching costs their product. A query's
# strongest 150 matched snapshots as well as 500 did, at a third of the cost (bench/README.md)
FEATURES = 150
CANDIDATE_FEATURES = 500
RATIO = 0.8  # Lowe's ratio test: a match must be clearly better than the second best
REPROJECTION_PX = 5.0  # how far (at SIDE) an inlier may land from where the fitted transform puts it
SURE = 25  # inliers that settle a photo's orientation: its mirror image is not tried
MIRRORED = 3  # else the mirror image is tried against the first candidates (the CNN's cosine is nearly mirror-blind)
CACHED = 2048  # candidates' keypoints kept in memory (about 20 kB each)


@dataclass(frozen=True)
class Keypoints:
    """A photo's ORB keypoint positions (n × 2) and descriptors (n × 32 bytes); empty if none."""

    points: np.ndarray
    descriptors: np.ndarray | None


def keypoints(data: bytes, mirrored: bool = False, features: int = FEATURES) -> Keypoints:
    """ORB keypoints of a photo's grey levels at ``SIDE`` (undecodable bytes: none)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or min(image.shape) < 8:
        return Keypoints(np.zeros((0, 2), np.float32), None)
    height, width = image.shape
    scale = SIDE / max(height, width)
    image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))))
    if mirrored:
        image = cv2.flip(image, 1)
    found, descriptors = cv2.ORB_create(nfeatures=features).detectAndCompute(image, None)
    return Keypoints(np.array([k.pt for k in found], np.float32).reshape(-1, 2), descriptors)


def inliers(query: Keypoints, candidate: Keypoints) -> int:
    """How many of ``query``'s keypoints one similarity transform (RANSAC) maps onto ``candidate``'s."""
    if query.descriptors is None or candidate.descriptors is None or len(query.points) < 2 or len(candidate.points) < 2:
        return 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query.descriptors, candidate.descriptors, k=2)
    good = [best for best, second in (p for p in pairs if len(p) == 2) if best.distance < RATIO * second.distance]
    if len(good) < 3:  # a similarity transform needs two points; RANSAC a third to check them
        return 0
    source = query.points[[m.queryIdx for m in good]]
    target = candidate.points[[m.trainIdx for m in good]]
    _, mask = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX)
    return int(mask.sum()) if mask is not None else 0


class PhotoMatcher:
    """Counts inliers between a query photo and candidates' photos (by content hash), keeping the
    candidates' keypoints of the last ``CACHED`` photos: the same products come up again and again."""

    def __init__(
        self,
        photo: Callable[[str], bytes],
        cached: int = CACHED,
        features: int = FEATURES,
        candidate_features: int = CANDIDATE_FEATURES,
        mirrored: int = MIRRORED,
    ) -> None:
        self._photo = photo
        self._cached = cached
        self.features, self.candidate_features, self.mirrored = features, candidate_features, mirrored
        self._cache: OrderedDict[str, Keypoints] = OrderedDict()
        self._lock = threading.Lock()

    def _candidate(self, digest: str) -> Keypoints:
        with self._lock:
            if digest in self._cache:
                self._cache.move_to_end(digest)
                return self._cache[digest]
        found = keypoints(self._photo(digest), features=self.candidate_features)
        with self._lock:
            self._cache[digest] = found
            while len(self._cache) > self._cached:
                self._cache.popitem(last=False)
        return found

    def matches(self, photo: bytes, candidates: Sequence[tuple[str, str]]) -> Mapping[str, int]:
        """Doc id -> inliers between ``photo`` (or its mirror image) and the doc's photo, for each
        (doc id, photo hash) of ``candidates`` (best first) whose photo the store has."""
        if not candidates:
            return {}
        pictured = {}
        for doc_id, digest in candidates:
            try:
                pictured[doc_id] = self._candidate(digest)
            except NotFoundError:  # a store that lost a photo: that product is not verified
                continue
        straight = keypoints(photo, features=self.features)
        out = {doc_id: inliers(straight, candidate) for doc_id, candidate in pictured.items()}
        if max(out.values(), default=0) >= SURE:
            return out
        mirrored = keypoints(photo, mirrored=True, features=self.features)  # maybe mirrored, as taken
        for doc_id in list(out)[: self.mirrored]:
            out[doc_id] = max(out[doc_id], inliers(mirrored, pictured[doc_id]))
        return out
