"""The big stores of the growth benchmark, built with the raw drivers and cached.

Every store has 20 columns and 1,000 runs of equal size, rows of a run contiguous
(as trackers write them), 100 benchmarks per run and one git commit per run.
``base`` files are what an older xetrack left: no index, no runs table. ``indexed``
files are what the raw baselines query: the ``(track_id, timestamp)`` index and a
hand-made runs table, the least a well-built store has.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

RUNS: Final = 1000
BENCHMARKS: Final = 100
CHUNK: Final = 100_000
COLUMNS: Final = (
    ("timestamp", "TEXT", "VARCHAR"),
    ("track_id", "TEXT", "VARCHAR"),
    ("git_commit", "TEXT", "VARCHAR"),
    ("git_branch", "TEXT", "VARCHAR"),
    ("env_fingerprint", "TEXT", "VARCHAR"),
    ("test_nodeid", "TEXT", "VARCHAR"),
    ("outcome", "TEXT", "VARCHAR"),
    ("note", "TEXT", "VARCHAR"),
    ("function_time", "REAL", "DOUBLE"),
    ("rounds", "INTEGER", "BIGINT"),
    ("step", "INTEGER", "BIGINT"),
    ("seed", "INTEGER", "BIGINT"),
    ("accuracy", "REAL", "DOUBLE"),
    ("loss", "REAL", "DOUBLE"),
    *((f"m{k}", "REAL", "DOUBLE") for k in range(6)),
)
NAMES: Final = tuple(c[0] for c in COLUMNS)
NUMERIC: Final = tuple(c[0] for c in COLUMNS if c[1] in ("REAL", "INTEGER"))


def cache_dir() -> Path:
    """Kept between runs of the benchmark: building 10M rows takes minutes."""
    folder = Path(
        os.environ.get(
            "XETRACK_BENCH_CACHE",
            Path(tempfile.gettempdir()) / "xetrack-bench-growth",
        )
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def track_id(run: int) -> str:
    # readable ids in no particular order, like generated ones
    return f"run-{(run * 7919) % 10007:05d}-{run:04d}"


def middle_run(rows: int) -> str:
    return track_id(RUNS // 2)


def _chunks(rows: int) -> Iterator[list[tuple[object, ...]]]:
    import numpy as np

    per_run = rows // RUNS
    rng = np.random.default_rng(7)
    for start in range(0, rows, CHUNK):
        stop = min(start + CHUNK, rows)
        index = np.arange(start, stop)
        run = index // per_run
        seconds = index // 1000
        micros = index % 1000
        floats = rng.random((stop - start, 9))
        out = []
        for k in range(stop - start):
            i, r = int(index[k]), int(run[k])
            s = int(seconds[k])
            out.append(
                (
                    f"2026-01-{1 + s // 86400:02d} {s // 3600 % 24:02d}:"
                    f"{s // 60 % 60:02d}:{s % 60:02d}.{int(micros[k]):06d}+00:00",
                    track_id(r),
                    f"{r:040x}",
                    "main",
                    "e1",
                    f"test_suite.py::test_{i % BENCHMARKS}",
                    "passed",
                    None,
                    0.001 * (1 + (i % BENCHMARKS) / 100) * (1 + 0.02 * floats[k, 0]),
                    5,
                    i % per_run,
                    r,
                    float(floats[k, 1]),
                    float(floats[k, 2]),
                    *map(float, floats[k, 3:9]),
                )
            )
        yield out


def _build_sqlite(path: Path, rows: int) -> None:
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=WAL")
    columns = ", ".join(f'"{n}" {t}' for n, t, _ in COLUMNS)
    conn.execute(f'CREATE TABLE "default" ({columns})')
    marks = ", ".join("?" * len(COLUMNS))
    for chunk in _chunks(rows):
        conn.executemany(f'INSERT INTO "default" VALUES ({marks})', chunk)
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)


def _build_duckdb(path: Path, rows: int) -> None:
    import duckdb
    import pandas as pd

    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    conn = duckdb.connect(str(tmp))
    columns = ", ".join(f'"{n}" {t}' for n, _, t in COLUMNS)
    conn.execute(f'CREATE TABLE "default" ({columns})')
    for chunk in _chunks(rows):
        frame = pd.DataFrame.from_records(chunk, columns=list(NAMES))
        frame["note"] = frame["note"].astype(object)
        conn.register("chunk", frame)
        conn.execute('INSERT INTO "default" SELECT * FROM chunk')
        conn.unregister("chunk")
    conn.close()
    tmp.rename(path)


def _add_raw_index(path: Path, engine: str) -> None:
    """The raw side's index and runs table (DuckDB: the runs table only, since its
    scans need no index for these queries)."""
    # the same columns as xetrack's runs table, so reading it costs the same
    runs = (
        "CREATE TABLE runs AS SELECT track_id, 'default' AS table_name, "
        "'finished' AS status, MIN(timestamp) AS started, MAX(timestamp) AS ended, "
        'COUNT(*) AS "rows", NULL AS error, NULL AS host, NULL AS pid, '
        "MAX(git_commit) AS git_commit, MAX(git_branch) AS git_branch, "
        "NULL AS git_dirty, MAX(env_fingerprint) AS env_fingerprint "
        'FROM "default" GROUP BY track_id'
    )
    if engine == "sqlite":
        conn = sqlite3.connect(path)
        conn.execute('CREATE INDEX raw_track ON "default" (track_id, timestamp)')
        conn.execute(runs)
        conn.execute("CREATE INDEX raw_runs_ended ON runs (ended)")
        conn.commit()
        conn.close()
        return
    import duckdb

    conn = duckdb.connect(str(path))
    conn.execute(runs)
    conn.close()


def store(rows: int, engine: str, kind: str) -> Path:
    """The cached ``base`` or ``indexed`` store of ``rows`` rows."""
    suffix = "db" if engine == "sqlite" else "duckdb"
    base = cache_dir() / f"base-{rows}.{suffix}"
    if not base.exists():
        print(f"  (building {rows:,} rows for {engine}, cached in {base.parent})")
        (_build_sqlite if engine == "sqlite" else _build_duckdb)(base, rows)
    if kind == "base":
        return base
    indexed = cache_dir() / f"indexed-{rows}.{suffix}"
    if not indexed.exists():
        tmp = indexed.with_suffix(".building")
        shutil.copyfile(base, tmp)
        _add_raw_index(tmp, engine)
        tmp.rename(indexed)
    return indexed


def working_copy(rows: int, engine: str, folder: Path, kind: str = "base") -> Path:
    """A fresh copy of the cached ``kind`` store for one run of the benchmark: ours
    upgrades the base store, and both sides write (``set_value``, ``log``), which
    must not reach the cache the next run copies."""
    source = store(rows, engine, kind)
    target = folder / source.name
    shutil.copyfile(source, target)
    return target
