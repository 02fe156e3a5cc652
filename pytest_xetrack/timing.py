"""Rounds, warmup and the timing statistics of one benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Measurement:
    """What running a benchmark's rounds produced."""

    samples: list[float] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None

    def statistics(self) -> dict[str, object]:
        """Columns of the benchmark's row: the median round is ``function_time``."""
        import statistics

        samples = self.samples
        if not samples:
            return {"rounds": 0}
        ordered = sorted(samples)
        if len(samples) >= 2:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
            stddev = statistics.stdev(samples)
        else:
            q1 = q3 = ordered[0]
            stddev = 0.0
        return {
            "function_time": statistics.median(ordered),
            "time_min": ordered[0],
            "time_max": ordered[-1],
            "time_mean": statistics.fmean(samples),
            "time_stddev": stddev,
            "time_iqr": q3 - q1,
            "rounds": len(samples),
            "time_samples": samples,
        }


def measure(call: Callable[[], Any], rounds: int, warmup: int) -> Measurement:
    """Call ``warmup`` times untimed, then ``rounds`` times timed.

    The first exception stops the loop; it is kept in the measurement with the
    samples of the rounds that finished.
    """
    out = Measurement()
    clock = time.perf_counter
    try:
        for _ in range(warmup):
            call()
        samples = out.samples
        for _ in range(rounds):
            start = clock()
            result = call()
            samples.append(clock() - start)
        out.result = result if rounds else None
    except BaseException as exc:  # pytest's own outcomes (skip, xfail) pass through too
        out.error = exc
    return out
