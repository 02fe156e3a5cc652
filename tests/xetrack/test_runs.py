"""Runs as records: status, start and end, error, process and git state of each run."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from xetrack import Reader, Tracker, copy
from xetrack.errors import InvalidArgumentError
from xetrack.store import open_store
from xetrack.store.schema import RUNS_TABLE

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def runs_of(db: Path, **filters: str) -> dict[str, dict[str, object]]:
    with Reader(db) as reader:
        frame = reader.runs(**filters)
    return {str(r["track_id"]): r for r in frame.to_dict(orient="records")}


def test_with_block_records_a_finished_run(db_path: Path, engine: str) -> None:
    with Tracker(db_path, engine=engine, track_id="fine-run-0001") as tracker:
        tracker.log_batch([{"x": i} for i in range(3)])
        tracker.log({"x": 3})
    run = runs_of(db_path)["fine-run-0001"]
    assert run["status"] == "finished" and run["rows"] == 4
    assert run["table_name"] == "default" and run["error"] is None
    assert run["started"] <= run["ended"]  # type: ignore[operator]
    assert run["pid"] and run["host"]


def test_an_exception_in_the_with_block_records_a_failed_run(
    db_path: Path, engine: str
) -> None:
    with pytest.raises(ValueError, match="diverged"):
        with Tracker(db_path, engine=engine, track_id="bad-run-0001") as tracker:
            tracker.log({"loss": 1.0})
            raise ValueError("loss diverged")
    run = runs_of(db_path)["bad-run-0001"]
    assert run["status"] == "failed" and run["rows"] == 1
    assert run["error"] == "ValueError: loss diverged"


def test_keyboard_interrupt_records_an_interrupted_run(db_path: Path) -> None:
    db = db_path
    with pytest.raises(KeyboardInterrupt):
        with Tracker(db, track_id="stopped-0001") as tracker:
            tracker.log({"x": 1})
            raise KeyboardInterrupt
    assert runs_of(db)["stopped-0001"]["status"] == "interrupted"


def test_close_finishes_and_a_tracker_that_logged_nothing_leaves_no_record(
    db_path: Path, engine: str
) -> None:
    kept = Tracker(db_path, engine=engine, track_id="kept-0001")
    kept.log({"x": 1})
    kept.close()
    Tracker(db_path, engine=engine, track_id="reader-0001").close()
    found = runs_of(db_path)
    assert found["kept-0001"]["status"] == "finished"
    assert "reader-0001" not in found


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(body))
    return path


def _gone(db: Path, track_id: str) -> dict[str, object]:
    """The run's record once the store has seen its process go: a server learns
    it when the dead process's connection closes, a moment after the kill."""
    deadline = time.monotonic() + 30
    while True:
        found = runs_of(db)[track_id]
        if found["status"] != "running" or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# DuckDB lets one process at a time open a file: no reader beside a live writer
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_a_killed_process_shows_as_interrupted(tmp_path: Path, db_path: Path) -> None:
    """On a server, from any host: the run's connection held a lock, which the
    server dropped when the killed process's connection closed."""
    db = db_path
    job = _script(
        tmp_path,
        f"""
        import sys
        from xetrack import Tracker
        tracker = Tracker({str(db)!r}, track_id="doomed-0001")
        tracker.log({{"step": 1}})
        print("ready", flush=True)
        sys.stdin.readline()  # wait until killed
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, str(job)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        alive = runs_of(db)["doomed-0001"]
        assert alive["status"] == "running" and alive["rows"] == 1
        assert runs_of(db, status="running").keys() == {"doomed-0001"}
    finally:
        proc.kill()
        proc.wait(30)
    dead = _gone(db, "doomed-0001")
    assert dead["status"] == "interrupted" and dead["rows"] == 1
    assert runs_of(db, status="interrupted").keys() == {"doomed-0001"}
    assert runs_of(db, status="running") == {}


def test_a_script_that_never_closes_is_finished_at_exit_or_failed_by_its_error(
    tmp_path: Path, db_path: Path
) -> None:
    db = db_path
    for name, ending in (
        ("normal-0001", ""),
        ("crash-0001", "raise RuntimeError('oom')"),
    ):
        job = _script(
            tmp_path,
            f"""
            from xetrack import Tracker
            tracker = Tracker({str(db)!r}, track_id={name!r})
            tracker.log({{"step": 1}})
            {ending}
            """,
        )
        subprocess.run([sys.executable, str(job)], capture_output=True, check=False)
    found = runs_of(db)
    assert found["normal-0001"]["status"] == "finished"
    assert found["crash-0001"]["status"] == "failed"
    assert found["crash-0001"]["error"] == "RuntimeError: oom"


def test_git_params_and_a_reopened_run_update_the_record(
    db_path: Path, engine: str
) -> None:
    params = {"git_commit": "ab" * 20, "git_branch": "main", "env_fingerprint": "e1"}
    with Tracker(db_path, engine=engine, track_id="again-0001", params=params) as t:
        t.log({"x": 1})
    first = runs_of(db_path)["again-0001"]
    with Tracker(db_path, engine=engine, track_id="again-0001") as t:
        t.log({"x": 2})
    again = runs_of(db_path)["again-0001"]
    assert (again["git_commit"], again["git_branch"], again["env_fingerprint"]) == (
        "ab" * 20,
        "main",
        "e1",
    )
    assert again["rows"] == 2 and again["started"] == first["started"]


def test_a_derived_tracker_records_the_run_in_its_table_too(
    db_path: Path, engine: str
) -> None:
    with Tracker(db_path, engine=engine, track_id="multi-0001") as root:
        root.log({"x": 1})
        root.derive(table="bench").log({"y": 1})
        root.derive(table="bench").log({"y": 2})
    with Reader(db_path, table="bench") as reader:
        (bench,) = reader.run_records()
    assert (bench.track_id, bench.status, bench.rows) == ("multi-0001", "finished", 2)


def _old_store(path: Path, runs: int = 3, rows: int = 4) -> None:
    """What an xetrack without run records left: an event table, no index."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        'CREATE TABLE "default" (timestamp TEXT, track_id TEXT, i INTEGER, '
        "git_commit TEXT)"
    )
    conn.executemany(
        'INSERT INTO "default" VALUES (?, ?, ?, ?)',
        [
            (f"2025-01-0{r + 1} 00:00:0{k}.000000+00:00", f"old-{r}", k, f"{r:040x}")
            for r in range(runs)
            for k in range(rows)
        ],
    )
    conn.commit()
    conn.close()


