"""The read path through opensearch-py, as a backend written against OpenSearch calls it, pointed at the
served API (gunicorn, the real node and Redis): the same answers as the node, internal fields left out,
and errors raised as the client's own exceptions with the reason."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import requests
from opensearchpy import AuthenticationException, NotFoundError, OpenSearch, RequestError, Search

from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.queries import HIDDEN_FIELDS

CLIENT_KEY = "dev-client-key"
SHIRTS = {"query": {"match": {"title": "shirt"}}}


@pytest.fixture(scope="module")
def shop(served) -> OpenSearch:
    return OpenSearch(served, headers={"X-API-Key": CLIENT_KEY}, timeout=60)


def test_a_client_starts_as_it_would_against_opensearch(shop, served, search_settings, catalog):
    alias = search_settings.products_alias
    assert shop.ping() and not OpenSearch(served).ping()  # without a key: no
    info = shop.info()
    assert info["name"] == "hybrid-search" and info["version"]["number"] == "2.19.1"
    assert info["version"]["distribution"] == "opensearch"
    assert shop.indices.exists(index=alias) and not shop.indices.exists(index=f"{alias}-other")
    mapping = shop.indices.get_mapping(index=alias)[alias]["mappings"]
    assert {"title", "colour", "price"} <= set(mapping["properties"]) and "_meta" not in mapping
    assert not set(HIDDEN_FIELDS) & set(mapping["properties"])


def test_count_get_and_msearch_answer_as_the_node_without_internal_fields(shop, search_settings, catalog):
    alias, node = search_settings.products_alias, make_client(search_settings)
    assert shop.count(index=alias, body=SHIRTS)["count"] == node.count(index=alias, body=SHIRTS)["count"] > 0
    assert shop.count(index=alias)["count"] == node.count(index=alias)["count"] >= len(catalog)
    first = node.search(index=alias, body={**SHIRTS, "size": 3, "sort": ["_score", {"product_id": "asc"}]})
    doc = shop.get(index=alias, id=first["hits"]["hits"][0]["_id"])
    assert doc["found"] and doc["_index"] == alias
    assert doc["_source"]["title"] == first["hits"]["hits"][0]["_source"]["title"]
    assert not set(HIDDEN_FIELDS) & set(doc["_source"])
    with pytest.raises(NotFoundError):
        shop.get(index=alias, id="fashion/no-such-product")
    answers = shop.msearch(
        body=[{}, {**SHIRTS, "size": 3, "sort": ["_score", {"product_id": "asc"}]}, {"index": alias}, {"size": 0}]
    )["responses"]
    assert [h["_id"] for h in answers[0]["hits"]["hits"]] == [h["_id"] for h in first["hits"]["hits"]]
    assert all(h["_index"] == alias for h in answers[0]["hits"]["hits"])  # the alias, not its versioned index
    assert answers[1]["hits"]["total"]["value"] == node.count(index=alias)["count"]
    only = shop.search(index=alias, body=SHIRTS, _source_includes=["title", "colour", "content_hash"], size=3)
    assert (
        shop.search(index=alias, q="shirt")["hits"]["total"] == shop.search(index=alias, body=SHIRTS)["hits"]["total"]
    )
    assert only["hits"]["hits"] and all(set(h["_source"]) <= {"title", "colour"} for h in only["hits"]["hits"])


def test_the_dsl_and_the_blend_both_go_through_the_clients_search(shop, served, search_settings, catalog):
    alias = search_settings.products_alias
    found = Search(using=shop, index=alias).query("match", title="backpack").filter("term", colour="Black")
    assert found.count() == shop.count(index=alias, body=found.to_dict())["count"] > 0
    assert {hit.colour for hit in found.execute()} == {"Black"}
    # facet values as the catalog spells them, counted as the node counts them (it folds case)
    faceted = Search(using=shop, index=alias).query("match", title="shirt")[:0]
    faceted.aggs.bucket("types", "terms", field="article_type", size=50)
    ours = {b.key: b.doc_count for b in faceted.execute().aggregations.types.buckets}
    node_answer = make_client(search_settings).search(index=alias, body=faceted.to_dict())
    theirs = {b["key"]: b["doc_count"] for b in node_answer["aggregations"]["types"]["buckets"]}
    assert ours and set(ours) <= {row["article_type"] for row in catalog.values()}
    assert {key.lower(): n for key, n in ours.items()} == theirs and set(ours) != set(theirs)
    blended = shop.search(index=alias, body={"size": 5, "ext": {"hybrid": {"q": "black backpack"}}})
    ours = requests.get(f"{served}/search", params={"q": "black backpack", "size": 5}, timeout=60).json()["hits"]
    assert [h["_id"] for h in blended["hits"]["hits"]] == [f"{h['merchant']}/{h['id']}" for h in ours]
    assert not any(set(HIDDEN_FIELDS) & set(h["_source"]) for h in blended["hits"]["hits"])  # was content_hash...
    counted = shop.search(index=alias, body={"size": 0, "ext": {"hybrid": {"q": "black backpack"}}})["hits"]
    assert counted["hits"] == [] and counted["total"] == blended["hits"]["total"]  # size 0 was a 400


def test_scan_reads_every_match_through_a_scroll_only_its_caller_continues(shop, served, search_settings, catalog):
    """The clients' ``scan`` (a scroll of 1000-hit pages, cleared at the end) was a 400."""
    alias, node = search_settings.products_alias, make_client(search_settings)
    everything = [hit.meta.id for hit in Search(using=shop, index=alias).query("match_all").scan()]
    assert len(everything) == len(set(everything)) == node.count(index=alias)["count"] >= len(catalog)
    opened = shop.search(
        index=alias, body={"sort": ["_doc"], "_source": ["title", "content_hash"]}, scroll="1m", size=50
    )
    page = shop.scroll(body={"scroll_id": opened["_scroll_id"], "scroll": "1m"})
    assert len(page["hits"]["hits"]) == 50 and all(h["_index"] == alias for h in page["hits"]["hits"])
    assert all(set(h["_source"]) == {"title"} for h in page["hits"]["hits"])  # the search's _source, hidden out
    assert not {h["_id"] for h in page["hits"]["hits"]} & {h["_id"] for h in opened["hits"]["hits"]}
    admin = OpenSearch(served, headers={"X-API-Key": "dev-admin-key"}, timeout=60)
    with pytest.raises(NotFoundError):  # another caller's scroll id reads nothing (its context numbers count up)
        admin.scroll(body={"scroll_id": page["_scroll_id"], "scroll": "1m"})
    assert admin.clear_scroll(body={"scroll_id": [page["_scroll_id"]]}, ignore=404)["num_freed"] == 0
    assert shop.clear_scroll(body={"scroll_id": [page["_scroll_id"]]})["num_freed"] == 1
    with pytest.raises(NotFoundError):
        shop.scroll(body={"scroll_id": page["_scroll_id"], "scroll": "1m"})
    with pytest.raises(RequestError) as refused:
        shop.search(index=alias, body={"ext": {"hybrid": {"q": "shirt"}}}, scroll="1m")
    assert refused.value.info["error"]["field"] == "scroll"


