"""Apertium's pipelines, run for real (``local install`` installs Debian's apertium-* pairs)."""

import stat

import pytest

from hybrid_search.models.encoders.apertium import (
    CHAINS,
    MODES_DIR,
    MachineTranslator,
    Pipeline,
    TranslationError,
    mode_stages,
)


@pytest.fixture(scope="module")
def machine():
    translator = MachineTranslator()
    assert translator.languages == list(CHAINS), "Apertium's pairs are missing: run `hybrid-search local install`"
    yield translator
    translator.close()


def test_a_mode_file_becomes_its_programs_in_null_flush_mode(tmp_path):
    mode = tmp_path / "xx-eng.mode"
    mode.write_text("lt-proc '/data/xx.automorf.bin' | apertium-tagger -g $2 '/data/xx.prob' | lt-proc $1 '/d/g.bin'\n")
    assert mode_stages(mode) == [
        ["lt-proc", "-z", "/data/xx.automorf.bin"],
        ["apertium-tagger", "-z", "-g", "/data/xx.prob"],
        ["lt-proc", "-z", "-g", "/d/g.bin"],
    ]


def test_spanish_is_translated_whole_with_its_multi_word_units(machine):
    assert machine.translate("spa", "esmalte de uñas verde para mujer").lower() == "green nail polish for woman"
    assert machine.translate("spa", "sudadera morada para hombre").lower() == "purple sweatshirt for man"


def test_french_is_read_through_spanish_and_through_catalan_and_portuguese_through_spanish(machine):
    assert machine.translate("fra", "sac à dos marron femme").lower() == "brown rucksack woman brown backpack wife"
    # each pivot knows what the other lacks: sandales through Catalan only
    assert machine.translate("fra", "sandales blanches").lower() == "sandales white white sandals"
    assert machine.translate("fra", "chemise rouge homme").lower() == "red shirt man"  # one reading, not twice
    assert "black" in machine.translate("por", "camisetas pretas para homem").lower().split()


def test_a_chain_that_fails_leaves_the_others_reading(tmp_path, caplog):
    stall = tmp_path / "stall"
    stall.write_text("#!/bin/sh\nsleep 30\n")
    stall.chmod(stall.stat().st_mode | stat.S_IEXEC)
    for mode in ("fr-es", "spa-eng"):
        (tmp_path / f"{mode}.mode").write_text(f"{stall}\n")
    for mode in ("fra-cat", "cat-eng"):
        (tmp_path / f"{mode}.mode").write_text((MODES_DIR / f"{mode}.mode").read_text())
    machine = MachineTranslator(tmp_path, timeout_s=3)  # the stall is 30 s; a cold chain on a busy machine, seconds
    assert machine.chains("fra") == list(CHAINS["fra"])
    assert machine.translate("fra", "chemise rouge").lower() == "red shirt"
    assert "machine translation failed" in caplog.text
    machine.close()


def test_a_word_no_pair_knows_stays_as_typed_without_its_mark(machine):
    assert machine.translate("spa", "remanika camiseta negra").split()[0] == "remanika"


def test_the_stream_formats_reserved_characters_do_not_break_the_pipeline(machine):
    assert "black" in machine.translate("spa", "camiseta [negra] ^$@/<>{}*# \\ \x00").lower()
    assert machine.translate("spa", "vestido azul").lower() == "blue dress"  # the next query is its own


def test_a_language_without_a_pair_is_not_translated(machine):
    assert machine.translate("deu", "schwarze Herren Sporthose") is None


def test_a_pipeline_that_died_starts_again(machine):
    pipeline = machine.pipelines["spa-eng"]
    machine.translate("spa", "vestido azul")
    pipeline._processes[3].kill()
    assert machine.translate("spa", "vestido azul").lower() == "blue dress"


def test_a_pipeline_that_does_not_answer_gives_up_and_the_query_goes_on(tmp_path, caplog):
    stall = tmp_path / "stall"
    stall.write_text("#!/bin/sh\nsleep 30\n")
    stall.chmod(stall.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "spa-eng.mode").write_text(f"{stall}\n")
    machine = MachineTranslator(tmp_path, timeout_s=0.2)
    assert machine.languages == ["spa"]
    assert machine.translate("spa", "vestido azul") is None
    assert "machine translation failed" in caplog.text
    with pytest.raises(TranslationError):
        Pipeline(tmp_path / "spa-eng.mode", timeout_s=0.2).translate("vestido")
    machine.close()


def test_the_pairs_are_where_debian_puts_them():
    assert all((MODES_DIR / f"{m}.mode").exists() for chains in CHAINS.values() for chain in chains for m in chain)
