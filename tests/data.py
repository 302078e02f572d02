"""The shared benchmark and test data (read in place from ../shared/data, never copied)."""

import json
from functools import cache
from pathlib import Path

FASHION = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion"


@cache
def fashion_rows() -> tuple[dict, ...]:
    with (FASHION / "products.jsonl").open(encoding="utf-8") as lines:
        return tuple(json.loads(line) for line in lines)


def photo_rows(article_type: str, count: int) -> list[dict]:
    rows = [r for r in fashion_rows() if r["image"] and r["article_type"] == article_type]
    return rows[:count]


def photo_bytes(row: dict) -> bytes:
    return (FASHION / row["image"]).read_bytes()
