import numpy as np
import pytest

from hybrid_search.models.encoders.tagger import (
    expected_calibration_error,
    fit_tagger,
    load_taggers,
    reliability,
    save_taggers,
    tags_for,
    threshold_for,
    wilson_lower_bound,
)


def test_the_threshold_is_the_lowest_confidence_whose_precision_bound_keeps_the_target():
    confidence = np.linspace(1.0, 0.0, 400, endpoint=False)
    correct = np.arange(400) < 300  # the surest 300 right, the rest wrong
    threshold, precision, coverage = threshold_for(confidence, correct, 0.9)
    kept = int(coverage * 400)
    assert confidence[kept - 1] == threshold and precision == 300 / kept
    # the bound keeps the target with a margin: the observed precision alone would tag 333 (300 / 333)
    assert wilson_lower_bound(300, kept) >= 0.9 > wilson_lower_bound(300, kept + 1) and 300 < kept < 333
    assert threshold_for(confidence, correct, 0.9, z=None)[2] == 333 / 400  # the observed precision, unbounded
    assert threshold_for(confidence, np.ones(400, bool), 0.9) == (confidence[-1], 1.0, 1.0)
    few = np.array([0.99, 0.95, 0.9, 0.8])  # four right answers are too few to promise 0.9
    assert threshold_for(few, np.ones(4, bool), 0.9) == (1.01, 0.0, 0.0)
    assert threshold_for(confidence, np.zeros(400, bool), 0.9) == (1.01, 0.0, 0.0)  # never sure: always abstains


def test_calibration_error_is_the_gap_between_confidence_and_accuracy():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    assert expected_calibration_error(confidence, rng.uniform(size=20000) < confidence) < 0.02
    assert expected_calibration_error(np.full(100, 0.9), np.zeros(100, bool)) == pytest.approx(0.9)
    bins = reliability(np.array([0.15, 0.95, 0.97]), np.array([False, True, True]))
    assert [(round(c, 2), a, n) for c, a, n in bins] == [(0.15, 0.0, 1), (0.96, 1.0, 2)]


def blobs(seed: int, n: int = 600):
    """Three colours: the photo says which (well apart), the title only half of the time."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 16)) * 3
    labels = rng.integers(0, 3, n)
    photos = centres[labels] + rng.normal(size=(n, 16))
    said = rng.uniform(size=n) < 0.5
    titles = np.where(said[:, None], centres[labels] + rng.normal(size=(n, 16)), rng.normal(size=(n, 16)) * 3)
    return np.array(["Black", "Red", "Blue"])[labels], titles.astype(np.float32), photos.astype(np.float32), centres


def test_a_tagger_learns_from_photo_and_title_and_abstains_where_unsure():
    labels, titles, photos, centres = blobs(0)
    has_photo = np.arange(len(labels)) % 3 != 0  # a third without a photo
    tagger, held = fit_tagger("colour", list(labels), titles, photos, has_photo, target_precision=0.9)
    assert set(tagger.classes) == {"Black", "Red", "Blue"} and set(held) == {"title", "photo", "both"}
    assert tagger.photo_weight > 0.5  # the photo is the surer input
    assert tagger.calibration["photo"].precision >= 0.9 and tagger.calibration["photo"].coverage > 0.9
    # fresh products of the same shop: precision holds at the chosen thresholds
    fresh, fresh_titles, fresh_photos = (a[600:] for a in blobs(0, 900)[:3])
    tags = [tags_for({"colour": tagger}, {}, fresh_titles[i], fresh_photos[i], "v1") for i in range(300)]
    given = [(t["colour"]["value"], truth) for t, truth in zip(tags, fresh, strict=True) if "colour" in t]
    assert tags_for({"colour": tagger}, {"colour": "Red"}, fresh_titles[0], fresh_photos[0], "v1") == {}  # never over
    assert len(given) > 250 and np.mean([a == b for a, b in given]) >= 0.9
    # a photo halfway between two colours, and no title: not sure, no tag
    between = ((centres[0] + centres[1]) / 2).astype(np.float32)
    assert tagger.tag(None, between) is None and tagger.tag(None, centres[1].astype(np.float32))[0] == "Red"


def test_values_with_too_few_products_are_not_learned_and_empty_labels_are_unlabelled():
    labels, titles, photos, _ = blobs(1, 200)
    labels = labels.astype(object)
    labels[:3] = "Mauve"  # three products: too few to learn
    labels[3:40] = ""  # not labelled: neither trained on nor judged
    tagger, held = fit_tagger("colour", list(labels), titles, photos, np.ones(200, bool))
    assert "Mauve" not in tagger.classes and not set(range(3, 40)) & set(held["photo"].rows)
    with pytest.raises(ValueError):
        fit_tagger("season", ["Summer"] * 50 + [""] * 150, titles, photos, np.ones(200, bool))


def named_titles(labels: np.ndarray, seed: int) -> list[str]:
    """Titles that name their colour two times in three (the rest name none)."""
    rng = np.random.default_rng(seed)
    return [f"Nike Men {label} Jersey" if rng.uniform() < 2 / 3 else "Nike Men Jersey" for label in labels]


def test_the_title_head_reads_which_value_a_title_names():
    labels, _, photos, _ = blobs(3, 900)
    noise = np.random.default_rng(3).normal(size=(900, 16)).astype(np.float32)  # title vectors that say nothing
    texts = named_titles(labels, 3)
    tagger, _ = fit_tagger(
        "colour", list(labels[:600]), noise[:600], photos[:600], np.zeros(600, bool), texts=texts[:600]
    )
    assert tagger.names == ("Black", "Blue", "Red")
    given = [(tagger.tag(noise[i], None, texts[i]), labels[i], texts[i]) for i in range(600, 900)]
    named = [(tag, truth) for tag, truth, text in given if text != "Nike Men Jersey"]
    assert all(tag is not None and tag[0] == truth for tag, truth in named)  # a named colour is learned
    unnamed = [tag for tag, _, text in given if text == "Nike Men Jersey"]
    assert sum(tag is not None for tag in unnamed) < len(unnamed) / 4  # mostly not sure: nothing else to go on
    tags = [(tag[0], truth) for tag, truth, _ in given if tag is not None]
    assert np.mean([a == b for a, b in tags]) >= 0.9  # precision over all it tags holds
    blind, _ = fit_tagger("colour", list(labels[:600]), noise[:600], photos[:600], np.zeros(600, bool))
    assert blind.names == () and blind.calibration["title"].coverage < 0.1  # without the words: unsure


def test_taggers_saved_and_loaded_tag_alike(tmp_path):
    labels, titles, photos, _ = blobs(2, 300)
    texts = named_titles(labels, 2)
    tagger, _ = fit_tagger("colour", list(labels), titles, photos, np.ones(300, bool), texts=texts)
    path = save_taggers({"colour": tagger}, tmp_path)
    assert path.name.startswith("tagger-") and save_taggers({"colour": tagger}, tmp_path) == path  # content-named
    loaded = load_taggers(path)["colour"]
    assert loaded.calibration == tagger.calibration and loaded.photo_weight == tagger.photo_weight
    assert loaded.names == tagger.names == ("Black", "Blue", "Red")
    for i in range(20):
        assert loaded.tag(titles[i], photos[i], texts[i]) == tagger.tag(titles[i], photos[i], texts[i])
        assert loaded.tag(titles[i], None, texts[i]) == tagger.tag(titles[i], None, texts[i])
