"""Two more development intents, derived from the dev queries and judged exactly as their sources:

- ``typo``: an English keyword query with one typing slip in its product-type word (two adjacent
  letters swapped, not the first: "black men's bakcpack"), as shoppers type on phones;
- ``mixed``: a Chinese query written half in English, as bilingual shoppers do: the Chinese colour
  and gender with the English product type ("黑色男士 backpack"), or the English colour with the
  Chinese product type ("black 双肩包"), alternately.

The dev set holds each spec (type, colour, gender) as a keyword, a synonym and a Chinese query with
the same judgments; a derived query takes its source's judgments unchanged. Written outside the
repository (the judgments folder by default), then scored like any judgment set:

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

from hybrid_search.settings import Settings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
GENDERS = ("men's", "women's", "boys'", "girls'", "unisex")
CHINESE_PREFIX = re.compile(r"^(?P<colour>.+?色)(?P<gender>男士|女士|男孩|女孩|中性)(?P<type>.+)$")


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
    for n, (query, _) in enumerate(out, start=1):
        query["id"] = f"derived-{query['kind']}-{n:04d}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Settings().judgments_root / "derived")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (DATA / "queries-dev.jsonl").read_text().splitlines() if line.strip()]
    derived = derive(rows, random.Random(args.seed))
    sources = {source for _, source in derived}
    qrels: dict[str, list[str]] = {}
    for line in (DATA / "qrels-dev.tsv").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] in sources:
            qrels.setdefault(fields[0], []).append(line)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "queries-derived.jsonl").open("w") as queries, (args.out / "qrels-derived.tsv").open("w") as out:
        for query, source in derived:
            queries.write(json.dumps(query, ensure_ascii=False) + "\n")
            for line in qrels.get(source, []):
                out.write("\t".join([query["id"], *line.split()[1:]]) + "\n")
    counts = {kind: sum(q["kind"] == kind for q, _ in derived) for kind in ("typo", "mixed")}
    print(f"{counts} queries written to {args.out}")


if __name__ == "__main__":
    main()
