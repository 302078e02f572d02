"""Word-by-word query translation from other languages into the catalog's English, with bilingual
dictionaries: FreeDict's (the open dictionaries in dictd format that Debian packages as
``dict-freedict-<lang>-eng``: Spanish, French, German, Japanese and two dozen more).

The multilingual text encoder reads Spanish or German only roughly, and BM25 and the attribute heads
not at all, so a query's words that the catalog never uses are looked up, and replaced by their English
senses, the way CC-CEDICT serves Chinese (``dictionary.py``). The language is the dictionary that
explains most of those words; a query made of catalog words is left alone. Inflected forms (rojas,
schwarze, bleues) reach their headword through a Snowball stemmer; Japanese is segmented by forward
maximum matching, as Chinese is. Senses that name a catalog attribute (a colour, a product type, a
gender) are preferred over the rest: negro is "black", not first "Negro". Where word frequencies
(``word_frequency.py``) are sure of the language, they choose it before the dictionaries' evidence.

A small dictionary (French-English has 8,511 headwords) lacks words a shopper types ("tongs",
"pull"); those reach English through German's, the largest (``pivot_senses``), and gloss a query of
that language without ever telling that a query is one.

A dictd dictionary is compiled once into SQLite beside the models (headword, stem, senses), so every
process reads it from the page cache instead of holding a German dictionary of 100 MB in memory.

Where Apertium has a pair for the language the dictionaries found (Spanish; French through Spanish
and through Catalan; Portuguese through Spanish: ``apertium.py``), its translation of the whole query
comes first and the gloss follows it: Apertium knows what the small dictionaries lack ("sudadera",
"esmalte de uñas"), the gloss what Apertium leaves as typed, and the attribute heads and encoders
read both.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import snowballstemmer

from hybrid_search.models.encoders.apertium import MachineTranslator
from hybrid_search.models.encoders.compiled import Compiled, compiling
from hybrid_search.models.encoders.lexicon import STOPWORDS, tokens, word_forms
from hybrid_search.models.encoders.word_frequency import WordFrequencies, load_frequencies

# ISO 639-3 codes of FreeDict's *-eng dictionaries that Snowball has a stemmer for
STEMMERS = {
    "dan": "danish",
    "eng": "english",
    "deu": "german",
    "fin": "finnish",
    "fra": "french",
    "hun": "hungarian",
    "ita": "italian",
    "nld": "dutch",
    "por": "portuguese",
    "spa": "spanish",
    "swe": "swedish",
    "tur": "turkish",
}
SEGMENTED = {"jpn"}  # written without spaces: segmented by forward maximum matching
DEFAULT_LANGUAGES = ("spa", "fra", "deu", "ita", "por", "nld", "jpn")
# English headwords (of FreeDict's English-German dictionary, the largest): a query's words that English
# explains as well as another language does are English words the catalog happens not to use
ENGLISH = "freedict-eng-deu"
MIN_EVIDENCE = 2  # a language must explain two unknown words, or one as a catalog attribute
DICTD_DIR = Path("/usr/share/dictd")
SCHEMA_VERSION = 3  # 3: the words a language's own dictionary lacks, reached through German's, marked
PIVOT = "deu"  # FreeDict's largest dictionary into English is German's (about 500,000 headwords)
PIVOTED = ("spa", "fra", "ita", "por", "nld")  # languages Debian has FreeDict's <lang>-deu and deu-<lang> for
PIVOT_SENSES = 2  # English senses kept per German word met on the way (Rucksack: rucksack, backpack)
MAX_PHRASE = 4  # words of the longest headword looked up ("gafas de sol", "boucles d'oreilles")
MAX_SEGMENT = 12  # characters of the longest Japanese headword tried
KEPT = 1  # senses a word keeps: the first that names an attribute (赤: red, not also copper)
MAX_SENSE_WORDS = 3  # a longer sense is an explanation ("1st note in the tonic sol-fa ...")

_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = re.compile(f"[{_KANA}]")
HAN = re.compile(f"[{_HAN}]")
# a Japanese run: kana and kanji, with Latin letters glued to them (Tシャツ)
JAPANESE_RUN = re.compile(rf"[A-Za-z]*[{_KANA}{_HAN}]+(?:[A-Za-z]+[{_KANA}{_HAN}]+)*[A-Za-z]*")
WORD = re.compile(r"[^\W\d_]+(?:[.'’&-][^\W\d_]+)*")  # s.oliver, t-shirt, d'oreilles: one word
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_NOT_A_SENSE = re.compile(r"^(\"|Synonyms?:|Antonyms?:|see:|Notes?:|Usage:|From |Etym)")
_MARKUP = re.compile(r"\{[^{}]*\}|<[^<>]*>|\[[^\[\]]*\]")
_PARENS = re.compile(r"\([^()]*\)")


def _number(text: str) -> int:
    """dictd's base-64 offsets and lengths."""
    value = 0
    for char in text:
        value = value * 64 + _B64[char]
    return value


