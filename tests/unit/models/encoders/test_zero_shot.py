import numpy as np
import pytest

from hybrid_search.models.encoders.tagger import load_taggers, save_taggers
from hybrid_search.models.encoders.zero_shot import MIN_COVERAGE, fit_zero_shot, named_value, pseudo_labels

COLOURS = ["Black", "Navy Blue", "Red"]


def test_a_title_names_a_value_by_every_word_of_it_in_any_form():
    assert named_value("Nike Men Red Jersey", COLOURS) == "Red"
    assert named_value("Roadster Men Navy Blue Shirts", COLOURS) == "Navy Blue"
    assert named_value("Puma Blue Shoes", COLOURS) == ""  # a part of a name is not the name
    assert named_value("Red and Black Striped Top", COLOURS) == ""  # two values: not sure which
    assert named_value("Wrangler Women Jeans", ["Jeans", "Shirts"]) == "Jeans"
    assert named_value("Flying Machine Men Shirt", ["Jeans", "Shirts"]) == "Shirts"  # singular of the name
    assert named_value("Puma Men T-Shirt", ["Shirts", "Tshirts"]) == "Tshirts"  # written apart; the longer name
    assert named_value("Nike Men Navy Blue Tee", COLOURS) == "Navy Blue"  # not Blue as well


def shop(seed: int, n: int = 600):
    """Titles of three colours, half of which say their colour; vectors cluster by colour (photo
    well apart, title closer), and the value names' vectors point at their colour's titles."""
    centres = np.random.default_rng(99).normal(size=(3, 16)) * 3  # one shop: the same colours every draw
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    said = rng.uniform(size=n) < 0.5
    titles = [f"Brand Men {COLOURS[t]} Shirt" if s else "Brand Men Shirt" for t, s in zip(truth, said, strict=True)]
    title_vectors = (centres[truth] + rng.normal(size=(n, 16)) * 1.5).astype(np.float32)
    photos = (centres[truth] + rng.normal(size=(n, 16))).astype(np.float32)
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    return np.array(COLOURS)[truth], titles, title_vectors, (centres / norms).astype(np.float32), photos


def test_pseudo_labels_come_from_names_first_then_from_a_clearly_nearest_name():
    truth, titles, title_vectors, value_vectors, _ = shop(0)
    labels = np.array(pseudo_labels(titles, COLOURS, title_vectors, value_vectors), dtype=object)
    named = np.array([any(c in t for c in COLOURS) for t in titles])
    assert (labels[named] == truth[named]).all()  # every title that names its colour
    nearest = ~named & (labels != "")
    assert 0 < nearest.sum() < (~named).sum()  # some of the rest, by the margin, not all
    assert (labels[nearest] == truth[nearest]).mean() > 0.9


def test_a_zero_shot_tagger_learns_the_photo_from_the_titles_and_keeps_its_source(tmp_path):
    truth, titles, title_vectors, value_vectors, photos = shop(1)
    has_photo = np.ones(len(titles), bool)
    tagger, named = fit_zero_shot("colour", COLOURS, titles, title_vectors, value_vectors, photos, has_photo)
    assert tagger.source == "zero-shot" and named > 0.5
    # fresh products, with a photo and no colour word: the photo head says it
    fresh, _, fresh_titles, _, fresh_photos = shop(2)
    tags = [tagger.tag(None, photo) for photo in fresh_photos]
    given = [(tag[0], want) for tag, want in zip(tags, fresh, strict=True) if tag]
    assert len(given) > 0.8 * len(fresh) and np.mean([got == want for got, want in given]) > 0.95
    assert load_taggers(save_taggers({"colour": tagger}, tmp_path))["colour"].source == "zero-shot"


def test_names_titles_rarely_use_teach_nothing():
    truth, _, title_vectors, value_vectors, photos = shop(3)
    seasons = ["Summer", "Winter", "Fall"]
    titles = ["Brand Men Shirt"] * len(truth)
    far = np.zeros_like(value_vectors)  # no name is near any title either
    with pytest.raises(ValueError, match="too few to learn from"):
        fit_zero_shot("season", seasons, titles, title_vectors, far, photos, np.ones(len(truth), bool))
    assert MIN_COVERAGE > 0
