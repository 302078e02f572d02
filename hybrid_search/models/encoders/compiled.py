"""Reference data (dictionaries, word frequencies) compiled once into SQLite beside the models, so
every process reads it from the page cache instead of holding it in memory: written aside and
renamed, so a concurrent process never reads half a file, and read through one read-only connection
per thread."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def compiling(target: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a file beside ``target`` that becomes ``target`` once the block ends without
    an error (committed; on an error the partial file goes and ``target`` is untouched)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        with db:
            yield db
    except BaseException:
        db.close()
        partial.unlink(missing_ok=True)
        raise
    db.close()
    partial.replace(target)


class Compiled:
    """A compiled file, read through one read-only connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db
