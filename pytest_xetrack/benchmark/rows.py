"""A benchmark's row: the drop-in's measurements, and pytest-benchmark's results
when it is the active plugin and the session records (coexistence)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from pytest_xetrack.benchmark.fixture import BenchmarkFixture
    from pytest_xetrack.session import Session, TestState
    from xetrack.timing import Measurement


def fixture_row(
    fixture: BenchmarkFixture, measured: Measurement, outcome: str
) -> dict[str, object]:
    """The row of one use of the drop-in fixture: the timing engine's columns (as an
    ``@track`` row), the outcome, ``benchmark_group``, extra_info and meta."""
    from xetrack.interop.history import benchmark_columns, meta

    config = measured.config
    row = measured.columns()
    error = measured.error
    row["outcome"] = outcome if error is None else "failed"
    row["error"] = "" if error is None else f"{type(error).__name__}: {error}"
    if fixture.first is not None:
        row["remeasured"], row["first_function_time"] = 1, fixture.first
    options = {
        "disable_gc": config.disable_gc,
        "timer": config.timer,
        "min_rounds": config.min_rounds,
        "max_time": None if config.fixed else config.min_time,
        "min_time": config.min_round_time,
        # asked for, not counted: calibration rounds are untimed rounds too
        "warmup": config.warmup_time > 0 or bool(config.warmup_rounds),
        "mode": fixture.mode,
    }
    described = meta(
        fixture.name, fixture.param, fixture.params, fixture.extra_info, options
    )
    row.update(
        benchmark_columns(
            fixture.group,
            fixture.extra_info,
            described,
            [*row, *(fixture.params or {})],
        )
    )
    return row


def record_foreign(session: Session, item: pytest.Item, state: TestState) -> None:
    """With pytest-benchmark active: its result for this test (stats, and every
    sample it kept) as a row with the session's usual columns, so ``xt compare``
    judges it like ours. Nothing when the test did not benchmark or it failed."""
    funcargs = getattr(item, "funcargs", None) or {}
    fixture = funcargs.get("benchmark")
    metadata = getattr(fixture, "stats", None)
    stats = getattr(metadata, "stats", None)
    samples = list(getattr(stats, "data", None) or [])
    if not samples or getattr(fixture, "has_error", False):
        return
    from xetrack.interop.history import benchmark_columns, meta, timing_columns

    iterations = int(getattr(metadata, "iterations", 1) or 1)
    raw_options: dict[str, Any] = dict(getattr(metadata, "options", None) or {})
    timer = raw_options.get("timer")
    name = getattr(timer, "__name__", None) or str(timer or "perf_counter")
    row = timing_columns(samples, iterations, name.rsplit(".", 1)[-1])
    row["outcome"], row["error"] = state.outcome, ""
    row["measured_by"] = "pytest-benchmark"
    params = getattr(fixture, "params", None)
    extra = dict(getattr(fixture, "extra_info", None) or {})
    described = meta(
        str(getattr(fixture, "name", item.name)),
        getattr(fixture, "param", None),
        params,
        extra,
        {k: getattr(v, "__name__", v) for k, v in raw_options.items()},
    )
    row.update(
        benchmark_columns(
            getattr(fixture, "group", None), extra, described, [*row, *(params or {})]
        )
    )
    target = session.tracker_for(item, state)
    target.log(row)
    if not session.worker:
        session.note_timing({**row, "test_nodeid": item.nodeid}, target.table_name)
