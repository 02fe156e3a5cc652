"""The JSONL sink's cost per row next to a raw json.dumps + write of the same row."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from _harness import Report, race
from bench_store import make_row

from xetrack import Tracker


def run(report: Report, rows: int = 20_000) -> None:
    data = [make_row(k) for k in range(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def raw() -> None:
            # the same durability as the sink: one line-buffered file, opened once
            with open(
                folder / f"raw-{time.perf_counter_ns()}.jsonl", "a", buffering=1
            ) as out:
                for row in data:
                    out.write(
                        json.dumps(
                            {
                                "timestamp": "2026-01-01T00:00:00+00:00",
                                "level": "TRACKING",
                                **row,
                            }
                        )
                        + "\n"
                    )

        def without_sink() -> None:
            tracker = Tracker(Tracker.SKIP_INSERT)
            for row in data:
                tracker.log(row)

        def with_sink() -> None:
            tracker = Tracker(
                Tracker.SKIP_INSERT, jsonl=folder / f"t-{time.perf_counter_ns()}.jsonl"
            )
            for row in data:
                tracker.log(row)
            tracker.close()

        raw_s, _ = race(raw, lambda: None)
        plain_s, sink_s = race(without_sink, with_sink)
        per_row = (sink_s - plain_s) / rows
        report.add(
            "JSONL sink per row (log() with it minus without)",
            f"{per_row * 1e6:.1f} us",
            f"{raw_s / rows * 1e6:.1f} us json.dumps + write",
            f"{per_row / (raw_s / rows):.2f}x",
            "<= 2x",
        )
