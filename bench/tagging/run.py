"""How well the taggers (``hybrid_search/models/encoders/tagger.py``) name the attributes a product lacks, from
its photo, its title, or both, at the threshold each chose for a precision target.

The products of the live index (after ``up --catalog``), split once: the taggers train, calibrate and
choose their thresholds on 80% (out-of-fold predictions), and every figure below is measured on the
other 20%, products they never saw. A product without an attribute has a text vector made without it,
so the title input is each product's title encoded alone as a passage (what the workers store for a
merchant who sends titles and photos only), never the stored text vector, which is made with the
attribute values and would name them. Titles are encoded once and cached outside the repository.

    python bench/tagging/run.py [--target 0.92] [--seed 0] [--out bench/tagging]

With ``--zero-shot``, no tagger sees a label: each learns from the names of its attribute's values
alone (``models/encoders/zero_shot.py``; the vocabulary is every value with enough training products, what
a shop would list), and is scored on the same held-out products' true values.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hybrid_search.core.catalog import TAGGED, embedding_text
from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.tagger import (
    INPUTS,
    MIN_EXAMPLES,
    expected_calibration_error,
    fit_tagger,
    reliability,
)
from hybrid_search.models.encoders.text import load_text_encoder
from hybrid_search.models.encoders.zero_shot import TARGET as ZERO_SHOT_TARGET
from hybrid_search.models.encoders.zero_shot import fit_zero_shot
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import alias_targets
from hybrid_search.stores.opensearch.products import read_vectors

AS_TAGGED = "as tagged"  # each product with the inputs it has, as the workers tag it


def load(settings: Settings, cache: Path) -> tuple[dict[str, list[str]], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The live index's labelled products: labels, titles, title-alone passage vectors, photo vectors
    and which have a photo."""
    client = make_client(settings)
    index = alias_targets(client, settings.products_alias)[0]
    rows = read_vectors(client, index, ["image_vector", "title", *TAGGED], ready_only=True)
    ids = sorted(pid for pid, row in rows.items() if any(row.get(name) for name in TAGGED))
    labels = {name: [rows[i].get(name) or "" for i in ids] for name in TAGGED}
    photos = np.zeros((len(ids), settings.image_dim), dtype=np.float32)
    has_photo = np.zeros(len(ids), dtype=bool)
    for n, i in enumerate(ids):
        if rows[i].get("image_vector"):
            photos[n], has_photo[n] = rows[i]["image_vector"], True
    key = cache / f"titles-{settings.text_encoder.replace('/', '_')}-{len(ids)}.npz"
    if key.exists() and list(np.load(key)["ids"]) == ids:
        titles = np.load(key)["vectors"]
    else:
        encoder = load_text_encoder(settings.text_encoder, "cpu")
        texts = [embedding_text({"title": rows[i].get("title", "")}) for i in ids]
        titles = np.vstack([encoder.encode(texts[s : s + 256], kind="passage") for s in range(0, len(texts), 256)])
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(key, ids=np.array(ids), vectors=titles)
    return labels, [rows[i].get("title", "") for i in ids], titles, photos, has_photo


def measure(tagger, labels: np.ndarray, texts, titles, photos, has_photo, test: np.ndarray) -> dict[str, dict]:
    """Per input, on the ``test`` products labelled with a value the tagger knows: precision, recall,
    F1 and coverage at its threshold, accuracy and calibration error of its best guess. Then "as
    tagged": every such product with the inputs it has (its title, and its photo where it has one),
    each at its input's threshold, as the workers tag it: the attribute's precision as applied."""
    known = {value: i for i, value in enumerate(tagger.classes)}
    out = {}
    for kind in [*INPUTS, AS_TAGGED]:
        if kind != AS_TAGGED and kind not in tagger.calibration:
            continue
        with_photo = kind in ("photo", "both")
        rows = [r for r in test if labels[r] and (has_photo[r] or not with_photo)]
        guesses, confidence, tagged = [], [], []
        for r in rows:
            title = titles[r] if kind != "photo" else None
            photo = photos[r] if with_photo or (kind == AS_TAGGED and has_photo[r]) else None
            p, used = tagger.probabilities(title, photo, texts[r])
            guesses.append(int(p.argmax()))
            confidence.append(float(p.max()))
            tagged.append(bool(used) and p.max() >= tagger.calibration[used].threshold)
        truth = np.array([known.get(labels[r], -1) for r in rows])
        guesses, confidence, tagged = np.array(guesses), np.array(confidence), np.array(tagged)
        correct = guesses == truth
        precision = float(correct[tagged].mean()) if tagged.any() else float("nan")
        recall = float((correct & tagged).mean())
        f1 = 2 * precision * recall / (precision + recall) if tagged.any() and precision + recall else 0.0
        out[kind] = {
            "products": len(rows),
            "threshold": tagger.calibration[kind].threshold if kind in tagger.calibration else None,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "coverage": float(tagged.mean()),
            "accuracy": float(correct.mean()),
            "ece": expected_calibration_error(confidence, correct),
            "reliability": reliability(confidence, correct),
        }
    return out


