"""Runs against runs: per-benchmark statistics and regression verdicts.

The one comparison engine: ``xt compare``, ``xt history`` and the pytest plugin's
report all call it. Selecting runs is pushed into SQL (one grouped scan, then the
rows of the two runs and the values of their lineage); the verdict rule for
timings is :mod:`xetrack.verdict`: a change must exceed both the minimum effect
and that benchmark's run-to-run noise, estimated from its history and batches.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from xetrack.errors import InvalidArgumentError, XetrackError
from xetrack.git import run_git
from xetrack.store import open_store
from xetrack.store.schema import quote_ident
from xetrack.verdict import (
    LOOKBACK,
    Evidence,
    RunValue,
    floor_for,
    judge_timing,
    min_spread,
    pooled_noise,
)

if TYPE_CHECKING:
    import pandas as pd

    from xetrack.store.base import SqlStore

TIME: Final = "function_time"
VERDICTS: Final = (
    "regressed",
    "failed",
    "missing",
    "inconclusive",
    "new",
    "unchanged",
    "improved",
)
#: worst first; "-" is a metric nobody declared a direction for: shown, not judged
_ORDER: Final = {v: i for i, v in enumerate((*VERDICTS, "-"))}


class NoRunError(XetrackError, LookupError):
    """A reference (commit, branch, track_id, "latest") that matches no run."""


@dataclass(frozen=True)
class Run:
    """One side of a comparison: a run and where it ran."""

    track_id: str
    commit: str | None
    branch: str | None
    fingerprint: str | None
    last: str

    def label(self) -> str:
        if self.commit:
            return (
                f"{self.commit[:7]} ({self.branch})" if self.branch else self.commit[:7]
            )
        return self.track_id


@dataclass
class Row:
    """One benchmark and metric, base against head: the values, the verdict and the
    evidence for it, as every renderer shows them (none of them recomputes)."""

    benchmark: str
    metric: str
    direction: str | None
    base_n: int = 0
    head_n: int = 0
    base: float | None = None
    head: float | None = None
    base_iqr: float | None = None
    head_iqr: float | None = None
    ratio: float | None = None
    verdict: str = "unchanged"
    #: the ratio head/base, give or take the noise (timings only)
    interval: tuple[float, float] | None = None
    #: the smallest relative change called a change here (0.07: 7%)
    noise_floor: float | None = None
    #: where that noise floor came from ("history of 9 runs", "batches x3, ...")
    noise_source: str = ""
    #: earlier runs of this benchmark that set the noise
    history: int = 0
    #: why the timings of base or head are not to be trusted ("" when they are)
    unstable: str = ""
    #: head's first reading, when the session measured it again as a suspect
    remeasured: float | None = None
    base_samples: list[float] = field(default_factory=list)
    head_samples: list[float] = field(default_factory=list)

    def evidence(self) -> str:
        """The verdict's evidence in one line: effect, interval, noise floor, counts."""
        if self.ratio is None:
            return f"n={self.base_n}/{self.head_n}"
        parts = [f"x{self.ratio:.3f}"]
        if self.interval is not None:
            parts.append(f"[{self.interval[0]:.3f}, {self.interval[1]:.3f}]")
        if self.noise_floor is not None:
            parts.append(f"noise floor {self.noise_floor:.1%} from {self.noise_source}")
        parts.append(f"n={self.base_n}/{self.head_n}")
        if self.remeasured is not None:
            parts.append(
                f"measured again after a first reading of {self.remeasured:.4g}"
            )
        if self.unstable:
            parts.append(f"unstable: {self.unstable}")
        return ", ".join(parts)


@dataclass
class Comparison:
    base: Run | None
    head: Run | None
    rows: list[Row]
    notes: list[str]
    min_effect: float

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.rows:
            if row.direction is not None:
                found[row.verdict] = found.get(row.verdict, 0) + 1
        return {v: found[v] for v in VERDICTS if v in found}

    def summary(self) -> str:
        if self.base is None or self.head is None:
            return self.notes[0] if self.notes else "nothing to compare"
        counts = (
            ", ".join(f"{n} {v}" for v, n in self.counts().items()) or "no benchmarks"
        )
        unstable = sum(1 for r in self.rows if r.unstable)
        tail = f" ({unstable} unstable)" if unstable else ""
        return f"{counts} vs {self.base.label()}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": asdict(self.base) if self.base else None,
            "head": asdict(self.head) if self.head else None,
            "summary": self.summary(),
            "counts": self.counts(),
            "notes": list(self.notes),
            "min_effect": self.min_effect,
            "rows": [asdict(r) for r in self.rows],
        }


