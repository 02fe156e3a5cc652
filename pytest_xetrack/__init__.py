"""pytest-xetrack: record tests, benchmarks and experiments into an xetrack database.

The plugin is active once installed; ``pytest --xetrack-db=bench.db`` writes rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

import pytest

__all__ = ["track"]


def track(
    rounds: int | Callable[..., Any] | None = None,
    warmup: int | None = None,
    table: str | None = None,
    cache: bool = False,
    params: Mapping[str, object] | None = None,
    metrics: Mapping[str, str] | None = None,
    depends: Sequence[str | PurePath] | None = None,
    *,
    iterations: int | None = None,
    min_rounds: int | None = None,
    min_time: float | None = None,
    max_time: float | None = None,
    warmup_time: float | None = None,
    timer: str | None = None,
    disable_gc: bool | None = None,
    setup: Callable[[], Any] | None = None,
    teardown: Callable[..., Any] | None = None,
    spread: bool | None = None,
) -> Any:
    """Mark a test as a benchmark or experiment: the same as ``@pytest.mark.track``.

    By default (bare ``@track`` or ``@track()``) the test is a calibrated benchmark:
    a short untimed warmup, then rounds until ``min_rounds`` rounds and
    ``min_time`` seconds are both reached, never past ``max_time`` (the
    ``--xetrack-min-rounds``/``-min-time``/``-max-time`` options set the session's
    defaults). A round calls the test ``iterations`` times, calibrated so a round
    lasts well above the timer's resolution; samples are per call. ``rounds=`` and
    ``warmup=`` fix the counts exactly instead: ``rounds=10`` is 10 timed calls, one
    a round unless ``iterations=`` says more (a slow experiment with ``rounds=1``
    runs once). ``setup`` runs before each round, untimed, and what it
    returns (keyword arguments, or ``(args, kwargs)``) is passed to the test; give
    those parameters a default (``data=None``) so pytest does not look for a
    fixture of that name. ``teardown`` runs after each round with the same values.

    A returned dict becomes columns; ``metrics={"accuracy": "max"}`` says which way
    is better. With ``cache=True`` and ``--xetrack-cache DIR``, a test whose source
    and parameters already ran is served from the cache instead of running, as long as
    the project modules its test module imports are unchanged too, and what
    ``depends`` names: files (by content) and strings such as a data version.

    On the time budget, a test called only with parametrize values has its first
    batch timed in the test and the others after the last test, one batch of each
    such benchmark in turn, so a slow spell of the machine hits one batch, not all
    of them; ``spread=False`` keeps every batch in the test.

    >>> @track(rounds=5, warmup=1, metrics={"accuracy": "max"})
    ... def test_model():
    ...     return {"accuracy": 0.9}
    >>> test_model.pytestmark[0].kwargs["rounds"]
    5
    """
    if callable(rounds):  # bare @track
        return pytest.mark.track(rounds)
    given: dict[str, Any] = {
        "rounds": rounds,
        "warmup": warmup,
        "table": table,
        "cache": cache or None,
        "params": params,
        "metrics": metrics,
        "depends": depends,
        "iterations": iterations,
        "min_rounds": min_rounds,
        "min_time": min_time,
        "max_time": max_time,
        "warmup_time": warmup_time,
        "timer": timer,
        "disable_gc": disable_gc,
        "setup": setup,
        "teardown": teardown,
        "spread": spread,
    }
    return pytest.mark.track(**{k: v for k, v in given.items() if v is not None})
