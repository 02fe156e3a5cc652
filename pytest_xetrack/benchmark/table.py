"""The results table pytest-benchmark users know: one block per group, one time
unit per group, best and worst marked, each value's ratio to the group's best.

It draws on any line writer with ``write(text, **markup)`` and
``write_line(text, **markup)`` (pytest's terminal reporter), from benchmark entries
as pytest-benchmark's JSON holds them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_xetrack.benchmark.options import COLUMNS

_TIMES = ("min", "max", "mean", "stddev", "median", "iqr")
_LABELS = {
    "min": "Min",
    "max": "Max",
    "mean": "Mean",
    "stddev": "StdDev",
    "median": "Median",
    "iqr": "IQR",
    "outliers": "Outliers",
    "rounds": "Rounds",
    "iterations": "Iterations",
}
#: --benchmark-time-unit's names: the unit's symbol and what a second is in it
_SCALES = {"ns": ("ns", 1e9), "us": ("µs", 1e6), "ms": ("ms", 1e3), "s": ("s", 1.0)}


class LineWriter(Protocol):
    def write(self, content: str, **markup: bool) -> None: ...

    def write_line(self, line: str, **markup: bool) -> None: ...


@dataclass(frozen=True)
class Layout:
    """How the table is drawn (``--benchmark-sort``, ``-group-by``, ``-columns``,
    ``-name``, ``-time-unit``)."""

    sort: str = "min"
    group_by: str = "group"
    columns: tuple[str, ...] = COLUMNS
    name: str = "normal"
    time_unit: str = "auto"


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit a group's times are shown in, chosen by its best value, as every
    table of xetrack chooses (:func:`xetrack.units.unit_for`): its symbol and what a
    second is in it."""
    from xetrack.units import unit_for

    unit = unit_for([seconds])
    return unit.symbol, 1 / unit.seconds


def _ops_unit(ops: float) -> tuple[str, float]:
    if ops > 1e6:
        return "M", 1e-6
    if ops > 1e3:
        return "K", 1e-3
    return "", 1.0


def groups(
    entries: Sequence[Mapping[str, Any]], group_by: str
) -> list[tuple[str | None, list[Mapping[str, Any]]]]:
    """Entries grouped as pytest-benchmark groups them, groups in name order."""
    found: dict[str | None, list[Mapping[str, Any]]] = {}
    for bench in entries:
        parts: list[object] = []
        for grouping in group_by.split(","):
            name = str(bench.get("name", ""))
            fullname = str(bench.get("fullname", ""))
            if grouping == "group":
                parts.append(bench.get("group"))
            elif grouping == "name":
                parts.append(name)
            elif grouping == "func":
                parts.append(name.split("[", 1)[0])
            elif grouping == "fullname":
                parts.append(fullname)
            elif grouping == "fullfunc":
                parts.append(fullname.split("[", 1)[0])
            elif grouping == "param":
                parts.append(bench.get("param"))
            elif grouping.startswith("param:"):
                params = bench.get("params") or {}
                key = grouping[len("param:") :]
                parts.append(f"{key}={params.get(key)}")
        label = " ".join(str(p) for p in parts if p) or None
        found.setdefault(label, []).append(bench)
    return sorted(found.items(), key=lambda pair: pair[0] or "")


def display_name(bench: Mapping[str, Any], style: str) -> str:
    name = str(bench.get("name", ""))
    if style == "long":
        return str(bench.get("fullname", name))
    if style == "short":
        return name.removeprefix("test_")
    if style == "trial":
        return "????"  # pytest-benchmark's name of the current run: no saved source
    return name


def draw(
    writer: LineWriter, entries: Sequence[Mapping[str, Any]], layout: Layout
) -> None:
    """The whole table, group by group, then the legend."""
    if not entries:
        return
    writer.write_line("")
    for label, members in groups(entries, layout.group_by):
        _draw_group(writer, label, members, layout)
    writer.write_line("Legend:")
    writer.write_line(
        "  Outliers: 1 Standard Deviation from Mean; 1.5 IQR (InterQuartile Range) "
        "from 1st Quartile and 3rd Quartile."
    )
    writer.write_line("  OPS: Operations Per Second, computed as 1 / Mean")


