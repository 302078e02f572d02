"""Query words the catalog does not use, led to the attribute words WordNet relates them to.

A shopper types "pullover", "shades", "billfold" or "windcheater" where the catalog says Sweaters,
Sunglasses, Wallets and Jackets, and a dictionary's gloss brings "jumper" for a French "pull": the
attribute heads learned the catalog's words from its titles and read these as nothing in particular.
WordNet (Princeton's lexical database of English, Debian's ``wordnet-base``) relates them: a synonym
in the same synset (shades: sunglasses; billfold: wallet), a broader word (pullover: sweater;
windcheater: jacket; blouse: top), else a narrower one (coat: jacket). A word's most common senses
are tried in WordNet's order, and within a sense the nearest relation that names an attribute wins,
so the words added are always the catalog's own; a word no relation leads to one (a brand, a typo,
"hoodie", which WordNet 3.0 lacks) adds nothing. A word the catalog's titles use is read in the
catalog's sense and left alone: "denim" is a material there, where WordNet's synset is "denim,
dungaree, jean"; "wear" is no call for "clothing" (bench/README.md, relevance/wordnet). A Chinese
or Japanese query's dictionary gloss already chose its senses: only synonyms follow it (a gloss's
"gray" is the catalog's "grey", its "knapsack" a backpack), broader and narrower words cost those
intents (relevance/zh_unseen).

The database files are compiled once into SQLite beside the dictionaries (``compiled.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from hybrid_search.models.encoders.compiled import Compiled, compiling
from hybrid_search.models.encoders.lexicon import TOKEN, tokens, word_forms

WORDNET_DIR = Path("/usr/share/wordnet")  # Debian's wordnet-base: WordNet 3.0's database files
SCHEMA_VERSION = 1
# senses tried, most common first; the first that leads to an attribute word wins (jumper: a person,
# an athlete, then a sweater)
SENSES = 4
KEPT = 2  # related words added per query word
MAX_PHRASE = 3  # words of the longest lemma tried ("bermuda shorts", "dress shoe")
BROADER, NARROWER = ("@", "@i"), ("~", "~i")  # WordNet's hypernym and hyponym pointers (and instances')


def read_wordnet(root: Path) -> tuple[dict[str, list[str]], dict[str, tuple[str, str, str]]]:
    """WordNet's nouns: each lemma's synsets, most common first, and each synset's words, broader and
    narrower synsets (space-separated), keyed by the synset's offset in ``data.noun``."""
    lemmas: dict[str, list[str]] = {}
    with (root / "index.noun").open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(" "):
                continue  # the licence
            fields = line.split()
            pointers = int(fields[3])
            lemmas[fields[0]] = fields[6 + pointers :]
    synsets: dict[str, tuple[str, str, str]] = {}
    with (root / "data.noun").open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(" "):
                continue
            fields = line.split(" | ")[0].split()
            count = int(fields[3], 16)
            words = [fields[4 + 2 * i].lower().split("(")[0] for i in range(count)]  # "shades", not "shades(p)"
            at = 4 + 2 * count
            relations = [(fields[at + 1 + 4 * k], fields[at + 2 + 4 * k]) for k in range(int(fields[at]))]
            broader = [offset for symbol, offset in relations if symbol in BROADER]
            narrower = [offset for symbol, offset in relations if symbol in NARROWER]
            synsets[fields[0]] = (" ".join(words), " ".join(broader), " ".join(narrower))
    return lemmas, synsets


def compile_wordnet(root: Path, target: Path) -> Path:
    """Compile WordNet's noun files under ``root`` into SQLite at ``target`` (written aside, then renamed)."""
    lemmas, synsets = read_wordnet(root)
    with compiling(target) as db:
        db.execute("CREATE TABLE lemma (lemma TEXT PRIMARY KEY, synsets TEXT)")
        db.execute("CREATE TABLE synset (offset TEXT PRIMARY KEY, words TEXT, broader TEXT, narrower TEXT)")
        db.executemany("INSERT INTO lemma VALUES (?, ?)", ((k, " ".join(v)) for k, v in lemmas.items()))
        db.executemany("INSERT INTO synset VALUES (?, ?, ?, ?)", ((k, *v) for k, v in synsets.items()))
    return target


