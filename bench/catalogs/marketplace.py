"""The shared fashion catalog as a general marketplace describes it, to load under its own schema.

Writes, outside the repository (the data stays in ../shared/data):
- ``products.jsonl``: per product ``sku``, ``name``, a category tree ``categories`` (master category,
  sub-category, then the product's kind), ``specs`` (kind, color, audience, occasion, season,
  year: the fashion attributes under a marketplace's names) and ``picture`` (its photo's path);
- ``images``: a link to the shared photos;
- ``schema.json``: the marketplace's catalog schema (its own field names, the first four understood
  as the built-in type, colour, audience and occasion).

Then (the command is printed): ``hybrid-search up --catalog DIR --schema DIR/schema.json --map ...``,
and ``bench/relevance/run.py`` against it, beside the fashion catalog's numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "fashion"
SCHEMA = {
    "name": "marketplace",
    "fields": {
        "kind": {"type": "keyword", "understood_as": "article_type", "filterable": True, "facet": True},
        "color": {"type": "keyword", "understood_as": "colour", "filterable": True, "facet": True},
        "audience": {"type": "keyword", "understood_as": "gender", "filterable": True, "facet": True},
        "occasion": {"type": "keyword", "understood_as": "usage", "filterable": True, "facet": True},
        "season": {"type": "keyword"},
        "year": {"type": "number", "sortable": True},
    },
}
MAP = [
    "product_id=sku",
    "title=name",
    "category_path=categories",
    "image=picture",
    "year=specs.year",
    "season=specs.season",
    "attributes.*=specs",
]


def marketplace_row(row: dict) -> dict:
    """One fashion row as the marketplace lists it."""
    specs = {
        "kind": row.get("article_type"),
        "color": row.get("colour"),
        "audience": row.get("gender"),
        "occasion": row.get("usage"),
        "season": row.get("season"),
        "year": row.get("year"),
    }
    tree = [part for part in (row.get("master_category"), row.get("sub_category"), row.get("article_type")) if part]
    return {
        "sku": row["id"],
        "name": row["title"],
        "categories": tree,
        "specs": {k: v for k, v in specs.items() if v},
        "picture": row.get("image"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/hybrid-search-marketplace"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        (SHARED / "products.jsonl").open(encoding="utf-8") as lines,
        (args.out / "products.jsonl").open("w", encoding="utf-8") as out,
    ):
        for line in lines:
            if line.strip():
                out.write(json.dumps(marketplace_row(json.loads(line)), ensure_ascii=False) + "\n")
    images = args.out / "images"
    if not images.exists():
        images.symlink_to(SHARED / "images")
    (args.out / "schema.json").write_text(json.dumps(SCHEMA, indent=2) + "\n", encoding="utf-8")
    maps = " ".join(f"--map '{m}'" for m in MAP)
    print(f"hybrid-search up --catalog {args.out} --schema {args.out}/schema.json {maps}")


if __name__ == "__main__":
    main()