def test_errors_are_the_clients_exceptions_with_the_reason(shop, served, search_settings, catalog):
    alias = search_settings.products_alias
    with pytest.raises(RequestError) as refused:
        shop.search(index=alias, body={"query": {"hybrid": {"queries": [SHIRTS["query"]]}}})
    assert refused.value.error == "invalid_input" and "ext.hybrid" in refused.value.info["error"]["reason"]
    # OpenSearch's own reason for a query that fails on every shard (it answers 500 for this one)
    missing_price = {"function_score": {"query": SHIRTS["query"], "field_value_factor": {"field": "price"}}}
    with pytest.raises(RequestError) as failed:
        shop.search(index=alias, body={"query": missing_price})
    assert "Missing value for field [price]" in failed.value.info["error"]["reason"]
    with pytest.raises(NotFoundError):
        shop.search(index=f"{alias}-other", body=SHIRTS)
    with pytest.raises(AuthenticationException):
        OpenSearch(served).search(index=alias, body=SHIRTS)
    with pytest.raises(RequestError) as bad:
        shop.msearch(body=[{}, SHIRTS, {}, {"query": {"script": {"script": "1"}}}])
    assert bad.value.info["error"]["field"] == "body[3].query.script"


def test_a_storefront_keeps_its_query_facets_and_source_when_it_asks_for_the_blend(
    shop, served, search_settings, catalog
):
    alias, node = search_settings.products_alias, make_client(search_settings)
    black = {"bool": {"filter": [{"term": {"colour": "Black"}}]}}
    body = {
        "size": 5,
        "query": black,
        "aggs": {"types": {"terms": {"field": "article_type", "size": 100}}, "colours": {"terms": {"field": "colour"}}},
        "_source": ["title", "colour", "content_hash"],
        "ext": {"hybrid": {"q": "backpack"}},
    }
    answer = shop.search(index=alias, body=body)
    hits, total = answer["hits"]["hits"], answer["hits"]["total"]["value"]
    assert hits and all(set(h["_source"]) == {"title", "colour"} and h["_source"]["colour"] == "Black" for h in hits)
    # the blend among black products: what /search ranks with its own colour filter
    ours = requests.get(f"{served}/search", params={"q": "backpack", "colour": "Black", "size": 5}, timeout=60).json()
    assert [h["_id"] for h in hits] == [f"{h['merchant']}/{h['id']}" for h in ours["hits"]]
    # total and facets count one match set: every black product a leg matches, each of one type
    assert [b["key"] for b in answer["aggregations"]["colours"]["buckets"]] == ["Black"]  # spelled as sent
    assert sum(b["doc_count"] for b in answer["aggregations"]["types"]["buckets"]) == total
    lexical = {"bool": {"filter": [black], "must": [{"match": {"title": "backpack"}}]}}
    assert (
        node.count(index=alias, body={"query": lexical})["count"]
        <= total
        <= node.count(index=alias, body={"query": black})["count"]
    )
    marked = shop.search(index=alias, body={**body, "highlight": {"fields": {"title": {}}}})["hits"]["hits"]
    assert [h["_id"] for h in marked] == [h["_id"] for h in hits]  # the same page, highlighted on what was typed
    assert any("<em>Backpack</em>" in h["highlight"]["title"][0] for h in marked if "highlight" in h)
    # a post_filter narrows the hits and the total, not the facets: a multi-select colour facet
    picked = {"post_filter": black, "aggs": {"colours": {"terms": {"field": "colour", "size": 50}}}}
    for order in ({}, {"sort": [{"year": "desc"}]}):  # the blend, and the match set in a storefront order
        narrowed = shop.search(index=alias, body={**picked, **order, "size": 5, "ext": {"hybrid": {"q": "backpack"}}})
        colours = {b["key"]: b["doc_count"] for b in narrowed["aggregations"]["colours"]["buckets"]}
        assert len(colours) > 1 and narrowed["hits"]["total"]["value"] == colours["Black"]
        assert narrowed["hits"]["hits"] and all(
            make_client(search_settings).get(index=alias, id=h["_id"])["_source"]["colour"] == "Black"
            for h in narrowed["hits"]["hits"]
        )


