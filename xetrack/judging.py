"""A benchmark's evidence from the store, judged: the samples of two runs, the
values of their lineage, and the rows of a comparison (verdicts and evidence).

Pure store reads and arithmetic; :func:`xetrack.compare.compare` chooses the runs.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xetrack.comparison import TIME, Row
from xetrack.errors import InvalidArgumentError
from xetrack.git import ancestors as git_ancestors
from xetrack.store.schema import quote_ident
from xetrack.verdict import (
    LOOKBACK,
    Evidence,
    RunValue,
    judge_timing,
    min_spread,
    pooled_noise,
)

if TYPE_CHECKING:
    from xetrack.compare import Run
    from xetrack.store.base import SqlStore


# -- statistics ---------------------------------------------------------------------------
def _iqr(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(sorted(values), n=4, method="inclusive")
    return q3 - q1


def judge(
    base: Sequence[float], head: Sequence[float], direction: str, min_effect: float
) -> str:
    """Verdict on a declared metric (not a timing) by its direction and size alone:
    such metrics (accuracy, loss) are computed, not measured against a clock."""
    base_mid, head_mid = statistics.median(base), statistics.median(head)
    if base_mid == 0:
        change = 0.0 if head_mid == 0 else math.inf
    else:
        change = (head_mid - base_mid) / abs(base_mid)
    worse = change > 0 if direction == "min" else change < 0
    if abs(change) < min_effect:
        return "unchanged"
    return "regressed" if worse else "improved"


# -- rows of a run ------------------------------------------------------------------------
@dataclass
class _Bench:
    samples: dict[str, list[float]] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    failed: bool = False
    #: the fastest sample of each batch the timings were measured in (a row
    #: without batches is one batch)
    batch_mins: list[float] = field(default_factory=list)
    unstable: str = ""
    #: the first reading of a benchmark the session measured again
    first: float | None = None
    #: timed by the calibrated engine (its rows say how many iterations a round had)
    calibrated: bool = False


def _ident(types: Mapping[str, object], table: str) -> str:
    ident = "test_nodeid" if "test_nodeid" in types else "function_name"
    if ident not in types:
        raise InvalidArgumentError(
            f"table {table!r} has neither test_nodeid nor function_name: nothing identifies "
            f"a benchmark (rows of @track tests or tracker.track calls have them)"
        )
    return ident


def _floats(text: object) -> list[float]:
    """A JSON list of numbers from a cell; [] for anything else (data is untrusted)."""
    if not isinstance(text, str) or not text:
        return []
    try:
        values = json.loads(text)
    except ValueError:
        return []
    if not isinstance(values, list):
        return []
    return [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]


def _batch_mins(samples: Sequence[float], sizes: Sequence[float]) -> list[float]:
    from xetrack.timing.stats import split

    counts = [int(s) for s in sizes if s >= 1]
    if len(counts) < 2 or sum(counts) != len(samples):
        return [min(samples)] if samples else []
    return [min(part) for part in split(samples, counts)]


def load_runs(
    store: SqlStore, table: str, track_ids: Sequence[str], metrics: Sequence[str]
) -> tuple[dict[str, dict[str, _Bench]], dict[str, set[int]]]:
    """Benchmarks of each run, and the xdist worker counts each ran with, from one
    scan of the table."""
    types = store.schema(table).types
    ident = _ident(types, table)
    # A run is a few hundred rows at most: take them whole, so declared metrics
    # (named only inside each row's "metrics") come along.
    marks = ", ".join("?" * len(track_ids))
    names, rows = store.query(
        f"SELECT * FROM {quote_ident(table)} WHERE track_id IN ({marks}) ORDER BY rowid",
        list(track_ids),
    )
    runs: dict[str, dict[str, _Bench]] = {t: {} for t in track_ids}
    workers: dict[str, set[int]] = {t: set() for t in track_ids}
    for raw in rows:
        row = dict(zip(names, raw, strict=True))
        if row[ident] is None:
            continue
        bench = runs[row["track_id"]].setdefault(str(row[ident]), _Bench())
        if isinstance(row.get("xdist_workers"), int):
            workers[row["track_id"]].add(row["xdist_workers"])
        if row.get("outcome") in ("failed", "error"):
            bench.failed = True
        declared = row.get("metrics")
        if isinstance(declared, str) and declared:
            try:
                found = json.loads(declared)
            except ValueError:
                found = None
            if isinstance(found, dict):
                bench.directions.update(
                    {str(k): v for k, v in found.items() if v in ("min", "max")}
                )
        samples = _floats(row.get("time_samples"))
        if not samples and is_number(row.get(TIME)):
            samples = [float(row[TIME])]
        if samples:
            bench.samples.setdefault(TIME, []).extend(samples)
            bench.batch_mins.extend(
                _batch_mins(samples, _floats(row.get("time_batches")))
            )
        if is_number(row.get("iterations")):
            bench.calibrated = True
        if is_number(row.get("first_function_time")):
            bench.first = float(row["first_function_time"])
        if row.get("unstable") and not bench.unstable:
            bench.unstable = str(row.get("unstable_reason") or "unstable")
        for metric in dict.fromkeys([*metrics, *bench.directions]):
            value = row.get(metric)
            if metric != TIME and is_number(value):
                bench.samples.setdefault(metric, []).append(float(value))  # type: ignore[arg-type]
    return runs, workers


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- the lineage: earlier runs whose values tell a benchmark's noise -------------------------
def lineage(
    head: Run, base: Run | None, runs: Sequence[Run], repo: str | Path | None
) -> list[Run]:
    """Earlier runs of head's environment on its lineage, oldest first (at most
    LOOKBACK): runs on ancestors of head's commit or on that commit itself, and
    the baseline. Without git: the earlier runs of the same environment."""
    reachable: set[str] | None = None
    if head.commit and repo is not None:
        reachable = git_ancestors(repo, head.commit)  # only a hex id reaches git
    chosen = [
        r
        for r in runs
        if r.track_id != head.track_id
        and r.last <= head.last
        and r.fingerprint == head.fingerprint
        and (reachable is None or r.commit in reachable)
    ]
    chosen.sort(key=lambda r: r.last)
    chosen = chosen[-LOOKBACK:]
    if base is not None and all(r.track_id != base.track_id for r in chosen):
        chosen.append(base)
    return chosen


def lineage_values(
    store: SqlStore, table: str, earlier: Sequence[Run]
) -> dict[str, list[float]]:
    """Each benchmark's value (its fastest call: ``time_min``, or ``function_time``
    of rows without one) in each earlier run, in the runs' order; one query."""
    if not earlier:
        return {}
    types = store.schema(table).types
    if TIME not in types:
        return {}
    ident = quote_ident(_ident(types, table))
    fastest = quote_ident("time_min") if "time_min" in types else "NULL"
    marks = ", ".join("?" * len(earlier))
    # one value per run and benchmark, aggregated by the engine
    _, rows = store.query(
        f"SELECT track_id, {ident}, MIN(COALESCE({fastest}, {quote_ident(TIME)})) "
        f"FROM {quote_ident(table)} WHERE track_id IN ({marks}) AND {ident} IS NOT NULL "
        f"GROUP BY track_id, {ident}",
        [r.track_id for r in earlier],
    )
    position = {r.track_id: i for i, r in enumerate(earlier)}
    found: dict[str, list[tuple[int, float]]] = {}
    for track_id, name, value in rows:
        if is_number(value) and math.isfinite(value):
            found.setdefault(str(name), []).append((position[track_id], float(value)))
    return {name: [v for _, v in sorted(pairs)] for name, pairs in found.items()}


