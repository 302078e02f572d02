import numpy as np
import pytest

from hybrid_search.models.encoders.attributes import (
    MIN_PER_VALUE,
    NAMES_NONE,
    AttributeModel,
    fit_head,
    load_attribute_model,
    names,
    photo_intent,
    query_like_strings,
    resolve_attribute_model,
    stratified_sample,
    train_attribute_model,
)


def _clusters(rng: np.random.Generator, n: int = 300, dim: int = 16) -> tuple[np.ndarray, dict[str, list[str]]]:
    """Three article types along three axes; gender (two classes) along a fourth."""
    types = rng.integers(0, 3, size=n)
    gender = rng.integers(0, 2, size=n)
    x = rng.normal(0, 0.3, size=(n, dim))
    x[np.arange(n), types] += 3.0
    x[:, 3] += np.where(gender == 1, 2.0, -2.0)
    names = np.array(["Backpacks", "Belts", "Shirts"])
    return x, {"article_type": list(names[types]), "gender": ["Women" if g else "Men" for g in gender]}


def test_heads_learn_separable_attributes_and_survive_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x, labels = _clusters(rng)
    model = train_attribute_model(x, labels, "test-encoder")
    query = np.zeros(16)
    query[1], query[3] = 3.0, 2.0  # a Belt for Women
    intent = model.text_intent(query)
    assert max(intent["article_type"], key=intent["article_type"].get) == "Belts"
    assert max(intent["gender"], key=intent["gender"].get) == "Women"
    assert sum(intent["gender"].values()) == pytest.approx(1.0, abs=0.01)
    path = model.save(tmp_path)
    loaded = load_attribute_model(path)
    assert loaded.text_encoder == "test-encoder" and loaded.version in path.name
    assert loaded.text_intent(query) == intent
    assert resolve_attribute_model("latest", tmp_path) == path
    assert resolve_attribute_model("none", tmp_path) is None
    assert resolve_attribute_model("latest", tmp_path / "empty") is None


def test_two_class_heads_match_scikit_learn_probabilities():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x, labels = _clusters(rng)
    model = train_attribute_model(x, {"gender": labels["gender"]}, "t")
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    reference = LogisticRegression(C=10.0, max_iter=300).fit(unit, labels["gender"])
    np.testing.assert_allclose(
        model.heads["gender"].probabilities(unit[:20]), reference.predict_proba(unit[:20]), atol=1e-4
    )


def test_photo_intent_is_a_similarity_weighted_vote():
    neighbours = [
        ({"article_type": "Sandals", "colour": "Brown"}, 0.9),
        ({"article_type": "Flats", "colour": "Brown"}, 0.3),
    ]
    intent = photo_intent(neighbours)
    assert intent["article_type"] == {"Sandals": 0.75, "Flats": 0.25}
    assert intent["colour"] == {"Brown": 1.0}
    assert intent["gender"] == {}
    assert photo_intent([]) == {}


def test_query_like_strings_use_the_products_own_values():
    products = [{"colour": "Black", "gender": "Men", "usage": "Casual", "article_type": "Belts"}]
    for text, i in query_like_strings(products, 50):
        assert i == 0 and text.endswith("Belts")
        assert set(text.split()) <= {"Black", "Men", "Casual", "Belts"}


def test_query_like_strings_name_the_values_of_a_schemas_own_heads_before_the_type():
    products = [{"colour": "Black", "article_type": "Table", "specs.material": "oak"}]
    plain = query_like_strings(products, 200, seed=3)
    named = query_like_strings(products, 200, seed=3, declared=["specs.material"])
    assert 0.3 < sum("oak" in text for text, _ in named) / len(named) < 0.5
    assert all(text.endswith("Table") for text, _ in named) and not any("oak" in t for t, _ in plain)


def test_a_schemas_own_head_is_taught_whether_a_query_names_a_value():
    assert names("Walnut Shelf", "walnut") and names("a home furnishing set", "Home Furnishing")
    assert not names("walnuts", "walnut") and not names("black t-shirt", "Fall")
    x = np.eye(3, dtype=np.float32)
    head = fit_head(x[[0, 0, 1, 1, 2, 2]], ["oak", "oak", "pine", "pine", NAMES_NONE, NAMES_NONE])
    model = AttributeModel({"specs.material": head}, "enc", "v")
    assert set(model.text_intent(x[0])["specs.material"]) <= {"oak", "pine"}  # never the none class
    assert max(model.text_intent(x[2])["specs.material"].values(), default=0) < 0.5  # names none: little