def _has_index_and_runs_table(path: Path) -> tuple[bool, bool]:
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    index = any(n.startswith("_xetrack_idx_default") for n in names)
    return index, RUNS_TABLE in names


def test_an_old_store_reads_its_runs_from_the_rows_without_writing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    _old_store(db)
    found = runs_of(db)
    assert list(found) == ["old-0", "old-1", "old-2"]
    assert found["old-1"]["status"] == "finished" and found["old-1"]["rows"] == 4
    assert found["old-1"]["git_commit"] == f"{1:040x}"
    assert found["old-1"]["started"] == "2025-01-02 00:00:00.000000+00:00"
    assert _has_index_and_runs_table(db) == (False, False)  # a Reader wrote nothing


def test_the_first_writer_indexes_an_old_store_and_rebuilds_its_runs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    _old_store(db)
    with Tracker(db, track_id="new-0001") as tracker:
        tracker.log({"i": 9})
    assert _has_index_and_runs_table(db) == (True, True)
    found = runs_of(db)
    assert list(found) == ["old-0", "old-1", "old-2", "new-0001"]
    assert [found[f"old-{r}"]["rows"] for r in range(3)] == [4, 4, 4]
    conn = sqlite3.connect(db)
    plan = " ".join(
        str(r[-1])
        for r in conn.execute(
            'EXPLAIN QUERY PLAN SELECT * FROM "default" WHERE track_id = ?', ["x"]
        )
    )
    conn.close()
    assert "USING INDEX" in plan


