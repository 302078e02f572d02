"""Heads for a marketplace's own fields: the dev relevance of the marketplace index (loaded by
``marketplace.py``'s command) with a head for one more field of its own, against the same heads
retrained without it.

Two fields, added to every product's ``attributes`` on the loaded index (an update by query; the
products are not embedded again, since neither field is searchable):
- ``collection``: the product's season under another name, a field shoppers' queries rarely name;
- ``sub_category``: the second level of its category tree (Topwear, Shoes, Bags...), which follows
  the product's type.

Per arm: the marketplace schema (plus the field, declared ``understood``) applied, the attribute
heads retrained (``hybrid-search train-attributes``, recorded on the index), and
``bench/relevance/run.py`` on the dev set and the intents set. Then the default's nDCG@10 per
intent, and its paired difference from the baseline arm (sign flips, 5,000 draws).

    HYBRID_SEARCH_PRODUCTS_ALIAS=marketplace-products HYBRID_SEARCH_EVENTS_ALIAS=marketplace-events \\
        python bench/catalogs/declared_heads.py --out /tmp/declared-heads     # ~30 min
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import make_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from marketplace import SCHEMA, SHARED  # noqa: E402

RUN = "tuned hybrid, the default (default@0)"
INTENTS = ("keyword", "synonym", "chinese", "image", "natural", "brand")
SETS = {"": "queries-dev", "-intents": "queries-dev-intents"}
QRELS = {"": "qrels-dev.tsv", "-intents": "qrels-dev-intents.tsv"}
ADD_FIELDS = """
def a = ctx._source.attributes;
if (a == null) { return; }
if (a.season != null) { a.collection = a.season; }
def path = ctx._source.category_path;
if (path != null) { def parts = path.splitOnToken(' > '); if (parts.length > 1) { a.sub_category = parts[1]; } }
"""


def add_fields(settings: Settings) -> int:
    """``collection`` and ``sub_category`` in every product's attributes; returns how many were updated."""
    client = make_client(settings)
    answer = client.update_by_query(
        index=settings.products_alias,
        body={"script": {"lang": "painless", "source": ADD_FIELDS}},
        params={"conflicts": "proceed", "refresh": "true", "request_timeout": 600},
    )
    return int(answer["updated"])


def run_arm(name: str, field: str | None, out: Path) -> None:
    schema = json.loads(json.dumps(SCHEMA))
    if field:
        schema["fields"][field] = {"type": "keyword", "understood": True, "filterable": True, "facet": True}
    path = out / f"schema-{name}.json"
    path.write_text(json.dumps(schema, indent=2))
    cli = [sys.executable, "-m", "hybrid_search.cli"]
    subprocess.run([*cli, "schema", "apply", str(path)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*cli, "train-attributes"], check=True, stdout=(out / f"train-{name}.log").open("w"))
    for suffix, queries in SETS.items():
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve().parents[1] / "relevance" / "run.py"),
                "--queries",
                str(SHARED / f"{queries}.jsonl"),
                "--qrels",
                str(SHARED / QRELS[suffix]),
                "--out",
                str(out / f"{name}{suffix}"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def scores(out: Path, name: str) -> dict[tuple[str, str], tuple[str, float]]:
    found = {}
    for suffix in SETS:
        results = json.loads((out / f"{name}{suffix}" / "results.json").read_text())
        for q in results["queries"][RUN]:
            found[(suffix, q["query_id"])] = (q["kind"], q["scores"]["ndcg@10"])
    return found


def paired(differences: list[float], draws: int = 5000) -> float:
    rng = random.Random(0)
    observed = abs(sum(differences) / len(differences))
    more = sum(
        abs(sum(d if rng.random() < 0.5 else -d for d in differences) / len(differences)) >= observed - 1e-12
        for _ in range(draws)
    )
    return (more + 1) / (draws + 1)


def table(out: Path, arms: list[str]) -> str:
    base = scores(out, arms[0])
    lines = ["| arm | " + " | ".join(INTENTS) + " |", "|---|" + "---|" * len(INTENTS)]
    for name in arms:
        other = scores(out, name)
        cells = []
        for intent in INTENTS:
            keys = [key for key, (kind, _) in base.items() if kind == intent]
            mean = sum(other[k][1] for k in keys) / len(keys)
            if name == arms[0]:
                cells.append(f"{mean:.3f}")
                continue
            differences = [other[k][1] - base[k][1] for k in keys]
            cells.append(f"{mean:.3f} ({sum(differences) / len(keys):+.3f}, p {paired(differences):.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    if settings.products_alias == "products":
        sys.exit("set HYBRID_SEARCH_PRODUCTS_ALIAS to the marketplace index's alias (marketplace.py's load)")
    print(f"{add_fields(settings)} products given collection and sub_category", flush=True)
    arms = {"baseline": None, "collection": "collection", "sub_category": "sub_category"}
    for name, field in arms.items():
        print(f"arm {name}", flush=True)
        run_arm(name, field, args.out)
    report = table(args.out, list(arms))
    (args.out / "results.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
