"""Growth: what each operation costs on stores of 10k, 100k and 1M rows (10M with
``--huge``), against the raw driver's indexed query on the same rows, in the same run.

    python benchmarks/run.py growth            # 10k, 100k, 1M rows
    python benchmarks/run.py growth --huge     # and 10M (builds a ~2 GB file once)

Environment: ``XETRACK_GROWTH_SIZES=10000,100000``, ``XETRACK_GROWTH_ENGINES=sqlite``
and ``XETRACK_GROWTH_OPS=compare,history`` (operation names below, ``wide`` for the
wide-schema part) narrow the run; ``XETRACK_BENCH_CACHE`` moves the cache of built
stores.

The raw side of ``compare`` reads what ``compare()`` must read, not only the two
runs: the newest runs from a runs table, the two runs' rows through the
``(track_id, timestamp)`` index, and each benchmark's fastest value in each of the
21 runs before head (the baseline and the lookback of ``xetrack.verdict.LOOKBACK``
runs whose values give a benchmark's noise), aggregated by the engine through the
same index. The raw sides of ``compare`` and ``history`` open the file for each
call, as ``compare(db)`` and ``history(db)`` must (``benchmarks/run.py compare``
does the same); ``compare_warm``/``history_warm`` are the same calls against raw
queries on a connection kept open, whose caches stay warm, for reference.

Each operation runs in a fresh process (``_growth_child.py``) that reports its best
time and the peak memory its first run added, so operations never pollute each
other; an operation quicker than 0.1 s runs in three processes a side, taking
turns, and each side's best counts (one process can run the same Python 10-20%
slower than another for its whole life). Our side works on a copy of a store an older xetrack wrote (no index, no
runs table) and upgrades it on the first open by a writer, which is timed too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from _growth_store import RUNS, middle_run, working_copy
from _harness import Report, race, user_env

CHILD = Path(__file__).with_name("_growth_child.py")

#: operation -> (what it is, the target of ours / raw)
OPERATIONS: dict[str, tuple[str, str]] = {
    "count_run": ("len(tracker) (one run)", "<= 2x"),
    "tracker_to_df": ("tracker.to_df() (one run)", "<= 2x"),
    "reader_to_df_run": ("Reader.to_df(track_id=) (one run)", "<= 2x"),
    "set_value": ("tracker.set_value() (one run)", "<= 2x"),
    "top": ("stats top (Reader.top)", "<= 2x"),
    "describe": ("describe (Reader.describe)", "<= 2x, flat memory"),
    "to_df_all": ("Reader.to_df() (every row)", "memory <= 1.5x frame"),
    "compare": ("compare() (latest vs previous run, 20-run lookback)", "<= 2x"),
    "compare_warm": ("compare(), raw on a connection kept open", "-"),
    "history": ("history() (last 10 commits)", "<= 2x"),
    "history_warm": ("history(), raw on a connection kept open", "-"),
    "runs": ("Reader.runs() (1,000 runs)", "<= 2x"),
    "log": ("2,000 log() into the store", "<= 2x"),
}


def _sizes() -> list[int]:
    text = os.environ.get("XETRACK_GROWTH_SIZES")
    if text:
        return [int(s) for s in text.split(",")]
    sizes = [10_000, 100_000, 1_000_000]
    if os.environ.get("XETRACK_BENCH_HUGE"):
        sizes.append(10_000_000)
    return sizes


def _chosen(op: str) -> bool:
    text = os.environ.get("XETRACK_GROWTH_OPS")
    return not text or op in text.split(",")


def _engines() -> list[str]:
    return os.environ.get("XETRACK_GROWTH_ENGINES", "sqlite,duckdb").split(",")


#: Operations quicker than this (seconds) are measured in PROCESSES processes a side.
PROCESSES_UNDER = 0.1
PROCESSES = 3


def _child(**args: object) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(args)],
        capture_output=True,
        text=True,
        env=user_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args}: {done.stderr.strip().splitlines()[-1:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _mb(kb: float) -> str:
    return f"{kb / 1024:,.0f} MB"


def bench_size(report: Report, rows: int, engine: str, folder: Path) -> None:
    ours_db = working_copy(rows, engine, folder)
    raw_db = working_copy(rows, engine, folder, "indexed")
    tid = middle_run(rows)
    label = f"{rows:,} rows, {engine}"
    opened = _child(
        op="open_writer",
        side="ours",
        db=str(ours_db),
        engine=engine,
        track_id=tid,
        repeat=1,
    )
    report.add(
        f"first open by a writer (adds index, runs table), {label}",
        _ms(opened["first_s"]),
        "-",
        "-",
        "once per file",
    )
    for op, (what, target) in OPERATIONS.items():
        if not _chosen(op):
            continue
        # best of 7 for the quick ones: on a shared machine best of 3 still caught
        # other processes' load (ratios moved 1.4x -> 3x between runs)
        repeat = 1 if op in ("to_df_all", "log") and rows >= 1_000_000 else 7
        common = {"op": op, "engine": engine, "track_id": tid, "repeat": repeat}
        ours = _child(side="ours", db=str(ours_db), **common)
        if "skipped" in ours:
            continue
        raw = _child(side="raw", db=str(raw_db), **common)
        if max(ours["best_s"], raw["best_s"]) < PROCESSES_UNDER:
            # One process of the same code can run 10-20% slower than the next
            # for its whole life, and a quick operation's best time carries that:
            # more processes per side, taking turns, and the best of each side.
            for _ in range(PROCESSES - 1):
                again = _child(side="ours", db=str(ours_db), **common)
                ours = min(ours, again, key=lambda r: r["best_s"])
                again = _child(side="raw", db=str(raw_db), **common)
                raw = min(raw, again, key=lambda r: r["best_s"])
        if op == "to_df_all":
            frame = ours["frame_bytes"] or 1
            report.add(
                f"{what}, {label}",
                f"{_ms(ours['best_s'])}, peak {_mb(ours['peak_kb'])} "
                f"({ours['peak_kb'] * 1024 / frame:.2f}x the {frame / 2**20:,.0f} MB frame)",
                f"{_ms(raw['best_s'])}, peak {_mb(raw['peak_kb'])} "
                f"({raw['peak_kb'] * 1024 / (raw['frame_bytes'] or 1):.2f}x)",
                f"{ours['best_s'] / raw['best_s']:.2f}x time",
                target,
            )
            continue
        memory = f", peak +{_mb(ours['peak_kb'])}" if op == "describe" else ""
        report.add(
            f"{what}, {label}",
            f"{_ms(ours['best_s'])}{memory}",
            f"{_ms(raw['best_s'])}",
            f"{ours['best_s'] / raw['best_s']:.2f}x",
            target,
        )


def _raw_conn(path: Path, engine: str) -> Any:
    if engine == "sqlite":
        import sqlite3

        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn
    import duckdb

    return duckdb.connect(str(path))


def _fifths(times: list[float]) -> tuple[float, float]:
    fifth = len(times) // 5
    return sum(times[:fifth]) / fifth, sum(times[-fifth:]) / fifth


def _ours_block(tracker: Any, shapes: list[list[str]]) -> None:
    for keys in shapes:  # mostly combinations not seen for a while
        tracker.log(dict.fromkeys(keys, 0.5))


def _raw_block(conn: Any, shapes: list[list[str]], stamp: str) -> None:
    for keys in shapes:
        conn.execute(
            f'INSERT INTO "default" (timestamp, track_id, {", ".join(keys)}) '
            f"VALUES ({', '.join('?' * (len(keys) + 2))})",
            [stamp, "raw", *[0.5] * len(keys)],
        )


def bench_wide(report: Report, folder: Path, columns: int = 500) -> None:
    """Wide schemas, against the raw engine doing the same statements on a table
    with the same index: (1) every event adds a column, so the engine's own ALTER
    grows with the width, and what matters is our cost on top of it; (2) events of
    five keys in shapes never seen before, in a table of 500 columns against one of
    20: our cost per event over the raw one must not depend on the width."""
    from xetrack import Tracker

    stamp = "2026-01-01 00:00:00.000000+00:00"
    index = 'CREATE INDEX raw_track ON "default" (track_id, timestamp)'
    for engine in _engines():
        ours_runs, raw_runs = [], []
        for attempt in range(3):  # per event, the best of three fresh files
            tracker = Tracker(folder / f"wide-{attempt}.{engine}", engine=engine)
            tracker.log({"step": -1})
            ours: list[float] = []
            for k in range(columns):
                start = time.perf_counter()
                tracker.log({"step": k, f"metric_{k}": 0.5})
                ours.append(time.perf_counter() - start)
            tracker.close()
            ours_runs.append(ours)
            conn = _raw_conn(folder / f"wide-raw-{attempt}.{engine}", engine)
            conn.execute(
                'CREATE TABLE "default" (timestamp TEXT, track_id TEXT, step BIGINT)'
            )
            if engine == "sqlite":
                conn.execute(index)
            raw: list[float] = []
            for k in range(columns):
                start = time.perf_counter()
                conn.execute("BEGIN")
                conn.execute(f'ALTER TABLE "default" ADD COLUMN "metric_{k}" DOUBLE')
                conn.execute(
                    f'INSERT INTO "default" (timestamp, track_id, step, "metric_{k}") '
                    f"VALUES (?, ?, ?, ?)",
                    [stamp, "raw", k, 0.5],
                )
                conn.execute("COMMIT")
                raw.append(time.perf_counter() - start)
            conn.close()
            raw_runs.append(raw)
        best_ours = [min(t) for t in zip(*ours_runs, strict=True)]
        best_raw = [min(t) for t in zip(*raw_runs, strict=True)]
        (o1, o5), (r1, r5) = _fifths(best_ours), _fifths(best_raw)
        report.add(
            f"{columns} events each adding a column, {engine}: ours / raw ALTER+INSERT, "
            f"last fifth over first fifth",
            f"{o1 * 1e6:,.0f} -> {o5 * 1e6:,.0f} us per event",
            f"{r1 * 1e6:,.0f} -> {r5 * 1e6:,.0f} us",
            f"{(o5 / r5) / (o1 / r1):.2f}x",
            "< 1.5x",
        )
        ours_at: dict[int, float] = {}
        raw_at: dict[int, float] = {}
        for width in (20, columns):
            shapes = [
                list(dict.fromkeys(f"m{(k * 7 + j * 3) % width}" for j in range(5)))
                for k in range(2000)
            ]
            wide = Tracker(folder / f"steady-{width}.{engine}", engine=engine)
            wide.log({f"m{k}": 0.5 for k in range(width)})
            conn = _raw_conn(folder / f"steady-raw-{width}.{engine}", engine)
            body = ", ".join(f"m{k} DOUBLE" for k in range(width))
            conn.execute(
                f'CREATE TABLE "default" (timestamp TEXT, track_id TEXT, {body})'
            )
            if engine == "sqlite":
                conn.execute(index)

            raw_s, ours_s = race(
                partial(_raw_block, conn, shapes, stamp),
                partial(_ours_block, wide, shapes),
                repeat=3,
            )
            ours_at[width], raw_at[width] = ours_s / len(shapes), raw_s / len(shapes)
            wide.close()
            conn.close()
        report.add(
            f"log() of 5 keys in new shapes, {engine}: ours / raw INSERT in a "
            f"{columns}-column table over the same in a 20-column one",
            f"{ours_at[20] * 1e6:,.0f} -> {ours_at[columns] * 1e6:,.0f} us per event",
            f"{raw_at[20] * 1e6:,.0f} -> {raw_at[columns] * 1e6:,.0f} us",
            f"{(ours_at[columns] / raw_at[columns]) / (ours_at[20] / raw_at[20]):.2f}x",
            "< 1.5x",
        )


def run(report: Report) -> None:
    print(f"  ({RUNS:,} runs per store; sizes {_sizes()}; engines {_engines()})")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if _chosen("wide"):
            bench_wide(report, folder)
        for rows in _sizes():
            for engine in _engines():
                bench_size(report, rows, engine, folder)
                for leftover in folder.glob("base-*"):
                    leftover.unlink()
