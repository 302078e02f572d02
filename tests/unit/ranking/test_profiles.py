import re

import pytest
from pydantic import ValidationError

from hybrid_search.core.catalog import PROFILE_REFERENCE_PATTERN
from hybrid_search.ranking.profiles import (
    BUILT_IN,
    BlendProfile,
    ProfileCache,
    StoredProfile,
    differences,
    parse_reference,
)


def test_default_profile():
    profile = BlendProfile()
    assert (profile.normalisation, profile.combination, profile.window) == ("min_max", "arithmetic", 100)
    assert BUILT_IN.version == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"weights": {"bm25": -0.1}},
        {"weights": {"colour": 1.0}},
        {"normalisation": "z_score", "combination": "harmonic"},
        {"window": 5},
        {"rank_constant": 0},
        {"speed": "fast"},
    ],
)
def test_invalid_profiles_are_rejected(fields):
    with pytest.raises(ValidationError):
        BlendProfile(**fields)


def test_a_reference_names_the_active_version_or_one_version():
    assert parse_reference("default") == ("default", None)
    assert parse_reference("summer-sale@12") == ("summer-sale", 12)
    for good in ("default", "a@1", "x_y-z@0"):
        assert re.fullmatch(PROFILE_REFERENCE_PATTERN, good)
    for bad in ("Default", "a@", "a@b", "@1", "a@1@2", "a@-1"):
        assert not re.fullmatch(PROFILE_REFERENCE_PATTERN, bad)


def test_differences_name_each_changed_setting_by_its_path():
    a = BlendProfile()
    b = BlendProfile(weights={**a.weights, "bm25": 1.0}, window=200, classes={"zh": BlendProfile(rerank_weight=0)})
    changed = differences(a, b)
    assert ("weights.bm25", 0.4, 1.0) in changed and ("window", 100, 200) in changed
    assert ("classes.zh.rerank_weight", None, 0.0) in changed  # a class only b overrides
    assert differences(a, a) == []


def test_cache_reads_at_most_once_per_ttl(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("hybrid_search.ranking.profiles.time.monotonic", lambda: clock[0])
    loads = []

    def load(name):
        loads.append(name)
        return StoredProfile(name=name, version=len(loads), profile=BlendProfile())

    cache = ProfileCache(load, ttl_s=2.0)
    assert cache.get("a").version == 1
    clock[0] += 1.9
    assert cache.get("a").version == 1
    clock[0] += 0.2
    assert cache.get("a").version == 2
    assert loads == ["a", "a"]


def test_class_profiles_override_per_query_class():
    zh = BlendProfile(weights={"bm25": 1.0, "attributes": 2.0})
    profile = BlendProfile(classes={"zh": zh})
    assert profile.for_class("zh") == zh
    assert profile.for_class("short") is profile
    with pytest.raises(ValueError, match="classes of its own"):
        BlendProfile(classes={"zh": profile})
    with pytest.raises(ValueError, match="attribute_weights"):
        BlendProfile(attribute_weights={"colour": -1.0})


def test_the_built_in_default_is_the_tuned_profile_with_class_overrides():
    assert BUILT_IN.profile.weight("attributes") > 0
    assert set(BUILT_IN.profile.classes) <= {"photo", "zh", "short", "long"}
    assert BUILT_IN.profile.classes, "tuning found per-class profiles"
