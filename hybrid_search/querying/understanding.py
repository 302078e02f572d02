"""Query understanding: a query's text in the catalog's words (CC-CEDICT for Chinese, bilingual
dictionaries and Apertium for other languages, the cross-lingual gloss), its vectors (from its text,
its photo, or the product it is like, each text encoded once per process), the attribute values it
asks for, and the filters every leg applies. What the legs read; nothing here runs a leg."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.errors import InvalidInputError, NotFoundError
from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.attributes import AttributeModel
from hybrid_search.models.encoders.bilingual import KANA, Translator, load_translator
from hybrid_search.models.encoders.crosslingual import gloss
from hybrid_search.models.encoders.dictionary import CJK_RUN, Dictionary, load_dictionary
from hybrid_search.models.encoders.text import load_text_encoder
from hybrid_search.models.encoders.thesaurus import Thesaurus, load_thesaurus
from hybrid_search.models.live import LiveModels
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.querying.legs import QueryInputs, legs_reading
from hybrid_search.querying.response import elapsed_ms
from hybrid_search.querying.storefront import Storefront
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.catalog_schema import LiveSchema
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.products import resolve_named
from hybrid_search.stores.opensearch.queries import WORDS, build_filters
from hybrid_search.stores.opensearch.search import get_source

# a Chinese, Japanese or Korean character: what the ``cjk`` analyser's sub-fields are searched for
EAST_ASIAN = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class Understood:
    """A query ready for its legs: its inputs, the filters every leg applies, and how long encoding took."""

    inputs: QueryInputs
    filters: dict[str, Any]
    voting: bool  # a photo's attribute intent is still to be voted by its nearest products
    encode_ms: float
    counted_filters: dict[str, Any] | None = None  # the match set's, where a post_filter narrows the legs'
    # read in another language than the catalog's: its words translated (Chinese, glossed by CC-CEDICT
    # as the heads were trained to read it, is not)
    foreign: bool = False


def read_in_another_language(typed: str, translated: str) -> bool:
    """Whether a query's words were translated from a language the catalog is not written in
    (Japanese included); a Chinese query's CC-CEDICT gloss, the reading the heads were trained on, is
    not (``QueryUnderstanding.readings`` made ``translated``; WordNet's related words are no translation)."""
    return translated != typed and (bool(KANA.search(typed)) or not CJK_RUN.search(typed))


class QueryUnderstanding:
    """One per process, beside the search service: the query encoders' caches, the dictionaries."""

    def __init__(self, settings: Settings, client: OpenSearchClient, models: LiveModels) -> None:
        self.settings = settings
        self.client = client
        self.models = models
        self.schema = LiveSchema(client, settings.products_alias, settings.models_poll_s)
        self._encode_text = lru_cache(maxsize=settings.query_cache_size)(self._encode_text_uncached)
        self._ahead: dict[tuple[str, str], np.ndarray] = {}  # encoded by encode_ahead, until first used
        self._encoding = threading.Lock()  # one query at a time through the engine: evaluation searches in threads
        self._translate = lru_cache(maxsize=settings.query_cache_size)(self._translate_uncached)

    @property
    def pipeline(self) -> EmbeddingPipeline:
        """The encoders and fuser of the index the alias points at now."""
        return self.models.current().pipeline

    @property
    def attributes(self) -> AttributeModel | None:
        """The attribute heads of the index the alias points at now."""
        return self.models.current().attributes

    def warm(self) -> None:
        """Load the encoders, dictionaries and attribute heads now rather than on the first query."""
        self._encode_text("warm up", self.pipeline.models.text_encoder)
        _ = self.dictionary, self.translator, self.thesaurus, self.attributes
        _ = self.pipeline.image_encoder, self.pipeline.fuser

    def _encode_text_uncached(self, text: str, encoder: str) -> np.ndarray:
        """``encoder`` keys the cache: a new alias target may read queries with another text encoder."""
        vector = self._ahead.pop((text, encoder), None)
        if vector is None:
            with self._encoding:
                vector = load_text_encoder(encoder, self.settings.device).encode([text], kind="query")[0]
            vector.setflags(write=False)
        return vector

    def encode_ahead(self, texts: Sequence[str]) -> None:
        """Encode the queries ``texts`` in batches now, each vector kept for its query's first search:
        a training step or an evaluation searches thousands of queries, whose batches the batch
        encoder reads at 4x the speed of one query at a time (``load_text_encoder``). The vectors of
        an earlier call's queries not searched since are dropped."""
        self._ahead.clear()
        encoder = self.pipeline.models.text_encoder
        readings = sorted({self.translate(text) for text in texts if text})
        if not readings:
            return
        vectors = load_text_encoder(encoder, self.settings.device, batches=True).encode(readings, kind="query")
        for reading, vector in zip(readings, vectors, strict=True):
            vector.setflags(write=False)
            self._ahead[reading, encoder] = vector

    @cached_property
    def dictionary(self) -> Dictionary | None:
        return load_dictionary(self.settings.query_dictionary)

    @cached_property
    def translator(self) -> Translator | None:
        settings = self.settings
        return load_translator(settings.query_dictionaries, settings.dictionaries_dir, settings.query_translation)

    @cached_property
    def thesaurus(self) -> Thesaurus | None:
        return load_thesaurus(self.settings.query_thesaurus, self.settings.dictionaries_dir)

    def translate(self, text: str) -> str:
        """A query in the catalog's words (what the encoders read; BM25 reads it beside the original):
        Chinese words through CC-CEDICT, Japanese and other languages' through FreeDict's bilingual
        dictionaries, followed by the attribute words WordNet relates its other words to
        (``thesaurus.py``), then (optionally) what is left through the cross-lingual vocabulary."""
        return self.readings(text)[1]

    def readings(self, text: str) -> tuple[str, str]:
        """``text`` translated (what tells a query read in another language), and ``translate``'s reading."""
        heads = self.attributes
        return self._translate(text, heads.version if heads is not None else None)

    def _translate_uncached(self, text: str, _heads_version: str | None) -> tuple[str, str]:
        """``_heads_version`` keys the cache: a new alias target may bring other heads."""
        typed, heads = text, self.attributes
        lexicon = heads.lexicon if heads is not None else None
        translator = self.translator if lexicon is not None else None
        if translator is not None and (KANA.search(text) or not CJK_RUN.search(text)):
            text = translator.translate(text, lexicon.knows, lexicon.names_attribute)  # Japanese kanji too
        if self.dictionary is not None and CJK_RUN.search(text):
            text = self.dictionary.translate(text, lexicon.names_attribute if lexicon else None) or text
        if lexicon is None:
            return text, text
        # a Chinese or Japanese query's gloss already chose the senses that name attributes (and the
        # heads learned to read it): WordNet's broader and narrower words for it cost those intents,
        # its synonyms spell the gloss's words as the catalog does (gray: grey; bench/README.md)
        reading = text
        if self.thesaurus is not None:
            synonyms_only = bool(EAST_ASIAN.search(typed))
            reading = self.thesaurus.expand(text, lexicon.knows, lexicon.names_attribute, synonyms_only)
        if heads.vocabulary is None or not self.settings.query_crosslingual:
            return text, reading
        encoder = load_text_encoder(self.pipeline.models.text_encoder, self.settings.device)
        return text, gloss(reading, lexicon.knows, heads.vocabulary, lambda words: encoder.encode(words, kind="query"))

    def available_legs(self, request: SearchRequest, photo: bytes | None) -> set[str]:
        """The legs this query and this service can run (before encoding anything)."""
        inputs = set()
        if request.like or photo is not None:
            inputs |= {"fused_vector", "image_vector"}
        if request.q and not request.like:
            inputs |= {"text", "typed", "text_vector", "fused_vector"}
        if self.attributes is not None and inputs:
            inputs.add("intent")
        return legs_reading(inputs)

    def understand(
        self,
        request: SearchRequest,
        photo: bytes | None,
        profile: BlendProfile,
        exclude: tuple[str, ...] = (),
        storefront: Storefront | None = None,
    ) -> Understood:
        """The inputs of the legs ``profile`` weighs: the query's text and gloss, its vectors (from its
        text, its photo, or the product it is like) and, for text, the attribute values it asks for."""
        started = time.perf_counter()
        loaded = self.models.current()  # one model set for the whole query, whatever the alias does meanwhile
        pipeline, attributes = loaded.pipeline, loaded.attributes
        translated, gloss = self.readings(request.q)  # the encoders read the gloss; BM25 beside the original
        fuser = pipeline.fuser
        text = image = fused = None
        if request.like:
            alias = self.settings.products_alias
            liked = (
                request.like if "/" in request.like else resolve_named(self.client, alias, [("like", request.like)])[0]
            )
            try:
                source = get_source(self.client, alias, liked, ["fused_vector", "image_vector"])
            except NotFoundError:
                raise InvalidInputError("like", f"no product {request.like!r} in the catalog") from None
            if "fused_vector" not in source:
                raise InvalidInputError("like", f"product {request.like!r} is not embedded yet")
            fused = np.asarray(source["fused_vector"])
            image = np.asarray(source["image_vector"]) if "image_vector" in source else None
            exclude = (liked, *exclude)
        else:
            text = self._encode_text(gloss, pipeline.models.text_encoder) if request.q else None
            if photo is not None:
                encoded = pipeline.image_encoder.encode([photo], "photo")
                image, fused = encoded[0], fuser.image_query(encoded)[0]
            elif text is not None:
                fused = fuser.text_query(text[None, :])[0]
        wants_intent = profile.weight("attributes") > 0 and attributes is not None
        intent = None
        if wants_intent and text is not None:
            intent = attributes.text_intent(text)
            # the shopper's own words: a dictionary gloss of Chinese invents words no title uses
            if words := attributes.word_intent(request.q):
                intent[WORDS] = words
        bm25_text = request.q if gloss == request.q else f"{request.q} {gloss}"
        schema = self.schema.current()
        lexicon = attributes.lexicon if attributes is not None else None
        inputs = QueryInputs(
            text=bm25_text if request.q and not request.like else None,
            typed=request.q if request.q and not request.like else None,
            text_vector=text,
            fused_vector=fused,
            image_vector=image,
            intent=intent,
            text_fields=schema.bm25_fields(cjk=bool(EAST_ASIAN.search(bm25_text))),
            slips=lexicon.slips(bm25_text) if lexicon is not None and request.q else None,
        )
        storefront = storefront or Storefront()
        predicted = request.tags == "predicted"
        fields = schema.field_filters(request.filter)
        filters = build_filters(
            request.filters(), request.price_min, request.price_max, exclude, storefront.leg_filter, predicted, fields
        )
        counted = None
        if storefront.post_filter is not None:
            counted = build_filters(
                request.filters(), request.price_min, request.price_max, exclude, storefront.where, predicted, fields
            )
        encode_ms = elapsed_ms(started, time.perf_counter())
        foreign = bool(request.q) and read_in_another_language(request.q, translated)
        return Understood(inputs, filters, wants_intent and intent is None, encode_ms, counted, foreign)
