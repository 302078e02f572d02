"""The local node is a real OpenSearch 2.19 with the k-NN plugin on the Lucene engine."""


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
