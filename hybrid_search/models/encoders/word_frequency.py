"""Which language a query is written in, from how often each language uses its words.

A word a bilingual dictionary explains is weak evidence: English has ``femme``, ``rouge`` and
``baskets`` too, and the catalog's brands borrow ``homme`` and ``blanc``, so "top rouge femme" looked
English to the dictionaries. How often each language writes a word tells them apart: wordfreq's
frequency lists (from Wikipedia, subtitles, books, the web; shipped inside its PyPI package) put
``femme`` at 5.6 on the Zipf scale in French and 3.2 in English. A query's words are scored as a
unigram language model would score them (the sum of their Zipf frequencies, a word a list lacks at
FLOOR), and a language wins when it beats English by MARGIN: ten times likelier.

The lists are compiled once into SQLite beside the dictionaries (about 30 MB as Python dicts per
process otherwise), so every process reads them from the page cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from hybrid_search.models.encoders.compiled import Compiled, compiling

# ISO 639-3 (as FreeDict names its dictionaries) -> ISO 639-1 (as wordfreq names its lists)
WORDFREQ_CODES = {"eng": "en", "spa": "es", "fra": "fr", "deu": "de", "ita": "it", "por": "pt", "nld": "nl"}
ENGLISH = "eng"
FLOOR = 2.0  # Zipf frequency of a word a list lacks ("small" lists keep words from 3.0: once per million)
MARGIN = 1.0  # a language must make the query ten times likelier than English does
SCHEMA_VERSION = 1


def compile_frequencies(languages: Sequence[str], target: Path) -> Path:
    """Write wordfreq's "small" lists for ``languages`` (and English) to SQLite at ``target``
    (written aside, then renamed, so concurrent processes never read half a file)."""
    from wordfreq import get_frequency_dict  # its lists load on first use: only here

    codes = [c for c in dict.fromkeys([ENGLISH, *languages]) if c in WORDFREQ_CODES]
    with compiling(target) as db:
        db.execute("CREATE TABLE zipf (word TEXT, language TEXT, zipf REAL, PRIMARY KEY (word, language))")
        for code in codes:
            frequencies = get_frequency_dict(WORDFREQ_CODES[code], wordlist="small")
            db.executemany(
                "INSERT OR IGNORE INTO zipf VALUES (?, ?, ?)",
                ((word, code, round(math.log10(f) + 9, 2)) for word, f in frequencies.items() if f > 0),
            )
    return target


class WordFrequencies(Compiled):
    """Zipf frequencies of words per language, read from a compiled SQLite file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.languages = [r[0] for r in self._db().execute("SELECT DISTINCT language FROM zipf")]

    def zipf(self, words: Sequence[str]) -> dict[str, dict[str, float]]:
        """Each word's Zipf frequency per language (missing where the language's list lacks it)."""
        found: dict[str, dict[str, float]] = {w: {} for w in words}
        marks = ",".join("?" * len(found))
        if found:
            rows = self._db().execute(f"SELECT word, language, zipf FROM zipf WHERE word IN ({marks})", list(found))
            for word, language, zipf in rows:
                found[word][language] = zipf
        return found

    def language(self, words: Sequence[str], candidates: Sequence[str]) -> str | None:
        """The candidate language that makes ``words`` (lower case) likelier than English does by
        MARGIN and likelier than any other candidate, or None (English, or not sure)."""
        if not words or ENGLISH not in self.languages:
            return None
        known = self.zipf(words)

        def score(language: str) -> float:
            return sum(max(known[w].get(language, 0.0), FLOOR) for w in words)

        scored = sorted(((score(c), c) for c in candidates if c in self.languages), reverse=True)
        if not scored or scored[0][0] < score(ENGLISH) + MARGIN:
            return None
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            return None  # a tie between two other languages: the dictionaries' evidence decides
        return scored[0][1]


def load_frequencies(languages: Sequence[str], cache_dir: Path) -> WordFrequencies:
    """The compiled lists for ``languages`` and English (compiled the first time; a new wordfreq
    release compiles them again)."""
    codes = sorted(c for c in set(languages) | {ENGLISH} if c in WORDFREQ_CODES)
    compiled = cache_dir / f"wordfreq-{version('wordfreq')}-{'-'.join(codes)}.v{SCHEMA_VERSION}.sqlite"
    if not compiled.exists():
        compile_frequencies(codes, compiled)
    return WordFrequencies(compiled)
