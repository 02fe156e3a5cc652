"""Writing and reading rows: xetrack against the raw SQLite/DuckDB driver, same rows."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import Report, race, user_env

from xetrack import Reader, Tracker

FIELDS = ("i", "f", "s", "b", "n", "j", "g", "t")


def make_row(k: int) -> dict[str, object]:
    """Eight mixed fields: ints, floats, text, a bool and a NULL."""
    return {
        "i": k,
        "f": k * 0.5,
        "s": f"name-{k % 97}",
        "b": k % 2 == 0,
        "n": None,
        "j": k * 3,
        "g": 1.0 / (k + 1),
        "t": "tag",
    }


def _raw_sqlite(path: Path, indexed: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        'CREATE TABLE "default" (timestamp TEXT, track_id TEXT, i INTEGER, f REAL, '
        "s TEXT, b BOOLEAN, n TEXT, j INTEGER, g REAL, t TEXT)"
    )
    if indexed:  # what xetrack's event tables have, so per-run reads cost the run
        conn.execute('CREATE INDEX raw_track ON "default" (track_id, timestamp)')
    conn.commit()
    return conn


RAW_INSERT = 'INSERT INTO "default" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'


def _raw_tuple(k: int) -> tuple[object, ...]:
    row = make_row(k)
    return ("2026-01-01 00:00:00.000000+00:00", "run", *(row[f] for f in FIELDS))


def bench_log(report: Report, folder: Path, events: int = 5000) -> None:
    def raw(indexed: bool) -> None:
        path = folder / f"raw-log-{time.perf_counter_ns()}.db"
        conn = _raw_sqlite(path, indexed)
        for k in range(events):
            conn.execute(RAW_INSERT, _raw_tuple(k))
            conn.commit()
        conn.close()

    def ours() -> None:
        tracker = Tracker(folder / f"log-{time.perf_counter_ns()}.db")
        tracker.log(make_row(0))  # the first row creates the columns
        for k in range(1, events):
            tracker.log(make_row(k))
        tracker.close()

    raw_s, our_s = race(lambda: raw(False), ours)
    indexed_s, _ = race(lambda: raw(True), lambda: None)
    raw_rate, our_rate = events / raw_s, events / our_s
    report.add(
        "log() one row per commit, SQLite",
        f"{our_rate:,.0f} events/s",
        f"{raw_rate:,.0f} events/s; {events / indexed_s:,.0f} with the same index",
        f"{our_rate / raw_rate:.2f}x ({indexed_s / our_s:.2f}x of indexed)",
        ">= 0.5x",
    )


def bench_log_batch(report: Report, folder: Path, rows: int = 50_000) -> None:
    data = [make_row(k) for k in range(rows)]
    tuples = [_raw_tuple(k) for k in range(rows)]

    def raw(indexed: bool = False) -> None:
        conn = _raw_sqlite(folder / f"raw-batch-{time.perf_counter_ns()}.db", indexed)
        conn.executemany(RAW_INSERT, tuples)
        conn.commit()
        conn.close()

    def ours() -> None:
        tracker = Tracker(folder / f"batch-{time.perf_counter_ns()}.db")
        tracker.log_batch(data)
        tracker.close()

    raw_s, our_s = race(raw, ours)
    indexed_s, _ = race(lambda: raw(True), lambda: None)
    raw_rate, our_rate = rows / raw_s, rows / our_s
    report.add(
        f"log_batch() of {rows:,} rows, SQLite",
        f"{our_rate:,.0f} rows/s",
        f"{raw_rate:,.0f} rows/s; {rows / indexed_s:,.0f} with the same index",
        f"{our_rate / raw_rate:.2f}x ({indexed_s / our_s:.2f}x of indexed)",
        ">= 0.5x",
    )

    import duckdb
    import pandas as pd

    def raw_duck() -> None:
        conn = duckdb.connect(
            str(folder / f"raw-batch-{time.perf_counter_ns()}.duckdb")
        )
        conn.execute(
            'CREATE TABLE "default" (timestamp VARCHAR, track_id VARCHAR, i BIGINT, '
            "f DOUBLE, s VARCHAR, b BOOLEAN, n VARCHAR, j BIGINT, g DOUBLE, t VARCHAR)"
        )
        frame = pd.DataFrame.from_records(tuples)
        conn.register("frame", frame)
        conn.execute('INSERT INTO "default" SELECT * FROM frame')
        conn.close()

    def ours_duck() -> None:
        tracker = Tracker(
            folder / f"batch-{time.perf_counter_ns()}.duckdb", engine="duckdb"
        )
        tracker.log_batch(data)
        tracker.close()

    raw_s, our_s = race(raw_duck, ours_duck)
    raw_rate, our_rate = rows / raw_s, rows / our_s
    report.add(
        f"log_batch() of {rows:,} rows, DuckDB",
        f"{our_rate:,.0f} rows/s",
        f"{raw_rate:,.0f} rows/s (DataFrame insert)",
        f"{our_rate / raw_rate:.2f}x",
        ">= 0.3x",
    )


def bench_to_df(report: Report, folder: Path, rows: int = 100_000) -> None:
    import pandas as pd

    path = folder / "read.db"
    tracker = Tracker(path)
    tracker.log_batch([make_row(k) for k in range(rows)])
    tracker.close()

    def raw() -> None:
        conn = sqlite3.connect(path)
        cursor = conn.execute('SELECT * FROM "default"')
        names = [d[0] for d in cursor.description]
        pd.DataFrame.from_records(cursor.fetchall(), columns=names)
        conn.close()

    def ours() -> None:
        reader = Reader(path)
        reader.to_df()
        reader.close()

    raw_s, our_s = race(raw, ours)
    report.add(
        f"Reader.to_df() of {rows:,} rows, SQLite",
        f"{our_s * 1000:,.0f} ms",
        f"{raw_s * 1000:,.0f} ms",
        f"{our_s / raw_s:.2f}x time",
        "<= 1.3x",
    )


def _proc_writer(path: str, worker: int, events: int) -> None:
    tracker = Tracker(path, params={"worker": worker})
    for k in range(events):
        tracker.log(make_row(k))
    tracker.close()


def bench_processes(
    report: Report, folder: Path, procs: int = 4, events: int = 1000
) -> None:
    path = str(folder / "procs.db")
    ctx = mp.get_context("spawn")
    workers = [
        ctx.Process(target=_proc_writer, args=(path, w, events)) for w in range(procs)
    ]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = (
        time.perf_counter() - start
    )  # includes interpreter start-up of each process
    stored = len(Reader(path))
    lost = procs * events - stored
    report.add(
        f"{procs} processes x {events:,} log() on a fresh file",
        f"{stored / elapsed:,.0f} events/s, {lost} lost",
        "-",
        "-",
        "0 lost",
    )


def bench_import(report: Report) -> None:
    def timed(code: str) -> float:
        subprocess.run([sys.executable, "-c", code], check=True, env=user_env())
        runs = []
        for _ in range(7):  # after a first run that wrote the bytecode caches
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=user_env())
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    bare = timed("pass")
    ours = timed(
        "import xetrack, sys; assert 'pandas' not in sys.modules and 'duckdb' not in sys.modules"
    )
    report.add(
        'python -c "import xetrack"',
        f"{(ours - bare) * 1000:.0f} ms above a bare interpreter",
        f"bare interpreter {bare * 1000:.0f} ms",
        "-",
        "pandas/duckdb not imported",
    )


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_log(report, folder)
        bench_log_batch(report, folder)
        bench_to_df(report, folder)
        bench_processes(report, folder)
    bench_import(report)


if __name__ == "__main__":
    os.chdir(Path(__file__).parent)
    r = Report()
    run(r)
    print(r.table())
