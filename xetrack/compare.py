"""Runs against runs: per-benchmark statistics and regression verdicts.

The one comparison engine: ``xt compare``, ``xt history`` and the pytest plugin's
report all call it. Selecting runs is pushed into SQL (one grouped scan, then the
rows of the two runs); statistics use scipy on the raw per-round samples.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from xetrack.errors import InvalidArgumentError, XetrackError
from xetrack.git import ancestors as git_ancestors
from xetrack.git import has_commit, is_commit_id, is_shallow, resolve_commit
from xetrack.runs import records
from xetrack.store import open_store
from xetrack.store.schema import quote_ident

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
    """One benchmark and metric, base against head."""

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
    p_value: float | None = None
    verdict: str = "unchanged"
    base_samples: list[float] = field(default_factory=list)
    head_samples: list[float] = field(default_factory=list)


@dataclass
class Comparison:
    base: Run | None
    head: Run | None
    rows: list[Row]
    notes: list[str]
    min_effect: float
    alpha: float

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
        return f"{counts} vs {self.base.label()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": asdict(self.base) if self.base else None,
            "head": asdict(self.head) if self.head else None,
            "summary": self.summary(),
            "counts": self.counts(),
            "notes": list(self.notes),
            "min_effect": self.min_effect,
            "alpha": self.alpha,
            "rows": [asdict(r) for r in self.rows],
        }


# -- choosing runs ------------------------------------------------------------------------
def _runs(store: SqlStore, table: str) -> list[Run]:
    """Every run of the table that has rows, newest first, from its run records
    (derived from the rows for a store that has none)."""
    store.require_table(table)
    found = sorted(records(store, table, with_rows=True), key=lambda r: r.track_id)
    found.sort(key=lambda r: r.last or "", reverse=True)
    return [
        Run(r.track_id, r.git_commit, r.git_branch, r.env_fingerprint, r.last or "")
        for r in found
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


# -- statistics ---------------------------------------------------------------------------
def _min_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value an exact Mann-Whitney U test can give."""
    return 2.0 / math.comb(n1 + n2, n1)


