import pytest
from pydantic import ValidationError

from hybrid_search.profiles import BUILT_IN, BlendProfile, ProfileCache, StoredProfile


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


def test_cache_reads_at_most_once_per_ttl(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("hybrid_search.profiles.time.monotonic", lambda: clock[0])
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
