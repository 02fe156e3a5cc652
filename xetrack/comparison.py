"""The result of comparing two runs, and its renderings: the one object every
renderer uses (the plugin's summary, ``xt compare``, Markdown, later the report).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

from xetrack.errors import InvalidArgumentError
from xetrack.units import (
    MISSING,
    format_number,
    format_seconds,
    is_seconds_column,
    unit_for,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from xetrack.compare import Run, Threshold

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
ORDER: Final = {v: i for i, v in enumerate((*VERDICTS, "-"))}


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
    #: the ratio head/reference, give or take the noise (timings only)
    interval: tuple[float, float] | None = None
    #: the smallest relative change called a change here (0.07: 7%)
    noise_floor: float | None = None
    #: where that noise floor came from ("history of 9 runs", "batches x3, ...")
    noise_source: str = ""
    #: earlier runs of this benchmark that set the noise
    history: int = 0
    #: what head was judged against when not the baseline's run alone: the median
    #: of the newest ``reference_runs`` runs of the lineage (timings only)
    reference: float | None = None
    reference_runs: int = 1
    #: why the timings of base or head are not to be trusted ("" when they are)
    unstable: str = ""
    #: head's first reading, when the session measured it again as a suspect
    remeasured: float | None = None
    base_samples: list[float] = field(default_factory=list)
    head_samples: list[float] = field(default_factory=list)

    @property
    def is_time(self) -> bool:
        """Whether the metric's values are seconds."""
        return is_seconds_column(self.metric)

    def format(self, value: float | None) -> str:
        """A value of this row as tables show it: a time in the unit of the row
        (chosen from base and head together), another metric with as many
        significant digits."""
        if not self.is_time:
            return format_number(value)
        return format_seconds(value, unit_for([self.base, self.head]))

    def evidence(self) -> str:
        """The verdict's evidence in one line: effect, interval, noise floor, counts."""
        if self.ratio is None:
            return f"n={self.base_n}/{self.head_n}"
        parts = [f"x{self.ratio:.3f}"]
        if self.reference and self.head is not None:
            # judged against another value than the baseline's run (the lineage's
            # median, or over the probe loop): the interval is of that ratio
            parts = [
                f"x{self.ratio:.3f} of the baseline, judged x{self.head / self.reference:.3f}"
            ]
        if self.interval is not None:
            parts.append(f"[{self.interval[0]:.3f}, {self.interval[1]:.3f}]")
        if self.noise_floor is not None:
            parts.append(f"noise floor {self.noise_floor:.1%} from {self.noise_source}")
        parts.append(f"n={self.base_n}/{self.head_n}")
        if self.remeasured is not None:
            parts.append(
                f"measured again after a first reading of {self.format(self.remeasured)}"
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
    #: benchmarks of the baseline that head's session did not select (``-k``,
    #: ``-m``, paths): not run on purpose, so not ``missing``
    unselected: list[str] = field(default_factory=list)

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
            "base": self.base.as_dict() if self.base else None,
            "head": self.head.as_dict() if self.head else None,
            "summary": self.summary(),
            "counts": self.counts(),
            "notes": list(self.notes),
            "min_effect": self.min_effect,
            "rows": [asdict(r) for r in self.rows],
            "unselected": list(self.unselected),
        }


def evidence(threshold: Threshold, row: Row) -> str:
    """One line that says why a row fails the gate."""
    return (
        f"{row.benchmark} {row.metric}: {row.format(row.base)} -> "
        f"{row.format(row.head)} "
        f"({row.evidence()}) exceeds {threshold}"
    )


# -- output ---------------------------------------------------------------------------------
def _verdict(row: Row, paint: Callable[[str, str], str] | None = None) -> str:
    flags = [
        flag
        for flag, on in (
            ("unstable", row.unstable),
            ("measured twice", row.remeasured is not None),
        )
        if on
    ]
    text = row.verdict + (f" ({', '.join(flags)})" if flags else "")
    return paint(text, row.verdict) if paint is not None else text


def _floor(row: Row) -> str:
    if row.noise_floor is None:
        return MISSING
    return f"±{row.noise_floor:.1%}"


def _markdown_cell(text: str) -> str:
    """A cell that cannot break a Markdown table: names come from the data."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def render(
    comparison: Comparison,
    fmt: str = "table",
    paint: Callable[[str, str], str] | None = None,
) -> str:
    """The comparison as ``table`` (terminal), ``markdown`` (a pull request) or ``json``.

    Times print in one unit per benchmark (ns, µs, ms or s) with the same number
    of significant digits; JSON keeps raw seconds. ``paint(text, verdict)``
    colours verdicts in a table (see :mod:`xetrack.colour`); Markdown and JSON are
    never painted.
    """
    if fmt == "json":
        return json.dumps(comparison.to_dict(), indent=2, default=str)
    if fmt not in ("table", "markdown"):
        raise InvalidArgumentError(
            f"format {fmt!r} is not one of table, markdown, json"
        )
    from tabulate import tabulate

    markdown = fmt == "markdown"
    body = [
        [
            _markdown_cell(row.benchmark) if markdown else row.benchmark,
            row.metric,
            row.format(row.base),
            row.format(row.head),
            f"x{row.ratio:.2f}" if row.ratio is not None else MISSING,
            (
                f"{row.interval[0]:.2f}-{row.interval[1]:.2f}"
                if row.interval is not None
                else MISSING
            ),
            _verdict(row, None if markdown else paint),
            _floor(row),
            row.noise_source or MISSING,
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
    table = ""
    if body:
        style = "github" if markdown else "simple"
        # values right-aligned, so digits and units line up
        align = ["left", "left", "right", "right", "right", "right", "left", "right"]
        table = tabulate(
            body,
            headers=headers,
            tablefmt=style,
            disable_numparse=True,
            colalign=[*align, "left", "right"],
        )
    title = None
    if comparison.head is not None and comparison.base is not None:
        title = (
            f"head {comparison.head.label()} [{comparison.head.track_id}] vs "
            f"base {comparison.base.label()} [{comparison.base.track_id}]"
        )
    summary = comparison.summary()
    notes = [f"note: {n}" for n in comparison.notes if n != summary]
    if comparison.unselected:
        shown = ", ".join(comparison.unselected[:5])
        more = len(comparison.unselected) - 5
        notes.append(
            f"note: {len(comparison.unselected)} benchmarks of the baseline were not "
            f"selected in this run (-k, -m, paths), so not compared: {shown}"
            + (f", and {more} more" if more > 0 else "")
        )
    notes += [
        f"unstable: {row.benchmark}: {row.unstable}"
        for row in comparison.rows
        if row.unstable
    ]
    if markdown:
        # paragraphs and a list: consecutive lines would run into one paragraph
        parts = [f"**{_markdown_cell(title)}**"] if title else []
        parts += [table] if table else []
        parts.append(summary)
        if notes:
            parts.append("\n".join(f"- {_markdown_cell(n)}" for n in notes))
        return "\n\n".join(parts)
    lines = [title] if title else []
    lines += [table] if table else []
    return "\n".join([*lines, summary, *notes])
