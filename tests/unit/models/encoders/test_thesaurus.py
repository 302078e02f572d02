import os
from pathlib import Path

import pytest

from hybrid_search.models.encoders.lexicon import Lexicon, word_forms
from hybrid_search.models.encoders.thesaurus import Thesaurus, compile_wordnet, load_thesaurus, read_wordnet

# (offset, words, broader offsets, narrower offsets), in WordNet's order of senses per lemma
SYNSETS = [
    ("00000001", ["person", "individual"], [], ["00000002"]),
    ("00000002", ["jumper"], ["00000001"], []),  # one who jumps: the first sense, leads to no attribute
    ("00000003", ["garment"], [], ["00000004", "00000006", "00000009"]),
    ("00000004", ["sweater", "jumper"], ["00000003"], ["00000005"]),
    ("00000005", ["pullover", "slipover"], ["00000004"], []),
    ("00000006", ["coat"], ["00000003"], ["00000007"]),
    ("00000007", ["jacket"], ["00000006"], ["00000008"]),
    ("00000008", ["windcheater", "windbreaker"], ["00000007"], []),
    ("00000009", ["sunglasses", "dark_glasses", "shades(p)"], ["00000003"], []),
    ("00000010", ["bermuda_shorts", "jamaica_shorts"], ["00000011"], []),
    ("00000011", ["shorts"], ["00000003"], ["00000010"]),
]


def write_wordnet(folder: Path) -> Path:
    """WordNet's noun files as Debian's wordnet-base ships them (a licence header indented by two
    spaces, then one line per lemma in index.noun and per synset in data.noun)."""
    header = "  1 This software and database is being provided ...\n"
    data = [header]
    senses: dict[str, list[str]] = {}
    for offset, words, broader, narrower in SYNSETS:
        pointers = [f"@ {o} n 0000" for o in broader] + [f"~ {o} n 0000" for o in narrower]
        listed = " ".join(f"{w} 0" for w in words)
        data.append(f"{offset} 06 n {len(words):02x} {listed} {len(pointers):03d} {' '.join(pointers)} | a gloss\n")
        for word in words:
            senses.setdefault(word.split("(")[0].lower(), []).append(offset)
    index = [header] + [
        f"{lemma} n {len(offsets)} 2 @ ~ {len(offsets)} 0 {' '.join(offsets)}\n"
        for lemma, offsets in sorted(senses.items())
    ]
    (folder / "data.noun").write_text("".join(data), encoding="utf-8")
    (folder / "index.noun").write_text("".join(index), encoding="utf-8")
    return folder


LEXICON = Lexicon(
    title_words=frozenset({"puma", "sweater", "jumper"}),
    attribute_words=frozenset(
        w for v in ("sweaters", "jackets", "sunglasses", "shorts", "blue", "men", "women") for w in word_forms(v)
    ),
)


@pytest.fixture(scope="module")
def thesaurus(tmp_path_factory) -> Thesaurus:
    root = write_wordnet(tmp_path_factory.mktemp("wordnet"))
    return load_thesaurus(str(root), tmp_path_factory.mktemp("compiled"))


def test_wordnet_files_are_read_with_senses_in_order_and_relations(tmp_path):
    lemmas, synsets = read_wordnet(write_wordnet(tmp_path))
    assert lemmas["jumper"] == ["00000002", "00000004"]
    assert synsets["00000009"] == ("sunglasses dark_glasses shades", "00000003", "")  # "(p)" is a marker
    assert synsets["00000006"] == ("coat", "00000003", "00000007")


def test_a_word_leads_to_the_nearest_attribute_word_of_its_first_sense_that_has_one(thesaurus):
    names = LEXICON.names_attribute
    assert thesaurus.related("shades", names) == ["sunglasses"]  # a synonym
    assert thesaurus.related("pullover", names) == ["sweater"]  # broader
    assert thesaurus.related("windcheater", names) == ["jacket"]
    assert thesaurus.related("coat", names) == ["jacket"]  # narrower, where nothing broader names one
    assert thesaurus.related("jumper", names) == ["sweater"]  # the person sense leads nowhere
    assert thesaurus.related("person", names) == []
    assert thesaurus.related("hoodie", names) == []  # not in WordNet


