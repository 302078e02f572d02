"""Machine translation of queries into English with Apertium, the open rule-based translation engine
Debian packages with its language pairs (``apertium-eng-spa``; French through Spanish and through
Catalan with ``apertium-fr-es`` and ``apertium-fra-cat`` + ``apertium-eng-cat``; Portuguese through
Spanish with ``apertium-es-pt``).

Word-by-word dictionaries miss what a shopper types most: FreeDict's Spanish has no "zapatillas" or
"sudadera", its French no "sac à dos", and they cannot tell "de" in "gafas de sol" from a word. Apertium
analyses each word's inflection, reads multi-word units and translates them ("esmalte de uñas" is
"nail polish"). A pair is a pipeline of a dozen small programs; each query runs through one kept
running per process in null-flush mode (``-z``: every stage flushes at a NUL), about a millisecond a
query where starting the pipeline anew costs 150 ms.
"""

from __future__ import annotations

import logging
import os
import re
import select
import shlex
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

MODES_DIR = Path("/usr/share/apertium/modes")
# a query language (ISO 639-3, as the dictionaries name it) -> the chains of Apertium modes that take it
# to English; where a language has two, the query is read by both (each pivot knows words the other
# lacks: French through Catalan has "sandales", "soutien-gorge", "boucles d'oreilles"; through
# Spanish "sac à main" as a bag, which Catalan leaves a sack)
CHAINS: dict[str, tuple[tuple[str, ...], ...]] = {
    "spa": (("spa-eng",),),
    "fra": (("fr-es", "spa-eng"), ("fra-cat", "cat-eng")),
    "por": (("pt-es", "spa-eng"),),
}
PACKAGES = {
    "spa-eng": "apertium-eng-spa",
    "fr-es": "apertium-fr-es",
    "pt-es": "apertium-es-pt",
    "fra-cat": "apertium-fra-cat",
    "cat-eng": "apertium-eng-cat",
}
TIMEOUT_S = 2.0  # a pipeline that has not answered by then is restarted (the query keeps the dictionaries')
# Apertium's stream format reserves these (superblanks, lexical units, tags)
_RESERVED = re.compile(r"[\[\]\\^$@/<>{}*#\x00]")
_END = ".[][\n]"  # a sentence end, so the tagger lets the last word through, and an end-of-line blank
# marks in its output: * a word it does not know, # one it could not inflect, @ one its bilingual
# dictionary lacks (each followed by the word as typed, or the lemma)
_MARKED = re.compile(r"[*#@](\w[\w'’.-]*)", re.UNICODE)


class TranslationError(Exception):
    """A pipeline died twice or did not answer in time."""


def mode_stages(mode: Path) -> list[list[str]]:
    """The programs of an Apertium mode file, each in null-flush mode, marking unknown words (the
    ``$1`` the ``apertium`` script fills with ``-g``; ``$2``, the tagger's extra flags, left out)."""
    stages = []
    for command in mode.read_text(encoding="utf-8").strip().split(" | "):
        program, *arguments = shlex.split(command)
        arguments = [{"$1": "-g"}.get(a, a) for a in arguments if a != "$2"]
        stages.append([program, "-z", *arguments])
    return stages


