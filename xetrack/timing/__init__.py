"""One timing engine for every way xetrack measures code.

>>> from xetrack.timing import TimingConfig, measure
>>> m = measure(sum, [range(100)], config=TimingConfig(rounds=3, iterations=10))
>>> m.result, len(m.samples), m.iterations, m.calls
(4950, 3, 10, 30)
"""

from __future__ import annotations

from xetrack.timing.config import TIMERS, TimingConfig, timer_name
from xetrack.timing.engine import (
    TIMING_COLUMNS,
    Measurement,
    Spread,
    measure,
    spread_out,
)
from xetrack.timing.loops import Clock, clock
from xetrack.timing.stats import Stats

__all__ = [
    "TIMERS",
    "TIMING_COLUMNS",
    "Clock",
    "Measurement",
    "Spread",
    "Stats",
    "TimingConfig",
    "clock",
    "measure",
    "spread_out",
    "timer_name",
]
