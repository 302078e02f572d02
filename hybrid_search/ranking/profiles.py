"""Blend profiles: how the legs are normalised, weighted and combined, and how much users rerank.

Profiles are versioned and stored in OpenSearch (stores/opensearch/profiles.py); every API process reads
the active version through a short-lived cache, so a change reaches all of them within seconds,
without a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hybrid_search.querying.legs import LEG_NAMES
from hybrid_search.ranking.combine import Combination, Missing
from hybrid_search.ranking.normalise import Normalisation
from hybrid_search.stores.opensearch.queries import DECLARED_WEIGHT

Leg = Literal[LEG_NAMES]  # type: ignore[valid-type]
QueryClass = Literal["photo", "zh", "short", "long"]
DEFAULT_NAME = "default"


class BlendProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    normalisation: Normalisation = Normalisation.MIN_MAX
    combination: Combination = Combination.ARITHMETIC
    weights: dict[Leg, float] = Field(
        default_factory=lambda: {"bm25": 0.4, "text": 0.4, "fused": 0.2, "image": 1.0, "attributes": 0.0}
    )
    rank_constant: float = Field(60.0, gt=0, le=10_000)
    missing: Missing = Missing.ZERO  # a document one leg missed scores 0 there, or the leg is left out of its mean
    window: int = Field(100, ge=10, le=1000, description="hits per leg, and the fusion window paging stays in")
    # the rerank defaults are tuned on simulated shoppers (bench/personalisation)
    rerank_weight: float = Field(0.03, ge=0, le=10)
    rerank_depth: int = Field(20, ge=1, le=1000, description="how many of the blended hits a user's profile reranks")
    vector_share: float = Field(0.3, ge=0, le=1)
    rerank_relative: bool = Field(
        False, description="scale a user's boost by the hit's place between the head's lowest and highest score"
    )
    rerank_asked: bool = Field(
        True, description="leave out of a user's affinity the fields the query decides (its intent is sure of them)"
    )
    attribute_weights: dict[Literal["article_type", "colour", "gender", "usage", "words", "declared"], float] = Field(
        default_factory=lambda: {"article_type": 3.0, "colour": 2.0, "gender": 1.0, "usage": 0.5, "words": 0.0},
        description="score of a full match per attribute in the attributes leg (times the value's probability); "
        "words: a title with all of the query's catalog words no attribute names (brands, materials, patterns); "
        f"declared: each field of the shop's own the catalog schema has the heads understand ({DECLARED_WEIGHT} "
        "where not given)",
    )
    ranker: bool = Field(
        True,
        description="rank with the learned ranker the live index records, where it records one "
        "(these weights are then its fallback and the explained baseline)",
    )
    classes: dict[QueryClass, BlendProfile] = Field(
        default_factory=dict, description="per query class overrides (photo, zh, short, long)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> BlendProfile:
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must not be negative")
        if any(w < 0 for w in self.attribute_weights.values()):
            raise ValueError("attribute_weights must not be negative")
        if any(sub.classes for sub in self.classes.values()):
            raise ValueError("a class profile cannot have classes of its own")
        if self.normalisation is Normalisation.Z_SCORE and self.combination in (
            Combination.GEOMETRIC,
            Combination.HARMONIC,
        ):
            raise ValueError("z_score produces negative scores; combine it with arithmetic or rrf")
        return self

    def weight(self, leg: str) -> float:
        return self.weights.get(leg, 0.0)

    def for_class(self, query_class: str) -> BlendProfile:
        """The profile a query of this class is blended with: its override, else this one."""
        return self.classes.get(query_class, self)  # type: ignore[call-overload]


def every_leg(
    window: int, attribute_weights: Mapping[str, float] | None = None, legs: Sequence[str] = LEG_NAMES
) -> BlendProfile:
    """Every leg on (of ``legs``), at ``window`` hits each: what the learned ranker reads, and the
    superset any profile blends from (evaluation retrieves each query once with it)."""
    extra = {"attribute_weights": dict(attribute_weights)} if attribute_weights else {}
    return BlendProfile(weights=dict.fromkeys(legs, 1.0), window=window, **extra)


def parse_reference(reference: str) -> tuple[str, int | None]:
    """``name`` or ``name@version`` split into the name and the version (None: the active one)."""
    name, _, version = reference.partition("@")
    return name, int(version) if version else None


def differences(a: BlendProfile, b: BlendProfile) -> list[tuple[str, Any, Any]]:
    """Every setting that differs between two profiles, as (dotted path, value in a, value in b);
    a setting one side lacks (a class override, say) is None there."""
    out: list[tuple[str, Any, Any]] = []

    def walk(path: str, x: Any, y: Any) -> None:
        if isinstance(x, dict) or isinstance(y, dict):
            x, y = x if isinstance(x, dict) else {}, y if isinstance(y, dict) else {}
            for key in sorted(x.keys() | y.keys()):
                walk(f"{path}.{key}" if path else key, x.get(key), y.get(key))
        elif x != y:
            out.append((path, x, y))

    walk("", a.model_dump(mode="json"), b.model_dump(mode="json"))
    return out


class StoredProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: int  # 0 is the built-in default, never stored
    profile: BlendProfile
    created_at: str | None = None
    note: str = ""


# The default profile before any is stored: the profile tuned on the fashion dev judgments
# (`hybrid-search tune ... --save`; bench/relevance/README.md has its numbers).
TUNED_DEFAULT = Path(__file__).with_name("default_profile.json")
BUILT_IN = StoredProfile(
    name=DEFAULT_NAME,
    version=0,
    profile=BlendProfile.model_validate_json(TUNED_DEFAULT.read_text(encoding="utf-8")),
    note="built-in: tuned on the fashion dev judgments",
)


class ProfileCache:
    """Profiles by reference (a name reads its active version; ``name@version`` one version), each
    read at most once per ``ttl_s`` seconds per process."""

    def __init__(self, load: Callable[[str], StoredProfile], ttl_s: float = 2.0) -> None:
        self._load = load
        self._ttl = ttl_s
        self._entries: dict[str, tuple[float, StoredProfile]] = {}
        self._lock = threading.Lock()

    def get(self, reference: str) -> StoredProfile:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(reference)
        if entry and now - entry[0] < self._ttl:
            return entry[1]
        profile = self._load(reference)
        with self._lock:
            self._entries[reference] = (now, profile)
        return profile