def common_mode_notes(rows: Sequence[Row], min_effect: float) -> list[str]:
    """A note when most benchmarks moved together: often the machine, not the code."""
    ratios = [
        r.ratio
        for r in rows
        if r.metric == TIME and r.ratio is not None and r.ratio > 0
    ]
    if len(ratios) < 5:
        return []
    typical = statistics.median(ratios)
    if abs(typical - 1) < min_effect:
        return []
    return [
        f"the typical benchmark changed by {typical - 1:+.1%} (median of "
        f"{len(ratios)}): when code that most benchmarks share did not change, the "
        f"machine was {'slower' if typical > 1 else 'faster'} during one of the runs"
    ]


def harness_notes(base: Mapping[str, _Bench], head: Mapping[str, _Bench]) -> list[str]:
    """A note when only one side was timed by the calibrated engine: a store written
    by an xetrack before it timed one call a round with no warmup, which reads
    slower than calibrated rounds of the same code."""
    timed = [
        (b, h)
        for name, h in head.items()
        if (b := base.get(name)) and TIME in b.samples
    ]
    if not timed or not any(h.calibrated for _, h in timed):
        return []
    if any(b.calibrated for b, _ in timed):
        return []
    return [
        "base was timed by an older xetrack (one call a round, no warmup, no "
        "calibration) and head by calibrated rounds: timings differ for that "
        "reason alone; compare two runs of this version before trusting a verdict"
    ]