def test_photo_votes_sharpen_towards_the_closest_neighbours_with_a_temperature():
    neighbours = [({"colour": "Brown"}, 0.95), ({"colour": "Black"}, 0.93), ({"colour": "Black"}, 0.93)]
    assert max(photo_intent(neighbours)["colour"], key=photo_intent(neighbours)["colour"].get) == "Black"
    sharp = photo_intent(neighbours, temperature=0.01)["colour"]
    assert sharp["Brown"] == pytest.approx(1 / (1 + 2 * np.exp(-2)), abs=1e-3)


def test_merged_intents_average_and_keep_the_top_values():
    from hybrid_search.models.encoders.attributes import merge_intents

    merged = merge_intents(
        [{"colour": {"Brown": 1.0}}, {"colour": {"Black": 0.6, "Brown": 0.4}, "gender": {"Men": 1.0}}]
    )
    assert merged == {"colour": {"Brown": 0.7, "Black": 0.3}, "gender": {"Men": 0.5}}
    assert merge_intents([]) == {}


def test_voted_values_are_spelled_as_the_catalog_spells_them():
    x, labels = _clusters(np.random.default_rng(1))
    model = train_attribute_model(x, labels, "test-encoder")
    voted = {"article_type": {"belts": 0.7, "scarves": 0.3}, "gender": {"women": 1.0}}
    assert model.canonical(voted) == {"article_type": {"Belts": 0.7, "scarves": 0.3}, "gender": {"Women": 1.0}}


def test_word_intent_shares_the_catalog_words_and_travels_with_the_artifact(tmp_path):
    from hybrid_search.models.encoders.lexicon import Lexicon

    rng = np.random.default_rng(0)
    x, labels = _clusters(rng)
    lexicon = Lexicon(frozenset({"levis", "mark", "taylor", "shirt"}), frozenset({"shirt", "shirts"}))
    model = train_attribute_model(x, labels, "test-encoder", lexicon=lexicon)
    assert model.word_intent("mark taylor shirts") == {"mark": 0.5, "taylor": 0.5}
    assert model.word_intent("blue shirts") == {}
    loaded = load_attribute_model(model.save(tmp_path))
    assert loaded.lexicon == lexicon and loaded.word_intent("levis") == {"levis": 1.0}
    assert train_attribute_model(x, labels, "test-encoder").word_intent("levis") == {}  # no lexicon, no words


def test_the_cross_lingual_vocabulary_travels_with_the_artifact_and_older_ones_have_none(tmp_path):
    from hybrid_search.models.encoders.crosslingual import Vocabulary

    rng = np.random.default_rng(0)
    x, labels = _clusters(rng)
    model = train_attribute_model(x, labels, "test-encoder")
    assert load_attribute_model(model.save(tmp_path / "old")).vocabulary is None
    vectors = {"black": [1.0, 0.0], "shirts": [0.0, 1.0]}
    model.vocabulary = Vocabulary.build(["Black", "Shirts"], lambda texts: np.array([vectors[t] for t in texts]))
    loaded = load_attribute_model(model.save(tmp_path / "new"))
    assert loaded.vocabulary.values == ("black", "shirts")
    assert loaded.vocabulary.nearest(np.array([[0.9, 0.1]]))[0][0] == "black"


def test_a_stratified_sample_keeps_each_types_share_and_every_rare_type():
    products = [{"article_type": "Tshirts"}] * 5000 + [{"article_type": "Ties"}] * 40 + [{"article_type": ""}] * 8
    chosen = stratified_sample(products, "article_type", 500, seed=1)
    kept = [products[i]["article_type"] for i in chosen]
    assert len(set(chosen.tolist())) == len(chosen) and list(chosen) == sorted(chosen)
    assert kept.count("Tshirts") == 495  # its share: 500 x 5000 / 5048
    assert kept.count("Ties") == MIN_PER_VALUE and kept.count("") == 8  # a rare type keeps its floor, or all
    assert list(stratified_sample(products, "article_type", 6000)) == list(range(len(products)))  # no more: all
    assert list(stratified_sample(products, "article_type", 500, seed=1)) == list(chosen)  # the seed decides
