import sqlite3

import pytest

from hybrid_search.models.encoders.compiled import Compiled, compiling


def test_a_compiled_file_appears_whole_and_is_read_only(tmp_path):
    target = tmp_path / "cache" / "words.sqlite"
    with compiling(target) as db:
        db.execute("CREATE TABLE word (text TEXT)")
        db.execute("INSERT INTO word VALUES ('femme')")
        assert not target.exists()  # written aside until the block ends
    assert [p.name for p in target.parent.iterdir()] == ["words.sqlite"]
    read = Compiled(target)
    assert read._db().execute("SELECT text FROM word").fetchall() == [("femme",)]
    with pytest.raises(sqlite3.OperationalError):
        read._db().execute("INSERT INTO word VALUES ('homme')")


def test_a_compile_that_fails_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "words.sqlite"
    with compiling(target) as db:
        db.execute("CREATE TABLE word (text TEXT)")
    with pytest.raises(RuntimeError), compiling(target) as db:
        db.execute("CREATE TABLE other (text TEXT)")
        raise RuntimeError("the source ended early")
    assert [p.name for p in tmp_path.iterdir()] == ["words.sqlite"]
    tables = Compiled(target)._db().execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("word",)]