def _iqr(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(sorted(values), n=4, method="inclusive")
    return q3 - q1


def p_values(pairs: Sequence[tuple[Sequence[float], Sequence[float]]]) -> list[float]:
    """Two-sided Mann-Whitney U p-values of many (base, head) sample pairs.

    Pairs of the same sizes go to scipy in one vectorised call: a hundred
    benchmarks cost about what one does.
    """
    import numpy as np
    from scipy.stats import mannwhitneyu

    out = [math.nan] * len(pairs)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (base, head) in enumerate(pairs):
        groups.setdefault((len(base), len(head)), []).append(index)
    for indices in groups.values():
        x = np.array([pairs[i][0] for i in indices], dtype=float)
        y = np.array([pairs[i][1] for i in indices], dtype=float)
        result = mannwhitneyu(x, y, alternative="two-sided", axis=1)
        for i, p in zip(indices, np.atleast_1d(result.pvalue), strict=True):
            out[i] = float(p)
    return out


def judge(
    base: Sequence[float],
    head: Sequence[float],
    direction: str,
    min_effect: float,
    alpha: float,
    test: bool,
    p: float | None = None,
) -> tuple[str, float | None]:
    """Verdict and p-value. ``test``: samples of a noisy quantity (timings), judged by
    a Mann-Whitney U test (``p``, computed here if not given) and the minimum effect;
    otherwise by the effect alone."""
    base_mid, head_mid = statistics.median(base), statistics.median(head)
    if base_mid == 0:
        change = 0.0 if head_mid == 0 else math.inf
    else:
        change = (head_mid - base_mid) / abs(base_mid)
    worse = change > 0 if direction == "min" else change < 0
    big = abs(change) >= min_effect
    if not test:
        return ("regressed" if worse else "improved") if big else "unchanged", None
    if _min_p(len(base), len(head)) >= alpha:
        return "inconclusive", None
    if p is None:
        (p,) = p_values([(base, head)])
    if p < alpha and big:
        return ("regressed" if worse else "improved"), p
    return "unchanged", p


# -- rows of a run ------------------------------------------------------------------------
@dataclass
class _Bench:
    samples: dict[str, list[float]] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    failed: bool = False


def _load(
    store: SqlStore, table: str, track_ids: Sequence[str], metrics: Sequence[str]
) -> dict[str, dict[str, _Bench]]:
    """Benchmarks of each run, from one scan of the table."""
    types = store.schema(table).types
    ident = "test_nodeid" if "test_nodeid" in types else "function_name"
    if ident not in types:
        raise InvalidArgumentError(
            f"table {table!r} has neither test_nodeid nor function_name: nothing identifies "
            f"a benchmark (rows of @track tests or tracker.track calls have them)"
        )
    # A run is a few hundred rows at most: take them whole, so declared metrics
    # (named only inside each row's "metrics") come along.
    marks = ", ".join("?" * len(track_ids))
    names, rows = store.query(
        f"SELECT * FROM {quote_ident(table)} WHERE track_id IN ({marks}) ORDER BY rowid",
        list(track_ids),
    )
    runs: dict[str, dict[str, _Bench]] = {t: {} for t in track_ids}
    for raw in rows:
        row = dict(zip(names, raw, strict=True))
        if row[ident] is None:
            continue
        bench = runs[row["track_id"]].setdefault(str(row[ident]), _Bench())
        if row.get("outcome") in ("failed", "error"):
            bench.failed = True
        declared = row.get("metrics")
        if isinstance(declared, str) and declared:
            try:
                bench.directions.update(json.loads(declared))
            except ValueError:
                pass
        samples = row.get("time_samples")
        if isinstance(samples, str) and samples:
            bench.samples.setdefault(TIME, []).extend(
                float(s) for s in json.loads(samples)
            )
        elif isinstance(row.get(TIME), (int, float)):
            bench.samples.setdefault(TIME, []).append(float(row[TIME]))
        for metric in dict.fromkeys([*metrics, *bench.directions]):
            value = row.get(metric)
            if (
                metric != TIME
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            ):
                bench.samples.setdefault(metric, []).append(float(value))
    return runs


def compare(
    db: str | Path,
    base: str | None = None,
    head: str | None = None,
    table: str = "default",
    metrics: Sequence[str] | None = None,
    repo: str | Path | None = ".",
    min_effect: float = 0.05,
    alpha: float = 0.05,
    any_env: bool = False,
    engine: str | None = None,
) -> Comparison:
    """Compare two runs of ``db``: ``head`` (default: the latest run) against ``base``
    (default: the newest run on an ancestor commit, see :func:`default_base`).

    ``metrics`` limits the comparison to these columns; by default ``function_time``
    and the metrics the benchmarks declared. ``engine`` checks the file's engine
    (detected by default). Raises :class:`NoRunError` for a reference that matches
    nothing, or for a base that is the head run itself.
    """
    store = open_store(db, engine, read_only=True)
    try:
        runs = _runs(store, table)
        notes: list[str] = []
        if not runs:
            return Comparison(
                None, None, [], ["no runs in the table yet"], min_effect, alpha
            )
        head_run = resolve(head or "latest", runs, repo)
        if base and base == head_run.track_id:
            raise NoRunError(
                f"base {base!r} is the head run itself; compare it with another run: "
                f"{describe_runs([r for r in runs if r is not head_run])}"
            )
        # The baseline is never the head run: "latest" as a base is the newest other.
        others = [r for r in runs if r.track_id != head_run.track_id]
        if base and not others:
            raise NoRunError(
                f"no run matches {base!r}: the only run in the table is the head run "
                f"{head_run.track_id}"
            )
        base_run = (
            resolve(base, others, repo)
            if base
            else default_base(head_run, runs, repo, any_env, notes)
        )
        if base_run is None:
            notes.insert(
                0,
                f"no baseline for {head_run.label()}: no earlier run on an ancestor commit",
            )
            return Comparison(None, head_run, [], notes, min_effect, alpha)
        if base_run.fingerprint != head_run.fingerprint and base:
            notes.append(
                f"base and head ran on different environments ({base_run.fingerprint} vs "
                f"{head_run.fingerprint}): timings may differ for that reason alone"
            )
        asked = list(metrics) if metrics else []
        loaded = _load(store, table, [base_run.track_id, head_run.track_id], asked)
        base_rows, head_rows = loaded[base_run.track_id], loaded[head_run.track_id]
    finally:
        store.close()
    rows = _compare_rows(base_rows, head_rows, asked, min_effect, alpha)
    rows.sort(
        key=lambda r: (
            _ORDER[r.verdict],
            -(r.ratio or 0.0) if r.verdict == "regressed" else 0.0,
            r.benchmark,
            r.metric,
        )
    )
    return Comparison(base_run, head_run, rows, notes, min_effect, alpha)


def _compare_rows(
    base: Mapping[str, _Bench],
    head: Mapping[str, _Bench],
    asked: Sequence[str],
    min_effect: float,
    alpha: float,
) -> list[Row]:
    rows: list[Row] = []
    tested: list[Row] = []
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
            if base_samples:
                row.base, row.base_iqr = (
                    statistics.median(base_samples),
                    _iqr(base_samples),
                )
            if head_samples:
                row.head, row.head_iqr = (
                    statistics.median(head_samples),
                    _iqr(head_samples),
                )
            if row.base and row.head is not None:
                row.ratio = row.head / row.base
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
            elif metric == TIME and _min_p(row.base_n, row.head_n) < alpha:
                tested.append(row)  # judged below, all timing tests in one go
            else:
                row.verdict, row.p_value = judge(
                    base_samples,
                    head_samples,
                    direction,
                    min_effect,
                    alpha,
                    test=metric == TIME,
                )
            rows.append(row)
    if tested:
        found = p_values([(r.base_samples, r.head_samples) for r in tested])
        for row, p in zip(tested, found, strict=True):
            row.verdict, row.p_value = judge(
                row.base_samples, row.head_samples, "min", min_effect, alpha, True, p
            )
    return rows


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


def evidence(threshold: Threshold, row: Row) -> str:
    """One line that says why a row fails the gate."""
    p = f", p={row.p_value:.2g}" if row.p_value is not None else ""
    return (
        f"{row.benchmark} {row.metric}: {_num(row.base)} -> {_num(row.head)} "
        f"(x{row.ratio:.2f}{p}, n={row.base_n}/{row.head_n}) exceeds {threshold}"
        if row.ratio is not None
        else f"{row.benchmark} {row.metric}: {_num(row.base)} -> {_num(row.head)} exceeds {threshold}"
    )


# -- output ---------------------------------------------------------------------------------
def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


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
            row.verdict,
            f"{row.p_value:.2g}" if row.p_value is not None else "-",
            f"{row.base_n}/{row.head_n}",
        ]
        for row in comparison.rows
    ]
    headers = ["benchmark", "metric", "base", "head", "ratio", "verdict", "p", "n"]
    lines = [comparison.summary()]
    if body:
        style = "github" if fmt == "markdown" else "simple"
        table = tabulate(body, headers=headers, tablefmt=style)
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
    return "\n".join(lines)


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
        commits: dict[str, tuple[str, list[str]]] = {}
        for run in _runs(store, table):
            if run.commit is None:
                continue
            if run.commit in commits:
                commits[run.commit][1].append(run.track_id)
            elif len(commits) < max(int(last), 0):
                commits[run.commit] = (run.last, [run.track_id])
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
