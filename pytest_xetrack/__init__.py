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
    rounds: int | Callable[..., Any] = 1,
    warmup: int = 0,
    table: str | None = None,
    cache: bool = False,
    params: Mapping[str, object] | None = None,
    metrics: Mapping[str, str] | None = None,
    depends: Sequence[str | PurePath] | None = None,
) -> Any:
    """Mark a test as a benchmark or experiment: the same as ``@pytest.mark.track``.

    The test function is called ``warmup`` times untimed, then ``rounds`` times
    timed; its row holds the timing statistics and every round's time. A returned
    dict becomes columns; ``metrics={"accuracy": "max"}`` says which way is better.
    With ``cache=True`` and ``--xetrack-cache DIR``, a test whose source and
    parameters already ran is served from the cache instead of running, as long as
    the project modules its test module imports are unchanged too, and what
    ``depends`` names: files (by content) and strings such as a data version.

    >>> @track(rounds=5, warmup=1, metrics={"accuracy": "max"})
    ... def test_model():
    ...     return {"accuracy": 0.9}
    >>> test_model.pytestmark[0].kwargs["rounds"]
    5
    """
    if callable(rounds):  # bare @track
        return pytest.mark.track(rounds)
    return pytest.mark.track(
        rounds=rounds,
        warmup=warmup,
        table=table,
        cache=cache,
        params=params,
        metrics=metrics,
        depends=depends,
    )
