"""Errors tell the truth: the real cause (full disk, permission, read-only mount,
truncation, the process holding a lock), never a cleanup error or a guess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xetrack import Reader, Tracker
from xetrack.cli import app
from xetrack.errors import (
    CorruptDatabaseError,
    DiskFullError,
    InvalidArgumentError,
    InvalidValueError,
    StoreLockedError,
    StorePermissionError,
)

runner = CliRunner()


def _xt(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception
    )
    return result.exit_code, result.stderr


def _one_line(stderr: str) -> str:
    assert stderr.startswith("xt: ") and stderr.count("\n") == 1, stderr
    return stderr


# -- a full disk --------------------------------------------------------------------------
def test_a_full_disk_is_reported_as_full_and_loses_nothing(
    small_disk: Path, fill: Callable[[Path], Path]
) -> None:
    db = small_disk / "exp.db"
    with Tracker(db, track_id="run-1") as tracker:
        tracker.log_batch([{"x": i, "note": "a"} for i in range(50)])
    reader = Reader(db)
    reader.set_value(
        "note", "b"
    )  # the writable connection is open before the disk fills
    filler = fill(small_disk)
    with pytest.raises(DiskFullError, match="disk is full while updating rows of"):
        reader.set_value("note", "y" * 200_000)
    code, stderr = _xt("set", db, "note", "z" * 200_000, "--all")
    assert code == 1 and "disk is full" in _one_line(stderr)
    assert "rollback" not in stderr
    filler.unlink()
    reader.close()
    frame = Reader.read_db(db)
    assert len(frame) == 50 and set(frame["note"]) == {"b"}


def test_a_full_disk_under_duckdb_is_not_an_aborted_transaction(
    small_disk: Path, fill: Callable[[Path], Path]
) -> None:
    db = small_disk / "exp.duckdb"
    tracker = Tracker(db, engine="duckdb")
    tracker.log({"x": 0, "text": "a"})
    filler = fill(small_disk)
    with pytest.raises(DiskFullError, match="disk is full"):
        tracker.log_batch([{"x": i, "text": "z" * 1000 + str(i)} for i in range(500)])
    filler.unlink()
    tracker.log({"x": 1, "text": "b"})  # the store still works
    assert tracker.count_run() == 2
    tracker.close()


def test_the_batch_view_cannot_collide_with_a_user_table(tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    with Tracker(db, engine="duckdb") as tracker:
        tracker.conn.execute('CREATE TABLE "__xetrack_batch" (c0 VARCHAR)')
        tracker.conn.execute("INSERT INTO \"__xetrack_batch\" VALUES ('mine')")
        tracker.log_batch([{"n": i} for i in range(100)])
        assert sorted(tracker.to_df()["n"]) == list(range(100))
        kept = tracker.conn.execute('SELECT * FROM "__xetrack_batch"').fetchall()
        assert kept == [("mine",)]


# -- the real cause of an open failure -------------------------------------------------------
def test_a_file_without_read_permission_is_named_as_such(
    tmp_path: Path, engine: str, unprivileged: Callable[..., object]
) -> None:
    db = tmp_path / f"secret.{engine}"
    Tracker(db, engine=engine).close()
    db.chmod(0o000)
    done = unprivileged(
        f"from xetrack import Reader\nReader({str(db)!r})",
    )
    assert done.returncode != 0  # type: ignore[attr-defined]
    err = done.stderr.strip().splitlines()[-1]  # type: ignore[attr-defined]
    assert "StorePermissionError" in err and "permission denied" in err
    assert "locked" not in err and "not a database" not in err


def test_writing_a_read_only_file_names_the_file_and_the_permission(
    tmp_path: Path, engine: str, unprivileged: Callable[..., object]
) -> None:
    db = tmp_path / f"frozen.{engine}"
    with Tracker(db, engine=engine) as tracker:
        tracker.log({"x": 1})
    db.chmod(0o444)
    done = unprivileged(
        textwrap.dedent(
            f"""
            from xetrack import Reader, Tracker
            from xetrack.errors import StorePermissionError
            with Reader({str(db)!r}) as reader:
                print(len(reader))
            try:
                Tracker({str(db)!r}).log({{"x": 2}})
            except StorePermissionError as exc:
                print("refused:", exc)
            """
        )
    )
    out = done.stdout  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
    assert out.splitlines()[0] == "1"
    assert f"cannot write {db}: permission denied" in out


def test_a_truncated_file_is_called_truncated(tmp_path: Path, engine: str) -> None:
    db = tmp_path / f"cut.{engine}"
    with Tracker(db, engine=engine) as tracker:
        tracker.log_batch([{"x": i, "text": "t" * 200} for i in range(2000)])
    data = db.read_bytes()
    db.write_bytes(data[: 9000 if engine == "duckdb" else len(data) // 2])
    with pytest.raises(CorruptDatabaseError, match="truncated"):
        Reader(db).to_df()
    code, stderr = _xt("head", db)
    assert code == 1 and "truncated" in _one_line(stderr)


def test_a_duckdb_lock_names_the_process_that_holds_it(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys\nfrom xetrack import Tracker\nt = Tracker({str(db)!r}, "
            f"engine='duckdb')\nt.log({{'x': 1}})\nprint('ready', flush=True)\n"
            f"sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        with pytest.raises(StoreLockedError, match=f"PID {holder.pid}"):
            Tracker(db, engine="duckdb")
    finally:
        holder.kill()
        holder.wait()


# -- read-only directories and mounts -----------------------------------------------------------
def _suite(folder: Path, engine: str) -> Path:
    db = folder / f"bench.{engine}"
    for commit, slow in (("a" * 40, 1.0), ("b" * 40, 2.0)):
        with Tracker(db, engine=engine, params={"git_commit": commit}) as run:
            run.log_batch(
                [
                    {"test_nodeid": "t::x", "function_time": 0.01 * slow + i / 1e4}
                    for i in range(8)
                ]
            )
    return db


def test_a_database_on_a_read_only_mount_reads_and_refuses_writes_in_one_line(
    tmp_path: Path, engine: str, read_only: Callable[[Path], Path]
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _suite(folder, engine)
    cache = folder / "cache"
    with Tracker(folder / "c.db", cache=cache) as tracker:
        tracker.track(pow, args=[2, 3])
    read_only(folder)
    before = sorted(p.name for p in folder.rglob("*"))
    assert len(Reader.read_db(db)) == 16
    for command in (
        ["head", db],
        ["tail", db, "--n", "2"],
        ["sql", db, 'SELECT COUNT(*) FROM "default"'],
        ["runs", db],
        ["compare", db, "--repo", tmp_path],
        ["history", db, "--no-chart"],
        ["cache", "ls", cache],
    ):
        code, stderr = _xt(*command)
        assert code == 0, (command, stderr)
    with pytest.raises(StorePermissionError, match="read-only file system"):
        Tracker(db, engine=engine)
    code, stderr = _xt("set", db, "x", "1", "--all")
    assert code == 1 and "read-only file system" in _one_line(stderr)
    with pytest.warns(UserWarning, match="cannot be used"):
        tracker = Tracker(Tracker.IN_MEMORY, cache=cache)
        assert tracker.track(pow, args=[2, 4]) == 16
        assert tracker.track(pow, args=[2, 5]) == 32  # one warning, then uncached
    assert sorted(p.name for p in folder.rglob("*")) == before


def test_a_database_in_a_folder_without_write_permission_can_be_read(
    tmp_path: Path, unprivileged: Callable[..., object]
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    db = _suite(folder, "sqlite")
    folder.chmod(0o555)
    done = unprivileged(
        textwrap.dedent(
            f"""
            from xetrack import Reader, Tracker
            from xetrack.errors import StorePermissionError
            with Reader({str(db)!r}) as reader:
                print(len(reader))
            try:
                Tracker({str(db)!r})
            except StorePermissionError as exc:
                print("refused:", exc)
            """
        )
    )
    folder.chmod(0o755)
    assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
    lines = done.stdout.splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "16"
    assert "is not writable" in lines[1] and str(folder) in lines[1]


# -- values and settings ----------------------------------------------------------------------------
def test_a_dict_nested_thousands_deep_is_an_invalid_value() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(5000):
        node["d"] = {}
        node = node["d"]  # type: ignore[assignment]
    tracker = Tracker(Tracker.IN_MEMORY)
    with pytest.raises(InvalidValueError, match="nested too deeply"):
        tracker.log({"deep": deep})
    assert tracker.track(lambda value: 1, [deep]) == 1  # described, not a crash


def test_duckdb_returns_bytes_as_bytes(tmp_path: Path) -> None:
    db = tmp_path / "b.duckdb"
    with Tracker(db, engine="duckdb") as tracker:
        tracker.log({"blob": b"\x00\x01"})
        assert type(tracker.to_df()["blob"][0]) is bytes
    with Reader(db) as reader:
        assert type(reader.to_df()["blob"][0]) is bytes
        assert type(reader.sql('SELECT blob FROM "default"')["blob"][0]) is bytes


def test_the_lock_wait_is_configurable_and_the_error_says_how_long(
    tmp_path: Path,
) -> None:
    import sqlite3

    db = tmp_path / "busy.db"
    Tracker(db).log({"x": 1})
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreLockedError, match=r"for 0\.2 s"):
            # opening records the run, a write: the wait ends there already
            Tracker(db, timeout=0.2).log({"x": 2})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with pytest.raises(InvalidArgumentError, match="timeout=-1"):
        Tracker(db, timeout=-1)