def threshold(figures: dict) -> str:
    return "per input" if figures["threshold"] is None else f"{figures['threshold']:.3f}"


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 3.4), sharey=True)
    for ax, (name, by_input) in zip(np.atleast_1d(axes), results.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        for kind, figures in by_input.items():
            bins = figures["reliability"]
            ax.plot([b[0] for b in bins], [b[1] for b in bins], marker="o", markersize=3, label=kind)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("confidence", fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("accuracy (held-out products)", fontsize=8)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, help="the precision each threshold is chosen for (the setting's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "hybrid-search" / "bench-tagging")
    parser.add_argument("--zero-shot", action="store_true", help="learn from the value names alone, no label")
    args = parser.parse_args()
    settings = Settings()
    target = settings.tag_precision if args.target is None else args.target
    labels, texts, titles, photos, has_photo = load(settings, args.cache)
    encoder = load_text_encoder(settings.text_encoder, "cpu") if args.zero_shot else None
    order = np.random.default_rng(args.seed).permutation(len(titles))
    test, train = np.sort(order[: len(order) // 5]), np.sort(order[len(order) // 5 :])
    results, seconds, named = {}, {}, {}
    for name in TAGGED:
        y = np.array(labels[name], dtype=object)
        started = time.perf_counter()
        if encoder is not None:
            values, counts = np.unique(y[train][y[train] != ""], return_counts=True)
            vocabulary = [str(v) for v, n in zip(values, counts, strict=True) if n >= MIN_EXAMPLES]
            try:
                tagger, named[name] = fit_zero_shot(
                    name,
                    vocabulary,
                    [texts[i] for i in train],
                    titles[train],
                    encoder.encode(vocabulary, kind="query"),
                    photos[train],
                    has_photo[train],
                    seed=args.seed,
                )
            except ValueError as exc:
                print(exc, flush=True)
                continue
        else:
            tagger, _ = fit_tagger(
                name,
                list(y[train]),
                titles[train],
                photos[train],
                has_photo[train],
                target,
                seed=args.seed,
                texts=[texts[i] for i in train],
            )
        seconds[name] = time.perf_counter() - started
        results[name] = measure(tagger, y, texts, titles, photos, has_photo, test)
        print(name, {k: round(v["f1"], 3) for k, v in results[name].items()}, f"{seconds[name]:.0f} s", flush=True)
    shares = ", ".join(f"{n} {c:.0%}" for n, c in named.items())
    how = (
        f"no label: learned from the value names alone (they named {shares} "
        f"of the training titles; precision target on those pseudo-labels {ZERO_SHOT_TARGET})"
        if args.zero_shot
        else f"precision target {target}"
    )
    rows = [
        f"Held-out products: {len(test)} of {len(order)} (seed {args.seed}); {how}; "
        f"{int(has_photo.sum())} products have a photo. Trained on the other {len(train)}.",
        "",
        "| attribute | input | products | threshold | precision | recall | F1 | coverage | accuracy (best guess) "
        "| ECE | training s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_input in results.items():
        for kind, f in by_input.items():
            rows.append(
                f"| {name} | {kind} | {f['products']} | {threshold(f)} | {f['precision']:.3f} "
                f"| {f['recall']:.3f} | {f['f1']:.3f} | {f['coverage']:.3f} | {f['accuracy']:.3f} "
                f"| {f['ece']:.3f} | {seconds[name]:.0f} |"
            )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{'zero-shot-' if args.zero_shot else ''}seed{args.seed}"
    (args.out / f"results-{stem}.md").write_text("\n".join(rows) + "\n")
    (args.out / f"results-{stem}.json").write_text(json.dumps(results, indent=1))
    plot(results, args.out / f"reliability-{stem}.png")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
