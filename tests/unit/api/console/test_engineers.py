from hybrid_search.api.console.engineers import judgment_files


def test_judgment_lists_are_paired_with_the_queries_they_judge(tmp_path):
    for name in (
        "queries-dev.jsonl",
        "qrels-dev.tsv",
        "clicks.json",
        "fashion/queries.jsonl",
        "fashion/qrels.tsv",
        "fashion/images/a/deep.tsv",  # deeper than one folder: left out
        "notes.md",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    queries, lists = judgment_files(tmp_path)
    assert queries == ["fashion/queries.jsonl", "queries-dev.jsonl"]
    assert lists == [
        ("clicks.json", ""),
        ("fashion/qrels.tsv", "fashion/queries.jsonl"),
        ("qrels-dev.tsv", "queries-dev.jsonl"),
    ]
    assert judgment_files(tmp_path / "missing") == ([], [])
