"""xt compare on a long history: 1,000 commits x 100 benchmarks x 10 rounds."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import Report, race

from xetrack import Tracker
from xetrack.compare import compare


def build(path: Path, commits: int, benchmarks: int, rounds: int) -> None:
    rng = random.Random(7)
    for c in range(commits):
        tracker = Tracker(
            path,
            track_id=f"run-{c:05d}",
            params={"git_commit": f"{c:040x}", "env_fingerprint": "e1"},
        )
        rows = []
        for b in range(benchmarks):
            samples = [
                0.001 * (1 + b / 100) * (1 + rng.uniform(-0.02, 0.02))
                for _ in range(rounds)
            ]
            rows.append(
                {
                    "test_nodeid": f"test_suite.py::test_{b}",
                    "function_time": sorted(samples)[rounds // 2],
                    "time_samples": samples,
                    "outcome": "passed",
                    "rounds": rounds,
                }
            )
        tracker.log_batch(rows)
        tracker.close()


def run(
    report: Report, commits: int = 1000, benchmarks: int = 100, rounds: int = 10
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.db"
        start = time.perf_counter()
        build(db, commits, benchmarks, rounds)
        print(
            f"  (built {commits * benchmarks * rounds:,} samples in {time.perf_counter() - start:.0f} s)",
            flush=True,
        )

        # The raw side gets what a well-built store has, made with plain SQL on a
        # copy: the (track_id, timestamp) index and a table of runs by last row.
        raw_db = Path(tmp) / "history-raw.db"
        shutil.copyfile(db, raw_db)
        setup = sqlite3.connect(raw_db)
        setup.execute(
            'CREATE INDEX IF NOT EXISTS raw_track ON "default" (track_id, timestamp)'
        )
        setup.execute(
            "CREATE TABLE raw_runs AS SELECT track_id, MAX(timestamp) AS last, "
            'MAX(git_commit) AS git_commit FROM "default" GROUP BY track_id'
        )
        setup.execute("CREATE INDEX raw_runs_last ON raw_runs (last)")
        setup.commit()
        setup.close()

        def raw() -> None:
            # the same question by hand: the newest runs through the index, the two
            # newest runs' rows, every round's sample, a median per benchmark and
            # run, and each benchmark's value in the 20 runs before (the lookback
            # the verdicts' noise comes from)
            conn = sqlite3.connect(raw_db)
            runs = conn.execute(
                "SELECT track_id FROM raw_runs ORDER BY last DESC LIMIT 22"
            ).fetchall()
            rows = conn.execute(
                'SELECT track_id, test_nodeid, time_samples FROM "default" '
                "WHERE track_id IN (?, ?)",
                [runs[0][0], runs[1][0]],
            ).fetchall()
            samples: dict[tuple[str, str], list[float]] = {}
            for run, test, text in rows:
                samples.setdefault((run, test), []).extend(json.loads(text))
            {k: statistics.median(v) for k, v in samples.items()}
            marks = ", ".join("?" * (len(runs) - 1))
            conn.execute(
                f'SELECT track_id, test_nodeid, MIN(function_time) FROM "default" '
                f"WHERE track_id IN ({marks}) GROUP BY track_id, test_nodeid",
                [r[0] for r in runs[1:]],
            ).fetchall()
            conn.close()

        def ours() -> None:
            result = compare(db, repo=None)
            assert len(result.rows) == benchmarks

        raw_s, our_s = race(raw, ours, repeat=5)
        report.add(
            f"compare() on {commits:,} commits x {benchmarks} benchmarks x {rounds} rounds",
            f"{our_s * 1000:,.1f} ms",
            f"{raw_s * 1000:,.1f} ms indexed raw lookup + medians",
            f"{our_s / raw_s:.2f}x",
            "< 2 s and <= 2x",
        )
        start = time.perf_counter()
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "xt"),
                "compare",
                str(db),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        cli_s = time.perf_counter() - start
        assert len(json.loads(done.stdout)["rows"]) == benchmarks
        report.add(
            "xt compare, the whole command (process start included)",
            f"{cli_s * 1000:,.0f} ms",
            "-",
            "-",
            "< 2 s",
        )