def test_upgrading_an_old_store_while_other_processes_write_loses_nothing(
    tmp_path: Path,
) -> None:
    """Old-style writers (raw INSERTs) and new Trackers start at the same moment on
    a store without index or runs table: every row lands, nobody errors."""
    db = tmp_path / "busy.db"
    _old_store(db, runs=5, rows=2000)
    old_writer = textwrap.dedent(
        f"""
        import sqlite3, sys
        sys.stdin.readline()
        conn = sqlite3.connect({str(db)!r}, timeout=120)
        for k in range(300):
            conn.execute('INSERT INTO "default" (timestamp, track_id, i) VALUES '
                         "('2026-01-01 00:00:00.000000+00:00', ?, ?)", [sys.argv[1], k])
            conn.commit()
        """
    )
    new_writer = textwrap.dedent(
        f"""
        import sys
        from xetrack import Tracker
        sys.stdin.readline()
        with Tracker({str(db)!r}, track_id=sys.argv[1]) as tracker:
            for k in range(300):
                tracker.log({{"i": k}})
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, name],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code, name in [
            *((old_writer, f"raw-{k}") for k in range(2)),
            *((new_writer, f"new-{k}") for k in range(3)),
        ]
    ]
    for proc in procs:  # all at once, once every interpreter is up
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    errors = [proc.communicate(timeout=300)[1] for proc in procs]
    assert [p.returncode for p in procs] == [0] * 5, errors
    assert errors == [""] * 5
    with Reader(db) as reader:
        assert len(reader) == 5 * 2000 + 5 * 300
        records = {r.track_id: r for r in reader.run_records()}
    assert all(records[f"new-{k}"].rows == 300 for k in range(3))
    assert all(records[f"old-{r}"].rows == 2000 for r in range(5))
    assert {records[f"new-{k}"].status for k in range(3)} == {"finished"}
    assert _has_index_and_runs_table(db) == (True, True)


def test_copy_keeps_run_records_and_delete_run_drops_them(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    source = tmp_path / "src.db"
    with pytest.raises(ValueError):
        with Tracker(source, track_id="failing-0001") as tracker:
            tracker.log({"x": 1})
            raise ValueError("nope")
    target = new_db("dst")
    copy(source, target, engine=engine)
    found = runs_of(target)
    assert list(found) == ["failing-0001"]  # and not the copying tracker's own run
    assert (found["failing-0001"]["status"], found["failing-0001"]["rows"]) == (
        "failed",
        1,
    )
    with Reader(target) as reader:
        reader.delete_run("failing-0001")
    assert runs_of(target) == {}


def test_rows_written_for_other_runs_get_records_from_their_rows(
    db_path: Path, engine: str
) -> None:
    with Tracker(db_path, engine=engine, track_id="importer-0001") as tracker:
        tracker.write_rows(
            [
                {"timestamp": "2024-05-01 10:00:00.000000+00:00", "track_id": "imp-1"},
                {"timestamp": "2024-05-01 11:00:00.000000+00:00", "track_id": "imp-1"},
            ]
        )
    (record,) = runs_of(db_path).values()
    assert (record["track_id"], record["rows"], record["started"]) == (
        "imp-1",
        2,
        "2024-05-01 10:00:00.000000+00:00",
    )


def test_reset_drops_the_tables_records(db_path: Path, engine: str) -> None:
    with Tracker(db_path, engine=engine, track_id="gone-0001") as tracker:
        tracker.log({"x": 1})
    with Tracker(db_path, engine=engine, track_id="fresh-0001", reset=True) as t:
        t.log({"x": 2})
    assert list(runs_of(db_path)) == ["fresh-0001"]


def test_runs_filters_and_their_errors(db_path: Path, engine: str) -> None:
    for name, commit, branch in (
        ("r-main-0001", "a" * 40, "main"),
        ("r-feat-0001", "b" * 40, "feature"),
    ):
        params = {"git_commit": commit, "git_branch": branch}
        with Tracker(db_path, engine=engine, track_id=name, params=params) as t:
            t.log({"x": 1})
    with Tracker(db_path, engine=engine, track_id="importer-0001") as t:
        t.write_rows(
            [{"timestamp": "2020-01-01 00:00:00.000000+00:00", "track_id": "r-old"}]
        )
    assert list(runs_of(db_path, commit="bbbb")) == ["r-feat-0001"]
    assert list(runs_of(db_path, branch="main")) == ["r-main-0001"]
    assert list(runs_of(db_path, since="2d")) == ["r-main-0001", "r-feat-0001"]
    assert list(runs_of(db_path, since="2019-12-31")) == [
        "r-old",
        "r-main-0001",
        "r-feat-0001",
    ]
    assert runs_of(db_path, status="failed") == {}
    with Reader(db_path) as reader:
        with pytest.raises(InvalidArgumentError, match="status 'done' is not one of"):
            reader.runs(status="done")
        with pytest.raises(InvalidArgumentError, match="since 'yesterday' is neither"):
            reader.runs(since="yesterday")


def test_an_in_memory_tracker_records_its_run_in_memory() -> None:
    tracker = Tracker(Tracker.IN_MEMORY, track_id="mem-0001")
    tracker.log({"x": 1})
    store = tracker._store
    _, rows = store.query(f'SELECT track_id, status FROM "{RUNS_TABLE}"')
    assert rows == [("mem-0001", "running")]
    tracker.close()


def test_runs_table_name_is_reserved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserved for the engine or xetrack"):
        Tracker(tmp_path / "x.db", table=RUNS_TABLE)
    store = open_store(tmp_path / "y.db")
    store.close()


def test_a_run_cannot_end_as_running(tmp_path: Path) -> None:
    tracker = Tracker(tmp_path / "end.db")
    with pytest.raises(InvalidArgumentError, match="not 'running'"):
        tracker.close(status="running")
    with pytest.raises(InvalidArgumentError, match="not 'done'"):
        tracker.close(status="done")
    tracker.close(status="failed", error="stopped by hand")


def test_a_tracker_on_a_view_records_no_run(tmp_path: Path) -> None:
    db = tmp_path / "view.db"
    with Tracker(db, track_id="base-0001") as tracker:
        tracker.log({"x": 1})
        tracker.conn.execute('CREATE VIEW v AS SELECT * FROM "default"')
    Tracker(db, table="v").close()
    assert list(runs_of(db)) == ["base-0001"]