def entry_senses(entry: str) -> list[str]:
    """The English senses of one dictd entry, in order: its first line is the headword and its
    pronunciation; examples, cross-references, notes and grammatical tags are not senses."""
    senses: list[str] = []
    for line in entry.split("\n")[1:]:
        line = re.sub(r"^\d+\.", "", line.strip()).strip()
        if not line or _NOT_A_SENSE.match(line):
            continue
        line = _MARKUP.sub(" ", line).replace("\u2010", "-")
        while _PARENS.search(line):
            line = _PARENS.sub(" ", line)
        for sense in re.split(r"[,;]", line):
            sense = " ".join(sense.split()).removeprefix("to ").strip(" .")
            if sense and sense not in senses:
                senses.append(sense)
    return senses


def read_dictd(index: Path) -> Iterable[tuple[str, list[str]]]:
    """(headword, senses) for every entry of a dictd dictionary (``<name>.index`` beside ``<name>.dict.dz``
    or ``<name>.dict``); a headword may come back once per entry."""
    compressed = index.with_suffix(".dict.dz")
    data = gzip.decompress(compressed.read_bytes()) if compressed.exists() else index.with_suffix(".dict").read_bytes()
    with index.open(encoding="utf-8") as lines:
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3 or fields[0].startswith("00database"):
                continue
            start, size = _number(fields[1]), _number(fields[2])
            senses = entry_senses(data[start : start + size].decode("utf-8", "replace"))
            if senses:
                yield fields[0], senses


def language_of(index: Path) -> str:
    """freedict-spa-eng.index -> spa."""
    return index.name.split("-")[1] if index.name.startswith("freedict-") else index.stem.split("-")[0]


def read_merged(index: Path) -> dict[str, list[str]]:
    """A dictd dictionary's senses per lower-case headword, its entries' merged in dictionary order."""
    merged: dict[str, list[str]] = {}
    for headword, senses in read_dictd(index):
        kept = merged.setdefault(headword.lower(), [])
        kept.extend(s for s in senses if s not in kept)
    return merged


def pivot_indexes(index: Path) -> list[tuple[Path, bool]]:
    """The dictionaries between ``index``'s language and German installed beside it: <lang>-deu, read
    forward, and deu-<lang>, read backward (True); none without German's into English beside them."""
    language = language_of(index)
    if language in (PIVOT, "eng") or not index.name.startswith("freedict-") or not _through(index).exists():
        return []
    found = [(f"freedict-{language}-{PIVOT}", False), (f"freedict-{PIVOT}-{language}", True)]
    return [(path, backward) for name, backward in found if (path := index.with_name(f"{name}.index")).exists()]


def _through(index: Path) -> Path:
    """German's dictionary into English, beside ``index``."""
    return index.with_name(f"freedict-{PIVOT}-eng.index")


