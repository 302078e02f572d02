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
import pickle
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
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation import shoppers as sim
from hybrid_search.evaluation.judgments import load_qrels, load_queries
from hybrid_search.evaluation.metrics import ndcg_at_k
from hybrid_search.evaluation.report import randomisation_p_value
from hybrid_search.models.encoders.behaviour import Interaction, build_behaviour_vectors
from hybrid_search.ranking.combine import Combined
from hybrid_search.ranking.rerank import AFFINITY_FIELDS, asked_fields, profile_from_history, rerank, user_boost
from hybrid_search.stores.opensearch.profiles import get_active
from hybrid_search.stores.opensearch.search import get_sources
from hybrid_search.stores.services import Services

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
# the in-process API's storefront key, whatever keys the environment holds
CLIENT_KEYS = {"bench-client-key": "storefront"}
CLIENT = {"X-API-Key": "bench-client-key"}
DEPTH = 50  # candidates kept per test query for tuning
GRID = {
    "rerank_weight": [0.0, 0.02, 0.03, 0.05, 0.1, 0.2, 0.4],
    "vector_share": [0.0, 0.3, 0.7, 1.0],
    "rerank_depth": [20, 50],
    "decay": [0.5, 0.8, 0.95],
    "relative": [False, True],
    "asked": [False, True],
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


def boost_parts(candidates, vectors, sources, profile, asked) -> dict[str, tuple[float, float]]:
    """Each candidate's boost with all weight on the user vector and with all on attribute affinity:
    ``user_boost`` at any vector share is the mix of the two."""
    parts = {}
    for pid, _ in candidates:
        vector = vectors.get(pid)
        similarity = (
            float(np.dot(vector, profile.vector)) if vector is not None and profile.vector is not None else None
        )
        parts[pid] = tuple(user_boost(profile, similarity, sources[pid], share, asked) for share in (1.0, 0.0))
    return parts


def offline_ndcg(candidates, parts, params, grades) -> float:
    """nDCG@10 of the candidates reranked as the service would with ``params``."""
    blended = [Combined(pid, score, {}) for pid, score in candidates]
    depth, share = params["rerank_depth"], params["vector_share"]
    boosts = {pid: share * parts[pid][0] + (1 - share) * parts[pid][1] for pid, _ in candidates[:depth]}
    head = rerank(blended[:depth], boosts, params["rerank_weight"], params["relative"])
    return ndcg_at_k([r.hit.doc_id for r in head + rerank(blended[depth:], {}, 0.0)], grades, 10)


def candidates_of(page: dict) -> dict:
    return {
        "candidates": [(h["id"], h["explain"]["combined"]) for h in page["hits"]],
        "sources": {h["id"]: h["product"] for h in page["hits"]},
        "intent": page.get("intent"),
    }


def collect(api, services, settings, args) -> dict:
    """Everything the API has to be asked: histories, served pages, candidates with their scores."""
    with (DATA / "products.jsonl").open(encoding="utf-8") as lines:
        catalog = [FASHION_FORMAT.product(json.loads(line)) for line in lines]
    shoppers = sim.make_shoppers(catalog, args.per_group, args.seed)
    newcomers = [f"sim{args.seed}-new-{n}" for n in range(args.per_group)]
    for user in [s.user_id for s in shoppers] + newcomers:
        api.delete(f"/users/{user}", headers=CLIENT)
    rng = np.random.default_rng(args.seed + 1)
    started = time.perf_counter()
    history = simulate_history(api, shoppers, rng, datetime.now(UTC) - timedelta(days=30))
    simulated_s = time.perf_counter() - started

    rows = []  # held-out queries, asked after the history
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
                    "without": ndcg_at_k([h["id"] for h in anonymous["hits"]], grades, 10),
                    "with": ndcg_at_k([h["id"] for h in personal["hits"]], grades, 10),
                    **candidates_of(anonymous),
                }
            )
    unchanged = 0  # users without history must be served exactly as before
    for n, user in enumerate(newcomers):
        taste = shoppers[n].later
        params = {"q": sim.query_text(taste.types[0], taste.gender), "size": 10}
        plain = [h["id"] for h in search(api, params)["hits"]]
        unchanged += [h["id"] for h in search(api, params, user)["hits"]] == plain
    cold = []  # a newcomer's first event, and how long until their next search changes
    for user in newcomers[:10]:
        params = {"q": "shirts for men", "size": 10}
        before = [h["id"] for h in search(api, params, user)["hits"]]
        t0 = time.perf_counter()
        event = {"action_name": "purchase", "user_id": user, "event_attributes": {"object": {"object_id": before[-1]}}}
        assert api.post("/events", json=event, headers=CLIENT).status_code == 202
        after = [h["id"] for h in search(api, params, user)["hits"]]
        cold.append(((time.perf_counter() - t0) * 1000, after != before))
    # query-only relevance on the shared dev judgments, personalised for a random other shopper
    queries = [q for q in load_queries(DATA / "queries-dev.jsonl") if q.text and q.kind != "image"][: args.dev]
    qrels = load_qrels(DATA / "qrels-dev.tsv")
    dev = []
    for q in tqdm(queries, desc="dev queries", file=sys.stderr):
        other = shoppers[int(rng.integers(len(shoppers)))].user_id
        anonymous = search(api, {"q": q.text, "size": DEPTH, "explain": "true"})
        mine = [h["id"] for h in search(api, {"q": q.text, "size": 10}, other)["hits"]]
        grades = qrels.get(q.id, {})
        dev.append(
            {
                "user": other,
                "grades": grades,
                "without": ndcg_at_k([h["id"] for h in anonymous["hits"]], grades, 10),
                "with": ndcg_at_k(mine, grades, 10),
                **candidates_of(anonymous),
            }
        )
    products = {pid for events in history.values() for _, _, pid in events} | {
        pid for row in rows + dev for pid, _ in row["candidates"]
    }
    stored = get_sources(
        services.opensearch,
        settings.products_alias,
        sorted(f"fashion/{p}" for p in products),
        ["fused_vector", *AFFINITY_FIELDS],
    )
    for user in [s.user_id for s in shoppers] + newcomers:
        api.delete(f"/users/{user}", headers=CLIENT)
    return {
        "shoppers": shoppers,
        "newcomers": newcomers,
        "history": dict(history),
        "simulated_s": simulated_s,
        "rows": rows,
        "dev": dev,
        "unchanged": unchanged,
        "cold": cold,
        "sources": {key.split("/", 1)[1]: source for key, source in stored.items()},
        "served_with": {
            "rerank_weight": args.served["rerank_weight"],
            "vector_share": args.served["vector_share"],
            "rerank_depth": args.served["rerank_depth"],
            "decay": settings.user_vector_decay,
            "relative": args.served["relative"],
            "asked": args.served["asked"],
        },
    }


