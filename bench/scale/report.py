"""Tables and plots of ``bench/scale/run.py``'s rows: cost against catalog size, and how each cost grows
(its exponent in cost ~ size^b between the smallest and the largest size: 1 is linear).

    python bench/scale/report.py [--rows bench/scale/rows.jsonl] [--out bench/scale/results.md]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MB = 1024 * 1024


def costs(row: dict[str, Any]) -> dict[str, float | None]:
    """The row's costs that the growth table and the plot follow (no build times for an index
    measured again, ``run.py --reuse``)."""
    foot = row["footprint"]
    out = {
        "bulk indexing s": row.get("indexed_s"),
        "indexing until merges settle s": row.get("settled_s"),
        "disk MB": foot["disk_bytes"] / MB,
        "node resident MB": foot["node_rss_bytes"] / MB,
        "JVM heap used MB": foot["heap_used_bytes"] / MB,
    }
    for name, lat in row["latency"].items():
        out[f"/search {name} p99 ms"] = lat["p99_ms"]
    return out


def exponent(small: tuple[int, float], large: tuple[int, float]) -> float | None:
    """b in cost ~ size^b through two points (None where a cost is zero)."""
    (n0, c0), (n1, c1) = small, large
    if c0 <= 0 or c1 <= 0 or n1 == n0:
        return None
    return math.log(c1 / c0) / math.log(n1 / n0)


def tables(rows: list[dict[str, Any]]) -> str:
    sizes = [r["size"] for r in rows]
    head = "| | " + " | ".join(f"{n:,}" for n in sizes) + " | growth exponent |\n|---|" + "---|" * (len(sizes) + 1)
    lines = [head]
    table = [costs(r) for r in rows]
    for name in table[0]:
        values = [t[name] for t in table]
        known = None not in (values[0], values[-1]) and len(rows) > 1
        b = exponent((sizes[0], values[0]), (sizes[-1], values[-1])) if known else None
        cells = " | ".join("–" if v is None else f"{v:,.1f}" for v in values)
        lines.append(f"| {name} | {cells} | {'' if b is None else f'{b:.2f}'} |")
    rates = " | ".join(f"{r['size'] / r['indexed_s']:,.0f}" if r.get("indexed_s") else "–" for r in rows)
    lines.append(f"| products/s (bulk) | {rates} | |")
    copies = [(r["size"], r["copy_s"]) for r in rows if r.get("copy_s")]
    if copies:
        b = exponent(copies[0], copies[-1]) if len(copies) > 1 else None
        cells = " | ".join(f"{r['copy_s']:,.1f}" if r.get("copy_s") else "not run" for r in rows)
        lines.append(f"| training step copy s | {cells} | {'' if b is None else f'{b:.2f}'} |")
    out = ["## Cost by catalog size", "", *lines, ""]
    out += ["## /search latency (ms)", "", "| scenario | " + " | ".join(f"{n:,} p50 / p99" for n in sizes) + " |"]
    out.append("|---|" + "---|" * len(sizes))
    for name in rows[0]["latency"]:
        cells = " | ".join(f"{r['latency'][name]['p50_ms']:.0f} / {r['latency'][name]['p99_ms']:.0f}" for r in rows)
        out.append(f"| {name} | {cells} |")
    out += ["", "## k-NN recall@10 against exact search (mean, worst query; the exact search's own ids found)", ""]
    out.append("| field | " + " | ".join(f"{n:,}" for n in sizes) + " | ANN / exact took ms at the largest |")
    out.append("|---|" + "---|" * (len(sizes) + 1))

    def cell(recall: dict[str, float]) -> str:
        ids = f"; ids {recall['ids@10']:.3f}" if "ids@10" in recall else ""  # rows before ties were counted
        return f"{recall['recall@10']:.3f} ({recall['min']:.1f}{ids})"

    for field in rows[0]["recall"]:
        cells = " | ".join(cell(r["recall"][field]) for r in rows)
        last = rows[-1]["recall"][field]
        out.append(f"| {field} | {cells} | {last['ann_took_ms']:.0f} / {last['exact_took_ms']:.0f} |")
    out += ["", "## Disk by Lucene file kind (MB)", "", "| kind | " + " | ".join(f"{n:,}" for n in sizes) + " |"]
    out.append("|---|" + "---|" * len(sizes))
    kinds = sorted(rows[-1]["footprint"]["files"], key=lambda k: -rows[-1]["footprint"]["files"][k])
    for kind in kinds:
        out.append(
            f"| {kind} | " + " | ".join(f"{r['footprint']['files'].get(kind, 0) / MB:,.1f}" for r in rows) + " |"
        )
    return "\n".join(out) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Each cost divided by its value at the smallest size, against size divided by the smallest
    size, on log axes, beside the line of linear growth."""
    sizes = [r["size"] for r in rows]
    table = [costs(r) for r in rows]
    fig, ax = plt.subplots(figsize=(9, 6))
    x = [n / sizes[0] for n in sizes]
    for name in table[0]:
        values = [t[name] for t in table]
        if None not in values and values[0] > 0:
            ax.plot(x, [v / values[0] for v in values], marker="o", label=name)
    ax.plot(x, x, color="black", linestyle="--", label="linear")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"catalog size / {sizes[0]:,}")
    ax.set_ylabel("cost / its value at the smallest size")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser()
    here = Path(__file__).parent
    parser.add_argument("--rows", type=Path, default=here / "rows.jsonl")
    parser.add_argument("--out", type=Path, default=here / "results.md")
    args = parser.parse_args()
    rows = sorted((json.loads(line) for line in args.rows.read_text().splitlines() if line), key=lambda r: r["size"])
    plot(rows, args.out.with_suffix(".png"))
    args.out.write_text(
        "<!-- tables written by bench/scale/report.py; the notes are added by hand -->\n# Scale\n\n" + tables(rows)
    )


if __name__ == "__main__":
    main()
