"""The statistics of one benchmark's samples: a plain object, no pytest, no store."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: Batch medians spread wider than this (a robust standard deviation of their
#: logs) flag a result as unstable: the machine changed speed while it was timed.
BATCH_NOISE_LIMIT: Final = 0.10
#: An interquartile range wider than this share of the median flags it too.
IQR_LIMIT: Final = 0.50
_MAD: Final = 1.4826  # the MAD of a normal sample, in standard deviations


def batch_noise(medians: Sequence[float]) -> float | None:
    """Robust spread of batch medians as a log-ratio (like a relative standard
    deviation): 1.4826 x the median absolute deviation of their logs. None for
    fewer than three, or any that is not positive.

    >>> round(batch_noise([1.0, 1.1, 0.9, 1.0, 1.0]), 3)
    0.0
    >>> round(batch_noise([1.0, 1.1, 0.9, 1.05, 0.95]), 3)
    0.076
    """
    if len(medians) < 3 or any(m <= 0 for m in medians):
        return None
    logs = [math.log(m) for m in medians]
    centre = statistics.median(logs)
    return _MAD * statistics.median(abs(x - centre) for x in logs)


def fastest_gap(batch_mins: Sequence[float]) -> float | None:
    """How much slower the second-fastest batch's fastest call is than the fastest
    one, as a log-ratio: how much a run's fastest call rests on one batch. None
    for fewer than three batches, or any that is not positive.

    >>> round(fastest_gap([1.0, 1.1, 1.02, 1.3]), 4)
    0.0198
    """
    if len(batch_mins) < 3 or any(m <= 0 for m in batch_mins):
        return None
    first, second = sorted(batch_mins)[:2]
    return math.log(second / first)


def quantile(ordered: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (``statistics.quantiles``'
    "inclusive" method, numpy's default), on an already sorted sequence: plain
    float arithmetic, since a row's statistics are computed for every test."""
    position = (len(ordered) - 1) * p
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _stddev(ordered: Sequence[float], mean: float) -> float:
    """Sample standard deviation (two passes over floats; ``statistics.stdev``
    computes it exactly with fractions, a hundred times slower)."""
    if len(ordered) < 2:
        return 0.0
    return math.sqrt(math.fsum((x - mean) ** 2 for x in ordered) / (len(ordered) - 1))


def split(samples: Sequence[float], sizes: Sequence[int]) -> list[list[float]]:
    """``samples`` cut into consecutive batches of ``sizes`` (the rest: one more)."""
    out: list[list[float]] = []
    start = 0
    for size in sizes:
        if size > 0 and start < len(samples):
            out.append(list(samples[start : start + size]))
        start += size
    if start < len(samples):
        out.append(list(samples[start:]))
    return out


@dataclass(frozen=True)
class Stats:
    """Per-call timing statistics of a benchmark (seconds), like pytest-benchmark's.

    >>> s = Stats.from_samples([3.0, 1.0, 2.0, 4.0], iterations=10, batches=[2, 2])
    >>> s.median, s.min, s.max, s.rounds, s.batch_medians
    (2.5, 1.0, 4.0, 4, (2.0, 3.0))
    """

    rounds: int
    iterations: int
    min: float
    max: float
    mean: float
    median: float
    stddev: float
    q1: float
    q3: float
    #: samples further than 1.5 IQR from the quartiles
    outliers: int
    batch_medians: tuple[float, ...] = ()
    #: the fastest call of each batch
    batch_mins: tuple[float, ...] = ()

    @classmethod
    def from_samples(
        cls,
        samples: Sequence[float],
        iterations: int = 1,
        batches: Sequence[int] = (),
    ) -> Stats:
        """Statistics of per-call ``samples`` (one per round); ``batches`` are the
        sizes of the consecutive batches they were measured in. Raises ValueError
        for no samples."""
        if not samples:
            raise ValueError("no samples: a benchmark needs at least one round")
        ordered = sorted(samples)
        low, high = ordered[0], ordered[-1]
        q1, q3 = quantile(ordered, 0.25), quantile(ordered, 0.75)
        # fsum-based, then kept inside [min, max] against the last bit of rounding
        mean = min(max(math.fsum(ordered) / len(ordered), low), high)
        stddev = _stddev(ordered, mean)
        fence = 1.5 * (q3 - q1)
        outliers = sum(1 for s in ordered if s < q1 - fence or s > q3 + fence)
        parts = split(samples, batches) if batches else []
        medians = tuple(statistics.median(part) for part in parts)
        mins = tuple(min(part) for part in parts if part)
        return cls(
            rounds=len(ordered),
            iterations=iterations,
            min=low,
            max=high,
            mean=mean,
            median=quantile(ordered, 0.5),
            stddev=stddev,
            q1=q1,
            q3=q3,
            outliers=outliers,
            batch_medians=medians if len(medians) > 1 else (),
            batch_mins=mins if len(mins) > 1 else (),
        )

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def ops(self) -> float:
        """Calls per second at the mean (pytest-benchmark's OPS); inf for 0 s."""
        return 1.0 / self.mean if self.mean > 0 else math.inf

    def fastest_gap(self) -> float | None:
        """:func:`fastest_gap` of this result's batches."""
        return fastest_gap(self.batch_mins)

    def batch_noise(self) -> float | None:
        """:func:`batch_noise` of this result's batch medians."""
        return batch_noise(self.batch_medians)

    def unstable(self, spread_out: bool = False) -> str:
        """Why these numbers should not be trusted, or "" when they look sound
        (in the spirit of ``pyperf check``).

        Batches taken back to back should agree: medians far apart mean the
        machine changed speed while timing. Batches spread over a session sample
        its slow spells on purpose (``spread_out``), and what must hold is the value
        compared, the fastest call: it must not rest on one batch alone.
        """
        reasons = []
        if spread_out:
            gap = self.fastest_gap()
            if gap is not None and gap > BATCH_NOISE_LIMIT:
                reasons.append(
                    f"the fastest call rests on one batch: the next-fastest batch's "
                    f"was {math.expm1(gap):.1%} slower (more than "
                    f"{math.expm1(BATCH_NOISE_LIMIT):.1%})"
                )
        elif (spread := self.batch_noise()) is not None and spread > BATCH_NOISE_LIMIT:
            reasons.append(
                f"batch medians spread by {spread:.1%} (more than "
                f"{BATCH_NOISE_LIMIT:.0%}): the machine's speed changed while timing"
            )
        if self.median > 0 and self.iqr / self.median > IQR_LIMIT:
            reasons.append(
                f"the interquartile range is {self.iqr / self.median:.1%} of the "
                f"median (more than {IQR_LIMIT:.0%})"
            )
        return "; ".join(reasons)

    def columns(self) -> dict[str, object]:
        """The row columns of these statistics (``function_time`` is the median)."""
        return {
            "function_time": self.median,
            "time_min": self.min,
            "time_max": self.max,
            "time_mean": self.mean,
            "time_stddev": self.stddev,
            "time_iqr": self.iqr,
            "time_ops": self.ops if math.isfinite(self.ops) else None,
            "time_outliers": self.outliers,
            "rounds": self.rounds,
            "iterations": self.iterations,
        }
