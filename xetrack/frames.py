"""DataFrames from driver rows and log records, exact where a column has NULLs.

pandas reads a column of ints with a missing cell as float64, so 2**60 + 1 becomes
1.152921504606847e+18. Here such a column becomes pandas' nullable ``Int64`` (and a
column of bools with a missing cell ``boolean``), built from the driver's values
themselves; a column without NULLs keeps its plain dtype, as DuckDB's own
DataFrame fetch does. Only columns pandas made float64 (or object) and that hold a
missing cell are looked at again, so a frame without NULLs costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_INTS = frozenset({int, type(None)})
_BOOLS = frozenset({bool, type(None)})


def frame_from_rows(names: list[str], rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """A DataFrame of driver rows (tuples in ``names`` order)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=False)
    if rows:
        _make_exact(frame, lambda index: [row[index] for row in rows])
    return frame


def frame_from_records(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of dicts that may lack keys (log and JSONL records)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(records)
    if records:
        names = list(frame.columns)
        _make_exact(frame, lambda index: [r.get(names[index]) for r in records])
    return frame


def _make_exact(frame: pd.DataFrame, raw: Callable[[int], list[object]]) -> None:
    """Turn float64/object columns with a missing cell back into exact ints or
    bools when the raw values (``raw(column index)``) are exactly that."""
    import pandas as pd

    for index in range(len(frame.columns)):
        series = frame.iloc[:, index]
        kind = series.dtype.kind
        if kind not in "fO" or not series.isna().any():
            continue
        values: Any = raw(index)  # exactly ints or bools (and None), checked here
        found = set(map(type, values))
        if found <= _INTS and int in found:
            frame.isetitem(index, pd.array(values, dtype="Int64"))
        elif found <= _BOOLS and bool in found:
            frame.isetitem(index, pd.array(values, dtype="boolean"))
