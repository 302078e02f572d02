"""Does the photo match's gain replicate on photos that chose nothing? Fresh phone snapshots and clean
look-alike photos, from products outside the dev snapshot set (another seed), ranked by the rankers
``ranker.py`` trains on its two catalog samples, with and without the ``photo_match`` features.

Snapshots are ``intents.py``'s (crop, mirror, turn, light, colour cast; that product is the answer,
MRR@10); look-alikes are a product's clean catalog photo with the product left out, graded 2 for its
type and colour and 1 for its type (nDCG@10), as the catalog's own photo queries are. Run after
``ranker.py`` (it reads that bench's cache):

    python bench/relevance/photo_fresh.py [--count 150] [--seed 11]
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intents import snapshot_photo  # noqa: E402
from ranker import DATA, fit  # noqa: E402

from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.runner import rank, single_leg_profiles
from hybrid_search.querying.service import Retrieval, SearchService
from hybrid_search.ranking.features import FEATURE_NAMES
from hybrid_search.ranking.profiles import every_leg
from hybrid_search.stores.services import Services


def reciprocal_rank(ranking: list[str], answer: str) -> float:
    return 1 / (ranking.index(answer) + 1) if answer in ranking[:10] else 0.0


def ndcg(ranking: list[str], grades: dict[str, int]) -> float:
    gain = sum((2 ** grades.get(doc, 0) - 1) / np.log2(i + 2) for i, doc in enumerate(ranking[:10]))
    ideal = sum((2**g - 1) / np.log2(i + 2) for i, g in enumerate(sorted(grades.values(), reverse=True)[:10]))
    return gain / ideal if ideal else 0.0


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=150, help="snapshots, and as many look-alike photos")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--cache", type=Path, default=settings.judgments_root / "ranker-retrievals-v9.pickle")
    args = parser.parse_args()
    _, qrels, _, _, _, samples = pickle.loads(args.cache.read_bytes())
    dev_snapshots = {p for query, judged in qrels.items() if query.startswith("intent-snapshot") for p in judged}
    rows = [json.loads(line) for line in (DATA / "products.jsonl").open(encoding="utf-8")]
    pictured = sorted((r for r in rows if r.get("image") and str(r["id"]) not in dev_snapshots), key=lambda r: r["id"])
    rng = random.Random(args.seed)
    service = SearchService.from_services(Services.from_settings(settings))
    default = service.profiles.get("default").profile.model_copy(update={"ranker": False})
    legs = every_leg(50, default.attribute_weights)
    by_type: dict[str, list[dict]] = {}
    for r in rows:
        by_type.setdefault(r.get("article_type"), []).append(r)
    snapshots: list[tuple[str, Retrieval]] = []
    look_alikes: list[tuple[dict[str, int], Retrieval]] = []
    for n, row in enumerate(rng.sample(pictured, 2 * args.count)):
        if n < args.count:
            with Image.open(DATA / row["image"]) as original:
                photo, quality = snapshot_photo(original.convert("RGB"), rng)
            out = io.BytesIO()
            photo.save(out, "JPEG", quality=quality)
            snapshots.append((str(row["id"]), service.retrieve(SearchRequest(), out.getvalue(), legs)))
        else:
            same_type = [r for r in by_type[row["article_type"]] if r["id"] != row["id"]]
            grades = {str(r["id"]): 2 if r.get("colour") == row.get("colour") else 1 for r in same_type}
            left_out = (f"catalog/{row['id']}",)
            photo = (DATA / row["image"]).read_bytes()
            look_alikes.append((grades, service.retrieve(SearchRequest(), photo, legs, exclude=left_out)))

    def scored(profile, ranker=None) -> str:
        mrr = np.mean([reciprocal_rank(rank(r, profile, ranker), answer) for answer, r in snapshots])
        found = np.mean([ndcg(rank(r, profile, ranker), grades) for grades, r in look_alikes])
        return f"| {mrr:.3f} | {found:.3f} |"

    print(f"{args.count} fresh snapshots and {args.count} look-alike photos (seed {args.seed})\n")
    print("| ranking | snapshot MRR@10 | look-alike nDCG@10 |\n|---|---|---|")
    for name, profile in single_leg_profiles(default).items():
        if name in ("image alone", "attributes alone"):
            print(f"| {name} {scored(profile)}")
    print(f"| fixed-weight default {scored(default)}")
    learned = default.model_copy(update={"ranker": True})
    without = [name for name in FEATURE_NAMES if not name.startswith("photo_match.") and name != "query.photo_match"]
    for seed, sample in samples.items():
        print(f"| learned, catalog sample {seed} {scored(learned, fit(sample))}")
        blind = fit(sample, features=without)
        print(f"| learned without the photo match, catalog sample {seed} {scored(learned, blind)}")


if __name__ == "__main__":
    main()
