"""The encoders and fuser of one model set, and the vectors they make of a product: text, photo and
behaviour vectors and their fusion (indexing/embedding.py writes them; the query side encodes with
the same encoders)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from hybrid_search.core.catalog import embedding_text
from hybrid_search.core.errors import HybridSearchError
from hybrid_search.core.photos import PhotoStore
from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.behaviour import fusion_input
from hybrid_search.models.encoders.fusion import ConcatFuser, Fuser, LearnedFuser, load_fusion
from hybrid_search.models.encoders.image import ImageEncoder, load_image_encoder
from hybrid_search.models.encoders.tagger import AttributeTagger, load_taggers, tags_for
from hybrid_search.models.encoders.text import TextEncoder, load_text_encoder
from hybrid_search.models.sets import ModelSet, artifact_path, artifact_version

MODEL_PARTS = ("text encoder", "photo encoder", "fusion")  # the parts of a model version, in order


def differing_models(stored_version: str | None, version: str) -> list[str]:
    """The models behind ``version`` that are not the ones that embedded ``stored_version``."""
    old = (stored_version or "").split("+")
    new = version.split("+")
    return [part for i, part in enumerate(MODEL_PARTS) if len(old) != len(MODEL_PARTS) or old[i] != new[i]]


def reusable(stored_version: str | None, version: str) -> dict[str, bool]:
    """Which stored vectors a document embedded under ``stored_version`` can keep under ``version``:
    the text vector when the text encoder is the same, the photo vector when the image encoder is."""
    differ = differing_models(stored_version, version)
    return {"text_vector": "text encoder" not in differ, "image_vector": "photo encoder" not in differ}


@lru_cache(maxsize=4)
def _learned_fuser(path: Path, device: str) -> LearnedFuser:
    """A fusion artifact, loaded once per process."""
    return load_fusion(path, device)[0]


class EmbeddingPipeline:
    """The encoders and fuser of one model set (default: the configured one), loaded lazily, once per process."""

    def __init__(self, settings: Settings, models: ModelSet | None = None) -> None:
        self.settings = settings
        self.models = models or ModelSet.from_settings(settings)
        self.version = self.models.version
        self.photos = PhotoStore(settings.photo_root)

    @cached_property
    def text_encoder(self) -> TextEncoder:
        return load_text_encoder(self.models.text_encoder, self.settings.device, batches=True)

    @cached_property
    def image_encoder(self) -> ImageEncoder:
        return load_image_encoder(self.models.image_encoder, self.settings.device, self.settings.image_precision)

    @cached_property
    def taggers(self) -> dict[str, AttributeTagger]:
        """The taggers the index records (none before its first training run)."""
        return load_taggers(artifact_path(self.models.tagger, self.settings)) if self.models.tagger else {}

    @property
    def tagger_version(self) -> str:
        return artifact_version(self.models.tagger) if self.models.tagger else ""

    @cached_property
    def fuser(self) -> Fuser:
        s = self.settings
        if self.models.fusion:
            return _learned_fuser(artifact_path(self.models.fusion, s), s.device)
        return ConcatFuser((s.text_dim, s.image_dim, s.behaviour_dim), s.fused_dim)

    def vectors(self, docs: Sequence[dict], reuse: bool = True) -> tuple[dict[int, dict], dict[int, str]]:
        """Vector fields for each doc position, and failure reasons for the ones that cannot be embedded.

        With ``reuse``, a text or photo vector already stored by the same encoder is kept (products
        are rewritten without vectors when their content changes), so a new fusion only re-fuses.
        """
        failures: dict[int, str] = {}
        pixels: dict[int, object] = {}
        kept = [
            reusable(doc.get("model_version"), self.version) if reuse else {"text_vector": False, "image_vector": False}
            for doc in docs
        ]
        to_decode = [
            i
            for i, doc in enumerate(docs)
            if doc.get("image_hash") and not (kept[i]["image_vector"] and doc.get("image_vector"))
        ]
        if to_decode:
            decoded = self.image_encoder.decode(
                [(lambda key=docs[i]["image_hash"]: self.photos.get(key), "image") for i in to_decode]
            )
            for i, item in zip(to_decode, decoded, strict=True):
                if isinstance(item, HybridSearchError):
                    failures[i] = f"photo: {item}"
                else:
                    pixels[i] = item
        keep = [i for i in range(len(docs)) if i not in failures]
        if not keep:
            return {}, failures
        s = self.settings
        text = np.zeros((len(keep), s.text_dim), dtype=np.float32)
        stored_text = np.array([bool(kept[i]["text_vector"] and docs[i].get("text_vector")) for i in keep])
        for row, i in enumerate(keep):
            if stored_text[row]:
                text[row] = docs[i]["text_vector"]
        if not stored_text.all():
            text[~stored_text] = self.text_encoder.encode(
                [embedding_text(docs[i]) for row, i in enumerate(keep) if not stored_text[row]]
            )
        image = np.zeros((len(keep), s.image_dim), dtype=np.float32)
        stored_image = np.array([i not in pixels and bool(docs[i].get("image_hash")) for i in keep])
        for row, i in enumerate(keep):
            if stored_image[row]:
                image[row] = docs[i]["image_vector"]
        encode = np.array([i in pixels for i in keep])
        if encode.any():
            image[encode] = self.image_encoder.encode_tensors([pixels[i] for i in keep if i in pixels])
        has_image = encode | stored_image
        read = [fusion_input(docs[i], s.behaviour_dim) for i in keep]
        behaviour = np.stack([vector for vector, _ in read])
        has_behaviour = np.array([has for _, has in read])
        fused = self.fuser.fuse(text, image, behaviour, has_image, has_behaviour)
        out = {}
        for row, i in enumerate(keep):
            fields = {
                "text_vector": text[row].tolist(),
                "fused_vector": fused[row].tolist(),
                "has_behaviour": bool(has_behaviour[row]),
                # the neutral vector is not stored (``fusion_input``); None clears one an older
                # index stored, so the partial update leaves no copy of it in the graph
                "behaviour_vector": behaviour[row].tolist() if has_behaviour[row] else None,
            }
            if has_image[row]:
                fields["image_vector"] = image[row].tolist()
            photo = image[row] if has_image[row] else None
            if tags := tags_for(self.taggers, docs[i], text[row], photo, self.tagger_version):
                fields["tags"] = tags
            out[i] = fields
        return out, failures
