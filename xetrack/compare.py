"""Runs against runs: choosing them, comparing them, the regression gate, history.

The one comparison engine: ``xt compare``, ``xt history`` and the pytest plugin's
report all call it. Runs are chosen from their records, the newest first through
the runs table's index (every record only when those cannot answer, see
:data:`RECENT`); then only the two runs' rows are read, and their lineage's values
aggregated in SQL, through the track_id index. A benchmark's evidence is
loaded and judged in :mod:`xetrack.judging` by the rule of :mod:`xetrack.verdict`
(a change must exceed both the minimum effect and that benchmark's run-to-run
noise); the result object and its renderings are :mod:`xetrack.comparison`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from xetrack.comparison import (
    ORDER,
    TIME,
    VERDICTS,
    Comparison,
    Row,
    evidence,
    render,
)
from xetrack.errors import InvalidArgumentError, XetrackError
from xetrack.git import ancestors as git_ancestors
from xetrack.git import has_commit, is_commit_id, is_shallow, resolve_commit
from xetrack.judging import (
    common_mode_notes,
    harness_notes,
    judge,
    judged_rows,
    lineage,
    lineage_filled,
    lineage_values,
    load_runs,
    run_value,
    spread_notes,
    worker_notes,
)
from xetrack.runs import RunRecord, on_commits, recent, records, selection_text
from xetrack.selection import Selection
from xetrack.store import open_store
from xetrack.store.schema import quote_ident
from xetrack.verdict import RunValue, floor_for, over_probe, pooled_noise

__all__ = [
    "TIME",
    "VERDICTS",
    "Comparison",
    "Expected",
    "NoRunError",
    "Row",
    "Run",
    "Threshold",
    "compare",
    "default_base",
    "evidence",
    "expectations",
    "gate",
    "history",
    "judge",
    "lineage",
    "parse_threshold",
    "render",
    "resolve",
]

if TYPE_CHECKING:
    import pandas as pd

    from xetrack.store.base import SqlStore


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
    #: the rows its run record counts (None: not known), which chooses how its
    #: lineage is read; not part of what a comparison says of the run
    rows: int | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, object]:
        """The run as a comparison's JSON document gives it."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}

    def label(self) -> str:
        if self.commit:
            return (
                f"{self.commit[:7]} ({self.branch})" if self.branch else self.commit[:7]
            )
        return self.track_id


# -- choosing runs ------------------------------------------------------------------------
#: How many of the newest runs a comparison reads first: the lineage's LOOKBACK
#: runs, head and the baseline, and a few to spare. When these cannot answer
#: exactly as all runs would (a reference to an older run, a lineage with fewer
#: than LOOKBACK runs among them: other branches' or environments' runs between
#: them, a note that counts runs), it reads RECENT_MORE times as many, then every
#: run of the table.
RECENT = 24
RECENT_MORE = 8


def _runs(store: SqlStore, table: str) -> list[Run]:
    """Every run of the table that has rows, newest first, from its run records
    (derived from the rows for a store that has none)."""
    store.require_table(table)
    return _newest_first(records(store, table, with_rows=True))


def _recent_runs(store: SqlStore, table: str, count: int) -> tuple[list[Run], bool]:
    """The newest runs of the table (at least the ``count`` newest, see
    :func:`xetrack.runs.recent`), newest first, and whether they are all of them."""
    store.require_table(table)
    found = recent(store, table, count)
    if found is None:
        return _newest_first(records(store, table, with_rows=True)), True
    return _newest_first(found[0]), found[1]


def _newest_first(found: Sequence[RunRecord]) -> list[Run]:
    ordered = sorted(found, key=lambda r: r.track_id)
    ordered.sort(key=lambda r: r.last or "", reverse=True)
    return [
        Run(
            r.track_id,
            r.git_commit,
            r.git_branch,
            r.env_fingerprint,
            r.last or "",
            r.rows,
        )
        for r in ordered
    ]


