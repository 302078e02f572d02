"""Does Python's cyclic garbage collector make /search's tail? In one process, as an API worker is
after ``warm()`` (encoders, dictionaries, lexicon and heads loaded: half a million tracked objects),
queries never searched before (a dev query with a word added, so every one is encoded) run in
rounds that take turns: the collector as it is, and with ``gc.freeze()`` (what the API worker does
after warming: the loaded objects moved out of the generations a collection walks). Every full
(generation 2) collection is timed.

    python bench/latency/gc_tail.py [--rounds 5]    # after up --catalog; ~3 min
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path

from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.settings import Settings
from hybrid_search.querying.service import SearchService
from hybrid_search.stores.services import Services

DEV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion" / "queries-dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    service = SearchService.from_services(Services.from_settings(Settings()))
    service.warm()
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    texts = list(dict.fromkeys(r["text"] for r in rows if r.get("text") and r["text"].isascii()))[: args.queries]
    for text in texts:  # the node's graphs and caches warm, by other texts
        service.search(SearchRequest(q=f"{text} warm", size=10), None)
    pauses: list[float] = []
    started = [0.0]

    def timer(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(timer)
    print(f"objects the collector tracks after warm(): {len(gc.get_objects()):,}")
    arms: dict[str, list[float]] = {"as is": [], "gc.freeze()": []}
    full: dict[str, list[float]] = {"as is": [], "gc.freeze()": []}
    for n in range(args.rounds):
        for arm in ("as is", "gc.freeze()") if n % 2 == 0 else ("gc.freeze()", "as is"):
            gc.freeze() if arm == "gc.freeze()" else gc.unfreeze()
            pauses.clear()
            for text in texts:
                begun = time.perf_counter()
                service.search(SearchRequest(q=f"{text} r{n}{arm[0]}", size=10), None)
                arms[arm].append((time.perf_counter() - begun) * 1000)
            full[arm] += pauses
    print("| collector | queries | p50 ms | p90 ms | p99 ms | max ms | full collections (ms each) |")
    print("|---|---|---|---|---|---|---|")
    for arm, times in arms.items():
        collections = ", ".join(f"{p:.0f}" for p in full[arm]) or "none"
        print(
            f"| {arm} | {len(times)} | {statistics.median(times):.1f} | {quantile(times, 0.9):.1f} "
            f"| {quantile(times, 0.99):.1f} | {max(times):.1f} | {len(full[arm])}: {collections} |"
        )


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    main()