def test_the_readmes_storefront_gets_the_blend_keeping_its_query(served, search_settings, catalog):
    """The README's block, run as written (its URL and index the test's): the storefront's filters,
    ticked facet, facets, fields, highlight and page, with the words moved into ext.hybrid."""
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    block = readme.split("runs this block):\n  ```python\n", 1)[1].split("  ```", 1)[0]
    code = textwrap.dedent(block).replace("http://localhost:8080", served)
    names = {"CLIENT_KEY": CLIENT_KEY}
    exec(code.replace('index="products"', f"index={search_settings.products_alias!r}"), names)  # noqa: S102
    page, body = names["page"], names["body"]
    ours = requests.get(
        f"{served}/search",
        params={"q": "white sneakers", "gender": "Men", "colour": "White", "page": 2, "size": 5},
        timeout=60,
    ).json()
    hits = page["hits"]["hits"]
    assert len(hits) == 5 and [h["_id"] for h in hits] == [f"{h['merchant']}/{h['id']}" for h in ours["hits"]]
    assert all(set(h["_source"]) <= set(body["_source"]) and h["_source"]["colour"] == "White" for h in hits)
    colours = {b["key"]: b["doc_count"] for b in page["aggregations"]["colours"]["buckets"]}
    assert len(colours) > 1 and page["hits"]["total"]["value"] == colours["White"] == ours["total"]
    assert {b["key"] for b in page["aggregations"]["types"]["buckets"]} <= {r["article_type"] for r in catalog.values()}
    assert any("highlight" in h for h in hits)


