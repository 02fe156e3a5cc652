"""`xt` on files it did not write, or cannot handle as asked: one line, exit 1, no
traceback, and nothing changed by a command that failed."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from xetrack import Reader, Tracker
from xetrack.cli import app

runner = CliRunner()


def xt(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str) -> str:
    assert stderr.startswith("xt: ") and stderr.count("\n") == 1, stderr
    return stderr


def test_runs_of_a_table_without_track_id_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "foreign.db"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE "default" (a INTEGER, b TEXT)')
        conn.execute("INSERT INTO \"default\" VALUES (1, 'x')")
    code, _, stderr = xt("runs", db)
    assert code == 1 and "no 'track_id' column" in one_line(stderr)
    code, out, _ = xt("head", db, "--json")
    assert code == 0 and '"a": 1' in out


def test_head_and_tail_of_a_without_rowid_table(tmp_path: Path) -> None:
    db = tmp_path / "norowid.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            'CREATE TABLE "default" (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID'
        )
        conn.executemany('INSERT INTO "default" VALUES (?, ?)', [("a", 1), ("b", 2)])
    assert xt("head", db, "--n", "1")[0] == 0
    code, out, _ = xt("tail", db, "--n", "1", "--json")
    assert code == 0 and '"v": 2' in out
    assert xt("ls", db, "v", "--unique")[0] == 0


def test_head_of_a_duckdb_view_and_set_on_a_view(tmp_path: Path, engine: str) -> None:
    db = tmp_path / f"view.{engine}"
    with Tracker(db, engine=engine) as tracker:
        tracker.log_batch([{"x": i} for i in range(3)])
        tracker.conn.execute('CREATE VIEW "v" AS SELECT * FROM "default"')
        if engine == "sqlite":
            tracker.conn.commit()
    code, out, stderr = xt("head", db, "--table", "v", "--json")
    assert code == 0, stderr
    assert out.count('"x"') == 3
    code, _, stderr = xt("set", db, "x", "9", "--table", "v", "--all")
    assert code == 1 and "is a view" in one_line(stderr)
    assert sorted(Reader.read_db(db)["x"]) == [0, 1, 2]


def test_a_corrupt_file_is_one_line(tmp_path: Path, engine: str) -> None:
    db = tmp_path / f"broken.{engine}"
    with Tracker(db, engine=engine) as tracker:
        tracker.log_batch([{"x": i, "t": "t" * 100} for i in range(500)])
    data = bytearray(db.read_bytes())
    start = 4096 if engine == "sqlite" else 3 * 4096
    # pages overwritten, size unchanged (SQLite: every page after the schema's, so
    # the runs table, which `xt runs` reads, is damaged too)
    end = len(data) if engine == "sqlite" else start + 8192
    data[start:end] = b"\xff" * (end - start)
    db.write_bytes(bytes(data))
    for command in (["head", db], ["runs", db], ["sql", db, 'SELECT * FROM "default"']):
        code, _, stderr = xt(*command)
        assert code == 1, command
        one_line(stderr)


def test_a_foreign_table_gets_the_fixed_columns_when_logged_into(
    tmp_path: Path,
) -> None:
    db = tmp_path / "other-tool.db"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE "default" (score REAL)')
        conn.execute('INSERT INTO "default" VALUES (0.5)')
    with Tracker(db) as tracker:
        tracker.log({"score": 0.7})
    assert xt("runs", db)[0] == 0
    assert Reader.read_db(db)["score"].tolist() == [0.5, 0.7]


def test_more_columns_than_sqlite_allows_is_one_line_and_writes_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "wide.db"
    columns = ", ".join(f"c{i} INTEGER" for i in range(1998))
    with sqlite3.connect(db) as conn:  # near the limit in one statement: fast
        conn.execute(
            f'CREATE TABLE "default" (timestamp TEXT, track_id TEXT, {columns})'
        )
    tracker = Tracker(db)
    tracker.log({"c0": 1})
    with pytest.raises(ValueError, match="2000 columns, SQLite's limit"):
        tracker.log({f"k{i}": i for i in range(10)})
    assert tracker.count_run() == 1 and len(tracker.columns) == 2000
    tracker.close()
    code, _, stderr = xt("set", db, "k9", "1", "--all")
    assert code == 1 and "2000 columns" in one_line(stderr)


@pytest.mark.all_engines
def test_copy_with_a_column_clash_in_letter_case_is_one_line(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    source, target = new_db("s"), new_db("t")
    with Tracker(source, engine=engine) as tracker:
        tracker.log({"Acc": 0.5})
    with Tracker(target, engine=engine) as tracker:
        tracker.log({"acc": "high"})
    code, _, stderr = xt("copy", source, target)
    assert code == 1
    one_line(stderr)
    assert len(Reader.read_db(target)) == 1


def test_delete_on_a_table_of_600_text_columns_succeeds_whole(tmp_path: Path) -> None:
    db = tmp_path / "wide.db"
    with Tracker(db, track_id="keep-run") as keep:
        kept = keep.log({"obj": {1}, **{f"t{i}": "x" for i in range(600)}})["obj"]
    with Tracker(db, track_id="doomed-run") as doomed:
        gone = doomed.log({"obj": {2}, "t5": "y"})["obj"]
    code, out, stderr = xt("delete", db, "doomed-run")
    assert code == 0, stderr
    assert "deleted 1 rows" in out
    with Reader(db) as reader:
        assert reader.track_ids() == ["keep-run"]
        assert kept in reader.assets and gone not in reader.assets
