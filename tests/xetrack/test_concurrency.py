"""Many writers, real processes: no lost rows, no duplicate-column errors."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from xetrack import Reader, Tracker
from xetrack.errors import InvalidArgumentError, StoreLockedError

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def _writer(path: str, worker: int, events: int) -> None:
    tracker = Tracker(path, params={"worker": worker})
    for i in range(events):
        # every process adds the same new columns, at about the same moment
        tracker.log({"i": i, f"col_{i % 7}": i * 0.5, "name": f"w{worker}"})
    tracker.close()


# DuckDB lets one process write a file: several writing processes need another
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_eight_processes_adding_the_same_columns_lose_nothing(db_path: Path) -> None:
    path = str(db_path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 500)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * 8
    frame = Reader(path).to_df()
    assert len(frame) == 4000
    assert frame.groupby("worker")["i"].apply(sorted).tolist() == [list(range(500))] * 8
    assert sorted(c for c in frame.columns if c.startswith("col_")) == [
        f"col_{k}" for k in range(7)
    ]


def test_reader_process_sees_committed_rows_while_a_writer_runs(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    tracker = Tracker(path)
    tracker.log({"i": -1})
    reader_code = textwrap.dedent(
        f"""
        import sys
        from xetrack import Reader
        seen = []
        for line in sys.stdin:
            seen.append(len(Reader({str(path)!r})))
            print(seen[-1], flush=True)
        """
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", reader_code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdin and reader.stdout
    counts = []
    for i in range(5):
        tracker.log_batch([{"i": i}] * 10)
        reader.stdin.write("go\n")
        reader.stdin.flush()
        counts.append(int(reader.stdout.readline()))
    reader.stdin.close()
    assert reader.wait(60) == 0
    assert counts == [11, 21, 31, 41, 51]


def test_rows_in_the_same_microsecond_are_all_kept(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    tracker = Tracker(new_db("same"), engine=engine)
    tracker.log_batch([{"i": 1}] * 100)  # one timestamp for the whole batch
    assert tracker.count_run() == 100


def test_threads_share_one_tracker(tmp_path: Path, engine: str, new_db: Any) -> None:
    tracker = Tracker(new_db("threads"), engine=engine)

    def work(n: int) -> None:
        for i in range(200):
            tracker.log({"thread": n, "i": i, f"t{n}": True})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.count_run() == 800


def test_second_duckdb_process_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    holder = Tracker(path, engine="duckdb")
    holder.log({"x": 1})
    code = f"from xetrack import Tracker\nTracker({str(path)!r}, engine='duckdb')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert "StoreLockedError" in done.stderr
    assert (
        "is locked by another process" in done.stderr
        and "engine='sqlite'" in done.stderr
    )
    holder.close()
    assert len(Reader(path)) == 1


def test_store_locked_error_is_a_xetrack_error() -> None:
    from xetrack import XetrackError

    assert issubclass(StoreLockedError, XetrackError)


@pytest.mark.parametrize("start", ["fork"])
# Forking on purpose; under xdist the worker has threads, which 3.12+ warns about.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_forked_child_reopens_its_own_sqlite_connection(
    tmp_path: Path, start: str
) -> None:
    path = str(tmp_path / "fork.db")
    tracker = Tracker(path)
    tracker.log({"who": "parent"})
    ctx = mp.get_context(start)
    child = ctx.Process(target=lambda: tracker.log({"who": "child"}))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    tracker.log({"who": "parent"})
    assert sorted(Reader(path).to_df()["who"]) == ["child", "parent", "parent"]


def test_two_stores_in_one_process_add_the_same_columns(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    """Each store caches the schema; a column the other added is seen, not re-added."""
    path = new_db("twin")
    first, second = Tracker(path, engine=engine), Tracker(path, engine=engine)
    for k in range(20):
        first.log({f"c{k}": k})
        second.log({f"c{k}": k, f"d{k}": 1.5})
    first.close()
    second.close()
    frame = Reader.read_db(path)
    assert len(frame) == 40 and frame[f"c{19}"].notna().sum() == 2


def test_new_columns_do_not_reread_the_schema(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    """Adding a column costs one version check, not a read of every column: the
    cost of an event must not grow with the width of the table."""
    tracker = Tracker(new_db("wide"), engine=engine)
    tracker.log({"step": 0})
    store = tracker._store
    reads: list[str] = []
    original = store._read_schema

    def counting(table: str) -> list[tuple[str, str]]:
        reads.append(table)
        return original(table)

    store._read_schema = counting  # type: ignore[method-assign]
    for k in range(50):
        tracker.log({"step": k, f"metric_{k}": 0.5})
    assert reads == []
    tracker.close()


def test_set_value_sees_columns_another_tracker_of_the_process_added(
    engine: str, new_db: Any
) -> None:
    """Stores of one process share the file: a column one adds is known to the
    other's next write, which neither adds it again nor loses the value."""
    path = new_db("shared")
    first = Tracker(path, engine=engine)
    second = Tracker(path, engine=engine)
    first.log({"step": 0})
    second.log({"step": 1})
    assert first.set_value("note", "a") == 1  # first adds the column
    assert second.set_value("note", "b") == 1  # second has not read it yet
    assert second.set_value("note", "c") == 1
    first.log({"step": 2, "note": "d"})
    frame = Reader(path, engine=engine).to_df()
    assert sorted(frame["note"]) == ["a", "c", "d"]
    first.close()
    second.close()


@pytest.mark.parametrize("change", ["drop", "add", "view"])
@pytest.mark.parametrize("engine", ["sqlite", "duckdb"], indirect=True)
def test_set_value_after_the_schema_changed_behind_the_store(
    engine: str, new_db: Any, change: str
) -> None:
    """A schema changed through the file's raw connection, which the store's cache
    cannot see: the write is retried on a schema read again, or fails clearly (a
    server store's raw connection is not its session: no such case there)."""
    path = new_db("behind")
    tracker = Tracker(path, engine=engine)
    tracker.log({"step": 0, "note": "x"})
    assert tracker.set_value("note", "y") == 1  # the cache knows note and the table
    table = '"default"'
    if change == "drop":
        tracker.conn.execute(f"ALTER TABLE {table} DROP COLUMN note")
        assert tracker.set_value("note", "z") == 1
        tracker.log({"step": 1, "note": "w"})
        assert list(tracker.to_df()["note"]) == ["z", "w"]
    elif change == "add":
        tracker.conn.execute(f"ALTER TABLE {table} ADD COLUMN extra BIGINT")
        assert tracker.set_value("extra", 3) == 1
        tracker.log({"step": 1, "extra": 4})
        assert list(tracker.to_df()["extra"]) == [3, 4]
    else:
        tracker.conn.execute(f"ALTER TABLE {table} RENAME TO events")
        tracker.conn.execute(f"CREATE VIEW {table} AS SELECT * FROM events")
        with pytest.raises(InvalidArgumentError, match="is a view, not a table"):
            tracker.set_value("note", "z")
        tracker.conn.execute(f"DROP VIEW {table}")
        tracker.conn.execute(f"ALTER TABLE events RENAME TO {table}")
    tracker.close()
