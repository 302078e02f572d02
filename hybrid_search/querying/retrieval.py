"""Running a query's legs: one _msearch for the legs a profile weighs (the search's match set counted in
the same round trip); for a photo, its nearest products' vote on its attribute values (a second round
trip, the look-alikes leading the attribute leg's ties) and its keypoint match with the image leg's
first hits, run beside both round trips (bench/README.md, latency/ranker)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import Any, NamedTuple

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.photos import PhotoStore
from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.attributes import ATTRIBUTES, Intent, merge_intents, photo_intent
from hybrid_search.models.encoders.photo_match import PhotoMatcher
from hybrid_search.models.live import LiveModels
from hybrid_search.querying.legs import LEGS, ties_led_by
from hybrid_search.querying.storefront import VOTER_LEGS, Storefront, match_set_queries
from hybrid_search.querying.understanding import Understood
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.queries import among_ids, build_attribute_query, leg_body
from hybrid_search.stores.opensearch.search import MatchSet, match_set_body, run_legs, run_legs_counted

# what a voter brings: its merchant's values, and its taggers' where the merchant gave none
VOTE_FIELDS = (*ATTRIBUTES, *(f"tags.{name}.value" for name in ATTRIBUTES))
PHOTO_FIELDS = ("image_hash",)  # what the image leg returns for a query photo to be matched against
LOOK_ALIKES = "attributes among look-alikes"  # a photo's attribute leg over the voters' hits, to lead its ties
PHOTO_VOTERS = 20  # nearest products per voting leg whose attribute values make a photo query's intent
PHOTO_VOTE_TEMPERATURE = 0.02  # a voter counts exp((score - best score) / T)


class LegsRun(NamedTuple):
    """What a query's legs found: best-first (id, raw score) per leg, the query's intent (a photo's
    voted), the match set where it was counted, and a photo's inliers per candidate."""

    legs: dict[str, list[tuple[str, float]]]
    intent: Intent | None
    matched: MatchSet | None
    photo_matches: dict[str, int] | None


class LegRunner:
    """One per process, beside the search service: the photo matcher and the threads it runs on."""

    def __init__(self, settings: Settings, client: OpenSearchClient, models: LiveModels) -> None:
        self.settings = settings
        self.client = client
        self.models = models

    @cached_property
    def photo_matcher(self) -> PhotoMatcher:
        return PhotoMatcher(PhotoStore(self.settings.photo_root))

    @cached_property
    def _photo_work(self) -> ThreadPoolExecutor:
        """Where a query photo is matched while its legs run (OpenCV lets go of the GIL)."""
        return ThreadPoolExecutor(max_workers=2, thread_name_prefix="photo-match")

    def run(
        self,
        understood: Understood,
        profile: BlendProfile,
        counted: Storefront | None = None,
        photo: bytes | None = None,
    ) -> LegsRun:
        """The legs' hits (and the query's intent, voted for a photo); with ``counted``, the search's
        match set (``storefront.match_set_queries``) counted and aggregated in the same round trip; with
        ``photo``, its keypoint inliers with the photos of the image leg's first hits (``photo_match_candidates``)."""
        inputs, filters = understood.inputs, understood.filters
        bodies: dict[str, dict[str, Any]] = {}
        for leg in LEGS:
            # A photo's intent is voted by its nearest products in the fused space (every product,
            # with or without a photo) and among photos; those legs run whenever attributes do.
            votes = understood.voting and leg.name in VOTER_LEGS
            if profile.weight(leg.name) > 0 or votes:
                query = leg.query(inputs, filters, profile.window, profile.attribute_weights)
                if query is not None:
                    verifies = photo is not None and leg.name == "image" and self.settings.photo_match_candidates > 0
                    fields = (*(VOTE_FIELDS if votes else ()), *(PHOTO_FIELDS if verifies else ()))
                    bodies[leg.name] = leg_body(profile.window, query, fields)
        if not bodies:
            raise InvalidInputError("profile", "the profile gives every leg this query can use weight 0")
        match_set_ = match_set(understood, profile, counted) if counted is not None else None
        # the photo match runs beside the round trips: the query's keypoints during the legs', the
        # candidates' inliers during the voted attribute leg's (bench/README.md, latency/ranker)
        verified = self.settings.photo_match_candidates
        keypoints = None
        if photo is not None and verified and "image" in bodies:
            keypoints = self._photo_work.submit(self.photo_matcher.read, photo)
        results, matched = run_legs_counted(self.client, self.settings.products_alias, bodies, match_set_)
        legs = {leg: [(h.doc_id, h.score) for h in hits] for leg, hits in results.items()}
        matching: Future[Mapping[str, int]] | None = None
        if keypoints is not None and "image" in results:
            pictured = [(h.doc_id, h.fields[PHOTO_FIELDS[0]]) for h in results["image"][:verified]]
            candidates = [(d, digest) for d, digest in pictured if digest]
            matching = self._photo_work.submit(self.photo_matcher.matches, keypoints.result(), candidates)
        intent = inputs.intent
        if understood.voting and any(results.get(leg) for leg in VOTER_LEGS):
            intent = self.models.current().attributes.canonical(
                merge_intents(
                    [
                        photo_intent(
                            [(voter_values(h.fields), h.score) for h in results[leg][:PHOTO_VOTERS]],
                            PHOTO_VOTE_TEMPERATURE,
                        )
                        for leg in VOTER_LEGS
                        if results.get(leg)
                    ]
                )
            )
            query = build_attribute_query(intent, profile.attribute_weights, filters)
            # the products the photo looks like lead the attribute leg's ties (in the same round trip)
            look_alikes = list(dict.fromkeys(doc_id for leg in VOTER_LEGS for doc_id, _ in legs.get(leg, ())))
            bodies = {"attributes": leg_body(profile.window, query)}
            bodies[LOOK_ALIKES] = leg_body(len(look_alikes), among_ids(query, look_alikes))
            voted = {
                leg: [(h.doc_id, h.score) for h in hits]
                for leg, hits in run_legs(self.client, self.settings.products_alias, bodies).items()
            }
            legs["attributes"] = ties_led_by(voted["attributes"], voted[LOOK_ALIKES], profile.window)
        matches = dict(matching.result()) if matching is not None else None
        return LegsRun(legs, intent, matched, matches)


def match_set(understood: Understood, profile: BlendProfile, storefront: Storefront) -> dict[str, Any]:
    """The body that counts and aggregates what a search matched (``storefront.match_set_queries``), within the
    storefront's query; its post_filter narrows the count, not the aggregations (as OpenSearch's does)."""
    filters = understood.counted_filters or understood.filters
    queries = match_set_queries(understood.inputs, filters, profile, understood.voting)
    return match_set_body(queries, storefront.aggs, storefront.post_filter)


def voter_values(fields: dict[str, str]) -> dict[str, str]:
    """A voter's attribute values: its merchant's, else the value its tagger gave it (a photo's look-
    alikes in a shop whose merchants send titles and photos only vote by their tags)."""
    return {name: value for name in ATTRIBUTES if (value := fields.get(name) or fields.get(f"tags.{name}.value"))}
