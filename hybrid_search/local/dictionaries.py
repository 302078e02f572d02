"""The bilingual dictionaries queries are translated with: FreeDict's, from Debian's dict-freedict
packages, installed and compiled once by ``local install`` and ``up`` (a process that finds them
missing still compiles what is there on its first query)."""

from __future__ import annotations

from hybrid_search.encoders.bilingual import DEFAULT_LANGUAGES, DICTD_DIR, ENGLISH, load_translator
from hybrid_search.local.apt import apt_install
from hybrid_search.settings import Settings


def freedict_packages(languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> list[str]:
    """Debian's packages of the <lang>-English dictionaries and of the English headwords."""
    return [f"dict-freedict-{lang}-eng" for lang in languages] + [f"dict-{ENGLISH}"]


def ensure_dictionaries(settings: Settings) -> list[str]:
    """Install FreeDict's dictionaries that are missing (with ``query_dictionaries=freedict``), compile
    them all, and return the languages queries can be translated from."""
    if settings.query_dictionaries == "freedict":
        missing = [p for p in freedict_packages() if not (DICTD_DIR / f"{p.removeprefix('dict-')}.index").exists()]
        if missing:
            apt_install(missing)
    translator = load_translator(settings.query_dictionaries, settings.dictionaries_dir)
    return translator.languages if translator is not None else []
