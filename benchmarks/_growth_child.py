"""One operation of the growth benchmark, in a process of its own.

    python _growth_child.py '{"op": "top", "side": "ours", "db": ..., ...}'

Prints one JSON line: the best time of ``repeat`` runs and the peak memory the
first run added (``ru_maxrss`` after it, less before it: a fresh process per
operation, so one operation's garbage never counts against the next).
"""

from __future__ import annotations

import json
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

NUMERIC = (
    "function_time",
    "rounds",
    "step",
    "seed",
    "accuracy",
    "loss",
    *(f"m{k}" for k in range(6)),
)


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _raw_conn(db: str, engine: str) -> Any:
    if engine == "sqlite":
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA synchronous=NORMAL")  # as xetrack runs SQLite
        return conn
    import duckdb

    return duckdb.connect(db)


def _read_conn(db: str, engine: str) -> Any:
    """A connection to read with, as compare() opens one."""
    if engine == "sqlite":
        return sqlite3.connect(db)
    import duckdb

    return duckdb.connect(db, read_only=True)


def _frame(conn: Any, engine: str, sql: str, params: list[object]) -> Any:
    """A query's rows as a DataFrame, the plain way for each driver."""
    if engine == "duckdb":
        return conn.execute(sql, params).df()
    import pandas as pd

    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=names)


def _raw_compare(conn: Any) -> object:
    """What compare() must read, by hand: the newest runs from the runs table, the
    two newest runs' rows through the index with a median per benchmark and run,
    and each benchmark's fastest value in the runs before head (the baseline and
    the LOOKBACK runs the verdict's noise comes from), aggregated by the engine
    through the same index."""
    q = '"default"'
    runs = conn.execute(
        "SELECT track_id FROM runs ORDER BY ended DESC LIMIT 22"
    ).fetchall()
    rows = conn.execute(
        f"SELECT track_id, test_nodeid, function_time FROM {q} "
        f"WHERE track_id IN (?, ?)",
        [runs[0][0], runs[1][0]],
    ).fetchall()
    groups: dict[tuple[str, str], list[float]] = {}
    for run, test, seconds in rows:
        groups.setdefault((run, test), []).append(seconds)
    medians = {k: statistics.median(v) for k, v in groups.items()}
    marks = ", ".join("?" * (len(runs) - 1))
    conn.execute(
        f"SELECT track_id, test_nodeid, MIN(function_time) FROM {q} "
        f"WHERE track_id IN ({marks}) GROUP BY track_id, test_nodeid",
        [r[0] for r in runs[1:]],
    ).fetchall()
    return medians


def _raw_history(conn: Any) -> object:
    """The newest ten runs from the runs table, their mean per commit and benchmark."""
    runs = conn.execute(
        "SELECT track_id FROM runs ORDER BY ended DESC LIMIT 10"
    ).fetchall()
    marks = ", ".join("?" * len(runs))
    return conn.execute(
        f'SELECT git_commit, test_nodeid, AVG(function_time) FROM "default" '
        f"WHERE track_id IN ({marks}) GROUP BY git_commit, test_nodeid",
        [r[0] for r in runs],
    ).fetchall()


