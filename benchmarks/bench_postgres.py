"""xetrack on PostgreSQL against raw psycopg doing the same work, in the same run.

The server: ``XETRACK_BENCH_POSTGRES_URL`` (or ``XETRACK_TEST_POSTGRES_URL``), else
one started here as the tests start theirs (``tests/pg_server.py``: initdb in a
temporary folder, 127.0.0.1, a free port). Where neither works the section is
skipped with a note saying why. Each measure uses a schema of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _harness import Report, race
from bench_compare import build
from bench_store import FIELDS, _raw_tuple, make_row

from xetrack import Tracker
from xetrack.compare import compare

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

_COLUMNS = (
    '"rowid" BIGINT GENERATED ALWAYS AS IDENTITY, "timestamp" TEXT COLLATE "C", '
    'track_id TEXT COLLATE "C", i BIGINT, f DOUBLE PRECISION, s TEXT COLLATE "C", '
    'b BOOLEAN, n TEXT COLLATE "C", j BIGINT, g DOUBLE PRECISION, t TEXT COLLATE "C"'
)
_NAMES = ", ".join(['"timestamp"', "track_id", *FIELDS])
RAW_INSERT = f'INSERT INTO "default" ({_NAMES}) VALUES ({", ".join(["%s"] * 10)})'


@contextlib.contextmanager
def _server() -> Iterator[object]:
    from pg_server import Server, running_server

    given = os.environ.get("XETRACK_BENCH_POSTGRES_URL")
    if given:
        yield Server(given)
        return
    with running_server() as server:
        yield server


def _raw_table(url: str) -> object:
    """A psycopg connection to a fresh schema holding xetrack's table and index."""
    import psycopg

    base, _, schema = url.partition("?schema=")
    conn = psycopg.connect(base, autocommit=True)
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path TO "{schema}"')
    conn.execute(f'CREATE TABLE "default" ({_COLUMNS})')
    conn.execute('CREATE INDEX raw_track ON "default" (track_id, "timestamp")')
    return conn


def _timed(setup: Callable[[], object], work: Callable[[object], object]) -> float:
    """Seconds of ``work(setup())``: a connection and an empty table are made
    first, on both sides, and not counted (Tracker's own start is timed apart)."""
    made = setup()
    start = time.perf_counter()
    work(made)
    elapsed = time.perf_counter() - start
    made.close()  # type: ignore[attr-defined]
    return elapsed


def _race(
    raw: Callable[[], float], ours: Callable[[], float], repeat: int
) -> tuple[float, float]:
    """Best of ``repeat`` alternated runs of both (drift hits both alike)."""
    raw_best = ours_best = float("inf")
    for _ in range(repeat):
        raw_best, ours_best = min(raw_best, raw()), min(ours_best, ours())
    return raw_best, ours_best


def bench_log(report: Report, server: Any, events: int = 5000) -> None:
    tuples = [_raw_tuple(k) for k in range(events)]
    rows = [make_row(k) for k in range(events)]

    def raw_insert(conn: Any) -> None:
        with conn.cursor() as cursor:
            for values in tuples:
                cursor.execute(RAW_INSERT, values)  # autocommit: one commit per row

    def opened() -> Tracker:
        tracker = Tracker(server.new_url())
        tracker.log(rows[0])  # the first row creates the columns
        return tracker

    def log(tracker: Any) -> None:
        for row in rows[1:]:
            tracker.log(row)

    raw_s, our_s = _race(
        lambda: _timed(lambda: _raw_table(server.new_url()), raw_insert) / events,
        lambda: _timed(opened, log) / (events - 1),
        repeat=3,
    )
    report.add(
        "log() one row per commit, PostgreSQL (127.0.0.1)",
        f"{1 / our_s:,.0f} events/s",
        f"{1 / raw_s:,.0f} events/s (psycopg INSERT per row, autocommit, same table "
        f"and index)",
        f"{raw_s / our_s:.2f}x",
        ">= 0.7x",
    )


def bench_open(report: Report, server: Any) -> None:
    def open_close() -> float:
        url = server.new_url()
        start = time.perf_counter()
        tracker = Tracker(url)  # a new schema: its tables, index, runs table
        tracker.log(make_row(0))
        tracker.close()
        return time.perf_counter() - start

    def raw() -> float:
        url = server.new_url()
        start = time.perf_counter()
        _raw_table(url).close()  # type: ignore[attr-defined]
        return time.perf_counter() - start

    raw_s, our_s = _race(raw, open_close, repeat=5)
    report.add(
        "Tracker open + first log() + close on a new schema, PostgreSQL",
        f"{our_s * 1000:,.0f} ms",
        f"{raw_s * 1000:,.0f} ms (connect, CREATE SCHEMA, TABLE and INDEX)",
        f"{our_s / raw_s:.2f}x",
        "-",
    )


