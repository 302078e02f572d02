"""UBI events the integration tests send to /events."""

from __future__ import annotations


def purchases(user: str, products: list[str]) -> list[dict]:
    """One purchase event by ``user`` of each of ``products``."""
    return [
        {
            "action_name": "purchase",
            "user_id": user,
            "session_id": "s",
            "event_attributes": {"object": {"object_id": p}},
        }
        for p in products
    ]


def shoppers_click(api, queries, qrels, profiles: list[str], sessions: int, rng, headers: dict) -> None:
    """Simulated shoppers search each query through the API ``sessions`` times, taking ``profiles`` in
    turn (an exploration slice, as an A/B test serves), see a page of 10 and click by the judged
    grade of what they look at, more often higher up (position bias, and by chance on unjudged
    products); every impression and click goes to /events."""
    for query in queries:
        for session in range(sessions):
            asked = {"q": query.text, "size": 10, "profile": profiles[session % len(profiles)]}
            served = api.get("/search", query_string=asked, headers=headers).get_json()
            events = []
            for position, hit in enumerate(served["hits"], start=1):
                common = {"query_id": served["query_id"], "user_id": f"{query.id}-{session}", "session_id": "s"}
                target = {"object": {"object_id": hit["id"]}, "position": {"ordinal": position}}
                events.append({"action_name": "impression", "event_attributes": target, **common})
                attractive = {0: 0.05, 1: 0.3, 2: 0.8}[qrels[query.id].get(hit["id"], 0)]
                if rng.random() < attractive / position:
                    events.append({"action_name": "click", "event_attributes": target, **common})
            assert api.post("/events", json=events, headers=headers).status_code == 202