def test_a_sort_orders_the_match_set_and_pages_it_deep(shop, search_settings, catalog):
    alias = search_settings.products_alias
    asked = {"query": {"bool": {"filter": [{"exists": {"field": "year"}}]}}, "ext": {"hybrid": {"q": "black"}}}
    blended = shop.search(index=alias, body={**asked, "size": 5})
    by_year = shop.search(index=alias, body={**asked, "size": 5, "sort": [{"year": "desc"}]})
    hits = by_year["hits"]["hits"]
    assert by_year["hits"]["total"] == blended["hits"]["total"]  # the same match set, in another order
    years = [h["sort"][0] for h in hits]
    assert years == sorted(years, reverse=True) and all(h["_index"] == alias for h in hits)
    for a, b in zip(hits, hits[1:], strict=False):  # relevance breaks ties
        assert a["sort"][0] > b["sort"][0] or a["_score"] >= b["_score"]
    after = shop.search(
        index=alias, body={**asked, "size": 5, "sort": [{"year": "desc"}], "search_after": hits[-1]["sort"]}
    )
    skipped = shop.search(index=alias, body={**asked, "size": 5, "from": 5, "sort": [{"year": "desc"}]})
    assert [h["_id"] for h in after["hits"]["hits"]] == [h["_id"] for h in skipped["hits"]["hits"]]
    with pytest.raises(RequestError) as refused:
        shop.search(index=alias, body={**asked, "sort": ["_score"]})
    assert refused.value.info["error"]["field"] == "body.sort"


JS = Path(__file__).parent / "js"
JS_CLIENT = "3.9.0"  # tests/integration/api/js/package.json


def test_the_javascript_client_reads_it_as_the_python_one_does(shop, served, search_settings, catalog):
    """The official JavaScript client (npm's @opensearch-project/opensearch), installed once into the
    cache folder, runs ``js/check.mjs`` against the same served API."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("no Node.js here: the JavaScript client's check needs node and npm")
    folder = search_settings.cache_dir / "js-client"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "check.mjs"):
        shutil.copy(JS / name, folder / name)
    installed = folder / "node_modules" / "@opensearch-project" / "opensearch" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != JS_CLIENT:
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=folder, check=True, capture_output=True, timeout=600
        )
    alias, node = search_settings.products_alias, make_client(search_settings)
    run = [shutil.which("node"), "check.mjs", served, CLIENT_KEY, alias]
    got = json.loads(subprocess.run(run, cwd=folder, capture_output=True, text=True, timeout=120, check=True).stdout)
    assert got["ping"] == 200 and got["version"] == "2.19.1" and got["exists"] is True and got["get"] is True
    assert got["count"] == node.count(index=alias, body=SHIRTS)["count"]
    assert got["msearch"][0] == got["count"] and "title" in got["mapping"] and "content_hash" not in got["mapping"]
    body = {
        "size": 3,
        "query": {"bool": {"filter": [{"term": {"colour": "Black"}}]}},
        "aggs": {"types": {"terms": {"field": "article_type"}}},
        "ext": {"hybrid": {"q": "backpack"}},
    }
    ours = shop.search(index=alias, body=body)
    assert got["blended"]["ids"] == [h["_id"] for h in ours["hits"]["hits"]]
    assert got["blended"]["total"] == ours["hits"]["total"]["value"] == got["blended"]["buckets"]
    assert got["refused"]["status"] == 400 and got["refused"]["type"] == "invalid_input"
    assert "ext.hybrid" in got["refused"]["reason"]