def bench_log_batch(report: Report, server: Any, count: int = 50_000) -> None:
    tuples = [_raw_tuple(k) for k in range(count)]
    rows = [make_row(k) for k in range(count)]

    def raw_copy(conn: Any) -> None:
        with conn.cursor() as cursor:
            with cursor.copy(f'COPY "default" ({_NAMES}) FROM STDIN') as copy:
                for values in tuples:
                    copy.write_row(values)

    def log_batch(tracker: Any) -> None:
        tracker.log_batch(rows)  # its columns are made here, as a first batch's are

    raw_s, our_s = _race(
        lambda: _timed(lambda: _raw_table(server.new_url()), raw_copy),
        lambda: _timed(lambda: Tracker(server.new_url()), log_batch),
        repeat=3,
    )
    report.add(
        f"log_batch() of {count:,} rows, PostgreSQL",
        f"{count / our_s:,.0f} rows/s",
        f"{count / raw_s:,.0f} rows/s (psycopg COPY, same table and index)",
        f"{raw_s / our_s:.2f}x",
        ">= 0.5x",
    )


def bench_compare(
    report: Report,
    server: object,
    commits: int = 1000,
    benchmarks: int = 100,
    rounds: int = 10,
) -> None:
    import psycopg

    url = server.new_url()  # type: ignore[attr-defined]
    start = time.perf_counter()
    build(url, commits, benchmarks, rounds)  # type: ignore[arg-type]
    print(
        f"  (built {commits * benchmarks * rounds:,} samples on the server in "
        f"{time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    base, _, schema = url.partition("?schema=")
    setup = psycopg.connect(base, autocommit=True)
    setup.execute(f'SET search_path TO "{schema}"')
    # what a well-built store has, by hand: runs by their last row, indexed
    setup.execute(
        'CREATE TABLE raw_runs AS SELECT track_id, MAX("timestamp") AS last, '
        'MAX(git_commit) AS git_commit FROM "default" GROUP BY track_id'
    )
    setup.execute("CREATE INDEX raw_runs_last ON raw_runs (last)")
    setup.close()

    def raw() -> None:
        # the same question by hand: the newest runs, the two newest ones' rows
        # through the index, every round's sample, a median per benchmark and run,
        # the 20 runs before; on a connection of its own, as compare() makes one
        conn = psycopg.connect(base, autocommit=True)
        conn.execute(f'SET search_path TO "{schema}"')
        runs = conn.execute(
            "SELECT track_id FROM raw_runs ORDER BY last DESC LIMIT 22"
        ).fetchall()
        found = conn.execute(
            'SELECT track_id, test_nodeid, time_samples FROM "default" '
            "WHERE track_id IN (%s, %s)",
            [runs[0][0], runs[1][0]],
        ).fetchall()
        samples: dict[tuple[str, str], list[float]] = {}
        for run, test, text in found:
            samples.setdefault((run, test), []).extend(json.loads(text))
        {k: statistics.median(v) for k, v in samples.items()}
        # each benchmark's value in the 20 runs before (the verdicts' noise)
        conn.execute(
            'SELECT track_id, test_nodeid, MIN(function_time) FROM "default" '
            "WHERE track_id = ANY(%s) GROUP BY track_id, test_nodeid",
            [[r[0] for r in runs[1:]]],
        ).fetchall()
        conn.close()

    def ours() -> None:
        result = compare(url, repo=None)
        assert len(result.rows) == benchmarks

    raw_s, our_s = race(raw, ours, repeat=5)
    report.add(
        f"compare() on {commits:,} commits x {benchmarks} benchmarks x {rounds} "
        f"rounds, PostgreSQL",
        f"{our_s * 1000:,.1f} ms",
        f"{raw_s * 1000:,.1f} ms (connect, the raw queries: indexed lookup, medians, "
        f"the 20-run lookback)",
        f"{our_s / raw_s:.2f}x",
        "< 2 s",
    )


def run(report: Report) -> None:
    try:
        opened = _server()
        server = opened.__enter__()
    except Exception as exc:  # no binaries, no psycopg, no room: say so, go on
        note = f"skipped: no PostgreSQL server to measure against ({exc})"
        print(f"  {note}", flush=True)
        report.add("PostgreSQL section", note, "-", "-", "-")
        return
    try:
        bench_log(report, server)
        bench_log_batch(report, server)
        bench_open(report, server)
        bench_compare(report, server)
    finally:
        opened.__exit__(None, None, None)


if __name__ == "__main__":
    r = Report()
    run(r)
    print(r.table())