def worker_notes(base: set[int], head: set[int]) -> list[str]:
    def how(counts: set[int]) -> str:
        n = max(counts, default=0)
        return "serially" if n == 0 else f"under pytest-xdist with {n} workers"

    notes = []
    if max(base, default=0) != max(head, default=0):
        notes.append(
            f"base ran {how(base)} and head {how(head)}: workers share the CPU, so "
            f"their timings differ for that reason alone"
        )
    elif max(head, default=0) > 0:
        notes.append(
            f"both runs were timed {how(head)}: parallel timings are noisier than "
            f"serial ones"
        )
    return notes


def judged_rows(
    base: Mapping[str, _Bench],
    head: Mapping[str, _Bench],
    asked: Sequence[str],
    min_effect: float,
    past: Mapping[str, Sequence[float]],
) -> list[Row]:
    rows: list[Row] = []
    machine = pooled_noise(list(past.values()))
    for name in sorted(set(base) | set(head)):
        b, h = base.get(name), head.get(name)
        directions = {**(b.directions if b else {}), **(h.directions if h else {})}
        metrics = (
            list(asked) if asked else [TIME, *[m for m in directions if m != TIME]]
        )
        for metric in metrics:
            direction = "min" if metric == TIME else directions.get(metric)
            row = Row(name, metric, direction)
            base_samples = b.samples.get(metric, []) if b else []
            head_samples = h.samples.get(metric, []) if h else []
            row.base_samples, row.head_samples = base_samples, head_samples
            row.base_n, row.head_n = len(base_samples), len(head_samples)
            # timings compare their fastest call (see xetrack.verdict), other
            # metrics their median
            centre = min if metric == TIME else statistics.median
            if base_samples:
                row.base, row.base_iqr = centre(base_samples), _iqr(base_samples)
            if head_samples:
                row.head, row.head_iqr = centre(head_samples), _iqr(head_samples)
            if row.base and row.head is not None:
                row.ratio = row.head / row.base
            if metric == TIME:
                row.remeasured = h.first if h is not None else None
                row.unstable = "; ".join(
                    f"{side} {x.unstable}"
                    for side, x in (("head", h), ("base", b))
                    if x is not None and x.unstable
                )
            if h is not None and h.failed:
                row.verdict = "failed"
            elif not base_samples and not head_samples:
                continue
            elif not base_samples:
                row.verdict = "new"
            elif not head_samples:
                row.verdict = "missing"
            elif direction is None:
                row.verdict = "-"  # shown, not judged: nobody said which way is better
            elif metric == TIME and b is not None and h is not None:
                verdict, found = judge_timing(
                    run_value(b, base_samples),
                    run_value(h, head_samples),
                    past.get(name, []),
                    min_effect,
                    machine,
                )
                row.verdict = verdict
                _with_evidence(row, found)
            else:
                row.verdict = judge(base_samples, head_samples, direction, min_effect)
            rows.append(row)
    return rows


def run_value(bench: _Bench, samples: Sequence[float]) -> RunValue:
    return RunValue(min(samples), min_spread(bench.batch_mins))


def _with_evidence(row: Row, found: Evidence | None) -> None:
    if found is None:
        return
    row.interval = found.interval
    row.noise_floor = found.floor_ratio
    row.noise_source = found.source
    row.history = found.history
    if found.runs > 1:
        row.reference, row.reference_runs = found.reference, found.runs
        row.noise_source += (
            f"; against the median of the last {found.runs} runs, x{found.ratio:.3f}"
        )
