"""A store's history across commits, in git order, judged step by step.

Each commit is read through its newest run (the one a comparison would take as a
baseline); each benchmark's value there is the median of that run's samples with
their quartiles as its spread, and its verdict is the one rule of
:func:`xetrack.judging.judged_rows` applied to the commit before it, with the
series' earlier values as its noise history. ``xt history`` draws it in the
terminal; :mod:`xetrack.report` draws it in the HTML report. Both render this
object; neither reads the store.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from xetrack.comparison import TIME
from xetrack.git import is_commit_id, run_git
from xetrack.judging import judged_rows, load_runs
from xetrack.store import open_store
from xetrack.store.schema import quote_ident
from xetrack.units import is_seconds_column
from xetrack.verdict import LOOKBACK

__all__ = ["Point", "RunInfo", "Series", "Timeline", "timeline"]

#: Row columns that say where a run ran (the plugin writes them on every row).
ENV_COLUMNS: Final = (
    "python_version",
    "platform",
    "cpu_model",
    "cpu_count",
    "xdist_workers",
)
#: Verdicts that mark a commit on a chart: the series changed there.
CHANGES: Final = frozenset({"regressed", "improved", "failed", "missing"})

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunInfo:
    """The run read for one commit, and where it ran."""

    track_id: str
    commit: str | None
    branch: str | None
    dirty: bool | None
    date: str
    status: str
    host: str | None
    env: dict[str, object] = field(default_factory=dict)

    def label(self) -> str:
        return self.commit[:7] if self.commit else self.track_id


@dataclass(frozen=True)
class Point:
    """One benchmark and metric at one commit (``run`` indexes ``Timeline.runs``)."""

    run: int
    value: float
    low: float
    high: float
    n: int
    #: against the commit before ("" at the series' first commit)
    verdict: str
    ratio: float | None = None


@dataclass
class Series:
    benchmark: str
    metric: str
    #: "min", "max" or None (shown, not judged)
    direction: str | None
    points: list[Point] = field(default_factory=list)
    #: runs (indexes) where the benchmark was expected and did not run or failed
    gaps: list[tuple[int, str]] = field(default_factory=list)

    @property
    def group(self) -> str:
        """The test file (``tests/bench/test_io.py``) or the function's module."""
        return self.benchmark.split("::", 1)[0]

    @property
    def is_time(self) -> bool:
        return is_seconds_column(self.metric)

    def baseline(self) -> float | None:
        """The first value, to which ``relative`` divides the series."""
        return self.points[0].value if self.points else None

    def relative(self) -> list[float | None]:
        """Each point's value over the first one's (None where that is 0)."""
        first = self.baseline()
        if not first:
            return [None for _ in self.points]
        return [p.value / first for p in self.points]


@dataclass
class Timeline:
    runs: list[RunInfo]
    series: list[Series]
    notes: list[str] = field(default_factory=list)


def git_order(repo: str | Path | None, commits: Sequence[str]) -> list[str] | None:
    """``commits`` parents first (git's topological order), or None when git cannot
    tell (no repository, a commit it lacks). Only hex ids reach git."""
    if repo is None or not commits or not all(is_commit_id(c) for c in commits):
        return None
    listed = run_git(repo, "rev-list", "--topo-order", "--end-of-options", *commits)
    if listed is None:
        return None
    wanted = set(commits)
    ordered = [c for c in reversed(listed.split()) if c in wanted]
    return ordered if len(ordered) == len(wanted) else None


def _chosen_runs(store: Any, table: str, last: int) -> list[Any]:
    """The newest run of each of the last ``last`` commits (run time order)."""
    from xetrack.compare import _runs

    chosen: dict[str, Any] = {}
    for run in _runs(store, table):  # newest first
        if run.commit is None or run.commit in chosen:
            continue
        if len(chosen) >= last:
            break
        chosen[run.commit] = run
    return list(chosen.values())