class Pipeline:
    """One Apertium mode as a chain of running processes, started on first use (in each process: a
    forked web worker starts its own), one query at a time."""

    def __init__(self, mode: Path, timeout_s: float = TIMEOUT_S) -> None:
        self.mode = mode
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._processes: list[subprocess.Popen] = []
        self._pid = 0

    def _start(self) -> None:
        self._processes = []
        source = subprocess.PIPE
        for argv in mode_stages(self.mode):
            process = subprocess.Popen(argv, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if source is not subprocess.PIPE:
                source.close()  # the next stage holds it now
            source = process.stdout
            self._processes.append(process)
        self._pid = os.getpid()
        weakref.finalize(self, _stop, list(self._processes))

    def close(self) -> None:
        with self._lock:
            self._reset()

    def translate(self, text: str) -> str:
        """``text`` (one line, no markup) through the pipeline, with its unknown-word marks; a
        pipeline found dead (a stage killed: the stages after it flush what they hold and end) is
        started again once."""
        line = _RESERVED.sub(" ", text).replace("\n", " ") + _END
        with self._lock:
            try:
                return self._attempt(line)
            except TimeoutError as exc:  # (an OSError: caught first) waiting again would double the wait
                self._reset()
                raise TranslationError(f"{self.mode.stem}: {exc}") from exc
            except (OSError, TranslationError):
                self._reset()
            try:
                return self._attempt(line)
            except (OSError, TranslationError) as exc:
                self._reset()
                raise TranslationError(f"{self.mode.stem}: {exc}") from exc

    def _attempt(self, line: str) -> str:
        if self._pid != os.getpid() or not self._running():
            self._start()
        answer = self._exchange(line)
        # a killed stage may not be reaped yet (poll still None) when the stages after it flush an
        # empty line and end: words in, nothing out is a dead pipeline too (an unknown word comes back)
        if not self._running() or (not answer and line.replace(_END, "").strip()):
            raise TranslationError("a stage ended")
        return answer

    def _reset(self) -> None:
        _stop(self._processes)
        self._processes = []

    def _running(self) -> bool:
        return bool(self._processes) and all(p.poll() is None for p in self._processes)

    def _exchange(self, text: str) -> str:
        self._processes[0].stdin.write(text.encode() + b"\0")
        self._processes[0].stdin.flush()
        out, stdout = b"", self._processes[-1].stdout
        deadline = time.monotonic() + self.timeout_s
        while not out.endswith(b"\0"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                raise TimeoutError(f"no answer in {self.timeout_s} s")
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                raise TranslationError("the pipeline closed")
            out += chunk
        return out.rstrip(b"\0").decode("utf-8", "replace").replace(_END, "").strip()


def _stop(processes: Sequence[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


class MachineTranslator:
    """Queries of the languages with an Apertium chain to English (``CHAINS``), where installed."""

    def __init__(self, modes_dir: Path = MODES_DIR, timeout_s: float = TIMEOUT_S) -> None:
        self.modes_dir = modes_dir
        self.pipelines = {
            mode: Pipeline(modes_dir / f"{mode}.mode", timeout_s)
            for chains in CHAINS.values()
            for chain in chains
            for mode in chain
            if (modes_dir / f"{mode}.mode").exists()
        }

    def chains(self, language: str) -> list[tuple[str, ...]]:
        """The chains of ``language`` whose every pair is installed."""
        return [c for c in CHAINS.get(language, ()) if all(m in self.pipelines for m in c)]

    @property
    def languages(self) -> list[str]:
        return [language for language in CHAINS if self.chains(language)]

    def translate(self, language: str, text: str) -> str | None:
        """``text`` in English by each installed chain of ``language``, their distinct readings one
        after the other (a word no pair knows stays as typed), or None where it has no chain here or
        every chain failed (logged)."""
        readings: list[str] = []
        for chain in self.chains(language):
            reading = text
            try:
                for mode in chain:
                    reading = _MARKED.sub(r"\1", self.pipelines[mode].translate(reading))
            except TranslationError as exc:
                log.warning("machine translation failed (%s): the other readings and the gloss serve", exc)
                continue
            reading = " ".join(reading.split())
            if reading.lower() not in (r.lower() for r in readings):
                readings.append(reading)
        return " ".join(readings) if readings else None

    def close(self) -> None:
        for pipeline in self.pipelines.values():
            pipeline.close()


def missing_packages(modes_dir: Path = MODES_DIR) -> list[str]:
    """Debian's packages of the Apertium pairs that are not installed."""
    modes = {m for chains in CHAINS.values() for chain in chains for m in chain}
    return sorted({PACKAGES[m] for m in modes if not (modes_dir / f"{m}.mode").exists()})
