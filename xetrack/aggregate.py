"""Summary statistics computed by the engine: constant memory, one scan.

``describe`` is what ``DataFrame.describe()`` reports (plus ``nulls``), as SQL
aggregates: the rows never come into Python. Quartiles need an order: DuckDB has
``quantile_cont`` (exact, the same interpolation as pandas); SQLite has no quantile
function, and an exact one means sorting each column (about 8x the rest of the
summary on a million rows), so SQLite computes them only when asked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from xetrack.store.schema import BOOLEAN, FIXED_COLUMNS, FLOAT, INTEGER, quote_ident

if TYPE_CHECKING:
    import pandas as pd

    from xetrack.store.base import SqlStore

STATS: Final = ("count", "nulls", "mean", "std", "min", "25%", "50%", "75%", "max")
QUARTILES: Final = (0.25, 0.5, 0.75)
_NUMERIC: Final = (INTEGER, FLOAT)
NO_QUARTILES: Final = (
    "quartiles omitted: SQLite has no quantile function and an exact one sorts "
    "every column; ask for them with quartiles=True (xt describe --quartiles)"
)


def default_columns(store: SqlStore, table: str) -> list[str]:
    """The numeric columns, as pandas' describe() picks them (no booleans)."""
    types = store.schema(table).types
    return [n for n, t in types.items() if t in _NUMERIC and n not in FIXED_COLUMNS]


def describe(
    store: SqlStore,
    table: str,
    columns: Sequence[str],
    quartiles: bool | None = None,
) -> pd.DataFrame:
    """count, nulls, mean, std (sample), min, quartiles, max of each column.

    Numeric and boolean columns get every statistic; text columns count, nulls,
    min and max. ``quartiles=None`` means: where the engine has them (DuckDB).
    The frame's ``attrs["note"]`` says when quartiles were left out.
    """
    import pandas as pd

    types = store.schema(table).types
    with_quartiles = store.engine != "sqlite" if quartiles is None else quartiles
    q = quote_ident(table)
    numeric = [c for c in columns if types.get(c) in (*_NUMERIC, BOOLEAN)]
    shifts = _shifts(store, q, numeric, types)
    parts = ["COUNT(*)"]
    for column in columns:
        c, logical = quote_ident(column), types.get(column)
        parts += [
            f"COUNT({c})",
            store.min_sql(c, logical),
            store.max_sql(c, logical),
        ]
        if column in numeric:
            # Sums of (x - k) and (x - k)^2 with k a value of the column: one pass,
            # without the cancellation of sum(x^2) - sum(x)^2 / n when the spread
            # is small against the mean.
            shifted = f"({store.float_sql(c, logical)} - ?)"
            parts += [f"SUM({shifted})", f"SUM({shifted} * {shifted})"]
    params: list[object] = []
    for column in numeric:
        params += [shifts[column]] * 3
    _, found = store.query(f"SELECT {', '.join(parts)} FROM {q}", params)
    cells = list(found[0])
    total = int(cells.pop(0))
    result: dict[str, list[object]] = {}
    for column in columns:
        count, low, high = int(cells.pop(0)), cells.pop(0), cells.pop(0)
        stats: dict[str, object] = dict.fromkeys(STATS, math.nan)
        stats.update(count=float(count), nulls=float(total - count))
        if column in numeric:
            s1, s2 = cells.pop(0), cells.pop(0)
            if count:
                k = shifts[column]
                mean = k + s1 / count
                stats["mean"] = mean
                if count > 1:
                    stats["std"] = math.sqrt(
                        max(s2 - s1 * s1 / count, 0.0) / (count - 1)
                    )
            low = None if low is None else float(low)
            high = None if high is None else float(high)
        stats["min"] = math.nan if low is None else low
        stats["max"] = math.nan if high is None else high
        result[column] = [stats[s] for s in STATS]
    if with_quartiles:
        for column in numeric:
            values = _quartiles(store, q, column, types.get(column))
            for name, value in zip(("25%", "50%", "75%"), values, strict=True):
                result[column][STATS.index(name)] = value
    frame = pd.DataFrame(result, index=list(STATS), columns=list(columns))
    if not with_quartiles:
        frame = frame.drop(index=["25%", "50%", "75%"])
        if numeric:
            frame.attrs["note"] = NO_QUARTILES
    if all(c in numeric for c in columns):
        frame = frame.astype(float)
    return frame


def _shifts(
    store: SqlStore,
    q: str,
    numeric: Sequence[str],
    types: Mapping[str, str | None],
) -> dict[str, float]:
    """A value of each column (its first), to shift sums by; 0 for an empty one."""
    if not numeric:
        return {}
    picks = ", ".join(
        f"(SELECT {store.float_sql(quote_ident(c), types.get(c))} FROM {q} "
        f"WHERE {quote_ident(c)} IS NOT NULL LIMIT 1)"
        for c in numeric
    )
    _, found = store.query(f"SELECT {picks}")
    return {
        c: 0.0 if v is None else float(v)
        for c, v in zip(numeric, found[0], strict=True)
    }


def _quartiles(
    store: SqlStore, q: str, column: str, logical: str | None
) -> list[float]:
    """Exact quartiles, interpolated linearly between ranks as pandas does."""
    c = quote_ident(column)
    if store.engine == "postgres":  # the same interpolation, in the server
        _, found = store.query(
            f"SELECT percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP "
            f"(ORDER BY {store.float_sql(c, logical)}) FROM {q}"
        )
        values = found[0][0]
        return [math.nan] * 3 if values is None else [float(v) for v in values]
    if store.engine == "duckdb":
        # one column per query: DuckDB holds the column's values while it works
        _, found = store.query(
            f"SELECT QUANTILE_CONT(CAST({c} AS DOUBLE), [0.25, 0.5, 0.75]) FROM {q}"
        )
        values = found[0][0]
        return [math.nan] * 3 if values is None else [float(v) for v in values]
    _, counted = store.query(f"SELECT COUNT({c}) FROM {q}")
    n = int(counted[0][0])
    if n == 0:
        return [math.nan] * 3
    ranks = sorted({r for p in QUARTILES for r in _ranks(p, n)})
    marks = ", ".join("?" * len(ranks))
    _, found = store.query(
        f"SELECT k, v FROM (SELECT CAST({c} AS DOUBLE) AS v, "
        f"ROW_NUMBER() OVER (ORDER BY {c}) - 1 AS k FROM {q} WHERE {c} IS NOT NULL) "
        f"AS ranked WHERE k IN ({marks})",
        ranks,
    )
    at = {int(k): float(v) for k, v in found}
    out = []
    for p in QUARTILES:
        position = p * (n - 1)
        below = math.floor(position)
        above = min(below + 1, n - 1)
        out.append(at[below] + (at[above] - at[below]) * (position - below))
    return out


def _ranks(p: float, n: int) -> tuple[int, int]:
    position = p * (n - 1)
    below = math.floor(position)
    return below, min(below + 1, n - 1)
