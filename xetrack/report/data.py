"""What the HTML report shows, as one JSON document: the comparison and the
timeline turned into plain numbers and strings for the page's script.

Times are scaled to one unit per benchmark (see :mod:`xetrack.units`) and rounded
to the digits tables print, which keeps a history of 100 benchmarks x 100 commits
small; the page formats nothing itself that a table would format differently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from xetrack.colour import CSS
from xetrack.comparison import TIME, VERDICTS, Comparison, Row
from xetrack.timeline import RunInfo, Series, Timeline
from xetrack.units import DIGITS, MISSING, unit_for

#: Verdicts a point can carry, in the order the page's legend lists them.
POINT_VERDICTS: Final = ("", *VERDICTS, "-")
#: Samples kept per side of a distribution: quantiles of the whole, so the shape
#: survives and a run of 100 000 calls does not weigh megabytes.
MAX_SAMPLES: Final = 400
#: Verdicts whose base and head distributions the report draws.
CHANGED: Final = frozenset({"regressed", "improved"})


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    digits = DIGITS - 1 - math.floor(math.log10(abs(value)))
    return round(value, max(digits, 0) + 1)


def _scale(series_values: Sequence[float | None], is_time: bool) -> tuple[str, float]:
    if not is_time:
        return "", 1.0
    unit = unit_for(series_values)
    return unit.symbol, unit.seconds


def _thin(values: Sequence[float]) -> list[float]:
    """At most MAX_SAMPLES evenly spaced order statistics of ``values``."""
    ordered = sorted(values)
    if len(ordered) <= MAX_SAMPLES:
        return ordered
    step = (len(ordered) - 1) / (MAX_SAMPLES - 1)
    return [ordered[round(i * step)] for i in range(MAX_SAMPLES)]


def _run(info: RunInfo | None, fallback: Any) -> dict[str, Any] | None:
    if info is not None:
        return {
            "track_id": info.track_id,
            "commit": info.commit,
            "branch": info.branch,
            "dirty": info.dirty,
            "date": info.date,
            "status": info.status,
            "host": info.host,
            **{k: v for k, v in info.env.items()},
        }
    if fallback is None:
        return None
    return {
        "track_id": fallback.track_id,
        "commit": fallback.commit,
        "branch": fallback.branch,
        "date": fallback.last,
    }


def _row(row: Row) -> dict[str, Any]:
    return {
        "benchmark": row.benchmark,
        "group": row.benchmark.split("::", 1)[0],
        "metric": row.metric,
        "direction": row.direction,
        "base": row.format(row.base),
        "head": row.format(row.head),
        "base_value": row.base,
        "head_value": row.head,
        "ratio": _round(row.ratio),
        "interval": None if row.interval is None else [_round(v) for v in row.interval],
        "floor": None if row.noise_floor is None else _round(row.noise_floor),
        "source": row.noise_source or MISSING,
        "base_n": row.base_n,
        "head_n": row.head_n,
        "verdict": row.verdict,
        "unstable": row.unstable,
    }


def _series(series: Series, verdict: str) -> dict[str, Any]:
    symbol, scale = _scale([p.value for p in series.points], series.is_time)
    code = {v: i for i, v in enumerate(POINT_VERDICTS)}
    return {
        "benchmark": series.benchmark,
        "group": series.group,
        "metric": series.metric,
        "direction": series.direction,
        "unit": symbol,
        "verdict": verdict,
        # [run index, median, first quartile, third quartile, n, verdict code]
        "points": [
            [
                p.run,
                _round(p.value / scale),
                _round(p.low / scale),
                _round(p.high / scale),
                p.n,
                code.get(p.verdict, code["-"]),
                _round(p.ratio),
            ]
            for p in series.points
        ],
        "gaps": [[run, verdict] for run, verdict in series.gaps],
    }


def _distribution(row: Row) -> dict[str, Any]:
    symbol, scale = _scale([*row.base_samples, *row.head_samples], row.is_time)
    return {
        "benchmark": row.benchmark,
        "group": row.benchmark.split("::", 1)[0],
        "metric": row.metric,
        "unit": symbol,
        "verdict": row.verdict,
        "base": [_round(v / scale) for v in _thin(row.base_samples)],
        "head": [_round(v / scale) for v in _thin(row.head_samples)],
        "base_n": row.base_n,
        "head_n": row.head_n,
    }


def payload(comparison: Comparison, history: Timeline) -> dict[str, Any]:
    """The report's data: everything the page shows, nothing it must compute."""
    verdicts = {(r.benchmark, r.metric): r.verdict for r in comparison.rows}
    runs = {r.track_id: r for r in history.runs}
    head = comparison.head
    base = comparison.base
    series = []
    for s in history.series:
        verdict = verdicts.get((s.benchmark, s.metric))
        if verdict is None:  # not in the comparison: what its last step said
            verdict = next((p.verdict for p in reversed(s.points) if p.verdict), "-")
        series.append(_series(s, verdict))
    return {
        "summary": comparison.summary(),
        "notes": [*comparison.notes, *history.notes],
        "unselected": list(comparison.unselected),
        "head": _run(runs.get(head.track_id) if head else None, head),
        "base": _run(runs.get(base.track_id) if base else None, base),
        "min_effect": comparison.min_effect,
        "rows": [_row(r) for r in comparison.rows],
        "runs": [
            {
                "commit": r.label(),
                "branch": r.branch,
                "date": (r.date or "")[:19],
                "dirty": r.dirty,
            }
            for r in history.runs
        ],
        "series": series,
        "distributions": [
            _distribution(r)
            for r in comparison.rows
            if r.verdict in CHANGED and r.base_samples and r.head_samples
        ],
        "verdicts": list(POINT_VERDICTS),
        "colours": dict(CSS),
        "time_metric": TIME,
        "missing": MISSING,
        "declared": sorted(
            {
                f"{s.metric} ({'higher' if s.direction == 'max' else 'lower'} is better)"
                for s in history.series
                if s.metric != TIME and s.direction is not None
            }
        ),
    }
