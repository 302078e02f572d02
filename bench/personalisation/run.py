"""Does personalisation help shoppers, and does it leave alone the ones it should? Simulated shoppers
(hybrid_search/evaluation/shoppers.py) browse through the real API on a node holding the fashion
catalog, their events go through POST /events, and held-out queries asked afterwards are scored
with per-user judgments; the reranker's parameters are tuned on training shoppers and reported on
test shoppers; behaviour vectors are scored on next purchases.

    HYBRID_SEARCH_OPENSEARCH_URL=... HYBRID_SEARCH_REDIS_URL=... \\
    python bench/personalisation/run.py [--per-group 30] [--seed 7] [--queries 4] [--dev 200]

Needs a products alias holding the fashion catalog with vectors (``hybrid-search up --catalog``).
Simulated users are forgotten (DELETE /users) before and after, and their events with them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from tqdm import tqdm

from hybrid_search.api import create_app
from hybrid_search.catalog import fashion_row_to_product
from hybrid_search.encoders.behaviour import Interaction, build_behaviour_vectors
from hybrid_search.evaluation import shoppers as sim
from hybrid_search.evaluation.judgments import load_qrels, load_queries
from hybrid_search.evaluation.metrics import ndcg_at_k
from hybrid_search.evaluation.report import randomisation_p_value
from hybrid_search.opensearch.profiles import get_active
from hybrid_search.opensearch.search import get_sources
from hybrid_search.ranking.combine import Combined
from hybrid_search.ranking.rerank import profile_from_history, rerank, user_boost
from hybrid_search.services import Services
from hybrid_search.settings import Settings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
CLIENT = {"X-API-Key": "dev-client-key"}
ADMIN = {"X-API-Key": "dev-admin-key"}
DEPTH = 50  # candidates kept per test query for tuning
GRID = {
    "rerank_weight": [0.0, 0.05, 0.1, 0.2, 0.4, 0.8],
    "vector_share": [0.0, 0.3, 0.5, 0.7, 1.0],
    "decay": [0.5, 0.8, 0.95],
    "rerank_depth": [10, 20, 50],
}


def search(api, params: dict, user: str | None = None) -> dict:
    query = {**params, **({"user_id": user} if user else {})}
    response = api.get(f"/search?{urlencode(query)}", headers=CLIENT)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def simulate_history(api, shoppers, rng, start: datetime) -> dict[str, list[tuple[str, str, str]]]:
    """Every shopper's sessions through /search and /events: (session, action, product id), in order."""
    history: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for shopper in tqdm(shoppers, desc="histories", file=sys.stderr):
        for s in range(shopper.sessions):
            taste = shopper.taste_at(s)
            wanted = sim.session_type(rng, taste)
            page = search(api, {"q": sim.query_text(wanted, taste.gender), "size": 20}, shopper.user_id)
            served = [h["product"] for h in page["hits"]]
            actions = sim.browse(rng, taste, wanted, served)
            when = start + timedelta(hours=len(history[shopper.user_id]) + s)
            events = [
                {
                    "action_name": action,
                    "user_id": shopper.user_id,
                    "session_id": f"{shopper.user_id}-s{s}",
                    "query_id": page["query_id"],
                    "timestamp": (when + timedelta(seconds=n)).isoformat(),
                    "event_attributes": {
                        "object": {"object_id": served[rank]["product_id"], "object_id_field": "product_id"},
                        "position": {"ordinal": rank + 1},
                    },
                }
                for n, (action, rank) in enumerate(actions)
            ]
            if events:
                response = api.post("/events", json=events, headers=CLIENT)
                assert response.status_code == 202, response.get_json()
            history[shopper.user_id] += [(f"s{s}", a, served[r]["product_id"]) for a, r in actions]
    return history


def grades_for(catalog: list[dict], wanted: str, taste: sim.Taste) -> dict[str, int]:
    return {p["product_id"]: g for p in catalog if (g := sim.personal_grade(wanted, taste, p)) > 0}


def paired(diffs: list[float]) -> str:
    ups, downs = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    return f"{statistics.mean(diffs):+.4f} (p={randomisation_p_value(diffs):.3f}, {ups}↑ {downs}↓)"