def describe_runs(runs: Sequence[Run], limit: int = 5) -> str:
    """The newest runs, one phrase each: ``track_id (commit, branch, last time)``."""
    if not runs:
        return "the table has no runs yet"
    shown = []
    for run in runs[:limit]:
        where = [run.commit[:7]] if run.commit else []
        where += [run.branch] if run.branch else []
        shown.append(f"{run.track_id} ({', '.join([*where, run.last[:19]])})")
    more = f", and {len(runs) - limit} older" if len(runs) > limit else ""
    return f"runs there, newest first: {'; '.join(shown)}{more}"


def resolve(ref: str, runs: Sequence[Run], repo: str | Path | None) -> Run:
    """The newest run named by ``ref``: "latest", a track_id (prefix), a commit
    (prefix), or a branch/tag that git resolves (or a recorded git_branch).

    Raises :class:`NoRunError` naming ``ref`` and listing the newest runs.
    """
    if not runs:
        raise NoRunError(f"no run matches {ref!r}: the table has no runs yet")
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
    sha = resolve_commit(repo, ref) if repo else None
    if sha:
        for run in runs:
            if run.commit == sha:
                return run
    for run in runs:
        if run.branch == ref:
            return run
    raise NoRunError(
        f"no run matches {ref!r}: give a commit, branch, tag, track_id (or a prefix), "
        f"or 'latest'; {describe_runs(runs)}"
    )


