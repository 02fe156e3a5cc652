"""The verdict rule for timings: an effect judged against that benchmark's own noise.

The rounds of one session are not independent samples of "the speed of this
code": a session runs on a machine whose speed drifts (frequency, other work,
cache and memory layout), so two sessions of the same code differ by far more
than the spread of their rounds suggests. A test on rounds (Mann-Whitney and
the like) pseudo-replicates and calls ordinary drift "significant". So:

- the unit of evidence is a run's value (the median of its samples);
- its noise is estimated from what is independent of it: the same benchmark's
  earlier runs on this lineage (ancestor commits, the baseline's, earlier runs of
  this commit, same environment), as the median of the absolute log-ratios of
  successive runs (a past step change is one large ratio among many and does not
  inflate it), and, as a lower bound, the spread of the run's own batches;
- a change is ``regressed``/``improved`` when it exceeds both the minimum effect
  and ``Z`` times the noise of a difference of two runs (the noise floor);
  ``unchanged`` when it does not and that floor is at most twice the minimum
  effect (a change that large would have shown); ``inconclusive`` otherwise: the
  benchmark is too noisy, or too little is known of it, to tell.

Everything here is pure arithmetic on numbers; :mod:`xetrack.compare` loads them.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: How many noise-widths a change must exceed (a one-sided normal tail of ~0.1%;
#: wide because run-to-run noise has heavy tails and is itself estimated).
Z: Final = 3.0
#: Successive run-to-run ratios needed before the history alone sets the noise.
HISTORY_MIN: Final = 3
#: With less history, the spread of a run's own batches underestimates the
#: run-to-run noise by about this factor (measured by benchmarks/bench_verdicts.py).
BATCH_INFLATION: Final = 3.0
#: Noise assumed for a run when nothing else is known: one run, no batches.
PRIOR_NOISE: Final = 0.05
#: The most history runs looked at (a lookback window, like Conbench's).
LOOKBACK: Final = 20
_MAD: Final = 1.4826  # the MAD of a normal sample, in standard deviations


@dataclass(frozen=True)
class RunValue:
    """One run's reading of a benchmark: its median and how its batches spread."""

    value: float
    #: robust spread of the run's batch medians, as a log-ratio (None: no batches)
    batch_noise: float | None = None
    batches: int = 0

    @property
    def within(self) -> float | None:
        """The standard error of this run's value from its batches, as a log-ratio."""
        if self.batch_noise is None or self.batches < 3:
            return None
        return self.batch_noise / math.sqrt(self.batches)


@dataclass(frozen=True)
class Evidence:
    """What a timing verdict rests on (log-ratios are relative changes, roughly)."""

    #: ln(head / base)
    effect: float
    #: the run-to-run noise of one run's value, as a log-ratio
    noise: float
    #: the smallest change called regressed or improved, as a log-ratio
    floor: float
    #: where the noise came from, in words
    source: str
    #: earlier runs whose values set the noise
    history: int

    @property
    def ratio(self) -> float:
        return math.exp(self.effect)

    @property
    def interval(self) -> tuple[float, float]:
        """The ratio head/base, give or take Z noise-widths of a difference."""
        width = Z * self.noise * math.sqrt(2)
        return math.exp(self.effect - width), math.exp(self.effect + width)

    @property
    def floor_ratio(self) -> float:
        """The floor as a relative change (0.07 = a change of 7% is needed)."""
        return math.exp(self.floor) - 1


def history_noise(values: Sequence[float]) -> float | None:
    """Run-to-run noise of one run's value from a series of earlier runs' values
    (in time order): 1.4826 x the median absolute log-ratio of successive runs,
    over sqrt(2) (a ratio of two runs carries the noise of both). None with fewer
    than two positive values.

    >>> round(history_noise([1.0, 1.02, 1.0, 1.02, 1.0]), 4)
    0.0208
    >>> round(history_noise([1.0, 1.01, 1.0, 2.0, 2.02, 2.0]), 4)  # a step: ignored
    0.0104
    """
    positive = [v for v in values if v > 0]
    if len(positive) < 2:
        return None
    steps = [abs(math.log(b / a)) for a, b in itertools.pairwise(positive)]
    return _MAD * statistics.median(steps) / math.sqrt(2)


def batch_noise(medians: Sequence[float]) -> float | None:
    """Robust spread (log-ratio) of a run's batch medians; None for fewer than 3."""
    positive = [m for m in medians if m > 0]
    if len(positive) < 3 or len(positive) != len(medians):
        return None
    logs = [math.log(m) for m in positive]
    centre = statistics.median(logs)
    return _MAD * statistics.median(abs(x - centre) for x in logs)


def noise(
    base: RunValue, head: RunValue | None, history: Sequence[float]
) -> tuple[float | None, str, int]:
    """(noise of one run's value, where it came from, history runs used).

    ``history`` are earlier runs' values, oldest first, the baseline's included.
    """
    steps = max(len([v for v in history if v > 0]) - 1, 0)
    found = history_noise(history)
    within = [r.within for r in (base, head) if r is not None and r.within is not None]
    batch = max(within) if within else None
    if found is not None and steps >= HISTORY_MIN:
        if batch is not None and batch > found:
            return batch, f"batches (above the history of {steps + 1} runs)", steps + 1
        return found, f"history of {steps + 1} runs", steps + 1
    inflated = batch * BATCH_INFLATION if batch is not None else None
    candidates = [v for v in (found, inflated) if v is not None]
    if not candidates:
        return None, "nothing: one sample per run and no history", 0
    chosen = max(candidates)
    if found is not None and found >= (inflated or 0.0):
        return chosen, f"a short history of {steps + 1} runs", steps + 1
    label = f"batches x{BATCH_INFLATION:g}" + (
        f", history of only {steps + 1} runs" if steps else ", no history"
    )
    return chosen, label, steps + 1 if steps else 0


def judge_timing(
    base: RunValue,
    head: RunValue,
    history: Sequence[float],
    min_effect: float,
) -> tuple[str, Evidence | None]:
    """The verdict on a timing (lower is better) and its evidence.

    >>> steady = [1.0, 1.01, 0.99, 1.0, 1.01, 1.0]
    >>> judge_timing(RunValue(1.0), RunValue(1.3), steady, 0.05)[0]
    'regressed'
    >>> judge_timing(RunValue(1.0), RunValue(1.02), steady, 0.05)[0]
    'unchanged'
    >>> judge_timing(RunValue(1.0), RunValue(1.1), [], 0.05)[0]  # nothing known
    'inconclusive'
    """
    if base.value <= 0 or head.value <= 0:
        return ("unchanged" if base.value == head.value else "inconclusive"), None
    effect = math.log(head.value / base.value)
    evidence = floor_for(base, head, history, min_effect, effect)
    if abs(effect) >= evidence.floor:
        return ("regressed" if effect > 0 else "improved"), evidence
    if evidence.floor > 2 * math.log1p(min_effect):
        return "inconclusive", evidence  # too noisy to have seen twice the minimum
    return "unchanged", evidence


def floor_for(
    base: RunValue,
    head: RunValue | None,
    history: Sequence[float],
    min_effect: float,
    effect: float = 0.0,
) -> Evidence:
    """The noise floor for a comparison with ``base`` (``head`` may not be measured
    yet: a session asks before timing, to measure a suspect twice)."""
    sigma, source, used = noise(base, head, history)
    if sigma is None:
        sigma, source = PRIOR_NOISE, f"assumed {PRIOR_NOISE:.0%} ({source})"
    floor = max(math.log1p(min_effect), Z * sigma * math.sqrt(2))
    return Evidence(effect, sigma, floor, source, used)