def boost_parts(candidates, vectors, sources, profile) -> dict[str, tuple[float, float]]:
    """Each candidate's boost with all weight on the user vector and with all on attribute affinity:
    ``user_boost`` at any vector share is the mix of the two."""
    parts = {}
    for pid, _ in candidates:
        vector = vectors.get(pid)
        similarity = (
            float(np.dot(vector, profile.vector)) if vector is not None and profile.vector is not None else None
        )
        parts[pid] = (
            user_boost(profile, similarity, sources[pid], 1.0),
            user_boost(profile, similarity, sources[pid], 0.0),
        )
    return parts


def offline_ndcg(candidates, parts, params, grades) -> float:
    """nDCG@10 of the candidates reranked as the service would with ``params``."""
    blended = [Combined(pid, score, {}) for pid, score in candidates]
    depth, share = params["rerank_depth"], params["vector_share"]
    boosts = {pid: share * parts[pid][0] + (1 - share) * parts[pid][1] for pid, _ in candidates[:depth]}
    ranked = rerank(blended[:depth], boosts, params["rerank_weight"]) + rerank(blended[depth:], {}, 0.0)
    return ndcg_at_k([r.hit.doc_id for r in ranked], grades, 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=4, help="held-out queries per shopper")
    parser.add_argument("--dev", type=int, default=200, help="dev queries for the query-only check")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    args = parser.parse_args()

    settings = Settings()
    services = Services.from_settings(settings)
    api = create_app(services=services).test_client()
    with (DATA / "products.jsonl").open(encoding="utf-8") as lines:
        catalog = [fashion_row_to_product(json.loads(line)) for line in lines]
    shoppers = sim.make_shoppers(catalog, args.per_group, args.seed)
    newcomers = [f"sim{args.seed}-new-{n}" for n in range(args.per_group)]
    for user in [s.user_id for s in shoppers] + newcomers:
        api.delete(f"/users/{user}", headers=CLIENT)
    rng = np.random.default_rng(args.seed + 1)
    started = time.perf_counter()
    history = simulate_history(api, shoppers, rng, datetime.now(UTC) - timedelta(days=30))
    simulated_s = time.perf_counter() - started

    # held-out queries, asked after the history: served with and without the user, and candidates for tuning
    profile = get_active(services.opensearch, settings.profiles_index, "default").profile  # every class reranks alike
    rows = []  # per (shopper, query)
    for shopper in tqdm(shoppers, desc="test queries", file=sys.stderr):
        for wanted in sim.held_out_types(rng, shopper, args.queries):
            params = {"q": sim.query_text(wanted, shopper.later.gender), "size": 10}
            grades = grades_for(catalog, wanted, shopper.later)
            anonymous = search(api, {**params, "size": DEPTH, "explain": "true"})
            personal = search(api, params, shopper.user_id)
            rows.append(
                {
                    "user": shopper.user_id,
                    "group": shopper.group,
                    "grades": grades,
                    "candidates": [(h["id"], h["explain"]["combined"]) for h in anonymous["hits"]],
                    "sources": {h["id"]: h["product"] for h in anonymous["hits"]},
                    "without": ndcg_at_k([h["id"] for h in anonymous["hits"]], grades, 10),
                    "with": ndcg_at_k([h["id"] for h in personal["hits"]], grades, 10),
                }
            )
    # users without history and anonymous searches must be served exactly as before
    unchanged = 0
    for n, user in enumerate(newcomers):
        taste = shoppers[n].later
        params = {"q": sim.query_text(taste.types[0], taste.gender), "size": 10}
        plain = [h["id"] for h in search(api, params)["hits"]]
        unchanged += [h["id"] for h in search(api, params, user)["hits"]] == plain
    # cold start: a newcomer's first click, and how long until their next search changes
    cold = []
    for user in newcomers[:10]:
        params = {"q": "shirts for men", "size": 10}
        before = [h["id"] for h in search(api, params, user)["hits"]]
        clicked = before[-1]
        t0 = time.perf_counter()
        event = {"action_name": "purchase", "user_id": user, "event_attributes": {"object": {"object_id": clicked}}}
        assert api.post("/events", json=event, headers=CLIENT).status_code == 202
        after = [h["id"] for h in search(api, params, user)["hits"]]
        cold.append(((time.perf_counter() - t0) * 1000, after != before))

    # query-only relevance on the shared dev judgments, personalised for a random other shopper
    queries = [q for q in load_queries(DATA / "queries-dev.jsonl") if q.text and q.kind != "image"][: args.dev]
    qrels = load_qrels(DATA / "qrels-dev.tsv")
    dev_diffs = []
    for q in tqdm(queries, desc="dev queries", file=sys.stderr):
        other = shoppers[int(rng.integers(len(shoppers)))].user_id
        plain = [h["id"] for h in search(api, {"q": q.text, "size": 10})["hits"]]
        mine = [h["id"] for h in search(api, {"q": q.text, "size": 10}, other)["hits"]]
        grades = qrels.get(q.id, {})
        dev_diffs.append(ndcg_at_k(mine, grades, 10) - ndcg_at_k(plain, grades, 10))

    # tuning: rerank the candidates offline, exactly as the service does, for every parameter set
    products = {pid for events in history.values() for _, _, pid in events} | {
        pid for row in rows for pid, _ in row["candidates"]
    }
    keys = {pid: f"fashion/{pid}" for pid in products}
    stored = get_sources(
        services.opensearch,
        settings.products_alias,
        sorted(keys.values()),
        ["fused_vector", "article_type", "colour", "gender", "usage"],
    )
    vectors = {
        pid: np.asarray(stored[k]["fused_vector"], dtype=np.float32)
        for pid, k in keys.items()
        if k in stored and stored[k].get("fused_vector")
    }
    attributes = {pid: stored[k] for pid, k in keys.items() if k in stored}
    index = {s.user_id: n for n, s in enumerate(shoppers)}
    train = {s.user_id for s in shoppers if index[s.user_id] % 2 == 0}
    profiles = {
        decay: {
            user: profile_from_history([(a, attributes.get(pid, {})) for _, a, pid in events], decay)
            for user, events in history.items()
        }
        for decay in GRID["decay"]
    }
    parts = {
        (decay, n): boost_parts(row["candidates"], vectors, row["sources"], profiles[decay][row["user"]])
        for decay in GRID["decay"]
        for n, row in enumerate(rows)
        if row["user"] in profiles[decay] and not profiles[decay][row["user"]].empty
    }
    by_params = {}
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values, strict=True))
        per_user = defaultdict(list)
        for n, row in enumerate(rows):
            key = (params["decay"], n)
            score = (
                offline_ndcg(row["candidates"], parts[key], params, row["grades"]) if key in parts else row["without"]
            )
            per_user[row["user"]].append(score)
        by_params[values] = {user: statistics.mean(scores) for user, scores in per_user.items()}

    def mean_over(values, users):
        return statistics.mean(by_params[values][u] for u in users if u in by_params[values])

    best = max(by_params, key=lambda v: mean_over(v, train))
    current = (profile.rerank_weight, profile.vector_share, settings.user_vector_decay, profile.rerank_depth)
    baseline = (0.0, *current[1:])

    # behaviour vectors: does the product a shopper bought next sit near the one they bought before?
    interactions = [
        Interaction(f"{user}-{session}", f"fashion/{pid}", action)
        for user, events in history.items()
        if user in train
        for session, action, pid in events
    ]
    behaviour = build_behaviour_vectors(interactions, [f"fashion/{p['product_id']}" for p in catalog], 64, args.seed)
    position = {pid: n for n, pid in enumerate(behaviour.product_ids)}
    popular = [behaviour.product_ids[i] for i in np.argsort(-behaviour.popularity)]
    hits = defaultdict(list)
    fused_ids = [pid for pid in vectors]
    fused = np.stack([vectors[pid] for pid in fused_ids])
    for user, events in history.items():
        if user in train:
            continue
        bought = [f"fashion/{pid}" for _, action, pid in events if action == "purchase"]
        for prev, nxt in itertools.pairwise(bought):
            if prev == nxt:
                continue
            hits["popularity"].append(nxt in [p for p in popular if p != prev][:10])
            if prev in position and behaviour.has_behaviour[position[prev]]:
                sims = behaviour.vectors @ behaviour.vectors[position[prev]]
                order = [behaviour.product_ids[i] for i in np.argsort(-sims) if behaviour.product_ids[i] != prev]
                hits["behaviour vector"].append(nxt in order[:10])
            else:
                hits["behaviour vector"].append(False)
            p_prev = prev.split("/", 1)[1]
            if p_prev in vectors:
                sims = fused @ vectors[p_prev]
                order = [f"fashion/{fused_ids[i]}" for i in np.argsort(-sims) if fused_ids[i] != p_prev]
                hits["fused vector"].append(nxt in order[:10])

    for user in [s.user_id for s in shoppers] + newcomers:
        api.delete(f"/users/{user}", headers=CLIENT)

    # the report
    lines = [
        "# Personalisation: simulated shoppers, served through the API",
        "",
        f"Command: `python bench/personalisation/run.py {' '.join(sys.argv[1:])}`".rstrip() + "  ",
        f"{len(shoppers)} shoppers ({args.per_group} per group, seed {args.seed}), "
        f"{args.queries} held-out queries each; "
        f"histories simulated in {simulated_s:.0f} s; {sum(len(v) for v in history.values())} events.",
        "",
        "## Served by the API with the current defaults "
        f"(rerank weight {profile.rerank_weight}, vector share {profile.vector_share}, depth {profile.rerank_depth}, "
        f"decay {settings.user_vector_decay})",
        "",
        "| shoppers | users | events per user (median) | nDCG@10 without | with | paired difference |",
        "|---|---|---|---|---|---|",
    ]
    for group in sim.HISTORY_SESSIONS:
        users = [s.user_id for s in shoppers if s.group == group]
        per_user = {u: [r for r in rows if r["user"] == u] for u in users}
        without = [statistics.mean(r["without"] for r in rs) for rs in per_user.values()]
        with_ = [statistics.mean(r["with"] for r in rs) for rs in per_user.values()]
        events = statistics.median(len(history[u]) for u in users)
        lines.append(
            f"| {group} | {len(users)} | {events:.0f} | {statistics.mean(without):.4f} | "
            f"{statistics.mean(with_):.4f} | "
            f"{paired([b - a for a, b in zip(without, with_, strict=True)])} |"
        )
    lines += [
        f"| no history | {len(newcomers)} | 0 | | | identical pages: {unchanged}/{len(newcomers)} |",
        "",
        f"Query-only relevance, shared dev judgments ({len(dev_diffs)} text queries), each personalised for a random "
        f"other shopper: nDCG@10 difference {paired(dev_diffs)}.",
        "",
        "Cold start: a newcomer's first event, then their next search: "
        f"median {statistics.median(c[0] for c in cold):.0f} ms "
        f"from POST /events to the new page; the page changed for {sum(c[1] for c in cold)}/{len(cold)}.",
        "",
        "## Tuned on training shoppers (even), reported on test shoppers (odd), offline rerank of the same candidates",
        "",
        "| parameters (weight, vector share, decay, depth) | train nDCG@10 | test: short | medium | long | drifting |",
        "|---|---|---|---|---|---|",
    ]
    test_users = {
        g: [s.user_id for s in shoppers if s.group == g and s.user_id not in train] for g in sim.HISTORY_SESSIONS
    }
    for name, values in (("no personalisation", baseline), ("current", current), ("tuned", best)):
        if values not in by_params:
            continue
        cells = [f"{mean_over(values, test_users[g]):.4f}" for g in sim.HISTORY_SESSIONS]
        lines.append(f"| {name}: {values} | {mean_over(values, train):.4f} | " + " | ".join(cells) + " |")
    tuned_diffs = {
        g: [by_params[best][u] - by_params[baseline][u] for u in test_users[g]] for g in sim.HISTORY_SESSIONS
    }
    lines += [
        "",
        "Tuned vs none on test shoppers, paired per user: "
        + "; ".join(f"{g} {paired(d)}" for g, d in tuned_diffs.items()),
    ]
    lines += [
        "",
        "## Behaviour vectors: the next purchase among the 10 nearest to the previous one (test shoppers)",
        "",
        "| ranking | recall@10 | pairs |",
        "|---|---|---|",
        *[f"| {name} | {statistics.mean(v) if v else 0:.3f} | {len(v)} |" for name, v in hits.items()],
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
