import os
from pathlib import Path

import pytest

from hybrid_search.models.encoders.bilingual import (
    Bilingual,
    Translator,
    choose_senses,
    compile_dictionary,
    entry_senses,
    find_dictionaries,
    load_translator,
    pivot_indexes,
    read_dictd,
)
from hybrid_search.models.encoders.lexicon import Lexicon, word_forms
from hybrid_search.models.encoders.word_frequency import load_frequencies

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(number: int) -> str:
    out = ""
    while True:
        out = _B64[number % 64] + out
        number //= 64
        if not number:
            return out


def write_dictd(folder: Path, name: str, entries: dict[str, str]) -> Path:
    """A dictd dictionary as FreeDict ships it: <name>.index (headword, base-64 offset and length)
    beside <name>.dict (here uncompressed; the packages' .dict.dz is gzip)."""
    data, index = b"", ["00databaseinfo\tA\tB"]
    for headword, body in entries.items():
        entry = f"{headword} /pron/\n{body}\n".encode()
        index.append(f"{headword}\t{_b64(len(data))}\t{_b64(len(entry))}")
        data += entry
    (folder / f"{name}.dict").write_bytes(data)
    path = folder / f"{name}.index"
    path.write_text("\n".join(index) + "\n", encoding="utf-8")
    return path


SPANISH = {
    "negro": "1. Negro\n2. black",
    "camisa": "shirt",
    "hombre": "1. man, human being\n2. fellow",
    "para": "for, to, in order to",
    "zapatilla": "slipper",
    "gafas de sol": "sunglasses",
    "morado": "violet",
    "vestido": "dress, gown",
    "puma": "cougar",
    "carrera": "race, career",
}
FRENCH = {"portefeuille": "wallet", "femme": "woman, wife", "rouge": "1. red\n2. rouge", "pull": "sweater"}
GERMAN = {"portefeuille": "wallet", "schwarz": 'black <adj>\n   "schwarz wie die Nacht" - black as coal'}
JAPANESE = {
    "赤": "1. (noun (common) (futsuumeishi))\nred, crimson\n2. red-containing colour",
    "腕時計": "wristwatch",
    "メンズ": "men's",
}
ENGLISH = {"open": "offen", "toe": "Zeh", "looking": "schauend", "rouge": "Rouge", "everyday": "alltäglich"}
LEXICON = Lexicon(
    title_words=frozenset({"shirt", "shirts", "femme", "puma", "casual", "sandals", "for"}),
    attribute_words=frozenset(
        w
        for v in ("black", "men", "women", "shirts", "red", "wallets", "sunglasses", "watches", "sandals", "dresses")
        for w in word_forms(v)
    ),
)


@pytest.fixture(scope="module")
def translator(tmp_path_factory) -> Translator:
    folder = tmp_path_factory.mktemp("dictd")
    cache = tmp_path_factory.mktemp("compiled")
    indexes = [
        write_dictd(folder, f"freedict-{lang}-eng", entries)
        for lang, entries in (("spa", SPANISH), ("fra", FRENCH), ("deu", GERMAN), ("jpn", JAPANESE))
    ]
    indexes.append(write_dictd(folder, "freedict-eng-deu", ENGLISH))
    loaded = load_translator(",".join(str(p) for p in indexes), cache)
    assert loaded is not None
    return loaded


def translate(translator: Translator, text: str) -> str:
    return translator.translate(text, LEXICON.knows, LEXICON.names_attribute)


def test_entry_senses_skip_pronunciation_examples_notes_and_tags():
    entry = (
        'Kleid /klaɪt/ <n>\n [textil.] dress <n>\n   "ein Kleid tragen" - wear a dress\n   see: {Kleider}\nframe, gown'
    )
    assert entry_senses(entry) == ["dress", "frame", "gown"]
    assert entry_senses("赤 /aka/\n1. (noun (common) (futsuumeishi))\n{白・1}red, crimson\n2. Note: rare") == [
        "red",
        "crimson",
    ]
    assert entry_senses("hablar /a/\nto speak") == ["speak"]