def pivot_senses(pivots: Sequence[tuple[Path, bool]], english: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """English senses per word of a language (one word: not a phrase), reached through German: each
    German word of its entry in <lang>-deu, and each German headword of deu-<lang> whose entry has it,
    in English (``english``: deu-eng's senses, PIVOT_SENSES of each)."""
    out: dict[str, list[str]] = {}
    for index, backward in pivots:
        for headword, senses in read_dictd(index):
            for sense in senses:
                if len(sense.split()) > MAX_SENSE_WORDS:
                    continue  # an entry's definition, in its own language
                word, german = (sense.lower(), headword) if backward else (headword.lower(), sense)
                if " " in word:
                    continue  # a phrase's words have their own senses (azul marino: blue, navy)
                kept = out.setdefault(word, [])
                kept.extend(s for s in english.get(german.lower(), ())[:PIVOT_SENSES] if s not in kept)
    return {word: senses for word, senses in out.items() if senses}


def compile_dictionary(index: Path, target: Path, pivoted: Mapping[str, list[str]] | None = None) -> Path:
    """Compile a dictd dictionary into SQLite at ``target`` (written aside, then renamed, so concurrent
    processes never read half a file). Senses of a headword's entries are merged in dictionary order.
    A headword the dictionary lacks takes its senses reached through German (``pivoted``:
    ``pivot_senses``; tong: flip-flop, pull: pullover), marked as not the dictionary's own: they
    gloss a query of that language, and never tell that a query is one."""
    language = language_of(index)
    stemmer = snowballstemmer.stemmer(STEMMERS[language]) if language in STEMMERS else None
    merged = read_merged(index)
    own = set(merged)
    for headword, senses in (pivoted or {}).items():
        merged.setdefault(headword, senses)
    with compiling(target) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("CREATE TABLE entry (headword TEXT PRIMARY KEY, stem TEXT, words INTEGER, senses TEXT, own INTEGER)")
        rows = []
        for headword, senses in merged.items():
            words = len(headword.split())
            stem = stemmer.stemWord(headword) if stemmer is not None and words == 1 else None
            rows.append((headword, stem, words, "\t".join(senses), headword in own))
        db.executemany("INSERT INTO entry VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("CREATE INDEX entry_stem ON entry (stem)")
        longest = max((len(h) if language in SEGMENTED else len(h.split()) for h in merged), default=1)
        meta = {"language": language, "schema": str(SCHEMA_VERSION), "longest": str(longest), "source": str(index)}
        db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    return target


class Bilingual(Compiled):
    """One compiled dictionary: a foreign word or phrase -> its English senses."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        meta = dict(self._db().execute("SELECT key, value FROM meta"))
        self.language = meta["language"]
        self.longest = int(meta["longest"])
        self._stemmer = snowballstemmer.stemmer(STEMMERS[self.language]) if self.language in STEMMERS else None

    @property
    def segmented(self) -> bool:
        return self.language in SEGMENTED

    def senses(self, phrase: str) -> list[str]:
        """The senses of ``phrase`` (lower case): its headword's."""
        return self.entry(phrase)[0]

    def entry(self, phrase: str) -> tuple[list[str], bool]:
        """The senses of ``phrase`` (lower case), and whether they are the dictionary's own (not
        reached through German)."""
        row = self._db().execute("SELECT senses, own FROM entry WHERE headword = ?", (phrase,)).fetchone()
        return (row[0].split("\t"), bool(row[1])) if row else ([], False)

    def has(self, word: str) -> bool:
        """Whether ``word`` is a headword, or shares a headword's stem."""
        db = self._db()
        if db.execute("SELECT 1 FROM entry WHERE headword = ?", (word,)).fetchone():
            return True
        stem = self._stemmer.stemWord(word) if self._stemmer is not None else None
        return stem is not None and db.execute("SELECT 1 FROM entry WHERE stem = ?", (stem,)).fetchone() is not None

    def stem_entry(self, word: str) -> tuple[list[str], bool]:
        """The senses of the other headwords that share ``word``'s stem, shortest first (blauer: blau's
        blue, where blauer itself is "bluer"), and whether one of those headwords is the dictionary's own."""
        if self._stemmer is None or " " in word:
            return [], False
        rows = self._db().execute(
            "SELECT senses, own FROM entry WHERE stem = ? AND headword != ? ORDER BY length(headword), headword",
            (self._stemmer.stemWord(word), word),
        )
        merged: list[str] = []
        own = False
        for senses, mine in rows:
            merged.extend(s for s in senses.split("\t") if s not in merged)
            own = own or bool(mine)
        return merged, own


def _forms(sense: str) -> list[set[str]]:
    """Each word of a sense in its singular and plural forms; a hyphenated sense also as one word
    (hand-bag: handbag)."""
    words = [word_forms(t) for t in tokens(sense)]
    if "-" in sense:
        words.append(word_forms(sense.replace("-", "").lower()))
    return words


def choose_senses(
    senses: Sequence[str], names_attribute: Callable[[str], bool], knows: Callable[[str], bool]
) -> tuple[list[str], bool]:
    """The senses a gloss keeps, and whether they name a catalog attribute: up to KEPT senses whose
    every word names an attribute (black), else that name one (black person), else made of catalog
    words, else using one, else the first; explanations of more than MAX_SENSE_WORDS words never."""
    if senses and not tokens(senses[0]):
        return [], False  # a function word (para: for, in order to; de: of): nothing to search for
    short = [s for s in senses if len(s.split()) <= MAX_SENSE_WORDS]
    groups: list[tuple[list[str], bool]] = []
    for test, naming in ((names_attribute, True), (knows, False)):
        tested = [(s, [any(test(f) for f in forms) for forms in _forms(s)]) for s in short]
        groups.append(([s for s, hits in tested if hits and all(hits)], naming))
        groups.append(([s for s, hits in tested if any(hits)], naming))
    for chosen, naming in groups:
        if chosen:
            return chosen[:KEPT], naming
    return short[:1], False


@dataclass(frozen=True)
class Span:
    """A stretch of the query a dictionary explains: words [start, end) and their senses."""

    start: int
    end: int
    senses: list[str]
    own: bool = True  # found in the language's own dictionary, not only through German's


class Translator:
    """Queries in any language with a dictionary -> the catalog's English, word by word."""

    def __init__(
        self,
        dictionaries: Sequence[Bilingual],
        english: Bilingual | None = None,
        machine: MachineTranslator | None = None,
        frequencies: WordFrequencies | None = None,
    ) -> None:
        self.dictionaries = list(dictionaries)
        self.english = english
        self.machine = machine
        self.frequencies = frequencies

    @property
    def languages(self) -> list[str]:
        return [d.language for d in self.dictionaries]

    def translate(self, text: str, knows: Callable[[str], bool], names_attribute: Callable[[str], bool]) -> str:
        """``text`` in the catalog's words, or unchanged.

        The language is first the one word frequencies tell, where they are sure and its dictionary
        names an attribute in the query ("top rouge femme": English has all three words). Else it is
        the dictionary with the most evidence: the words it explains that the catalog
        does not use or English does not know (blanc, a brand's word here), double where they name a
        catalog attribute, half where English has them too (rouge, open). It needs MIN_EVIDENCE and
        more than the words English explains, so an English query with words the catalog lacks
        (looking, open toe), a typo or a model number stays as typed. In that language a word becomes
        the senses that name an attribute (negra: black; femme: woman); a word whose senses name none
        stays, followed by them (Zehentrenner; morada), so nothing typed is lost to a wrong guess; a
        function word (para, de) goes. A foreign word that language lacks is looked up in the others,
        for an attribute (portefeuille: wallet, from the German dictionary for a French query). With
        Apertium's pair for that language, its translation of the whole query goes before the gloss."""
        if KANA.search(text):
            japanese = [d for d in self.dictionaries if d.segmented]
            return self._segmented(text, japanese[0], knows, names_attribute) if japanese else text
        if HAN.search(text):
            return text  # Chinese: CC-CEDICT's (dictionary.py)
        words = WORD.findall(text)
        lowered = [_content(w) for w in words]
        unknown = [w is not None and (not w.isascii() or not all(knows(t) for t in tokens(w))) for w in lowered]
        english = [w is not None and self.english is not None and self.english.has(w) for w in lowered]
        best, language = self._stated_spans(words, lowered, names_attribute, knows, unknown)
        if not language:
            if not any(unknown):
                return text
            best, language = self._evidenced_spans(lowered, names_attribute, knows, unknown, english)
            if not best:
                return text
        covered = {i for span, _, _ in best for i in range(span.start, span.end)}
        for i, w in enumerate(lowered):
            if i in covered or not unknown[i] or english[i]:
                continue
            for dictionary in self.dictionaries:
                found = [] if dictionary.segmented else self._spans([w], dictionary, names_attribute, knows, [True])
                if found and found[0][2]:
                    best.append((Span(i, i + 1, found[0][0].senses), found[0][1], True))
                    break
        out, i = [], 0
        for span, senses, naming in sorted(best, key=lambda found: found[0].start):
            out.extend(words[i : span.start])
            if senses and not (naming and any(unknown[span.start : span.end])):
                out.extend(words[span.start : span.end])  # a catalog word may be a brand's: kept
            out.extend(s for s in senses if s.lower() != " ".join(words[span.start : span.end]).lower())
            i = span.end
        out.extend(words[i:])
        glossed = " ".join(out) or text
        translated = self.machine.translate(language, text) if self.machine is not None else None
        return f"{translated} {glossed}" if translated else glossed

    def _stated_spans(
        self,
        words: Sequence[str],
        lowered: list[str | None],
        names_attribute: Callable[[str], bool],
        knows: Callable[[str], bool],
        unknown: Sequence[bool],
    ) -> tuple[list[tuple[Span, list[str], bool]], str]:
        """The spans of the language word frequencies say the query is written in
        (``word_frequency.py``), where they are sure and that language names a catalog attribute in it
        (femme: woman; a brand alone, "carrera" or "quechua", names none and stays as typed)."""
        if self.frequencies is None:
            return [], ""
        typed = [w.lower().removesuffix("'s").removesuffix("’s") for w in words]
        stated = self.frequencies.language(typed, [d.language for d in self.dictionaries if not d.segmented])
        for dictionary in self.dictionaries:
            if dictionary.language == stated:
                spans = self._spans(lowered, dictionary, names_attribute, knows, unknown)
                if any(naming for _, _, naming in spans):
                    return spans, stated
        return [], ""

    def _evidenced_spans(
        self,
        lowered: list[str | None],
        names_attribute: Callable[[str], bool],
        knows: Callable[[str], bool],
        unknown: Sequence[bool],
        english: Sequence[bool],
    ) -> tuple[list[tuple[Span, list[str], bool]], str]:
        """The spans of the dictionary with the most evidence (see ``translate``), or none."""
        weight = [
            (0.5 if e else 1.0) if u else (0.0 if e or w is None else 1.0)
            for w, u, e in zip(lowered, unknown, english, strict=True)
        ]
        best: list[tuple[Span, list[str], bool]] = []
        best_score = max(sum(u and e for u, e in zip(unknown, english, strict=True)), MIN_EVIDENCE - 0.5)
        language = ""
        for dictionary in self.dictionaries:
            if dictionary.segmented:
                continue
            spans = self._spans(lowered, dictionary, names_attribute, knows, unknown)
            # what German's dictionary adds glosses a language's queries, and tells none is one
            score = sum((1 + naming) * max(weight[span.start : span.end]) for span, _, naming in spans if span.own)
            if score > best_score:
                best, best_score, language = spans, score, dictionary.language
        return best, language

    @staticmethod
    def _spans(
        words: list[str | None],
        dictionary: Bilingual,
        names_attribute: Callable[[str], bool],
        knows: Callable[[str], bool],
        unknown: Sequence[bool],
    ) -> list[tuple[Span, list[str], bool]]:
        """The longest phrases the dictionary explains, left to right, with the senses they keep: a
        word's own headword's, or (a word the catalog does not use) its stem's headwords' where those
        name an attribute and its own do not."""
        spans, i = [], 0
        while i < len(words):
            for size in range(min(MAX_PHRASE, dictionary.longest, len(words) - i), 0, -1):
                if words[i] is None or words[i + size - 1] is None:
                    continue  # a phrase starts and ends with a content word
                phrase = " ".join(w or "" for w in words[i : i + size])
                senses, own = dictionary.entry(phrase)
                chosen, naming = choose_senses(senses, names_attribute, knows) if senses else ([], False)
                function_word = bool(senses) and not chosen
                stemmable = size == 1 and unknown[i] and not naming and not function_word
                if stemmable and (stemmed := dictionary.stem_entry(phrase))[0]:
                    by_stem = choose_senses(stemmed[0], names_attribute, knows)
                    if by_stem[1]:  # a stem alone is too loose a match for anything else (para: parar)
                        (senses, own), (chosen, naming) = stemmed, by_stem
                if senses:
                    spans.append((Span(i, i + size, senses, own), chosen, naming))
                    i += size
                    break
            else:
                i += 1
        return spans

    @staticmethod
    def _segmented(
        text: str, dictionary: Bilingual, knows: Callable[[str], bool], names_attribute: Callable[[str], bool]
    ) -> str:
        """Japanese runs cut into the longest headwords (a lone kana is no word: what no headword
        explains stays as typed), each replaced by its chosen senses."""

        def gloss(match: re.Match[str]) -> str:
            run, words, unexplained, i = match.group(), [], "", 0
            while i < len(run):
                for size in range(min(MAX_SEGMENT, dictionary.longest, len(run) - i), 0, -1):
                    piece = run[i : i + size]
                    senses = None if size == 1 and KANA.match(piece) else dictionary.senses(piece.lower())
                    if senses:
                        words.extend([unexplained] if unexplained else [])
                        unexplained = ""
                        chosen, naming = choose_senses(senses, names_attribute, knows)
                        words.extend(chosen if naming else [piece, *chosen])
                        i += size
                        break
                    if size == 1:
                        unexplained += piece
                        i += 1
            words.extend([unexplained] if unexplained else [])
            return f" {' '.join(words)} "

        return " ".join(JAPANESE_RUN.sub(gloss, text).split())


def _content(word: str) -> str | None:
    """A query word as the catalog's lexicon spells it (lower case, no possessive), or None for a
    letter alone or an English stopword, which are never evidence of another language."""
    word = word.lower().removesuffix("'s").removesuffix("’s")
    return None if len(word) < 2 or word in STOPWORDS else word


def find_dictionaries(spec: str, languages: Sequence[str] = DEFAULT_LANGUAGES) -> list[Path]:
    """The dictd indexes ``spec`` names: ``freedict`` (FreeDict's <lang>-eng dictionaries installed in
    /usr/share/dictd, for ``languages``, and its English headwords), comma-separated paths to
    ``.index`` files (an English-<lang> one gives the English headwords), or ``none``."""
    if spec == "none":
        return []
    if spec == "freedict":
        names = [f"freedict-{lang}-eng" for lang in languages] + [ENGLISH]
        return [p for p in (DICTD_DIR / f"{name}.index" for name in names) if p.exists()]
    return [Path(p.strip()) for p in spec.split(",") if p.strip()]


def load_translator(spec: str, cache_dir: Path, machine: str = "none") -> Translator | None:
    """The translator over ``spec``'s dictionaries, compiling each one the first time (cached under
    ``cache_dir``, rebuilt when a source is newer; a language's <lang>-deu and deu-<lang> installed
    beside it bring the words it lacks, through deu-eng), with Apertium's pairs where ``machine`` is
    "apertium" and they are installed; None when there are no dictionaries (they tell the language)."""
    dictionaries, english = [], None
    german: dict[str, list[str]] | None = None  # deu-eng, read once where a pivot is compiled
    for index in find_dictionaries(spec):
        compiled = cache_dir / f"{index.stem}.v{SCHEMA_VERSION}.sqlite"
        pivots = pivot_indexes(index)
        sources = [index, *(path for path, _ in pivots), *([_through(index)] if pivots else [])]
        if not compiled.exists() or any(compiled.stat().st_mtime < path.stat().st_mtime for path in sources):
            pivoted = None
            if pivots:
                german = german if german is not None else read_merged(_through(index))
                pivoted = pivot_senses(pivots, german)
            compile_dictionary(index, compiled, pivoted)
        loaded = Bilingual(compiled)
        if loaded.language == "eng":
            english = loaded
        else:
            dictionaries.append(loaded)
    if not dictionaries:
        return None
    pairs = MachineTranslator() if machine == "apertium" else None
    return Translator(
        dictionaries,
        english,
        pairs if pairs is not None and pairs.languages else None,
        load_frequencies([d.language for d in dictionaries], cache_dir),
    )
