"""The local node is a real OpenSearch 2.19 with the k-NN plugin on the Lucene engine and neural-search."""

import uuid

import pytest


def test_node_runs_opensearch_2_19(client):
    assert client.info()["version"]["number"].startswith("2.19.")


def test_cat_plugins_lists_opensearch_knn(client):
    plugins = client.cat.plugins(format="json")
    assert {"component": "opensearch-knn", "version": "2.19.1.0"}.items() <= next(
        p for p in plugins if p["component"] == "opensearch-knn"
    ).items()


def test_cjk_analyzer_splits_chinese_into_bigrams(client):
    tokens = client.indices.analyze(body={"analyzer": "cjk", "text": "黑色双肩包"})["tokens"]
    assert [t["token"] for t in tokens] == ["黑色", "色双", "双肩", "肩包"]


def test_cat_plugins_lists_neural_search_and_its_hybrid_query_blends(client):
    plugins = {p["component"]: p["version"] for p in client.cat.plugins(format="json")}
    assert plugins["opensearch-neural-search"] == "2.19.1.0"
    index = f"t{uuid.uuid4().hex[:10]}-hybrid"
    for i in range(3):
        client.index(index=index, id=str(i), body={"n": i})
    client.indices.refresh(index=index)
    rrf = {"phase_results_processors": [{"score-ranker-processor": {"combination": {"technique": "rrf"}}}]}

    def ranked(*ids: str) -> dict:  # documents scored in the given order
        should = [{"constant_score": {"filter": {"ids": {"values": [i]}}, "boost": 10 - n}} for n, i in enumerate(ids)]
        return {"bool": {"should": should}}

    queries = [ranked("1", "0"), ranked("1", "2")]
    body = {"query": {"hybrid": {"queries": queries}}, "search_pipeline": rrf}
    try:
        hits = client.search(index=index, body=body)["hits"]["hits"]
    finally:
        client.indices.delete(index=index)
    assert (hits[0]["_id"], hits[0]["_score"]) == ("1", pytest.approx(2 / 61))  # first in both sub-queries
    assert sorted((h["_id"], h["_score"]) for h in hits[1:]) == [
        ("0", pytest.approx(1 / 62)),
        ("2", pytest.approx(1 / 62)),
    ]