def raw_ops(args: dict[str, Any]) -> Callable[[], object]:
    engine, tid, op = args["engine"], args["track_id"], args["op"]
    conn = _raw_conn(args["db"], engine)
    q = '"default"'
    if op == "count_run":
        return lambda: conn.execute(
            f"SELECT COUNT(*) FROM {q} WHERE track_id = ?", [tid]
        ).fetchone()
    if op in ("tracker_to_df", "reader_to_df_run"):
        return lambda: _frame(
            conn, engine, f"SELECT * FROM {q} WHERE track_id = ?", [tid]
        )
    if op == "set_value":

        def update() -> None:
            conn.execute(f"UPDATE {q} SET note = ? WHERE track_id = ?", ["x", tid])
            conn.commit()

        return update
    if op == "top":
        return lambda: _frame(
            conn,
            engine,
            f"SELECT * FROM {q} WHERE accuracy IS NOT NULL ORDER BY accuracy DESC "
            f"LIMIT 1",
            [],
        )
    if op == "describe":
        parts = []
        for c in NUMERIC:
            if engine == "duckdb":
                parts.append(
                    f'COUNT("{c}"), AVG("{c}"), STDDEV_SAMP("{c}"), MIN("{c}"), '
                    f'QUANTILE_CONT("{c}", [0.25, 0.5, 0.75]), MAX("{c}")'
                )
            else:
                parts.append(
                    f'COUNT("{c}"), AVG("{c}"), SUM("{c}" * "{c}"), MIN("{c}"), '
                    f'MAX("{c}")'
                )
        sql = f"SELECT {', '.join(parts)} FROM {q}"
        return lambda: conn.execute(sql).fetchall()
    if op == "to_df_all":
        return lambda: _frame(conn, engine, f"SELECT * FROM {q}", [])
    if op in ("compare", "history", "compare_warm", "history_warm"):
        ask = _raw_compare if op.startswith("compare") else _raw_history
        if op.endswith("_warm"):  # on a connection kept open between calls
            return lambda: ask(conn)
        conn.close()  # compare(db) and history(db) open the file each call: so does this

        def fresh() -> object:
            db = _read_conn(args["db"], engine)
            try:
                return ask(db)
            finally:
                db.close()

        return fresh
    if op == "runs":
        return lambda: _frame(conn, engine, "SELECT * FROM runs", [])
    if op == "log":
        columns = ", ".join(
            ["timestamp", "track_id", "accuracy", "loss", "step", "test_nodeid"]
        )
        sql = f"INSERT INTO {q} ({columns}) VALUES (?, ?, ?, ?, ?, ?)"
        events = int(args.get("events", 2000))

        def insert() -> None:
            for k in range(events):
                conn.execute(
                    sql,
                    [
                        f"2027-01-01 00:00:00.{k:06d}+00:00",
                        "raw-log-run",
                        0.5,
                        0.1,
                        k,
                        "t::x",
                    ],
                )
                conn.commit()

        return insert
    raise SystemExit(f"unknown op {op}")


def our_ops(args: dict[str, Any]) -> Callable[[], object]:
    from xetrack import Reader, Tracker

    db, tid, op = args["db"], args["track_id"], args["op"]
    if op == "open_writer":

        def upgrade() -> None:
            Tracker(db, track_id="bench-open").close()

        return upgrade
    if op in ("count_run", "tracker_to_df", "set_value"):
        tracker = Tracker(db, track_id=tid)
        if op == "count_run":
            return lambda: len(tracker)
        if op == "tracker_to_df":
            return tracker.to_df
        return lambda: tracker.set_value("note", "x")
    if op == "log":
        tracker = Tracker(db, track_id="bench-log-run")
        tracker.log({"accuracy": 0.5, "loss": 0.1, "step": 0, "test_nodeid": "t::x"})
        events = int(args.get("events", 2000))

        def log() -> None:
            for k in range(events):
                tracker.log(
                    {"accuracy": 0.5, "loss": 0.1, "step": k, "test_nodeid": "t::x"}
                )

        return log
    if op in ("compare", "compare_warm"):
        from xetrack.compare import compare

        return lambda: compare(db, repo=None)
    if op in ("history", "history_warm"):
        from xetrack.compare import history

        return lambda: history(db, last=10)
    reader = Reader(db)
    if op == "reader_to_df_run":
        return lambda: reader.to_df(track_id=tid)
    if op == "top":
        return lambda: reader.top("accuracy")
    if op == "describe":
        return reader.describe
    if op == "to_df_all":
        return reader.to_df
    if op == "runs":
        return reader.runs
    raise SystemExit(f"unknown op {op}")


def main() -> None:
    args = json.loads(sys.argv[1])
    import pandas  # noqa: F401  (imported before the baseline, as both sides use it)

    make = our_ops if args["side"] == "ours" else raw_ops
    before = _rss_kb()
    try:
        fn = make(args)
    except AttributeError as exc:  # an operation this version does not have
        print(json.dumps({"skipped": str(exc)}))
        return
    ready = _rss_kb()
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    peak = _rss_kb()
    best = first
    frame_bytes = None
    if hasattr(result, "memory_usage"):
        frame_bytes = int(result.memory_usage(deep=True, index=True).sum())
    del result
    for _ in range(int(args.get("repeat", 3)) - 1):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    print(
        json.dumps(
            {
                "best_s": best,
                "first_s": first,
                "setup_kb": ready - before,
                "peak_kb": peak - ready,
                "frame_bytes": frame_bytes,
            }
        )
    )


if __name__ == "__main__":
    main()