def _value(bench: Mapping[str, Any], column: str) -> Any:
    stats = bench.get("stats") or {}
    if column in ("name", "fullname"):
        return str(bench.get(column, ""))
    return stats.get(column)


def _draw_group(
    writer: LineWriter,
    label: str | None,
    members: list[Mapping[str, Any]],
    layout: Layout,
) -> None:
    members = sorted(members, key=lambda b: _sort_key(_value(b, layout.sort)))
    names = [display_name(b, layout.name) for b in members]
    best: dict[str, float] = {}
    worst: dict[str, float] = {}
    for column in (*_TIMES, "ops"):
        values = [float(v) for b in members if _number(v := _value(b, column))]
        if values:
            best[column] = max(values) if column == "ops" else min(values)
            worst[column] = min(values) if column == "ops" else max(values)
    basis = layout.sort if layout.sort in _TIMES else "min"
    if layout.time_unit in _SCALES:
        prefix, scale = _SCALES[layout.time_unit]
    else:
        prefix, scale = time_unit(best.get(basis, best.get("min", 1.0)))
    ops_prefix, ops_scale = _ops_unit(worst.get("ops", 0.0))
    labels = dict(_LABELS, ops=f"OPS ({ops_prefix}ops/s)" if ops_prefix else "OPS")
    title = f"Name (time in {prefix})"
    solo = len(members) == 1
    pad = 0 if solo else 10
    cells: list[list[tuple[str, dict[str, bool]]]] = []
    for bench in members:
        row: list[tuple[str, dict[str, bool]]] = []
        for column in layout.columns:
            value = _value(bench, column)
            if column in _TIMES or column == "ops":
                factor = ops_scale if column == "ops" else scale
                text, markup = _figure(value, factor, best.get(column), pad)
                if not solo and _number(value):
                    markup = {
                        "green": value == best.get(column),
                        "red": value == worst.get(column),
                        "bold": True,
                    }
                row.append((text, markup))
            else:
                row.append(("" if value is None else str(value), {}))
        cells.append(row)
    widths = [
        2 + max(len(labels[c]), *(len(r[i][0]) for r in cells))
        for i, c in enumerate(layout.columns)
    ]
    name_width = 3 + max(len(title), *(len(n) for n in names))
    header = title.ljust(name_width) + "".join(
        labels[c].rjust(w) for c, w in zip(layout.columns, widths, strict=True)
    )
    count = f"{len(members)} test{'s' * (len(members) != 1)}"
    caption = f" benchmark{'' if label is None else f' {label!r}'}: {count} "
    writer.write_line(caption.center(len(header), "-"), yellow=True)
    writer.write_line(header)
    writer.write_line("-" * len(header), yellow=True)
    for name, row in zip(names, cells, strict=True):
        writer.write(name.ljust(name_width))
        for (text, markup), width in zip(row, widths, strict=True):
            writer.write(text.rjust(width), **markup)
        writer.write("\n")
    writer.write_line("-" * len(header), yellow=True)
    writer.write_line("")


def _figure(
    value: object, scale: float, best: float | None, pad: int
) -> tuple[str, dict[str, bool]]:
    if not _number(value):
        return "", {}
    number = float(value)  # type: ignore[arg-type]
    text = f"{number * scale:,.4f}"
    if pad and best is not None:
        ratio = number / best if best else math.inf
        shown = (
            "(1.0)"
            if number == best
            else "(inf)"
            if math.isinf(ratio)
            else "(>1000.0)"
            if ratio > 1000
            else f"({ratio:.2f})"
        )
        text += " " + shown.ljust(pad - 1)
    return text, {}


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sort_key(value: object) -> tuple[int, Any]:
    if _number(value):
        return (0, float(value))  # type: ignore[arg-type]
    return (1, str(value))