def _env(store: Any, table: str, track_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    types = store.schema(table).types
    columns = [c for c in ENV_COLUMNS if c in types]
    if not columns or not track_ids:
        return {}
    picked = ", ".join(f"MAX({quote_ident(c)})" for c in columns)
    marks = ", ".join("?" * len(track_ids))
    _, rows = store.query(
        f"SELECT track_id, {picked} FROM {quote_ident(table)} "
        f"WHERE track_id IN ({marks}) GROUP BY track_id",
        list(track_ids),
    )
    return {
        str(r[0]): {c: v for c, v in zip(columns, r[1:], strict=True) if v is not None}
        for r in rows
    }


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(sorted(values), n=4, method="inclusive")
    return q2, q1, q3


def timeline(
    db: str | Path,
    table: str = "default",
    repo: str | Path | None = ".",
    last: int = 100,
    metrics: Sequence[str] | None = None,
    test: str | None = None,
    min_effect: float = 0.05,
    engine: str | None = None,
    progress: Progress | None = None,
) -> Timeline:
    """The last ``last`` commits of ``table``, in git order (run time order where
    git cannot tell), each benchmark judged against the commit before it.

    ``metrics`` limits it to these columns (default: ``function_time`` and the
    metrics benchmarks declared); ``test`` keeps benchmarks whose id contains it.
    ``progress(done, total)`` is told as runs are read.
    """
    from xetrack.runs import records

    store = open_store(db, engine, read_only=True)
    try:
        runs = _chosen_runs(store, table, max(int(last), 0))
        notes: list[str] = []
        ordered = git_order(repo, [r.commit for r in runs])
        if ordered is None:
            runs.sort(key=lambda r: r.last)
            if len(runs) > 1:
                notes.append(
                    "commits are in the order their runs ran: git could not order "
                    f"them{f' in {repo}' if repo is not None else ''}"
                )
        else:
            runs.sort(key=lambda r: ordered.index(r.commit))
        ids = [r.track_id for r in runs]
        loaded: dict[str, Any] = {}
        step = 20  # runs per query: progress moves, memory stays small
        for start in range(0, len(ids), step):
            part, _ = load_runs(store, table, ids[start : start + step], metrics or [])
            loaded.update(part)
            if progress is not None:
                progress(min(start + step, len(ids)), len(ids))
        env = _env(store, table, ids)
        found = {r.track_id: r for r in records(store, table)}
        infos = [
            RunInfo(
                r.track_id,
                r.commit,
                r.branch,
                found[r.track_id].git_dirty if r.track_id in found else None,
                r.last,
                found[r.track_id].status if r.track_id in found else "finished",
                found[r.track_id].host if r.track_id in found else None,
                env.get(r.track_id, {}),
            )
            for r in runs
        ]
    finally:
        store.close()
    if len({r.fingerprint for r in runs}) > 1:
        notes.append(
            "the runs were measured on more than one environment (env_fingerprint): "
            "a step between them may be the machine, not the code"
        )
    return Timeline(infos, _judged(ids, loaded, metrics, test, min_effect), notes)


def _judged(
    ids: Sequence[str],
    loaded: dict[str, Any],
    metrics: Sequence[str] | None,
    test: str | None,
    min_effect: float,
) -> list[Series]:
    asked = list(metrics or [])
    found: dict[tuple[str, str], Series] = {}
    past: dict[str, list[float]] = {}  # each benchmark's fastest call, run by run
    over: dict[str, list[float]] = {}  # the same over the probe's, where timed
    previous: dict[str, Any] = {}
    for index, track_id in enumerate(ids):
        benches = {
            name: bench
            for name, bench in loaded[track_id].items()
            if test is None or test in name
        }
        rows = judged_rows(
            previous,
            benches,
            asked,
            min_effect,
            {k: v[-LOOKBACK:] for k, v in past.items()},
            {k: v[-LOOKBACK:] for k, v in over.items()},
        )
        for row in rows:
            key = (row.benchmark, row.metric)
            series = found.setdefault(
                key, Series(row.benchmark, row.metric, row.direction)
            )
            if row.direction is not None:
                series.direction = row.direction
            if not row.head_samples or row.verdict == "failed":
                series.gaps.append((index, row.verdict))
                continue
            middle, low, high = _quartiles(row.head_samples)
            series.points.append(
                Point(
                    index,
                    middle,
                    low,
                    high,
                    row.head_n,
                    "" if index == 0 else row.verdict,
                    row.ratio,
                )
            )
        for name, bench in benches.items():
            samples = bench.samples.get(TIME)
            if samples:
                past.setdefault(name, []).append(min(samples))
                if bench.probe is not None:
                    over.setdefault(name, []).append(min(samples) / bench.probe)
        previous = benches
    return sorted(
        found.values(), key=lambda s: (s.metric != TIME, s.benchmark, s.metric)
    )


def changed(series: Series) -> Iterable[Point]:
    """The points where the series' verdict says it moved."""
    return (p for p in series.points if p.verdict in CHANGES)
