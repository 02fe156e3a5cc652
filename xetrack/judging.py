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
from typing import TYPE_CHECKING, Any, Final

from xetrack.comparison import TIME, Row
from xetrack.errors import InvalidArgumentError
from xetrack.git import ancestors as git_ancestors
from xetrack.store.schema import quote_ident
from xetrack.timing.stats import quantile
from xetrack.verdict import (
    LOOKBACK,
    Evidence,
    RunValue,
    across_noise,
    floor_for,
    judge_timing,
    min_spread,
    over_probe,
    pooled_noise,
)

if TYPE_CHECKING:
    from xetrack.compare import Run
    from xetrack.store.base import SqlStore


# -- statistics ---------------------------------------------------------------------------
def _iqr(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    ordered = sorted(values)
    return quantile(ordered, 0.75) - quantile(ordered, 0.25)


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
    #: the probe loop's fastest call in the run (``time_probe``), when timed
    probe: float | None = None
    #: its batches sampled a stretch of the session well beyond their own time
    #: (``time_span``: spread over it, :mod:`pytest_xetrack.spread`)
    spread: bool = False


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
    if all(v.__class__ is float for v in values) and math.isfinite(sum(values)):
        return values  # the usual cell: floats, all finite (else the sum is not)
    return [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]


def _batch_mins(samples: Sequence[float], sizes: Sequence[float]) -> list[float]:
    counts = [int(s) for s in sizes if s >= 1]
    if len(counts) < 2 or sum(counts) != len(samples):
        return [min(samples)] if samples else []
    from xetrack.timing.stats import split

    return [min(part) for part in split(samples, counts)]


#: What :func:`load_runs` reads of a row besides its benchmark and the metrics asked
_RUN_COLUMNS: Final = (
    "track_id",
    "xdist_workers",
    "outcome",
    "metrics",
    "time_samples",
    TIME,
    "time_batches",
    "time_probe",
    "iterations",
    "first_function_time",
    "unstable",
    "unstable_reason",
    "time_span",
)


def _rows_of(
    store: SqlStore, table: str, track_ids: Sequence[str], columns: Sequence[str]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The runs' rows in the order written, with those of ``columns`` the table has."""
    types = store.schema(table).types
    listed = ", ".join(quote_ident(c) for c in dict.fromkeys(columns) if c in types)
    marks = ", ".join("?" * len(track_ids))
    return store.query(
        f"SELECT {listed} FROM {quote_ident(table)} WHERE track_id IN ({marks}) "
        f"ORDER BY rowid",
        list(track_ids),
    )


def _declared(names: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> set[str]:
    """The metrics the rows' "metrics" cells give a direction (``min``/``max``)."""
    if "metrics" not in names:
        return set()
    at = names.index("metrics")
    found: set[str] = set()
    for text in {row[at] for row in rows if isinstance(row[at], str) and row[at]}:
        found.update(_directions(text))
    return found


def load_runs(
    store: SqlStore, table: str, track_ids: Sequence[str], metrics: Sequence[str]
) -> tuple[dict[str, dict[str, _Bench]], dict[str, set[int]]]:
    """Benchmarks of each run, and the xdist worker counts each ran with, from one
    scan of the table."""
    types = store.schema(table).types
    ident = _ident(types, table)
    # Only the columns read below: every other column of a wide table costs a
    # columnar engine a scan. Declared metrics are named only inside each row's
    # "metrics": when the runs declare columns not read yet, they are read again.
    wanted = [ident, *_RUN_COLUMNS, *metrics]
    names, rows = _rows_of(store, table, track_ids, wanted)
    extra = sorted(m for m in _declared(names, rows) if m in types and m not in names)
    if extra:
        names, rows = _rows_of(store, table, track_ids, [*wanted, *extra])
    runs: dict[str, dict[str, _Bench]] = {t: {} for t in track_ids}
    workers: dict[str, set[int]] = {t: set() for t in track_ids}
    parsed: dict[str, dict[str, str]] = {}  # a run's rows repeat their "metrics"
    # Columns the table lacks are never looked up: a run can be thousands of rows.
    has = set(names)
    xdist, outcomes, declaring = (
        "xdist_workers" in has,
        "outcome" in has,
        "metrics" in has,
    )
    sampled, batched = "time_samples" in has, "time_batches" in has
    iterated, remeasured = "iterations" in has, "first_function_time" in has
    flagged, probed = "unstable" in has, "time_probe" in has
    spanned = "time_span" in has
    for raw in rows:
        row = dict(zip(names, raw, strict=True))
        if row[ident] is None:
            continue
        benches, name = runs[row["track_id"]], str(row[ident])
        bench = benches.get(name)
        if bench is None:
            bench = benches[name] = _Bench()
        if xdist and isinstance(row["xdist_workers"], int):
            workers[row["track_id"]].add(row["xdist_workers"])
        if outcomes and row["outcome"] in ("failed", "error"):
            bench.failed = True
        declared = row["metrics"] if declaring else None
        if isinstance(declared, str) and declared:
            if declared not in parsed:
                parsed[declared] = _directions(declared)
            bench.directions.update(parsed[declared])
        samples = _floats(row["time_samples"]) if sampled else []
        if not samples and is_number(row.get(TIME)):
            samples = [float(row[TIME])]
        if samples:
            bench.samples.setdefault(TIME, []).extend(samples)
            if batched:
                bench.batch_mins.extend(
                    _batch_mins(samples, _floats(row["time_batches"]))
                )
            else:
                bench.batch_mins.append(min(samples))
        if iterated and is_number(row["iterations"]):
            bench.calibrated = True
            if spanned and samples and _positive(row["time_span"]):
                work = math.fsum(samples) * float(row["iterations"])
                bench.spread = float(row["time_span"]) > SPREAD * work + 0.05
        if probed and _positive(row["time_probe"]):
            probe = float(row["time_probe"])
            bench.probe = probe if bench.probe is None else min(bench.probe, probe)
        if remeasured and is_number(row["first_function_time"]):
            bench.first = float(row["first_function_time"])
        if flagged and row["unstable"] and not bench.unstable:
            bench.unstable = str(row.get("unstable_reason") or "unstable")
        if not (metrics or bench.directions):
            continue
        for metric in dict.fromkeys([*metrics, *bench.directions]):
            value = row.get(metric)
            if metric != TIME and is_number(value):
                bench.samples.setdefault(metric, []).append(float(value))  # type: ignore[arg-type]
    return runs, workers


def _directions(text: str) -> dict[str, str]:
    """The directions a "metrics" cell declares (``{"accuracy": "max"}``)."""
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if v in ("min", "max")}


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _timed(bench: _Bench) -> bool:
    samples = bench.samples.get(TIME) or []
    return bool(samples) and min(samples) > 0


def _positive(value: object) -> bool:
    if value.__class__ is float:
        return 0 < value < math.inf
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# -- the lineage: earlier runs whose values tell a benchmark's noise -------------------------
def lineage(
    head: Run, base: Run | None, runs: Sequence[Run], repo: str | Path | None
) -> list[Run]:
    """Earlier runs of head's environment on its lineage, oldest first (at most
    LOOKBACK): runs on ancestors of head's commit or on that commit itself, and
    the baseline. Without git: the earlier runs of the same environment."""
    return lineage_filled(head, base, runs, repo)[0]


def lineage_filled(
    head: Run, base: Run | None, runs: Sequence[Run], repo: str | Path | None
) -> tuple[list[Run], bool]:
    """:func:`lineage`, and whether ``runs`` held LOOKBACK of them besides the
    baseline: then runs older than all of ``runs`` could not change it."""
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
    filled = len(chosen) >= LOOKBACK
    chosen = chosen[-LOOKBACK:]
    if base is not None and all(r.track_id != base.track_id for r in chosen):
        chosen.append(base)
    return chosen, filled


@dataclass
class Histories:
    """Each benchmark's values in earlier runs, oldest first: its fastest call, and
    (for the runs that timed the probe) that call over the probe's fastest."""

    plain: dict[str, list[float]] = field(default_factory=dict)
    over_probe: dict[str, list[float]] = field(default_factory=dict)


#: Up to this many rows per run and benchmark (on average, from the run records'
#: row counts), a lineage's rows are read as they are and each benchmark's fastest
#: value found here: SQLite's GROUP BY sorts them in a temporary b-tree that costs
#: more than the rows (2.2 ms against 1.0 ms for 2,100 rows, one per benchmark
#: and run, as the plugin writes). With several rows a benchmark, the engine's
#: aggregate is the cheaper (a quarter at three rows each).
PLAIN_ROWS = 1.5


def lineage_values(
    store: SqlStore, table: str, earlier: Sequence[Run], benchmarks: int = 0
) -> Histories:
    """Each benchmark's value (its fastest call: ``time_min``, or ``function_time``
    of rows without one) in each earlier run, in the runs' order; one query.
    ``benchmarks`` (how many a run has, as far as known) lets it choose how: see
    :data:`PLAIN_ROWS`."""
    if not earlier:
        return Histories()
    types = store.schema(table).types
    if TIME not in types:
        return Histories()
    ident = quote_ident(_ident(types, table))
    fastest = quote_ident(TIME)
    if "time_min" in types:
        fastest = f"COALESCE({quote_ident('time_min')}, {fastest})"
    probed = "time_probe" in types
    probe = quote_ident("time_probe")
    marks = ", ".join("?" * len(earlier))
    where = f"FROM {quote_ident(table)} WHERE track_id IN ({marks})"
    counts = [r.rows for r in earlier]
    if (
        benchmarks
        and None not in counts
        and sum(c or 0 for c in counts) <= PLAIN_ROWS * len(earlier) * benchmarks
    ):
        sql = f"SELECT track_id, {ident}, {fastest}{', ' + probe if probed else ''} {where}"
    else:
        # one value per run and benchmark, aggregated by the engine (only the
        # columns the table has: each one more costs every aggregated row)
        aggregate = f", MIN({probe})" if probed else ""
        sql = (
            f"SELECT track_id, {ident}, MIN({fastest}){aggregate} {where} "
            f"GROUP BY track_id, {ident}"
        )
    _, rows = store.query(sql, [r.track_id for r in earlier])
    position = {r.track_id: i for i, r in enumerate(earlier)}
    # each benchmark's fastest value and fastest probe per run: one slot a run
    count = len(earlier)
    plain: dict[str, list[float | None]] = {}
    probes: dict[str, list[float | None]] = {}
    for row in rows:
        track_id, name, value = row[0], row[1], row[2]
        if not (value.__class__ is float or is_number(value)) or not math.isfinite(
            value
        ):
            continue
        if name is None:
            continue
        key = name if name.__class__ is str else str(name)
        values = plain.get(key)
        if values is None:
            values = plain[key] = [None] * count
            probes[key] = [None] * count
        at = position[track_id]
        old = values[at]
        if old is None or value < old:
            values[at] = float(value)
        if probed and _positive(row[3]):
            slot = probes[key]
            least = slot[at]
            if least is None or row[3] < least:
                slot[at] = float(row[3])
    out = Histories()
    for key, values in plain.items():
        out.plain[key] = [v for v in values if v is not None]
        found = [
            v / p
            for v, p in zip(values, probes[key], strict=True)
            if v is not None and p is not None
        ]
        if found:
            out.over_probe[key] = found
    return out


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


#: A benchmark's batches were spread when they spanned more than this many times
#: their own timed work (and 50 ms): back to back they span it plus the probes.
SPREAD: Final = 1.5


def spread_notes(base: Mapping[str, _Bench], head: Mapping[str, _Bench]) -> list[str]:
    """A note when benchmarks were timed in batches spread over the session on one
    side and back to back on the other: back-to-back batches can share one slow
    spell of the machine, so their fastest call reads a few percent slower."""
    timed = [(b, h) for name, h in head.items() if (b := base.get(name)) is not None]
    differ = sum(1 for b, h in timed if b.calibrated and b.spread != h.spread)
    if not differ:
        return []
    spread_head = sum(1 for b, h in timed if h.spread and not b.spread)
    sides = ("head", "base") if spread_head * 2 >= differ else ("base", "head")
    return [
        f"{differ} benchmarks had their batches spread over the session in "
        f"{sides[0]} and back to back in {sides[1]} (an older xetrack, "
        f"--xetrack-no-spread, spread=False or pytest-xdist): back-to-back batches can "
        f"share one slow spell of the machine and read slower for that reason alone"
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
    past_over_probe: Mapping[str, Sequence[float]] | None = None,
) -> list[Row]:
    """The rows of a comparison of ``head`` with ``base``; ``past`` holds each
    benchmark's fastest call in the lineage's runs, ``past_over_probe`` the same
    over the probe's (see :func:`xetrack.verdict.over_probe`)."""
    rows: list[Row] = []
    machine = pooled_noise(list(past.values()))
    machine_over = pooled_noise(list((past_over_probe or {}).values()))
    pairs = [
        (b, h)
        for name, h in head.items()
        if (b := base.get(name)) is not None
        and _timed(b)
        and _timed(h)
        and not (b.failed or h.failed)
    ]
    spread = across_noise(
        [math.log(min(h.samples[TIME]) / min(b.samples[TIME])) for b, h in pairs]
    )
    spread_over = across_noise(
        [
            math.log(min(h.samples[TIME]) / h.probe * b.probe / min(b.samples[TIME]))
            for b, h in pairs
            if b.probe is not None and h.probe is not None
        ]
    )
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
                disagrees = ""
                values, history, probed = timing_values(
                    b, h, base_samples, head_samples, past, past_over_probe, name
                )
                verdict, found = judge_timing(
                    *values,
                    history,
                    min_effect,
                    machine_over if probed else machine,
                    spread_over if probed else spread,
                )
                if probed and verdict in ("regressed", "improved"):
                    plain = floor_for(
                        run_value(b, base_samples),
                        run_value(h, head_samples),
                        past.get(name, []),
                        min_effect,
                        pooled=machine,
                        across=spread,
                    )
                    if not _agrees(verdict, plain.effect, min_effect):
                        disagrees = (
                            f"; {verdict} over the probe only: plainly "
                            f"x{plain.ratio:.3f} of its reference"
                        )
                        verdict = "inconclusive"
                row.verdict = verdict
                _with_evidence(row, found, probed)
                row.noise_source += disagrees
            else:
                row.verdict = judge(base_samples, head_samples, direction, min_effect)
            rows.append(row)
    return rows


def _agrees(verdict: str, plain_effect: float, min_effect: float) -> bool:
    """Whether a change judged over the probe shows in the plain time too: slower
    (or faster) than its plain reference by the minimum effect. A probe timed in
    another moment of the machine than its benchmark misreads both ways: on the
    verdict benchmark a 20% slowdown read x1.18 plainly and x0.79 over its probe
    ("improved"), and an A/A pair x0.95 plainly and x1.23 over the probe."""
    needed = math.log1p(min_effect)
    return plain_effect >= needed if verdict == "regressed" else plain_effect <= -needed


def run_value(bench: _Bench, samples: Sequence[float]) -> RunValue:
    return RunValue(min(samples), min_spread(bench.batch_mins), bench.spread)


def timing_values(
    base: _Bench,
    head: _Bench,
    base_samples: Sequence[float],
    head_samples: Sequence[float],
    past: Mapping[str, Sequence[float]],
    past_over_probe: Mapping[str, Sequence[float]] | None,
    name: str,
) -> tuple[tuple[RunValue, RunValue], Sequence[float], bool]:
    """What a timing verdict compares: (base, head), the history, and whether these
    are times over the probe's (when both runs timed it and its history is the
    steadier, :func:`xetrack.verdict.over_probe`) rather than plain times."""
    plain = past.get(name, [])
    base_value, head_value = (
        run_value(base, base_samples),
        run_value(head, head_samples),
    )
    over = (past_over_probe or {}).get(name, [])
    if base.probe is None or head.probe is None or not over_probe(plain, over):
        return (base_value, head_value), plain, False
    return (
        (
            RunValue(base_value.value / base.probe, base_value.within, base.spread),
            RunValue(head_value.value / head.probe, head_value.within, head.spread),
        ),
        over,
        True,
    )


def _with_evidence(row: Row, found: Evidence | None, probed: bool = False) -> None:
    if found is None:
        return
    row.interval = found.interval
    row.noise_floor = found.floor_ratio
    row.noise_source = found.source
    row.history = found.history
    if found.runs > 1 or probed:
        # what head was judged against, in head's seconds (its time over the
        # probe's was compared with the reference's: the same ratio)
        row.reference = row.head / found.ratio if row.head is not None else None
        row.reference_runs = found.runs
    if probed:
        row.noise_source += "; over the probe loop"
    if found.runs > 1:
        row.noise_source += (
            f"; against the median of the last {found.runs} runs, x{found.ratio:.3f}"
        )
    elif probed:
        row.noise_source += f", x{found.ratio:.3f}"