class Thesaurus(Compiled):
    """WordNet's nouns, compiled: a word -> the attribute words it is related to."""

    def synsets(self, lemma: str) -> list[str]:
        """The synsets of ``lemma`` (lower case, words joined by "_"), most common sense first."""
        row = self._db().execute("SELECT synsets FROM lemma WHERE lemma = ?", (lemma,)).fetchone()
        return row[0].split() if row else []

    def _synset(self, offset: str) -> tuple[list[str], list[str], list[str]]:
        words, broader, narrower = (
            self._db().execute("SELECT words, broader, narrower FROM synset WHERE offset = ?", (offset,)).fetchone()
        )
        return words.split(), broader.split(), narrower.split()

    def _words(self, offsets: Iterable[str]) -> list[str]:
        return [word for offset in offsets for word in self._synset(offset)[0]]

    def related(self, lemma: str, names_attribute: Callable[[str], bool], synonyms_only: bool = False) -> list[str]:
        """The words (with spaces) whose every word names an attribute, of the nearest relation that has
        any (its synonyms, else broader words, else narrower ones; its synonyms alone where
        ``synonyms_only``) in the first of ``lemma``'s SENSES most common senses that leads to one."""
        for offset in self.synsets(lemma)[:SENSES]:
            words, broader, narrower = self._synset(offset)
            groups = (words,) if synonyms_only else (words, self._words(broader), self._words(narrower))
            for group in groups:
                phrases = dict.fromkeys(word.replace("_", " ") for word in group if word != lemma)
                found = [phrase for phrase in phrases if _names(phrase, names_attribute)]
                if found:
                    return found[:KEPT]
        return []

    def expand(
        self,
        text: str,
        knows: Callable[[str], bool],
        names_attribute: Callable[[str], bool],
        synonyms_only: bool = False,
    ) -> str:
        """``text`` followed by the attribute words that its words the catalog does not use lead to
        (longest phrase first, each word in one; through synonyms alone where ``synonyms_only``), or
        ``text`` unchanged."""
        words = TOKEN.findall(text.lower())
        said = set(words)  # a related word the query already has is not added (bermuda shorts: shorts)
        added: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(MAX_PHRASE, len(words) - i), 0, -1):
                phrase = words[i : i + size]
                if all(knows(t) for word in phrase for t in tokens(word)):
                    continue  # the catalog's own words, in its sense: denim, wear, purse
                found = next(
                    (r for lemma in _lemmas(phrase) if (r := self.related(lemma, names_attribute, synonyms_only))), []
                )
                if found:
                    added.extend(w for w in found if w not in added and not set(TOKEN.findall(w)) <= said)
                    i += size
                    break
            else:
                i += 1
        return f"{text} {' '.join(added)}" if added else text


def _names(phrase: str, names_attribute: Callable[[str], bool]) -> bool:
    words = tokens(phrase)
    return bool(words) and all(names_attribute(w) for w in words)


def _lemmas(phrase: list[str]) -> list[str]:
    """How WordNet may spell ``phrase``: joined by "_", by "-" and as one word, its last word also in
    its singular forms (shades is a lemma of its own; pullovers is not)."""
    *head, last = phrase
    forms = [last, *sorted(f for f in word_forms(last) if len(f) < len(last))]
    joins = ("_", "-", "") if head else ("_",)
    return list(dict.fromkeys(sep.join([*head, form]) for form in forms for sep in joins))


def load_thesaurus(spec: str, cache_dir: Path) -> Thesaurus | None:
    """The thesaurus ``spec`` names: "wordnet" (Debian's wordnet-base), a directory of WordNet's
    database files, or "none"; compiled under ``cache_dir`` the first time (rebuilt when its source
    is newer). None where the files are missing."""
    if spec == "none":
        return None
    root = WORDNET_DIR if spec == "wordnet" else Path(spec)
    source = root / "data.noun"
    if not source.exists():
        return None
    compiled = cache_dir / f"wordnet-nouns.v{SCHEMA_VERSION}.sqlite"
    if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
        compile_wordnet(root, compiled)
    return Thesaurus(compiled)