def test_read_dictd_and_compile_give_every_headword(tmp_path):
    index = write_dictd(tmp_path, "freedict-spa-eng", SPANISH)
    assert dict(read_dictd(index))["hombre"] == ["man", "human being", "fellow"]
    compiled = Bilingual(compile_dictionary(index, tmp_path / "spa.sqlite"))
    assert compiled.language == "spa"
    assert compiled.longest == 3  # gafas de sol
    assert compiled.senses("camisa") == ["shirt"]
    assert compiled.senses("camisas") == []  # exact headwords only ...
    assert compiled.stem_entry("camisas") == (["shirt"], True)  # ... the stem finds the plural
    assert compiled.stem_entry("negras") == (["Negro", "black"], True)
    assert compiled.has("negras") and not compiled.has("blue")


def test_choose_senses_prefers_attributes_then_catalog_words_and_drops_function_words():
    assert choose_senses(["Negro", "black"], LEXICON.names_attribute, LEXICON.knows) == (["black"], True)
    assert choose_senses(["man", "human being"], LEXICON.names_attribute, LEXICON.knows) == (["man"], True)
    assert choose_senses(["slipper"], LEXICON.names_attribute, LEXICON.knows) == (["slipper"], False)
    assert choose_senses(["for", "to", "in order to"], LEXICON.names_attribute, LEXICON.knows) == ([], False)
    long = ["1st note in the tonic sol-fa scale", "red"]
    assert choose_senses(long, LEXICON.names_attribute, LEXICON.knows) == (["red"], True)


def test_a_spanish_query_reaches_the_catalogs_words(translator):
    # negras: the stem finds negro, whose attribute sense wins over its first; para is a function word
    assert translate(translator, "camisas negras para hombre") == "shirt black man"
    assert translate(translator, "Gafas de sol negras") == "sunglasses black"  # a phrase headword
    # a word whose senses name no attribute stays beside them: a wrong guess loses nothing typed
    assert translate(translator, "vestido morado para mujer") == "dress morado violet mujer"


def test_a_word_the_language_lacks_is_looked_up_in_the_others_for_an_attribute(translator):
    # French, by femme and rouge; portefeuille only the German dictionary has
    assert translate(translator, "portefeuille rouge femme") == "wallet red femme woman"


def test_english_queries_stay_as_typed(translator):
    assert translate(translator, "black shirts for men") == "black shirts for men"  # catalog words
    # words the catalog lacks that English has, typos and model numbers are no evidence of a language
    assert translate(translator, "black open toe sandals for men") == "black open toe sandals for men"
    assert translate(translator, "looking for everyday casual shirts") == "looking for everyday casual shirts"
    assert translate(translator, "blak shrit x2298") == "blak shrit x2298"
    assert translate(translator, "puma") == "puma"  # a brand, even if a language had the word


def test_japanese_is_segmented_and_what_no_headword_explains_stays(translator):
    # an attribute's sense replaces the word (メンズ: men's); one that names none stays beside it
    assert translate(translator, "メンズ赤腕時計") == "men's red 腕時計 wristwatch"
    assert translate(translator, "メンズ クルタ") == "men's クルタ"  # クルタ: no headword, no lone kana word


def test_find_dictionaries_reads_the_spec(tmp_path):
    assert find_dictionaries("none") == []
    assert find_dictionaries(f"{tmp_path}/a.index, {tmp_path}/b.index") == [tmp_path / "a.index", tmp_path / "b.index"]


def test_a_dictionary_is_compiled_again_when_its_source_changes(tmp_path):
    index = write_dictd(tmp_path, "freedict-fra-eng", FRENCH)
    cache = tmp_path / "cache"
    assert load_translator(str(index), cache).dictionaries[0].senses("pull") == ["sweater"]
    write_dictd(tmp_path, "freedict-fra-eng", {**FRENCH, "pull": "jumper"})
    later = index.stat().st_mtime + 10
    os.utime(index, (later, later))
    assert load_translator(str(index), cache).dictionaries[0].senses("pull") == ["jumper"]
    assert load_translator("none", cache) is None


