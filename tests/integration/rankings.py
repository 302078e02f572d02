"""Comparing rankings of the two blend engines."""

import pytest

SCORE_TOLERANCE = 1e-4  # OpenSearch blends in float32
TIE = 2e-5  # scores this close may swap: a float32 min_max of k-NN scores is good to about 1e-5


def assert_same_ranking(native: list[dict], msearch: list[dict]) -> None:
    """Equal scores rank by rank, equal ids up to the order of tied scores (OpenSearch breaks ties by
    its internal doc id, the in-process blend by product id)."""
    assert len(native) == len(msearch) > 0
    for a, b in zip(native, msearch, strict=True):
        assert a["score"] == pytest.approx(b["score"], abs=SCORE_TOLERANCE)
    groups: list[list[int]] = []
    for i, hit in enumerate(msearch):
        if groups and abs(msearch[groups[-1][0]]["score"] - hit["score"]) < TIE:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups[:-1]:  # the last group may be cut by the page
        assert {native[i]["id"] for i in group} == {msearch[i]["id"] for i in group}
