"""The closed loop: simulated shoppers click, a click model judges, tuning on the clicks is scored
on the explicit judgments.

Shoppers search the dev text queries through the real API (in process, on the live index) and see
the results of an untuned start profile; they look at position p with probability 1/p and click a
product they look at with a probability set by its explicit dev grade (noise included: unjudged
products are clicked too). Impressions and clicks go through /events with the search's query_id;
``judgments_from_events`` (``hybrid-search judgments from-events``) makes a COEC judgment list of
them. The start profile is then tuned on the explicit judgments and on the click judgments (as
they are, and as condensed lists: rankings without the products never shown), and each is scored
on the explicit judgments: the share of the explicit tuning's gain that the clicks recover. With
``--explore`` a share of the sessions is served each text leg alone, as an A/B slice would be, so
that clicks judge more than what the start profile shows. Events go to an events index of the
bench's own, dropped at the end.

Needs what bench/relevance/run.py needs.

    python bench/relevance/clicks.py [--sessions 20] [--out bench/relevance]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path

from tqdm import tqdm

from hybrid_search.api import create_app
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.jobs import judgments_from_events
from hybrid_search.evaluation.judgments import load_qrels, load_queries, load_search_relevance_judgments
from hybrid_search.evaluation.report import compare, markdown_table, score_queries, summarise
from hybrid_search.evaluation.runner import retrieve_all, run_profiles, single_leg_profiles
from hybrid_search.evaluation.tuning import SearchSpace, tune_per_class
from hybrid_search.models.sets import ModelSet
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.profiles import BlendProfile, every_leg
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.opensearch.profiles import delete_profile, save_version
from hybrid_search.stores.services import Services

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
ATTRACTION = {0: 0.05, 1: 0.25, 2: 0.7}  # chance of clicking a product looked at, by its dev grade
START = "bench-clicks-start"
CLIENT_KEYS = {"bench-client-key": "storefront"}  # the in-process API's storefront key, whatever the environment holds
EXPLORE = ("bm25", "text", "attributes")  # legs a share of the sessions is served alone with --explore


def simulate(api, queries, qrels, sessions: int, size: int, rng: random.Random, profiles: list[str]) -> dict[str, int]:
    """Shoppers' searches, impressions and clicks through the API, session ``s`` served by
    ``profiles[s % len(profiles)]``; returns counts."""
    key = {"X-API-Key": next(iter(CLIENT_KEYS))}
    counts = {"searches": 0, "impressions": 0, "clicks": 0}
    for query in tqdm(queries, desc="shoppers", file=sys.stderr):
        for session in range(sessions):
            asked = {"q": query.text, "size": size, "profile": profiles[session % len(profiles)]}
            served = api.get("/search", query_string=asked, headers=key).get_json()
            who = {"query_id": served["query_id"], "user_id": f"{query.id}-{session}", "session_id": f"s{session}"}
            events = []
            for position, hit in enumerate(served["hits"], start=1):
                target = {"object": {"object_id": hit["id"]}, "position": {"ordinal": position}}
                events.append({"action_name": "impression", "event_attributes": target, **who})
                if rng.random() < ATTRACTION[int(qrels[query.id].get(hit["id"], 0))] / position:
                    events.append({"action_name": "click", "event_attributes": target, **who})
                    counts["clicks"] += 1
            response = api.post("/events", json=events, headers=key)
            if response.status_code != 202:
                raise SystemExit(f"/events answered {response.status_code}: {response.get_json()}")
            counts["searches"] += 1
            counts["impressions"] += len(served["hits"])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20, help="shoppers per query")
    parser.add_argument("--size", type=int, default=20, help="results each shopper is shown")
    parser.add_argument("--rounds", type=int, default=2, help="coordinate ascent rounds of each tuning")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--explore", action="store_true", help="serve a share of sessions each leg alone")
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    base = Settings()
    settings = base.model_copy(
        update={
            "events_alias": f"bench-clicks-{uuid.uuid4().hex[:8]}-events",
            "user_events_per_minute": 0,
            "anonymous_calls_per_minute": 0,
            "client_keys": CLIENT_KEYS,
        }
    )
    services = Services.from_settings(settings)
    client = services.opensearch
    ensure_indices(client, settings, ModelSet.from_settings(settings))  # the bench's own events index
    service = SearchService.from_services(services)
    queries = [q for q in load_queries(DATA / "queries-dev.jsonl") if not q.image][: args.limit]
    qrels = load_qrels(DATA / "qrels-dev.tsv")
    start = BlendProfile()  # the untuned prior: every text leg at its model default
    served = {START: start}
    if args.explore:  # a share of the traffic sees each text leg alone, as an A/B slice would
        alone = single_leg_profiles(start)
        served |= {f"{START}-{leg}": alone[f"{leg} alone"] for leg in EXPLORE}
    for name, profile in served.items():
        save_version(client, settings.profiles_index, name, profile, "bench/relevance/clicks.py")
    try:
        began = time.perf_counter()
        counts = simulate(
            create_app(services=services).test_client(),
            queries,
            qrels,
            args.sessions,
            args.size,
            random.Random(args.seed),
            list(served),
        )
        simulated_s = time.perf_counter() - began
        path = settings.judgments_root / "bench-clicks.json"  # data, not a result: outside the repository
        made = judgments_from_events(client, settings, path)
    finally:
        client.indices.delete(index=f"{settings.events_alias}-*", ignore_unavailable=True)
        client.indices.delete_index_template(name=settings.events_alias, ignore=[404])
        for name in served:
            delete_profile(client, settings.profiles_index, name)
    _, click_qrels_srw = load_search_relevance_judgments(path)
    srw_ids = {entry["query"]: f"srw-{n}" for n, entry in enumerate(json.loads(path.read_text())["judgmentRatings"], 1)}
    click_qrels = {q.id: click_qrels_srw.get(srw_ids.get(q.text, ""), {}) for q in queries}

    space = SearchSpace()
    collect = every_leg(max(space.windows), start.attribute_weights)
    retrievals = retrieve_all(
        service, queries, DATA, collect, lambda items: tqdm(items, total=len(queries), desc="legs", file=sys.stderr)
    )
    tuned = {}
    for name, judged, condensed in (
        ("tuned on explicit", qrels, False),
        ("tuned on clicks", click_qrels, False),
        ("tuned on clicks, condensed", click_qrels, True),
    ):
        began = time.perf_counter()
        tuned[name], _ = tune_per_class(
            retrievals, queries, judged, start, space, args.rounds, processes=2, judged_only=condensed
        )
        print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    runs = {"start (untuned)": start, **tuned} | single_leg_profiles(start)
    rows = {run: score_queries(r, queries, qrels) for run, r in run_profiles(retrievals, runs).items()}
    summary = {run: summarise(r) for run, r in rows.items()}
    kinds = [k for k in summary["start (untuned)"] if k != "all"] + ["all"]

    def gain(run: str, kind: str) -> float:
        return summary[run][kind]["ndcg@10"] - summary["start (untuned)"][kind]["ndcg@10"]

    recovery = [
        f"| {kind} | {gain('tuned on explicit', kind):+.3f} | "
        + " | ".join(
            f"{gain(run, kind):+.3f} ({gain(run, kind) / gain('tuned on explicit', kind):.0%})"
            if gain("tuned on explicit", kind) > 0
            else f"{gain(run, kind):+.3f}"
            for run in ("tuned on clicks", "tuned on clicks, condensed")
        )
        + " |"
        for kind in kinds
    ]
    comparisons = {
        f"{a} vs {b}": compare(rows[b], rows[a])
        for a, b in (
            ("tuned on clicks", "start (untuned)"),
            ("tuned on clicks, condensed", "start (untuned)"),
            ("tuned on explicit", "start (untuned)"),
            ("tuned on explicit", "tuned on clicks"),
        )
    }
    lines = [
        "# Closed loop: tuning on simulated clicks vs on explicit judgments",
        "",
        f"`python bench/relevance/clicks.py --sessions {args.sessions} --size {args.size} --rounds {args.rounds}"
        f"{' --explore' if args.explore else ''}`"
        f" ({time.strftime('%Y-%m-%d')}, {len(queries)} dev text queries, index "
        f"{service.understanding.pipeline.version}): {counts['searches']} searches, "
        f"{counts['impressions']} impressions, "
        f"{counts['clicks']} clicks in {simulated_s:.0f} s, sessions served in turn by {', '.join(served)}; "
        f"the click model rated {made.ratings} "
        f"(query, product) pairs of {made.queries} queries. Position CTR: "
        + ", ".join(f"{p}: {c:.3f}" for p, c in list(made.position_ctr.items())[:10])
        + ".",
        "",
        "Scored on the explicit dev judgments (nDCG@10 and the rest):",
        "",
        markdown_table(summary),
        "",
        "Share of the explicit tuning's nDCG@10 gain that tuning on clicks recovers:",
        "",
        "| kind | gain, explicit | gain (recovered), clicks | gain (recovered), clicks, condensed lists |",
        "|---|---|---|---|",
        *recovery,
        "",
        "Paired comparisons (per-query nDCG@10, two-sided randomisation test):",
        "",
        *(
            f"- {label}: {c.baseline:.3f} → {c.candidate:.3f} "
            f"({c.wins} wins / {c.losses} losses / {c.ties} ties, p = {c.p_value:.4f})"
            for label, c in comparisons.items()
        ),
        "",
    ]
    (args.out / "results-clicks.md").write_text("\n".join(lines))
    (args.out / "results-clicks.json").write_text(
        json.dumps(
            {
                "counts": counts,
                "judgments": made,
                "summary": summary,
                "recovery": recovery,
                "tuned": {k: v.model_dump(mode="json") for k, v in tuned.items()},
            },
            indent=1,
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
