"""Times print with units, one unit per group, the same significant digits."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from xetrack.units import (
    MISSING,
    format_group,
    format_number,
    format_seconds,
    is_seconds_column,
    significant,
    unit_for,
)


def test_each_magnitude_gets_its_unit() -> None:
    assert [format_seconds(v) for v in (0.65e-6, 54e-6, 14e-3, 2.5, 3e-10)] == [
        "650.0 ns",
        "54.00 µs",
        "14.00 ms",
        "2.500 s",
        "0.3000 ns",
    ]


def test_a_group_shares_the_unit_of_its_smallest_value() -> None:
    assert format_group([4.415e-05, 0.008836]) == ["44.15 µs", "8836 µs"]
    assert format_group([None, float("nan"), 1e-3]) == [MISSING, MISSING, "1.000 ms"]
    assert format_group([0.0, 2e-3]) == ["0.000 ms", "2.000 ms"]


def test_missing_values_print_one_way() -> None:
    import pandas as pd

    assert {format_seconds(v) for v in (None, math.nan, pd.NA, pd.NaT)} == {MISSING}
    assert {format_number(v) for v in (None, math.nan, pd.NA)} == {MISSING}


def test_seconds_columns_are_the_timing_ones() -> None:
    assert all(
        is_seconds_column(c)
        for c in ("function_time", "time_min", "time_iqr", "first_function_time")
    )
    assert not any(
        is_seconds_column(c)
        for c in ("time_ops", "time_samples", "time_batches", "time_outliers", "rounds")
    )


@given(st.floats(min_value=1e-12, max_value=1e6, allow_nan=False))
def test_every_time_has_four_significant_digits_and_no_exponent(value: float) -> None:
    text = format_seconds(value)
    number, unit = text.split(" ")
    assert unit in ("ns", "µs", "ms", "s") and "e" not in number
    digits = re.sub(r"^0\.0*", "", number.replace("-", "")).replace(".", "")
    # at least four significant digits (large whole numbers keep their zeros)
    assert len(digits) >= 4
    scale = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
    assert math.isclose(float(number) * scale, value, rel_tol=1e-3)
    if value >= 1e-9:
        assert float(number) >= 1 or float(number) == 0


@given(st.lists(st.floats(min_value=1e-10, max_value=1e3), min_size=1, max_size=20))
def test_a_group_never_reads_below_one_unless_below_a_nanosecond(
    values: list[float],
) -> None:
    unit = unit_for(values)
    assert min(values) / unit.seconds >= 1 - 1e-9 or unit.symbol == "ns"


def test_significant_rounds_without_exponent() -> None:
    assert significant(9.99996) == "10.00"
    assert (
        significant(-0.00012345) == "-0.0001234"
        or significant(-0.00012345) == "-0.0001235"
    )
    assert significant(0.0) == "0.000"
