"""More development intents. Two are derived from the dev queries and judged exactly as their sources:

- ``typo``: an English keyword query with one typing slip in its product-type word (two adjacent
  letters swapped, not the first: "black men's bakcpack"), as shoppers type on phones;
- ``mixed``: a Chinese query written half in English, as bilingual shoppers do: the Chinese colour
  and gender with the English product type ("黑色男士 backpack"), or the English colour with the
  Chinese product type ("black 双肩包"), alternately.

The dev set holds each spec (type, colour, gender) as a keyword, a synonym and a Chinese query with
the same judgments; a derived query takes its source's judgments unchanged.

Two are built from the catalog and judged by a rule over its fields, as the shared descriptive set is:

- ``pattern``: a colour, a pattern or material word and a product type ("blue striped shirt",
  "brown leather belt"). Grade 2: the type, the colour and one of the word's title forms (striped,
  stripes, stripe); grade 1: the type and one of the other two. The words are a hand-written list;
  no attribute model knows them;
- ``long``: a long descriptive sentence naming type, colour, audience and occasion ("looking for a
  navy blue shirt for men, for office and formal occasions"). Judged as the dev set: grade 2, the
  type and every asked attribute (Unisex fits both genders); grade 1, the type with one attribute off.

Price-bounded queries are not built: the catalog has no prices. Written outside the repository
(the judgments folder by default), then scored like any judgment set:

    python bench/relevance/derived.py [--out DIR]
    python bench/relevance/run.py --queries DIR/queries-derived.jsonl --qrels DIR/qrels-derived.tsv \\
        --name results-derived
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from hybrid_search.core.settings import Settings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
GENDERS = ("men's", "women's", "boys'", "girls'", "unisex")
CHINESE_PREFIX = re.compile(r"^(?P<colour>.+?色)(?P<gender>男士|女士|男孩|女孩|中性)(?P<type>.+)$")
# A pattern or material as a shopper types it -> the forms a title may use for it.
PATTERNS = {
    "striped": ("striped", "stripes", "stripe"),
    "checked": ("checked", "check", "checks"),
    "printed": ("printed", "print", "prints"),
    "solid": ("solid", "plain"),
    "graphic": ("graphic",),
    "leather": ("leather",),
    "canvas": ("canvas",),
    "silk": ("silk",),
    "cotton": ("cotton",),
    "denim": ("denim",),
    "floral": ("floral", "flower", "flowers"),
    "polka dot": ("polka",),
    "lace": ("lace",),
    "knitted": ("knit", "knitted"),
}
AUDIENCE = {"Men": "men", "Women": "women", "Boys": "boys", "Girls": "girls"}
OCCASION = {
    "Casual": "for everyday casual wear",
    "Sports": "for the gym and running",
    "Formal": "for office and formal occasions",
    "Ethnic": "for festivals and traditional occasions",
}
LONG_FORMS = (
    "looking for a {colour} {type} for {audience}, {occasion}",
    "{colour} {type} for {audience} that i can wear {occasion}",
    "i need a comfortable {colour} {type} for {audience} {occasion}",
)
MIN_RELEVANT = 3  # a built query has at least this many grade-2 products
PER_INTENT = 100


def typo(word: str, rng: random.Random) -> str:
    """``word`` with two adjacent letters after the first swapped (two that differ)."""
    spots = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1] and word[i : i + 2].isalpha()]
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def english_parts(text: str, colour: str) -> tuple[str, str] | None:
    """(colour words, product-type words) of a keyword query "<colour> <gender> <type>"."""
    words = text.split()
    for i, word in enumerate(words):
        if word in GENDERS:
            head, tail = " ".join(words[:i]), " ".join(words[i + 1 :])
            return (head, tail) if head.lower() == colour.lower() and tail else None
    return None


def derive(rows: list[dict], rng: random.Random) -> list[tuple[dict, str]]:
    """(derived query, id of the query whose judgments it takes)."""
    by_spec: dict[str, dict] = {}
    for row in rows:
        if row["kind"] == "keyword":
            by_spec[json.dumps(row.get("spec"), sort_keys=True)] = row
    out: list[tuple[dict, str]] = []
    for row in rows:
        spec = row.get("spec") or {}
        keyword = by_spec.get(json.dumps(spec, sort_keys=True))
        parts = english_parts(keyword["text"], spec.get("colour", "")) if keyword else None
        if row["kind"] == "keyword" and parts:
            head, tail = parts
            words = tail.split()
            longest = max(range(len(words)), key=lambda i: len(words[i]))
            if len(words[longest]) >= 5:
                words[longest] = typo(words[longest], rng)
                text = row["text"][: len(row["text"]) - len(tail)] + " ".join(words)
                out.append(({"kind": "typo", "lang": "en", "text": text}, row["id"]))
        elif row["kind"] == "chinese" and parts and (match := CHINESE_PREFIX.match(row["text"])):
            head, tail = parts
            chinese_first = sum(q["kind"] == "mixed" for q, _ in out) % 2 == 0  # the two forms alternate
            text = (
                f"{match['colour']}{match['gender']} {tail}"
                if chinese_first
                else f"{head} {match['gender']}{match['type']}"
            )
            out.append(({"kind": "mixed", "lang": "mixed", "text": text}, row["id"]))
    return out


def type_words(rows: list[dict]) -> dict[str, str]:
    """article type -> the words the dev keyword queries use for it ("Formal Shoes" -> "formal shoes")."""
    out: dict[str, str] = {}
    for row in rows:
        spec = row.get("spec") or {}
        if row["kind"] == "keyword" and len(spec.get("types", ())) == 1:
            parts = english_parts(row["text"], spec.get("colour", ""))
            if parts:
                out.setdefault(spec["types"][0], parts[1])
    return out


def title_words(title: str) -> set[str]:
    return set(re.findall(r"[a-z]+", title.lower()))


def graded(products: list[dict], article_type: str, checks: list) -> dict[str, int]:
    """product id -> grade: 2 when every check holds, 1 when all but one do; products of that type only."""
    out = {}
    for product in products:
        if product["article_type"] == article_type:
            misses = sum(not check(product) for check in checks)
            if misses <= 1:
                out[product["id"]] = 2 - misses
    return out


def catalog_intents(
    products: list[dict], types: dict[str, str], rng: random.Random
) -> list[tuple[dict, dict[str, int]]]:
    """(query, judgments) of the ``pattern`` and ``long`` intents, sampled from specs the catalog holds."""
    patterns: dict[tuple[str, str, str], int] = {}
    longs: dict[tuple[str, str, str, str], int] = {}
    for product in products:
        kind, colour, words = product["article_type"], product["colour"], title_words(product["title"])
        if kind not in types or not colour:
            continue
        for word, forms in PATTERNS.items():
            if words & set(forms):
                patterns[(kind, colour, word)] = patterns.get((kind, colour, word), 0) + 1
        if product["gender"] in AUDIENCE and product["usage"] in OCCASION:
            key = (kind, colour, product["gender"], product["usage"])
            longs[key] = longs.get(key, 0) + 1
    out: list[tuple[dict, dict[str, int]]] = []
    chosen = sorted(spec for spec, n in patterns.items() if n >= MIN_RELEVANT)
    for kind, colour, word in rng.sample(chosen, min(PER_INTENT, len(chosen))):
        forms = set(PATTERNS[word])
        checks = [lambda p, c=colour: p["colour"] == c, lambda p, f=forms: bool(title_words(p["title"]) & f)]
        text = f"{colour.lower()} {word} {types[kind]}"
        out.append(({"kind": "pattern", "lang": "en", "text": text}, graded(products, kind, checks)))
    chosen_long = sorted(spec for spec, n in longs.items() if n >= MIN_RELEVANT)
    for n, (kind, colour, gender, usage) in enumerate(rng.sample(chosen_long, min(PER_INTENT, len(chosen_long)))):
        checks = [
            lambda p, c=colour: p["colour"] == c,
            lambda p, g=gender: p["gender"] in (g, "Unisex"),
            lambda p, u=usage: p["usage"] == u,
        ]
        text = LONG_FORMS[n % len(LONG_FORMS)].format(
            colour=colour.lower(), type=types[kind], audience=AUDIENCE[gender], occasion=OCCASION[usage]
        )
        out.append(({"kind": "long", "lang": "en", "text": text}, graded(products, kind, checks)))
    return out


def dev_data() -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    """The shared dev queries, the catalog's products and the dev judgments, as read from ``DATA``."""
    rows = [json.loads(line) for line in (DATA / "queries-dev.jsonl").read_text().splitlines() if line.strip()]
    products = [json.loads(line) for line in (DATA / "products.jsonl").read_text().splitlines() if line.strip()]
    dev_qrels: dict[str, dict[str, int]] = {}
    for line in (DATA / "qrels-dev.tsv").read_text().splitlines():
        if fields := line.split():
            dev_qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    return rows, products, dev_qrels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Settings().judgments_root / "derived")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, products, dev_qrels = dev_data()
    rng = random.Random(args.seed)
    built = [(query, dev_qrels.get(source, {})) for query, source in derive(rows, rng)]
    built += catalog_intents(products, type_words(rows), rng)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "queries-derived.jsonl").open("w") as queries, (args.out / "qrels-derived.tsv").open("w") as out:
        for n, (query, judgments) in enumerate(built, start=1):
            query["id"] = f"derived-{query['kind']}-{n:04d}"
            queries.write(json.dumps(query, ensure_ascii=False) + "\n")
            for product_id, grade in judgments.items():
                out.write(f"{query['id']}\t{product_id}\t{grade}\n")
    counts = {kind: sum(q["kind"] == kind for q, _ in built) for kind in ("typo", "mixed", "pattern", "long")}
    print(f"{counts} queries written to {args.out}")


if __name__ == "__main__":
    main()
