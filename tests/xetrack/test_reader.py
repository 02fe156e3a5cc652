"""Reader: read-only, never creates files, clear errors for bad paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from xetrack import Reader, Tracker
from xetrack.errors import (
    DatabaseNotFoundError,
    EngineMismatchError,
    InvalidArgumentError,
    NotADatabaseError,
    UnknownColumnError,
    UnknownTableError,
)


def _two_runs(db_path: Path, engine: str) -> tuple[str, str]:
    first = Tracker(db_path, engine=engine, track_id="first-run-0001")
    first.log_batch([{"x": i} for i in range(3)])
    first.close()
    second = Tracker(db_path, engine=engine, track_id="second-run-0002")
    second.log_batch([{"x": i, "flag": True} for i in range(10, 12)])
    second.close()
    return first.track_id, second.track_id


@pytest.mark.all_engines
def test_reader_reads_every_run_and_filters(db_path: Path, engine: str) -> None:
    first, second = _two_runs(db_path, engine)
    reader = Reader(db_path)
    assert reader.engine == engine
    assert len(reader) == 5
    assert reader.to_df()["x"].tolist() == [0, 1, 2, 10, 11]
    assert reader.to_df(track_id=first)["x"].tolist() == [0, 1, 2]
    assert reader.to_df(head=2)["x"].tolist() == [0, 1]
    assert reader.to_df(tail=2)["x"].tolist() == [10, 11]
    assert reader.to_df(track_id=first, tail=1)["x"].tolist() == [2]
    assert reader.to_df(tail=0).empty
    assert reader.latest()["track_id"].unique().tolist() == [second]
    assert reader.track_ids() == [first, second]
    assert reader.columns == ["timestamp", "track_id", "x", "flag"]
    assert set(reader.dtypes) == set(reader.columns)
    frame = Reader.read_db(db_path, track_id=second, head=1)
    assert frame["x"].tolist() == [10] and frame["flag"].tolist() == [True]
    reader.close()


@pytest.mark.all_engines
def test_reader_writes_what_the_reference_gives_it(db_path: Path, engine: str) -> None:
    first, second = _two_runs(db_path, engine)
    reader = Reader(db_path)
    assert reader.set_value("label", "base", track_id=first) == 3
    assert reader.set_where("label", "top", "x", 11) == 1
    assert reader.delete_run(second) == 2
    frame = reader.to_df()
    assert frame["label"].tolist() == ["base"] * 3
    with pytest.raises(UnknownColumnError, match="no column 'nope' in table 'default'"):
        reader.set_where("label", "x", "nope", 1)
    reader.close()


def test_reader_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(DatabaseNotFoundError, match=f"no database at {missing}"):
        Reader(missing)
    assert not missing.exists()


def test_reader_on_a_text_file_names_it(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database\n")
    with pytest.raises(
        NotADatabaseError, match=f"{text} is neither an SQLite nor a DuckDB database"
    ):
        Reader(text)
    with pytest.raises(NotADatabaseError, match="neither an SQLite nor a DuckDB"):
        Tracker(text)
    assert text.read_text() == "hello, this is not a database\n"


def test_reader_on_an_empty_file_and_a_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(NotADatabaseError, match="is an empty file"):
        Reader(empty)
    with pytest.raises(NotADatabaseError, match="is a directory"):
        Reader(tmp_path)


@pytest.mark.all_engines
def test_unknown_table_lists_the_tables(db_path: Path, engine: str) -> None:
    Tracker(db_path, engine=engine, table="runs").log({"x": 1})
    with pytest.raises(
        UnknownTableError, match=r"no table 'default' .* tables there: 'runs'"
    ):
        Reader(db_path)


def test_engine_is_detected_and_a_mismatch_is_refused(
    db_path: Path, engine: str
) -> None:
    Tracker(db_path, engine=engine).log({"x": 1})
    other = "duckdb" if engine == "sqlite" else "sqlite"
    before = db_path.read_bytes()
    with pytest.raises(
        EngineMismatchError, match=f"is a {engine} database but engine='{other}'"
    ):
        Tracker(db_path, engine=other)
    with pytest.raises(EngineMismatchError):
        Reader(db_path, engine=other)
    assert Tracker(db_path).engine == engine  # no engine: the file's
    assert db_path.read_bytes()[:16] == before[:16]


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidArgumentError,
        match="engine 'oracle' is not known; use one of 'sqlite', 'duckdb', 'postgres'",
    ):
        Tracker(tmp_path / "x.db", engine="oracle")
    assert list(tmp_path.iterdir()) == []


def test_a_server_engine_needs_a_url_and_a_url_no_file_engine(tmp_path: Path) -> None:
    """The URL names the engine; nothing is created or contacted on a mismatch."""
    with pytest.raises(
        InvalidArgumentError, match="engine='postgres' needs a server URL"
    ):
        Tracker(tmp_path / "x.db", engine="postgres")
    url = "postgresql://ci:s3cret@127.0.0.1:1/bench"
    with pytest.raises(EngineMismatchError, match="is a PostgreSQL server but") as err:
        Reader(url, engine="duckdb")
    assert "s3cret" not in str(err.value) and "ci:***@" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        DatabaseNotFoundError, match=r"the folder .*nope.* does not exist"
    ):
        Tracker(tmp_path / "nope" / "x.db")


def test_duckdb_reader_and_tracker_share_a_file_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    tracker = Tracker(path, engine="duckdb")
    tracker.log({"x": 1})
    reader = Reader(path)
    tracker.log({"x": 2})
    assert reader.to_df()["x"].tolist() == [1, 2]
    reader.close()
    tracker.log({"x": 3})
    assert tracker.count_all() == 3