def test_words_a_small_dictionary_lacks_reach_english_through_the_german_dictionaries(tmp_path):
    """French -> German (read forward) and German -> French (read backward), then German -> English,
    for the headwords the French dictionary lacks; its own keep their senses, and only they tell that a
    query is French."""
    french = write_dictd(tmp_path, "freedict-fra-eng", FRENCH)
    write_dictd(tmp_path, "freedict-fra-deu", {"tong": "Flipflop, Badelatschen\nSandale de plage", "pull": "Pulli"})
    write_dictd(tmp_path, "freedict-deu-fra", {"Turnschuh": "baskets, chaussure de sport"})
    german = {
        "Flipflop": "flip-flop, Japanese sandal, jandal",
        "Badelatschen": "shower sandals",
        "Turnschuh": "gym shoe, sneaker",
        "Pulli": "pullover, jumper",
    }
    write_dictd(tmp_path, "freedict-deu-eng", german)
    assert pivot_indexes(french) == [
        (tmp_path / "freedict-fra-deu.index", False),
        (tmp_path / "freedict-deu-fra.index", True),
    ]
    assert pivot_indexes(tmp_path / "freedict-deu-eng.index") == []  # German is the pivot
    loaded = load_translator(str(french), tmp_path / "cache")
    (dictionary,) = loaded.dictionaries
    assert dictionary.entry("tong") == (["flip-flop", "Japanese sandal", "shower sandals"], False)  # two a word
    assert dictionary.entry("baskets") == (["gym shoe", "sneaker"], False)
    assert dictionary.entry("chaussure de sport") == ([], False)  # a phrase: its words have their own
    assert dictionary.entry("pull") == (["sweater"], True)  # its own senses stay
    assert dictionary.stem_entry("tongs") == (["flip-flop", "Japanese sandal", "shower sandals"], False)
    lexicon = Lexicon(LEXICON.title_words, LEXICON.attribute_words | {"flip", "flop", "flops"})
    # French by femme and rouge, then the words German's dictionary brings are glossed too ...
    assert "flip-flop" in loaded.translate("tongs rouges femme", lexicon.knows, lexicon.names_attribute).split()
    # ... but they alone are no evidence of French
    assert loaded.translate("tongs baskets", lexicon.knows, lexicon.names_attribute) == "tongs baskets"


def test_with_apertium_a_query_reads_its_whole_translation_beside_the_dictionaries_gloss(translator):
    """Apertium reads inflections and multi-word units the dictionaries lack (sudadera, esmalte de
    uñas); their gloss follows, for what Apertium leaves as typed. English and Japanese queries are
    as without it."""
    from hybrid_search.models.encoders.apertium import MachineTranslator

    machine = MachineTranslator()
    both = Translator(translator.dictionaries, translator.english, machine)
    try:
        assert translate(both, "camisas negras para hombre") == "Black shirts for man shirt black man"
        assert translate(both, "black open toe sandals for men") == "black open toe sandals for men"
        assert translate(both, "メンズ赤腕時計") == translate(translator, "メンズ赤腕時計")
    finally:
        machine.close()


def test_word_frequencies_tell_a_french_query_that_english_explains_too(translator):
    """rouge, femme and top are English words too, and the catalog uses top and femme: the
    dictionaries' evidence took "top rouge femme" for English. wordfreq's lists make it French by
    far; a brand alone that is a word elsewhere (carrera) names no attribute there and stays."""
    assert translator.frequencies is not None
    catalog = Lexicon(  # a catalog whose titles use top and rouge (a lipstick's)
        title_words=LEXICON.title_words | {"top", "rouge"},
        attribute_words=LEXICON.attribute_words | word_forms("tops"),
    )
    without = Translator(translator.dictionaries, translator.english, None)
    assert without.translate("top rouge femme", catalog.knows, catalog.names_attribute) == "top rouge femme"
    # what the catalog uses is kept as typed beside its senses
    told = translator.translate("top rouge femme", catalog.knows, catalog.names_attribute)
    assert told == "top rouge red femme woman"
    assert translate(translator, "carrera") == "carrera"
    assert translate(translator, "black shirts for men") == "black shirts for men"


def test_word_frequencies_score_each_language_against_english(tmp_path):
    frequencies = load_frequencies(["fra", "spa", "deu"], tmp_path)
    assert frequencies is not None and set(frequencies.languages) == {"eng", "fra", "spa", "deu"}
    candidates = ["fra", "spa", "deu"]
    assert frequencies.language(["baskets", "rouges", "femme"], candidates) == "fra"
    assert frequencies.language(["zapatillas", "negras", "para", "hombre"], candidates) == "spa"
    assert frequencies.language(["schwarze", "herren", "sporthose"], candidates) == "deu"
    assert frequencies.language(["black", "casual", "shoes", "for", "men"], candidates) is None
    assert frequencies.language(["remanika"], candidates) is None  # no list has it: no language
    assert frequencies.language(["baskets", "rouges", "femme"], ["spa"]) is None  # only the candidates
    assert frequencies.language([], candidates) is None
