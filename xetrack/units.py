"""How numbers print in every table: times with units, significant digits, the
missing mark.

One unit is chosen per group of values (a table column, one benchmark's row or
series), by the group's smallest magnitude, so every value of the group reads at
least 1 in it; each value then prints with the same number of significant digits
and never in exponent notation (no ``4.415e-05`` beside ``0.008836``). JSON output
does not come here: it keeps raw seconds.

>>> format_group([4.415e-05, 0.008836, None])
['44.15 µs', '8836 µs', '-']
>>> format_seconds(0.65e-6), format_seconds(14e-3), format_seconds(2.5)
('650.0 ns', '14.00 ms', '2.500 s')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DIGITS",
    "MISSING",
    "UNITS",
    "Unit",
    "format_group",
    "format_number",
    "format_seconds",
    "is_missing",
    "is_seconds_column",
    "significant",
    "unit_for",
]

#: How every table shows a value that is not there (None, NaN, pandas' NA).
MISSING: Final = "-"
#: Significant digits of every formatted time and metric.
DIGITS: Final = 4


@dataclass(frozen=True)
class Unit:
    """A unit of time: its symbol and how many seconds one of it is."""

    symbol: str
    seconds: float

    def format(self, value: float | None, digits: int = DIGITS) -> str:
        """``value`` (seconds) in this unit with ``digits`` significant digits."""
        if is_missing(value):
            return MISSING
        assert value is not None
        return f"{significant(value / self.seconds, digits)} {self.symbol}"


UNITS: Final = (
    Unit("ns", 1e-9),
    Unit("µs", 1e-6),
    Unit("ms", 1e-3),
    Unit("s", 1.0),
)

#: ``time_*`` columns of the timing engine that do not hold seconds.
_NOT_SECONDS: Final = frozenset(
    {"time_ops", "time_outliers", "time_samples", "time_batches", "time_processes"}
)
_SECONDS: Final = frozenset({"function_time", "first_function_time"})


def is_seconds_column(name: str) -> bool:
    """True for the columns known to hold seconds: ``function_time``,
    ``first_function_time`` and the timing engine's ``time_*`` statistics (not
    ``time_ops``, ``time_outliers``, ``time_samples``, ``time_batches`` or
    ``time_processes``)."""
    if name in _SECONDS:
        return True
    return name.startswith("time_") and name not in _NOT_SECONDS


def is_missing(value: object) -> bool:
    """None, a float NaN or pandas' NA/NaT: a value that is not there."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (str, bytes, bytearray, list, dict, tuple, bool, int)):
        return False
    try:
        import pandas as pd

        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError, ImportError):
        return False


def _finite(values: Iterable[object]) -> list[float]:
    found = []
    for value in values:
        if isinstance(value, bool) or is_missing(value):
            continue
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            found.append(number)
    return found


def unit_for(seconds: Iterable[object]) -> Unit:
    """The unit for a group of values in seconds: the largest unit in which the
    group's smallest non-zero magnitude still reads at least 1 (ns below that)."""
    magnitudes = [abs(v) for v in _finite(seconds) if v != 0]
    if not magnitudes:
        return UNITS[-1]
    smallest = min(magnitudes)
    chosen = UNITS[0]
    for unit in UNITS:
        # a hair of tolerance: 1e-3 / 1e-3 may be 0.9999999 in floating point
        if smallest >= unit.seconds * (1 - 1e-9):
            chosen = unit
    return chosen


def format_seconds(
    value: object, unit: Unit | None = None, digits: int = DIGITS
) -> str:
    """One time in seconds, in ``unit`` (by default its own)."""
    numbers = _finite([value])
    if not numbers:
        return MISSING
    return (unit or unit_for(numbers)).format(numbers[0], digits)


def format_group(values: Iterable[object], digits: int = DIGITS) -> list[str]:
    """Times in seconds, one unit for them all (see :func:`unit_for`)."""
    listed = list(values)
    unit = unit_for(listed)
    return [format_seconds(v, unit, digits) for v in listed]


def significant(value: float, digits: int = DIGITS) -> str:
    """``value`` rounded to ``digits`` significant digits, never with an exponent.

    >>> significant(0.0008836), significant(123456.0), significant(12.0)
    ('0.0008836', '123500', '12.00')
    """
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0" if digits <= 1 else "0." + "0" * (digits - 1)
    exponent = math.floor(math.log10(abs(value)))
    rounded = round(value, digits - 1 - exponent)
    # rounding may carry into one more digit (9.9996 -> 10.00)
    if rounded != 0:
        exponent = math.floor(math.log10(abs(rounded)))
    decimals = max(digits - 1 - exponent, 0)
    return f"{rounded:.{decimals}f}"


def format_number(value: object, digits: int = DIGITS) -> str:
    """A value of a metric that is not a time: ``digits`` significant digits for a
    float, an int as it is, :data:`MISSING` for nothing."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return significant(value, digits)
    return str(value)