def shallow_note(
    head: Run, others: Sequence[Run], repo: str | Path | None
) -> str | None:
    """Why no ancestor was found, when git's history is cut short: a shallow clone
    (``git clone --depth N``, the CI default) cannot tell whether runs on commits
    it does not have are ancestors. None when the clone is complete."""
    if repo is None or not is_shallow(repo):
        return None
    commits = list(dict.fromkeys(r.commit for r in others if r.commit != head.commit))
    unseen = [c for c in commits if c and not has_commit(repo, c)]
    if not unseen:
        return None
    shown = ", ".join(c[:7] for c in unseen[:3]) + (", ..." if len(unseen) > 3 else "")
    count = sum(1 for r in others if r.commit in unseen)
    return (
        f"{repo} is a shallow clone: git cannot tell whether the {count} run(s) on "
        f"other commits ({shown}) are ancestors of {head.commit[:7] if head.commit else 'head'}; "
        f"fetch the full history (actions/checkout with fetch-depth: 0, or "
        f"git fetch --unshallow)"
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
        ancestors = git_ancestors(repo, head.commit)
        if ancestors is None and not is_commit_id(head.commit):
            notes.append(
                f"the run's git_commit {head.commit!r} is not a commit id, so git was "
                f"not asked about it; using the newest earlier run on another commit"
            )
        elif ancestors is None:
            notes.append(
                f"git could not list the ancestors of {head.commit[:7]} in {repo}; "
                f"using the newest earlier run on another commit"
            )
    candidates = [
        r
        for r in others
        if r.commit != head.commit and (ancestors is None or (r.commit in ancestors))
    ]
    if not candidates and ancestors is not None:
        note = shallow_note(head, others, repo)
        if note is not None:
            notes.append(note)
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


class _Undecided(Exception):
    """The newest runs cannot answer exactly as every run would: read them all."""


T = TypeVar("T")


def _with_recent(
    store: SqlStore, table: str, choose: Callable[[list[Run], bool], T]
) -> T:
    """``choose(runs, complete)`` on the newest runs, on more of them and at last
    on every run while it raises :class:`_Undecided` (``complete``: the runs are
    all of them)."""
    for count in (RECENT, RECENT * RECENT_MORE):
        runs, complete = _recent_runs(store, table, count)
        try:
            return choose(runs, complete)
        except _Undecided:
            if complete:
                raise
    return choose(_runs(store, table), True)


def _find(
    ref: str, among: Sequence[Run], complete: bool, repo: str | Path | None
) -> Run:
    """:func:`resolve` when its answer cannot depend on older runs: every run, an
    exact track_id, or "latest"; otherwise :class:`_Undecided`."""
    if not complete and not (
        (ref == "latest" and among) or any(r.track_id == ref for r in among)
    ):
        raise _Undecided
    return resolve(ref, among, repo)


@dataclass
class _Chosen:
    """The runs a comparison reads: head, its baseline, head's lineage."""

    head: Run | None
    base: Run | None
    earlier: list[Run]
    notes: list[str]


def _choose(
    runs: list[Run],
    complete: bool,
    head: str | None,
    base: str | None,
    repo: str | Path | None,
    any_env: bool,
) -> _Chosen:
    """The runs of :func:`compare` among ``runs`` (newest first); raises
    :class:`_Undecided` when ``runs`` are not ``complete`` and the rest could
    change the answer, a note, or an error's list of runs."""
    notes: list[str] = []
    if not runs:
        if not complete:
            raise _Undecided
        return _Chosen(None, None, [], ["no runs in the table yet"])
    head_run = _find(head or "latest", runs, complete, repo)
    # The baseline is never the head run: "latest" as a base is the newest other.
    others = [r for r in runs if r.track_id != head_run.track_id]
    if base and (base == head_run.track_id or not others) and not complete:
        raise _Undecided  # the error lists the newest runs and counts the rest
    if base and base == head_run.track_id:
        raise NoRunError(
            f"base {base!r} is the head run itself; compare it with another run: "
            f"{describe_runs(others)}"
        )
    if base and not others:
        raise NoRunError(
            f"no run matches {base!r}: the only run in the table is the head run "
            f"{head_run.track_id}"
        )
    if base:
        base_run: Run | None = _find(base, others, complete, repo)
    else:
        base_run = default_base(head_run, runs, repo, any_env, notes)
        if not complete and (base_run is None or notes):
            raise _Undecided  # older runs may hold the baseline; notes count runs
    if base_run is None:
        notes.insert(
            0,
            f"no baseline for {head_run.label()}: no earlier run on an ancestor commit",
        )
        return _Chosen(head_run, None, [], notes)
    if base_run.fingerprint != head_run.fingerprint and base:
        notes.append(
            f"base and head ran on different environments ({base_run.fingerprint} vs "
            f"{head_run.fingerprint}): timings may differ for that reason alone"
        )
    earlier, filled = lineage_filled(head_run, base_run, runs, repo)
    if not (complete or filled):
        raise _Undecided
    return _Chosen(head_run, base_run, earlier, notes)


def compare(
    db: str | Path,
    base: str | None = None,
    head: str | None = None,
    table: str = "default",
    metrics: Sequence[str] | None = None,
    repo: str | Path | None = ".",
    min_effect: float = 0.05,
    any_env: bool = False,
    engine: str | None = None,
) -> Comparison:
    """Compare two runs of ``db``: ``head`` (default: the latest run) against ``base``
    (default: the newest run on an ancestor commit, see :func:`default_base`).

    ``metrics`` limits the comparison to these columns; by default ``function_time``
    and the metrics the benchmarks declared. Timings are judged against the noise of
    each benchmark (see :mod:`xetrack.verdict`), estimated from its earlier runs on
    head's lineage and from its batches. ``engine`` checks the file's engine
    (detected by default). Raises :class:`NoRunError` for a reference that matches
    nothing, or for a base that is the head run itself.
    """
    store = open_store(db, engine, read_only=True)
    try:
        chosen = _with_recent(
            store,
            table,
            lambda runs, complete: _choose(runs, complete, head, base, repo, any_env),
        )
        head_run, base_run, notes = chosen.head, chosen.base, chosen.notes
        if head_run is None:
            return Comparison(None, None, [], notes, min_effect)
        if base_run is None:
            return Comparison(None, head_run, [], notes, min_effect)
        asked = list(metrics) if metrics else []
        loaded, workers = load_runs(
            store, table, [base_run.track_id, head_run.track_id], asked
        )
        past = lineage_values(
            store, table, chosen.earlier, len(loaded[head_run.track_id])
        )
        selection = Selection.from_json(selection_text(store, head_run.track_id, table))
    finally:
        store.close()
    notes.extend(worker_notes(workers[base_run.track_id], workers[head_run.track_id]))
    base_rows, head_rows = loaded[base_run.track_id], loaded[head_run.track_id]
    notes.extend(harness_notes(base_rows, head_rows))
    notes.extend(spread_notes(base_rows, head_rows))
    rows = judged_rows(
        base_rows, head_rows, asked, min_effect, past.plain, past.over_probe
    )
    rows, unselected = selected_rows(rows, selection)
    notes.extend(common_mode_notes(rows, min_effect))
    rows.sort(
        key=lambda r: (
            ORDER[r.verdict],
            -(r.ratio or 0.0) if r.verdict == "regressed" else 0.0,
            r.benchmark,
            r.metric,
        )
    )
    return Comparison(base_run, head_run, rows, notes, min_effect, unselected)


def selected_rows(
    rows: list[Row], selection: Selection | None
) -> tuple[list[Row], list[str]]:
    """The rows of a comparison without the baseline's benchmarks that head's run
    did not select (``-k``, ``-m``, paths), and those benchmarks' names."""
    if selection is None:
        return rows, []
    kept, left_out = [], []
    for row in rows:
        if row.verdict == "missing" and not selection.selects(row.benchmark):
            left_out.append(row.benchmark)
        else:
            kept.append(row)
    return kept, sorted(set(left_out))


@dataclass(frozen=True)
class Expected:
    """What a benchmark of the coming run will be compared with."""

    #: the reference: seconds, or (``over_probe``) a time over the probe's
    value: float
    over_probe: bool = False

    def reading(self, fastest: float, probe: float | None) -> float | None:
        """A run's fastest call as the verdict will read it: over its probe's when
        the reference is (None without a probe to divide by)."""
        if not self.over_probe:
            return fastest
        return fastest / probe if probe is not None and probe > 0 else None

    def exceeded(self, fastest: float, probe: float | None, min_effect: float) -> bool:
        """Whether a run's fastest call (and its probe's) reads slower than the
        reference by more than ``min_effect``; False when it cannot be told."""
        value = self.reading(fastest, probe)
        if self.value <= 0 or value is None:
            return False
        return value > self.value * (1 + min_effect)


def expectations(
    db: str | Path,
    head: Run,
    table: str = "default",
    repo: str | Path | None = ".",
    base: str | None = None,
    min_effect: float = 0.05,
    any_env: bool = False,
) -> dict[str, Expected]:
    """Before a run is measured: each benchmark's reference value (the baseline's,
    or the median of the lineage's newest runs: what the verdict will compare
    with), and whether it is a time over the probe loop's.

    ``head`` describes the run about to be made (its commit, branch and
    fingerprint; ``last`` later than any run). A session uses this to measure a
    suspected regression again before it ends, so a passing spike does not fail
    CI. Empty when there is no baseline yet.
    """
    try:
        store = open_store(db, read_only=True)
    except XetrackError:
        return {}

    def choose(runs: list[Run], complete: bool) -> tuple[Run, list[Run]] | None:
        if not runs and not complete:
            raise _Undecided
        if base:
            base_run: Run | None = _find(base, runs, complete, repo)
        else:
            base_run = default_base(head, runs, repo, any_env, []) if runs else None
            if base_run is None and not complete:
                raise _Undecided
        if base_run is None:
            return None
        earlier, filled = lineage_filled(head, base_run, runs, repo)
        if not (complete or filled):
            raise _Undecided
        return base_run, earlier

    try:
        chosen = _with_recent(store, table, choose)
        if chosen is None:
            return {}
        base_run, earlier = chosen
        loaded, _ = load_runs(store, table, [base_run.track_id], [])
        past = lineage_values(store, table, earlier, len(loaded[base_run.track_id]))
    except XetrackError:
        return {}  # no table yet, a reference that matches nothing: no expectations
    finally:
        store.close()
    out: dict[str, Expected] = {}
    machine = pooled_noise(list(past.plain.values()))
    for name, bench in loaded[base_run.track_id].items():
        samples = bench.samples.get(TIME)
        if samples:
            value, history = run_value(bench, samples), past.plain.get(name, [])
            over = past.over_probe.get(name, [])
            probed = bench.probe is not None and over_probe(history, over)
            if probed:
                assert bench.probe is not None
                value, history = RunValue(value.value / bench.probe), over
            found = floor_for(value, None, history, min_effect, 0.0, machine)
            out[name] = Expected(found.reference, probed)
    return out


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
        # judged against what the verdict was: the lineage's median when it was one
        base = row.reference if row.reference is not None else row.base
        if base is None or row.head is None:
            return False
        change = abs(row.head - base)
        if self.relative:
            return base != 0 and change / abs(base) > self.amount
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


def parse_min_effect(text: str) -> float:
    """``5%`` or a fraction below 1 (``0.05``): the smallest relative change that counts.

    The one parser of ``xt compare --min-effect`` and ``--xetrack-min-effect``. A bare
    number of 1 or more (``5``) is refused: it would mean 500%. Raises
    :class:`InvalidArgumentError` saying what to write.
    """
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        value = math.nan
    if percent:
        value /= 100
    if not math.isfinite(value) or value < 0 or (not percent and value >= 1):
        raise InvalidArgumentError(
            f"min effect {text!r} is not a percentage or a fraction below 1: "
            f"write 5% or 0.05 for five percent"
        )
    return value


def unknown_metrics(
    comparison: Comparison, thresholds: Sequence[Threshold]
) -> tuple[list[Threshold], list[str]]:
    """Thresholds naming a metric no compared benchmark has, and the metrics there are.

    Only meaningful with a baseline (the rows name the metrics of both runs).
    """
    metrics = sorted({row.metric for row in comparison.rows})
    return [t for t in thresholds if t.metric not in metrics], metrics


def gate(
    comparison: Comparison, thresholds: Sequence[Threshold]
) -> list[tuple[Threshold, Row]]:
    """The regressions that pass a threshold: each should fail the build."""
    return [(t, r) for t in thresholds for r in comparison.rows if t.exceeded_by(r)]


def history(
    db: str | Path,
    test: str | None = None,
    metric: str = TIME,
    last: int = 10,
    table: str = "default",
    engine: str | None = None,
) -> pd.DataFrame:
    """A metric across the last ``last`` commits: one row per commit and benchmark.

    ``test`` keeps benchmarks whose identity contains it. Aggregated in SQL.
    """
    store = open_store(db, engine, read_only=True)
    try:
        types = store.require_table(table).types
        ident = "test_nodeid" if "test_nodeid" in types else "function_name"
        for column in (ident, metric, "git_commit"):
            if column not in types:
                raise InvalidArgumentError(
                    f"table {table!r} has no column {column!r}; history needs {ident}, "
                    f"git_commit and the metric"
                )
        # The newest commits and their runs come from the run records; only those
        # runs' rows are read, through the track_id index.
        wanted = max(int(last), 0)

        def choose(runs: list[Run], complete: bool) -> dict[str, tuple[str, list[str]]]:
            commits: dict[str, tuple[str, list[str]]] = {}
            for run in runs:
                if run.commit is None:
                    continue
                if run.commit in commits:
                    commits[run.commit][1].append(run.track_id)
                elif len(commits) < wanted:
                    commits[run.commit] = (run.last, [run.track_id])
            if complete:
                return commits
            if len(commits) < wanted:
                raise _Undecided
            # older runs on the same commits count too
            seen = {t for _, ids in commits.values() for t in ids}
            for record in on_commits(store, table, list(commits)):
                if record.track_id not in seen and record.git_commit is not None:
                    commits[record.git_commit][1].append(record.track_id)
            return commits

        commits = _with_recent(store, table, choose)
        import pandas as pd

        ids = [t for _, chosen in commits.values() for t in chosen]
        columns = ["commit_id", "time", "benchmark", metric, "rows"]
        if not ids:
            return pd.DataFrame(columns=columns)
        q, m, who = quote_ident(table), quote_ident(metric), quote_ident(ident)
        where = f" AND {who} LIKE ?" if test else ""
        params: list[object] = [*ids, *([f"%{test}%"] if test else [])]
        _, found = store.query(
            f"SELECT git_commit, {who}, AVG({m}), COUNT(*) FROM {q} "
            f"WHERE track_id IN ({', '.join('?' * len(ids))}) AND {m} IS NOT NULL"
            f"{where} GROUP BY git_commit, {who}",
            params,
        )
        rows = [
            (c[:7], commits[c][0], bench, value, int(count))
            for c, bench, value, count in found
            if c in commits
        ]
        rows.sort(key=lambda r: (r[1], str(r[2])))
        return pd.DataFrame(rows, columns=columns)
    finally:
        store.close()