def test_synonyms_only_leave_broader_and_narrower_words_out(thesaurus):
    names = LEXICON.names_attribute
    assert thesaurus.related("shades", names, synonyms_only=True) == ["sunglasses"]
    assert thesaurus.related("pullover", names, synonyms_only=True) == []
    assert thesaurus.related("coat", names, synonyms_only=True) == []
    assert (
        thesaurus.expand("blue shades coat", LEXICON.knows, names, synonyms_only=True) == "blue shades coat sunglasses"
    )


def test_a_query_is_followed_by_the_attribute_words_its_unknown_words_lead_to(thesaurus):
    def expand(text: str) -> str:
        return thesaurus.expand(text, LEXICON.knows, LEXICON.names_attribute)

    assert expand("blue pullovers for men") == "blue pullovers for men sweater"  # plural
    assert expand("Shades for women") == "Shades for women sunglasses"
    assert expand("bermuda shorts") == "bermuda shorts"  # the phrase's own word is there
    assert expand("jamaica shorts") == "jamaica shorts"
    assert expand("coat windcheater") == "coat windcheater jacket"  # each word added once
    assert expand("jacketed coat") == "jacketed coat jacket"  # a word inside another is not it
    assert expand("blue sweaters for men") == "blue sweaters for men"  # the catalog's words
    assert expand("sunglasses shades") == "sunglasses shades"  # the query has it
    assert expand("blue jumper") == "blue jumper"  # a title word is read in the catalog's sense
    assert expand("puma") == "puma"  # a word WordNet has nothing for


def test_compiled_once_and_again_when_the_source_is_newer(tmp_path):
    root = write_wordnet(tmp_path)
    cache = tmp_path / "compiled"
    load_thesaurus(str(root), cache)
    compiled = next(cache.glob("wordnet-nouns.*.sqlite"))
    first = compiled.stat().st_mtime_ns
    load_thesaurus(str(root), cache)
    assert compiled.stat().st_mtime_ns == first
    os.utime(root / "data.noun", ns=(first + 10**9, first + 10**9))
    load_thesaurus(str(root), cache)
    assert compiled.stat().st_mtime_ns > first


def test_no_thesaurus_where_it_is_off_or_missing(tmp_path):
    assert load_thesaurus("none", tmp_path) is None
    assert load_thesaurus(str(tmp_path / "absent"), tmp_path) is None


def test_compile_writes_nothing_partial_on_a_broken_file(tmp_path):
    root = write_wordnet(tmp_path)
    (root / "data.noun").write_text("00000001 06 n zz broken\n", encoding="utf-8")
    target = tmp_path / "out.sqlite"
    with pytest.raises(ValueError):
        compile_wordnet(root, target)
    assert not target.exists()
    assert not list(tmp_path.glob("*.partial"))


def test_debian_wordnet_leads_shoppers_words_to_the_catalogs(tmp_path):
    """Debian's wordnet-base (``local install`` installs it), as /search reads it."""
    thesaurus = load_thesaurus("wordnet", tmp_path)
    catalog = Lexicon(
        title_words=frozenset(),
        attribute_words=frozenset(
            w for v in ("sweaters", "sunglasses", "wallets", "jackets", "tops", "men", "black") for w in word_forms(v)
        ),
    )
    expected = {
        "black billfold for men": "black billfold for men wallet",
        "pullover": "pullover sweater",
        "shades": "shades sunglasses",
        "windcheater": "windcheater jacket",
        "blouse": "blouse top",
    }
    for query, reading in expected.items():
        assert thesaurus.expand(query, catalog.knows, catalog.names_attribute) == reading