def plot_groups(served: dict[str, tuple[float, float]], path: Path) -> None:
    """Bars per group: nDCG@10 without and with personalisation, as the API served them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(served)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(x - 0.2, [served[g][0] for g in groups], 0.4, label="without the user")
    ax.bar(x + 0.2, [served[g][1] for g in groups], 0.4, label="with the user (defaults)")
    ax.set_xticks(x, [f"{g} history" if g != "drifting" else "tastes drift" for g in groups])
    ax.set_ylabel("nDCG@10, per-user judgments")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=4, help="held-out queries per shopper")
    parser.add_argument("--dev", type=int, default=200, help="dev queries for the query-only check")
    parser.add_argument("--cache", type=Path, default=None, help="keep what the API answered here; reuse it if present")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    args = parser.parse_args()

    # a month of events in minutes: the per-user limit is off
    settings = Settings(user_events_per_minute=0, client_keys=CLIENT_KEYS)
    services = Services.from_settings(settings)
    profile = get_active(services.opensearch, settings.profiles_index, "default").profile  # every class reranks alike
    args.served = {
        "rerank_weight": profile.rerank_weight,
        "vector_share": profile.vector_share,
        "rerank_depth": profile.rerank_depth,
        "relative": profile.rerank_relative,
        "asked": profile.rerank_asked,
    }
    if args.cache and args.cache.exists():
        data = pickle.loads(args.cache.read_bytes())
    else:
        data = collect(create_app(services=services).test_client(), services, settings, args)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(data))
    report(data, args)


def report(data: dict, args) -> None:
    shoppers, history, rows, dev = data["shoppers"], data["history"], data["rows"], data["dev"]
    sources = data["sources"]
    vectors = {
        pid: np.asarray(s["fused_vector"], dtype=np.float32) for pid, s in sources.items() if s.get("fused_vector")
    }
    index = {s.user_id: n for n, s in enumerate(shoppers)}
    group_of = {s.user_id: s.group for s in shoppers}
    train = {s.user_id for s in shoppers if index[s.user_id] % 2 == 0}
    test_users = {
        g: [s.user_id for s in shoppers if s.group == g and s.user_id not in train] for g in sim.HISTORY_SESSIONS
    }

    # tuning: rerank the candidates offline, exactly as the service does, for every parameter set
    profiles = {
        decay: {
            user: profile_from_history([(a, sources.get(pid, {})) for _, a, pid in events], decay)
            for user, events in history.items()
        }
        for decay in GRID["decay"]
    }
    parts = {}
    for decay, asked, (kind, n, row) in itertools.product(
        GRID["decay"],
        GRID["asked"],
        [("rows", n, r) for n, r in enumerate(rows)] + [("dev", n, r) for n, r in enumerate(dev)],
    ):
        user_profile = profiles[decay].get(row["user"])
        if user_profile is not None and not user_profile.empty:
            fixed = asked_fields(row["intent"]) if asked else frozenset()
            parts[(decay, asked, kind, n)] = boost_parts(
                row["candidates"], vectors, row["sources"], user_profile, fixed
            )

    def scores(params: dict, kind: str, table: list[dict]) -> list[float]:
        key = (params["decay"], params["asked"])
        return [
            offline_ndcg(row["candidates"], parts[(*key, kind, n)], params, row["grades"])
            if (*key, kind, n) in parts
            else row["without"]
            for n, row in enumerate(table)
        ]

    by_params, dev_drop = {}, {}
    for values in tqdm(list(itertools.product(*GRID.values())), desc="grid", file=sys.stderr):
        params = dict(zip(GRID, values, strict=True))
        per_user = defaultdict(list)
        for row, score in zip(rows, scores(params, "rows", rows), strict=True):
            per_user[row["user"]].append(score)
        by_params[values] = {user: statistics.mean(s) for user, s in per_user.items()}
        dev_scores = scores(params, "dev", dev)
        dev_drop[values] = statistics.mean(s - r["without"] for s, r in zip(dev_scores, dev, strict=True))

    def mean_over(values, users):
        return statistics.mean(by_params[values][u] for u in users if u in by_params[values])

    def allowed(values) -> bool:
        return dev_drop[values] >= -0.01

    best = max((v for v in by_params if allowed(v)), key=lambda v: mean_over(v, train))
    served = data["served_with"]
    current = tuple(served[k] for k in GRID)
    baseline = tuple(0.0 if k == "rerank_weight" else served[k] for k in GRID)

    lines = [
        "# Personalisation: simulated shoppers, served through the API",
        "",
        f"Command: `python bench/personalisation/run.py {' '.join(sys.argv[1:])}`".rstrip() + "  ",
        f"{len(shoppers)} shoppers ({args.per_group} per group, seed {args.seed}), "
        f"{args.queries} held-out queries each; histories simulated in {data['simulated_s']:.0f} s; "
        f"{sum(len(v) for v in history.values())} events.",
        "",
        "## Served by the API with the defaults (" + ", ".join(f"{k} {v}" for k, v in served.items()) + ")",
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
            f"{statistics.mean(with_):.4f} | {paired([b - a for a, b in zip(without, with_, strict=True)])} |"
        )
    cold = data["cold"]
    lines += [
        f"| no history | {len(data['newcomers'])} | 0 | | | "
        f"identical pages: {data['unchanged']}/{len(data['newcomers'])} |",
        "",
        f"Query-only relevance, shared dev judgments ({len(dev)} text queries), each personalised for a random "
        f"other shopper: nDCG@10 difference {paired([r['with'] - r['without'] for r in dev])}.",
        "",
        "Cold start: a newcomer's first event, then their next search: "
        f"median {statistics.median(c[0] for c in cold):.0f} ms from POST /events to the new page; "
        f"the page changed for {sum(c[1] for c in cold)}/{len(cold)}.",
        "",
        "## Tuned on training shoppers (even), reported on test shoppers (odd): offline rerank of the same candidates",
        "",
        "Chosen among the settings whose dev-judgment drop (personalised for another shopper) is at most 0.01.",
        "",
        "| " + ", ".join(GRID) + " | dev drop | train nDCG@10 | test: " + " | ".join(sim.HISTORY_SESSIONS) + " |",
        "|---|---|---|" + "---|" * len(sim.HISTORY_SESSIONS),
    ]
    for name, values in (("none", baseline), ("served", current), ("tuned", best)):
        if values in by_params:
            cells = " | ".join(f"{mean_over(values, test_users[g]):.4f}" for g in sim.HISTORY_SESSIONS)
            lines.append(f"| {name}: {values} | {dev_drop[values]:+.4f} | {mean_over(values, train):.4f} | {cells} |")
    loo = []  # left out one group at a time
    for group in sim.HISTORY_SESSIONS:
        others = {u for u in train if group_of[u] != group}
        chosen = max((v for v in by_params if allowed(v)), key=lambda v, users=others: mean_over(v, users))
        loo.append(
            f"| {group} | {chosen} | {mean_over(chosen, test_users[group]):.4f} | "
            f"{mean_over(baseline, test_users[group]):.4f} |"
        )
    tuned_diffs = {
        g: [by_params[best][u] - by_params[baseline][u] for u in test_users[g]] for g in sim.HISTORY_SESSIONS
    }
    lines += [
        "",
        "Tuned vs none on test shoppers, paired per user: "
        + "; ".join(f"{g} {paired(d)}" for g, d in tuned_diffs.items()),
        "",
        "Left out one group at a time (tuned on the other three groups' training shoppers):",
        "",
        "| held-out group | chosen | its test shoppers | without |",
        "|---|---|---|---|",
        *loo,
    ]
    lines += [
        "",
        "## Behaviour vectors: the next purchase among the 10 nearest to the previous one (test shoppers)",
        "",
    ]
    lines += behaviour_table(history, train, vectors, args.seed)
    plot = args.out.with_name("personalisation.png")
    served_means = {
        g: (
            statistics.mean(r["without"] for r in rows if r["group"] == g),
            statistics.mean(r["with"] for r in rows if r["group"] == g),
        )
        for g in sim.HISTORY_SESSIONS
    }
    plot_groups(served_means, plot)
    lines += ["", f"![nDCG@10 per group]({plot.name})"]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def behaviour_table(history, train, vectors, seed) -> list[str]:
    """recall@10 of a test shopper's next purchase given the previous one, by behaviour vectors built
    from the training shoppers' sessions, by popularity, and by the fused vectors."""
    interactions = [
        Interaction(f"{user}-{session}", pid, action)
        for user, events in history.items()
        if user in train
        for session, action, pid in events
    ]
    ids = sorted(vectors)
    behaviour = build_behaviour_vectors(interactions, ids, 64, seed)
    position = {pid: n for n, pid in enumerate(ids)}
    popular = [ids[i] for i in np.argsort(-behaviour.popularity)]
    fused = np.stack([vectors[pid] for pid in ids])
    hits = defaultdict(list)
    for user, events in history.items():
        if user in train:
            continue
        bought = [pid for _, action, pid in events if action == "purchase"]
        for prev, nxt in itertools.pairwise(bought):
            if prev == nxt or prev not in position:
                continue
            hits["popularity"].append(nxt in [p for p in popular if p != prev][:10])
            for name, matrix in (("behaviour vector", behaviour.vectors), ("fused vector", fused)):
                known = name != "behaviour vector" or behaviour.has_behaviour[position[prev]]
                order = [ids[i] for i in np.argsort(-(matrix @ matrix[position[prev]])) if ids[i] != prev]
                hits[name].append(bool(known) and nxt in order[:10])
    return [
        "| ranking | recall@10 | pairs |",
        "|---|---|---|",
        *[f"| {name} | {statistics.mean(v) if v else 0:.3f} | {len(v)} |" for name, v in hits.items()],
        "",
        "Products with no behaviour yet count as misses for the behaviour vectors; the candidates are the "
        "products the bench saw (histories and served pages).",
    ]


if __name__ == "__main__":
    main()
