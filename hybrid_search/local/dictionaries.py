"""What queries are read with: FreeDict's bilingual dictionaries and Apertium's language pairs (queries
in other languages), and WordNet (words the catalog does not use), from Debian's dict-freedict-*,
apertium-* and wordnet-base packages, installed (and compiled) once by ``local install`` and ``up``;
a process that finds them missing still compiles what is there on its first query."""

from __future__ import annotations

from hybrid_search.core.settings import Settings
from hybrid_search.local.apt import apt_install
from hybrid_search.models.encoders.apertium import missing_packages
from hybrid_search.models.encoders.bilingual import (
    DEFAULT_LANGUAGES,
    DICTD_DIR,
    ENGLISH,
    PIVOT,
    PIVOTED,
    load_translator,
)
from hybrid_search.models.encoders.thesaurus import WORDNET_DIR, load_thesaurus

WORDNET_PACKAGE = "wordnet-base"


def freedict_packages(languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> list[str]:
    """Debian's packages of the <lang>-English dictionaries, of the English headwords, and of the
    dictionaries between a language and German, through whose dictionary into English a language's
    small one reaches the words it lacks (``bilingual.pivot_senses``)."""
    pivots = [
        f"dict-freedict-{a}-{b}" for lang in languages if lang in PIVOTED for a, b in ((lang, PIVOT), (PIVOT, lang))
    ]
    return [f"dict-freedict-{lang}-eng" for lang in languages] + [f"dict-{ENGLISH}"] + pivots


def ensure_dictionaries(settings: Settings) -> list[str]:
    """Install FreeDict's dictionaries (with ``query_dictionaries=freedict``), Apertium's pairs (with
    ``query_translation=apertium``) and WordNet (with ``query_thesaurus=wordnet``) where missing, compile
    them, and return the languages queries can be translated from ("spa+apertium": a language Apertium
    translates too), and "wordnet" where it is there."""
    missing = []
    if settings.query_dictionaries == "freedict":
        missing += [p for p in freedict_packages() if not (DICTD_DIR / f"{p.removeprefix('dict-')}.index").exists()]
    if settings.query_translation == "apertium":
        missing += missing_packages()
    if settings.query_thesaurus == "wordnet" and not (WORDNET_DIR / "data.noun").exists():
        missing.append(WORDNET_PACKAGE)
    if missing:
        apt_install(missing)
    translator = load_translator(settings.query_dictionaries, settings.dictionaries_dir, settings.query_translation)
    thesaurus = ["wordnet"] if load_thesaurus(settings.query_thesaurus, settings.dictionaries_dir) else []
    if translator is None:
        return thesaurus
    machine = translator.machine.languages if translator.machine is not None else []
    return [f"{lang}+apertium" if lang in machine else lang for lang in translator.languages] + thesaurus