# -- choosing runs ------------------------------------------------------------------------
def _runs(store: SqlStore, table: str) -> list[Run]:
    """Every run of the table, newest first, in one grouped scan."""
    types = store.require_table(table).types
    pick = {
        name: f"MAX({quote_ident(name)})" if name in types else "NULL"
        for name in ("git_commit", "git_branch", "env_fingerprint")
    }
    _, rows = store.query(
        f"SELECT track_id, {pick['git_commit']}, {pick['git_branch']}, "
        f"{pick['env_fingerprint']}, MAX(timestamp) AS last FROM {quote_ident(table)} "
        f"WHERE track_id IS NOT NULL GROUP BY track_id ORDER BY last DESC, track_id"
    )
    return [Run(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def resolve(ref: str, runs: Sequence[Run], repo: str | Path | None) -> Run:
    """The newest run named by ``ref``: "latest", a track_id (prefix), a commit
    (prefix), or a branch/tag that git resolves (or a recorded git_branch)."""
    if not runs:
        raise NoRunError("the table has no runs yet")
    if ref == "latest":
        return runs[0]
    for run in runs:
        if run.track_id == ref:
            return run
    if len(ref) >= 4:
        for run in runs:
            if run.commit and run.commit.startswith(ref.lower()):
                return run
        for run in runs:
            if run.track_id.startswith(ref):
                return run
    sha = (
        run_git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if repo
        else None
    )
    if sha:
        for run in runs:
            if run.commit == sha:
                return run
    for run in runs:
        if run.branch == ref:
            return run
    raise NoRunError(
        f"no run matches {ref!r}: give a commit, branch, tag, track_id (or a prefix), "
        f"or 'latest'; `xt runs` lists them"
    )


def default_base(
    head: Run,
    runs: Sequence[Run],
    repo: str | Path | None,
    any_env: bool,
    notes: list[str],
) -> Run | None:
    """The newest run on an ancestor commit of head's, other than head's commit.

    On a feature branch that is the merge-base side, not the newest run of another
    branch. Runs measured on another environment are skipped unless ``any_env``.
    Without git, the newest earlier run on another commit.
    """
    others = [r for r in runs if r.track_id != head.track_id and r.last <= head.last]
    ancestors: set[str] | None = None
    if head.commit and repo is not None:
        listed = run_git(repo, "rev-list", head.commit)
        if listed is not None:
            ancestors = set(listed.split())
        else:
            notes.append(
                f"git could not list the ancestors of {head.commit[:7]} in {repo}; "
                f"using the newest earlier run on another commit"
            )
    candidates = [
        r
        for r in others
        if r.commit != head.commit and (ancestors is None or (r.commit in ancestors))
    ]
    if not any_env:
        same = [r for r in candidates if r.fingerprint == head.fingerprint]
        skipped = [r for r in candidates if r.fingerprint != head.fingerprint]
        if skipped and (not same or skipped[0].last > same[0].last):
            notes.append(
                f"skipped {len(skipped)} run(s) from another environment (fingerprint "
                f"{skipped[0].fingerprint} vs {head.fingerprint}); allow them with any_env "
                f"(--any-env, --xetrack-any-env)"
            )
        candidates = same
    return candidates[0] if candidates else None


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


def _load(
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
        if not samples and _number(row.get(TIME)):
            samples = [float(row[TIME])]
        if samples:
            bench.samples.setdefault(TIME, []).extend(samples)
            bench.batch_mins.extend(
                _batch_mins(samples, _floats(row.get("time_batches")))
            )
        if _number(row.get("first_function_time")):
            bench.first = float(row["first_function_time"])
        if row.get("unstable") and not bench.unstable:
            bench.unstable = str(row.get("unstable_reason") or "unstable")
        for metric in dict.fromkeys([*metrics, *bench.directions]):
            value = row.get(metric)
            if metric != TIME and _number(value):
                bench.samples.setdefault(metric, []).append(float(value))  # type: ignore[arg-type]
    return runs, workers


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- the lineage: earlier runs whose values tell a benchmark's noise -------------------------
_SHA = re.compile(r"[0-9a-f]{4,64}")


def lineage(
    head: Run, base: Run | None, runs: Sequence[Run], repo: str | Path | None
) -> list[Run]:
    """Earlier runs of head's environment on its lineage, oldest first (at most
    LOOKBACK): runs on ancestors of head's commit or on that commit itself, and
    the baseline. Without git: the earlier runs of the same environment."""
    ancestors: set[str] | None = None
    if head.commit and repo is not None and _SHA.fullmatch(head.commit):
        # the commit comes from the store: passed only when it is a plain sha
        listed = run_git(repo, "rev-list", head.commit)
        if listed is not None:
            ancestors = set(listed.split())
    chosen = [
        r
        for r in runs
        if r.track_id != head.track_id
        and r.last <= head.last
        and r.fingerprint == head.fingerprint
        and (ancestors is None or r.commit in ancestors)
    ]
    chosen.sort(key=lambda r: r.last)
    chosen = chosen[-LOOKBACK:]
    if base is not None and all(r.track_id != base.track_id for r in chosen):
        chosen.append(base)
    return chosen


def _history(
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
    _, rows = store.query(
        f"SELECT track_id, {ident}, {fastest}, {quote_ident(TIME)} "
        f"FROM {quote_ident(table)} WHERE track_id IN ({marks}) AND {ident} IS NOT NULL",
        [r.track_id for r in earlier],
    )
    found: dict[tuple[str, str], float] = {}
    for track_id, name, low, value in rows:
        value = low if _number(low) else value
        if _number(value) and math.isfinite(value):
            key = (str(name), track_id)
            found[key] = min(found.get(key, math.inf), float(value))
    order = [r.track_id for r in earlier]
    out: dict[str, list[float]] = {}
    for name in sorted({n for n, _ in found}):
        out[name] = [found[(name, t)] for t in order if (name, t) in found]
    return out


def compare(
    db: str | Path,
    base: str | None = None,
    head: str | None = None,
    table: str = "default",
    metrics: Sequence[str] | None = None,
    repo: str | Path | None = ".",
    min_effect: float = 0.05,
    any_env: bool = False,
) -> Comparison:
    """Compare two runs of ``db``: ``head`` (default: the latest run) against ``base``
    (default: the newest run on an ancestor commit, see :func:`default_base`).

    ``metrics`` limits the comparison to these columns; by default ``function_time``
    and the metrics the benchmarks declared. Timings are judged against the noise of
    each benchmark (see :mod:`xetrack.verdict`), estimated from its earlier runs on
    head's lineage and from its batches. Raises :class:`NoRunError` for a reference
    that matches nothing.
    """
    store = open_store(db, read_only=True)
    try:
        runs = _runs(store, table)
        notes: list[str] = []
        if not runs:
            return Comparison(None, None, [], ["no runs in the table yet"], min_effect)
        head_run = resolve(head or "latest", runs, repo)
        base_run = (
            resolve(base, runs, repo)
            if base
            else default_base(head_run, runs, repo, any_env, notes)
        )
        if base_run is None:
            notes.insert(
                0,
                f"no baseline for {head_run.label()}: no earlier run on an ancestor commit",
            )
            return Comparison(None, head_run, [], notes, min_effect)
        if base_run.fingerprint != head_run.fingerprint and base:
            notes.append(
                f"base and head ran on different environments ({base_run.fingerprint} vs "
                f"{head_run.fingerprint}): timings may differ for that reason alone"
            )
        asked = list(metrics) if metrics else []
        loaded, workers = _load(
            store, table, [base_run.track_id, head_run.track_id], asked
        )
        earlier = lineage(head_run, base_run, runs, repo)
        past = _history(store, table, earlier)
    finally:
        store.close()
    notes.extend(_worker_notes(workers[base_run.track_id], workers[head_run.track_id]))
    base_rows, head_rows = loaded[base_run.track_id], loaded[head_run.track_id]
    rows = _compare_rows(base_rows, head_rows, asked, min_effect, past)
    notes.extend(_common_mode(rows, min_effect))
    rows.sort(
        key=lambda r: (
            _ORDER[r.verdict],
            -(r.ratio or 0.0) if r.verdict == "regressed" else 0.0,
            r.benchmark,
            r.metric,
        )
    )
    return Comparison(base_run, head_run, rows, notes, min_effect)


def expectations(
    db: str | Path,
    head: Run,
    table: str = "default",
    repo: str | Path | None = ".",
    base: str | None = None,
    min_effect: float = 0.05,
    any_env: bool = False,
) -> dict[str, tuple[float, float]]:
    """Before a run is measured: each benchmark's baseline value and the smallest
    relative slowdown that would be called a regression against it.

    ``head`` describes the run about to be made (its commit, branch and
    fingerprint; ``last`` later than any run). A session uses this to measure a
    suspected regression again before it ends, so a passing spike does not fail
    CI. Empty when there is no baseline yet.
    """
    try:
        store = open_store(db, read_only=True)
    except XetrackError:
        return {}
    try:
        runs = _runs(store, table)
        if not runs:
            return {}
        base_run = (
            resolve(base, runs, repo)
            if base
            else default_base(head, runs, repo, any_env, [])
        )
        if base_run is None:
            return {}
        loaded, _ = _load(store, table, [base_run.track_id], [])
        past = _history(store, table, lineage(head, base_run, runs, repo))
    except XetrackError:
        return {}  # no table yet, a reference that matches nothing: no expectations
    finally:
        store.close()
    out = {}
    machine = pooled_noise(list(past.values()))
    for name, bench in loaded[base_run.track_id].items():
        samples = bench.samples.get(TIME)
        if samples:
            value = _value(bench, samples)
            found = floor_for(value, None, past.get(name, []), min_effect, 0.0, machine)
            out[name] = (value.value, found.floor_ratio)
    return out


def _common_mode(rows: Sequence[Row], min_effect: float) -> list[str]:
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


def _worker_notes(base: set[int], head: set[int]) -> list[str]:
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


def _compare_rows(
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
                    _value(b, base_samples),
                    _value(h, head_samples),
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


def _value(bench: _Bench, samples: Sequence[float]) -> RunValue:
    return RunValue(min(samples), min_spread(bench.batch_mins))


def _with_evidence(row: Row, found: Evidence | None) -> None:
    if found is None:
        return
    row.interval = found.interval
    row.noise_floor = found.floor_ratio
    row.noise_source = found.source
    row.history = found.history


# -- the gate -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    """``METRIC:N%`` (relative change) or ``METRIC:N`` (absolute change)."""

    metric: str
    amount: float
    relative: bool

    def __str__(self) -> str:
        return (
            f"{self.metric}:{self.amount * 100:g}%"
            if self.relative
            else f"{self.metric}:{self.amount:g}"
        )

    def exceeded_by(self, row: Row) -> bool:
        if row.metric != self.metric or row.verdict != "regressed":
            return False
        if row.base is None or row.head is None:
            return False
        change = abs(row.head - row.base)
        if self.relative:
            return row.base != 0 and change / abs(row.base) > self.amount
        return change > self.amount


def parse_threshold(text: str) -> Threshold:
    """``function_time:5%`` or ``accuracy:0.02``; raises InvalidArgumentError."""
    metric, sep, amount = text.rpartition(":")
    relative = amount.endswith("%")
    number = amount[:-1] if relative else amount
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not sep or not metric or math.isnan(value) or value < 0:
        raise InvalidArgumentError(
            f"threshold {text!r} is not METRIC:N% or METRIC:N, for example "
            f"function_time:5% or accuracy:0.02"
        )
    return Threshold(metric, value / 100 if relative else value, relative)


def gate(
    comparison: Comparison, thresholds: Sequence[Threshold]
) -> list[tuple[Threshold, Row]]:
    """The regressions that pass a threshold: each should fail the build."""
    return [(t, r) for t in thresholds for r in comparison.rows if t.exceeded_by(r)]


def evidence(threshold: Threshold, row: Row) -> str:
    """One line that says why a row fails the gate."""
    return (
        f"{row.benchmark} {row.metric}: {_num(row.base)} -> {_num(row.head)} "
        f"({row.evidence()}) exceeds {threshold}"
    )


# -- output ---------------------------------------------------------------------------------
def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _verdict(row: Row) -> str:
    flags = [
        flag
        for flag, on in (
            ("unstable", row.unstable),
            ("measured twice", row.remeasured is not None),
        )
        if on
    ]
    return row.verdict + (f" ({', '.join(flags)})" if flags else "")


def _floor(row: Row) -> str:
    if row.noise_floor is None:
        return "-"
    return f"±{row.noise_floor:.1%}"


def render(comparison: Comparison, fmt: str = "table") -> str:
    """The comparison as ``table`` (terminal), ``markdown`` (a pull request) or ``json``."""
    if fmt == "json":
        return json.dumps(comparison.to_dict(), indent=2, default=str)
    if fmt not in ("table", "markdown"):
        raise InvalidArgumentError(
            f"format {fmt!r} is not one of table, markdown, json"
        )
    from tabulate import tabulate

    body = [
        [
            row.benchmark,
            row.metric,
            _num(row.base),
            _num(row.head),
            f"x{row.ratio:.2f}" if row.ratio is not None else "-",
            (
                f"{row.interval[0]:.2f}-{row.interval[1]:.2f}"
                if row.interval is not None
                else "-"
            ),
            _verdict(row),
            _floor(row),
            row.noise_source or "-",
            f"{row.base_n}/{row.head_n}",
        ]
        for row in comparison.rows
    ]
    headers = [
        "benchmark",
        "metric",
        "base",
        "head",
        "ratio",
        "interval",
        "verdict",
        "noise floor",
        "noise from",
        "n",
    ]
    lines = [comparison.summary()]
    if body:
        style = "github" if fmt == "markdown" else "simple"
        table = tabulate(body, headers=headers, tablefmt=style, disable_numparse=True)
        lines = (
            [table, "", comparison.summary()]
            if fmt == "markdown"
            else [table, comparison.summary()]
        )
    if comparison.head is not None and comparison.base is not None:
        lines.insert(
            0,
            f"head {comparison.head.label()} [{comparison.head.track_id}] vs "
            f"base {comparison.base.label()} [{comparison.base.track_id}]",
        )
    lines.extend(f"note: {n}" for n in comparison.notes if n != lines[-1])
    for row in comparison.rows:
        if row.unstable:
            lines.append(f"unstable: {row.benchmark}: {row.unstable}")
    return "\n".join(lines)


def history(
    db: str | Path,
    test: str | None = None,
    metric: str = TIME,
    last: int = 10,
    table: str = "default",
) -> pd.DataFrame:
    """A metric across the last ``last`` commits: one row per commit and benchmark.

    ``test`` keeps benchmarks whose identity contains it. Aggregated in SQL.
    """
    store = open_store(db, read_only=True)
    try:
        types = store.require_table(table).types
        ident = "test_nodeid" if "test_nodeid" in types else "function_name"
        for column in (ident, metric, "git_commit"):
            if column not in types:
                raise InvalidArgumentError(
                    f"table {table!r} has no column {column!r}; history needs {ident}, "
                    f"git_commit and the metric"
                )
        q, m = quote_ident(table), quote_ident(metric)
        where = f" AND {quote_ident(ident)} LIKE ?" if test else ""
        params: list[object] = [f"%{test}%"] if test else []
        sql = (
            f"WITH commits AS (SELECT git_commit, MAX(timestamp) AS last FROM {q} "
            f"WHERE git_commit IS NOT NULL GROUP BY git_commit ORDER BY last DESC LIMIT ?) "
            f"SELECT substr(t.git_commit, 1, 7) AS commit_id, c.last AS time, "
            f"t.{quote_ident(ident)} AS benchmark, AVG(t.{m}) AS {m}, COUNT(*) AS rows "
            f"FROM {q} AS t JOIN commits AS c ON t.git_commit = c.git_commit "
            f"WHERE t.{m} IS NOT NULL{where} GROUP BY t.git_commit, c.last, t.{quote_ident(ident)} "
            f"ORDER BY c.last, benchmark"
        )
        return store.query_df(sql, [max(int(last), 0), *params])
    finally:
        store.close()
