import itertools
import json
import math

import pytest

from hybrid_search.evaluation.judgments import Query
from hybrid_search.evaluation.report import (
    QueryScore,
    compare,
    markdown_table,
    randomisation_p_value,
    score_queries,
    summarise,
    write_report,
)

QUERIES = [Query("q1", "keyword", "a"), Query("q2", "keyword", "b"), Query("q3", "chinese", "c"), Query("q4", "x", "")]
QRELS = {"q1": {"p1": 2}, "q2": {"p2": 1, "p3": 2}, "q3": {"p4": 2}}


def test_scores_per_query_and_per_kind():
    rows = score_queries({"q1": ["p1"], "q2": ["p9", "p3"], "q3": []}, QUERIES, QRELS)
    assert [r.query_id for r in rows] == ["q1", "q2", "q3"]  # q4 has no judgments
    assert rows[0].scores["ndcg@10"] == 1.0 and rows[0].scores["mrr@10"] == 1.0
    assert rows[1].scores["mrr@10"] == 0.5 and rows[1].scores["recall@100"] == 0.5
    assert rows[2].scores["ndcg@10"] == 0.0
    summary = summarise(rows)
    assert summary["keyword"]["n"] == 2 and summary["chinese"]["n"] == 1 and summary["all"]["n"] == 3
    assert summary["keyword"]["mrr@10"] == pytest.approx(0.75)
    assert summary["all"]["mrr@10"] == pytest.approx(0.5)


def _rows(values: list[float]) -> list[QueryScore]:
    return [QueryScore(f"q{i}", "k", {"ndcg@10": v}) for i, v in enumerate(values)]


def test_compare_counts_wins_losses_and_ties():
    c = compare(_rows([0.1, 0.5, 0.3, 0.2]), _rows([0.2, 0.4, 0.3, 0.9]), trials=2000)
    assert (c.wins, c.losses, c.ties) == (2, 1, 1)
    assert c.baseline == pytest.approx(0.275) and c.candidate == pytest.approx(0.45)
    assert 0 < c.p_value <= 1


def test_randomisation_test_agrees_with_exact_enumeration():
    diffs = [0.3, 0.1, -0.05, 0.2, 0.25, 0.15, -0.1, 0.4]
    observed = abs(sum(diffs))
    flips = list(itertools.product([1, -1], repeat=len(diffs)))
    exact = sum(abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-12 for signs in flips)
    assert randomisation_p_value(diffs, trials=20_000) == pytest.approx(exact / len(flips), abs=0.01)
    assert randomisation_p_value([0.0] * 5) == 1.0  # no difference is never significant
    assert randomisation_p_value([0.5] * 30, trials=2000) < 0.001


def test_report_files(tmp_path):
    runs = {"base": _rows([0.1, 0.5]), "new": _rows([0.3, 0.6])}
    paths = write_report(
        tmp_path,
        "r",
        runs,
        {"new vs base": compare(runs["base"], runs["new"], trials=100)},
        sweeps={"bm25": [(0.0, 0.2), (1.0, 0.4)]},
    )
    data = json.loads(paths["json"].read_text())
    assert data["summary"]["new"]["all"]["ndcg@10"] == pytest.approx(0.45)
    assert len(data["queries"]["base"]) == 2
    assert "| new |" in paths["md"].read_text()
    for key in ("png", "sweeps"):
        assert paths[key].read_bytes()[:4] == b"\x89PNG"


def test_markdown_table_puts_all_last():
    table = markdown_table({"run": {"all": {"ndcg@10": 0.5}, "zh": {"ndcg@10": 0.25}}}, ["ndcg@10"])
    assert table.splitlines()[0] == "| run | ndcg@10 zh | ndcg@10 all |"
    assert table.splitlines()[2] == "| run | 0.250 | 0.500 |"


def test_search_relevance_workbench_judgment_lists_load_as_queries_and_grades(tmp_path):
    from hybrid_search.evaluation.judgments import load_judgments

    body = {
        "name": "Imported Judgments",
        "type": "IMPORT_JUDGMENT",
        "judgmentRatings": [
            {
                "query": "red dress",
                "ratings": [{"docId": "B07", "rating": "3.000"}, {"docId": "B01", "rating": "0.500"}],
            },
            {"query": "黑色双肩包", "ratings": [{"docId": "42", "rating": "2.000"}]},
        ],
    }
    path = tmp_path / "judgments.json"
    path.write_text(json.dumps(body, ensure_ascii=False))
    queries, qrels = load_judgments(None, path)
    assert [(q.id, q.kind, q.text) for q in queries] == [("srw-1", "short", "red dress"), ("srw-2", "zh", "黑色双肩包")]
    assert qrels == {"srw-1": {"B07": 3.0, "B01": 0.5}, "srw-2": {"42": 2.0}}
    rows = score_queries({"srw-1": ["B07"], "srw-2": ["7", "42"]}, queries, qrels)
    assert rows[0].scores["ndcg@10"] == pytest.approx(7 / (7 + (2**0.5 - 1) / math.log2(3)))
    assert rows[1].scores["mrr@10"] == 0.5
