"""The verdict rule for timings: an effect judged against that benchmark's own noise.

The rounds of one session are not independent samples of "the speed of this
code": a session runs on a machine whose speed drifts (frequency, other work,
cache and memory layout), so two sessions of the same code differ by far more
than the spread of their rounds suggests. A test on rounds (Mann-Whitney and
the like) pseudo-replicates and calls ordinary drift "significant". So:

- the unit of evidence is a run's value: its fastest call. Interference from
  other work only ever adds time, so the fastest calls are the most repeatable
  reading of a run (measured by benchmarks/bench_verdicts.py on a shared
  2-core machine: run-to-run noise of the minimum 0.7-1.5% from 0.2 us to
  2 ms, against 1.2-3.6% for the median); ``function_time`` on the rows stays
  the median;
- where a benchmark's history shows it steadier, the value is its fastest call
  over the probe loop's (a fixed bytecode loop the engine times before each
  batch, :func:`xetrack.timing.loops.probe`): one process can run interpreted
  code 10-20% slower than the next for its whole life, and the machine's speed
  moves for seconds; the probe moves with interpreted code and cancels both.
  Native code does not move with it, so the ratio is used only when its history
  noise is below PROBE_GAIN of the plain value's (:func:`over_probe`);
- its noise is estimated from what is independent of it: the same benchmark's
  earlier runs on this lineage (ancestor commits, the baseline's, earlier runs of
  this commit, same environment), as the median of the absolute log-ratios of
  successive runs (a past step change is one large ratio among many and does not
  inflate it), and, as a lower bound, the spread of the run's own batches;
- a change is ``regressed``/``improved`` when it exceeds both the minimum effect
  and ``Z`` times the noise of a difference of two runs (the noise floor);
  ``unchanged`` when it is smaller than the minimum effect and the floor is at
  most UNCHANGED_FLOOR minimum effects; ``inconclusive`` otherwise: a change that
  would matter but lies within the noise, or a benchmark too noisy to tell.

Everything here is pure arithmetic on numbers; :mod:`xetrack.compare` loads them.
"""

from __future__ import annotations

import functools
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from xetrack.timing.stats import batch_noise, fastest_gap

__all__ = [
    "PROBE_GAIN",
    "Evidence",
    "RunValue",
    "across_noise",
    "batch_noise",
    "floor_for",
    "history_noise",
    "judge_timing",
    "min_spread",
    "over_probe",
    "pooled_noise",
]

#: How many noise-widths a change must exceed: a one-sided normal tail of 0.6%,
#: wider than a textbook 1.64 because run-to-run noise has heavy tails and is
#: itself estimated from few runs; a session measures a suspect twice, which cuts
#: false alarms further (chosen with benchmarks/bench_verdicts.py: 3.0 missed half
#: of the +20% slowdowns at 50 us on a shared machine, 2.0 let 7% of A/A pairs
#: regress).
Z: Final = 2.5
#: Successive run-to-run ratios a history needs before the probe may be judged
#: (:func:`over_probe`).
HISTORY_MIN: Final = 5
#: Successive run-to-run ratios needed before a benchmark's history alone sets its
#: noise; with fewer, the estimates are combined (:func:`noise`).
HISTORY_ALONE: Final = 8
#: What the other benchmarks' history (the machine's noise) counts for when a
#: benchmark's own history is short, in successive ratios of its own; a run's batch
#: error and the comparison's spread count for one each. Chosen on the verdict
#: benchmark's two-process runs (verdicts15, verdicts16): taking the largest of the
#: estimates instead caught 50% of the +20% slowdowns at the worst workload from
#: 2 us to 2 ms, weighing them 90% in both runs, with A/A pairs called regressed
#: at 0-2 of 46 at every workload but 50 ms in both.
POOLED_WEIGHT: Final = 10.0
WITHIN_WEIGHT: Final = 1.0
ACROSS_WEIGHT: Final = 1.0
#: A noise floor wider than this many minimum effects makes even a small change
#: ``inconclusive``: the benchmark could not have seen a change that matters.
UNCHANGED_FLOOR: Final = 4.0
#: The least run-to-run noise assumed for a benchmark nothing is known of (a first
#: comparison: no history, here or for any other benchmark of the run).
PRIOR_NOISE: Final = 0.02
#: The noise assumed when nothing at all is known: one sample a run, no history.
UNKNOWN_NOISE: Final = 0.05
#: A run's own batches, taken back to back, see only the noise of its second or so;
#: run-to-run noise was several times that on a shared machine
#: (benchmarks/bench_verdicts.py).
WITHIN_INFLATION: Final = 2.0
#: Batches spread over the session (:mod:`pytest_xetrack.spread`) see the machine's
#: slow spells themselves: on the verdict benchmark the session-to-session spread
#: of their fastest call was about their own jackknife error (median ratio 1.07 over
#: 25 benchmarks, 10 sessions), so that error is taken as it is.
WITHIN_INFLATION_SPREAD: Final = 1.0
#: The most history runs looked at (a lookback window, like Conbench's).
LOOKBACK: Final = 20
#: Head is compared with the median of the newest this many runs of the lineage
#: (the baseline among them) rather than with the baseline's run alone: one run's
#: reading carries that run's noise in full, a median of five about 29% of it.
CENTRE_RUNS: Final = 5
#: The fewest lineage runs a median is taken of; with fewer, the baseline alone.
CENTRE_MIN: Final = 3
#: The variance of the median of n normal values, in units of one value's variance.
_MEDIAN_VARIANCE: Final = {1: 1.0, 2: 0.5, 3: 0.449, 4: 0.361, 5: 0.287}
_MAD: Final = 1.4826  # the MAD of a normal sample, in standard deviations
#: The fewest benchmarks of a comparison whose spread of changes says its noise:
#: in a small suite a real change moves a large share of them (the README's demo:
#: two of six benchmarks 3.8x slower read a ±450% floor from six).
ACROSS_MIN: Final = 10
#: A benchmark is judged by its time over the probe's when that series' history
#: noise is below this share of its plain time's: a clear gain, not a coin flip
#: between two estimates of the same noise (which would understate it).
PROBE_GAIN: Final = 0.8


@dataclass(frozen=True)
class RunValue:
    """One run's reading of a benchmark (its fastest call) and how much that
    reading rests on a single batch."""

    value: float
    #: the within-run uncertainty of ``value`` as a log-ratio (None: unknown)
    within: float | None = None
    #: its batches were spread over the session rather than taken back to back
    spread: bool = False

    @property
    def within_noise(self) -> float | None:
        """``within`` as an estimate of run-to-run noise (None: unknown)."""
        if self.within is None:
            return None
        inflation = WITHIN_INFLATION_SPREAD if self.spread else WITHIN_INFLATION
        return self.within * inflation

    @classmethod
    def of(cls, batch_mins: Sequence[float]) -> RunValue:
        """From the fastest call of each of a run's batches."""
        return cls(min(batch_mins), min_spread(batch_mins))


def min_spread(batch_mins: Sequence[float]) -> float | None:
    """The jackknife standard error of a minimum over batches, as a log-ratio:
    leaving out the batch that holds the minimum moves it to the second-fastest
    batch, so the error is that gap x (B - 1) / B. None for fewer than 3 batches
    or a value that is not positive.

    >>> round(min_spread([1.0, 1.1, 1.02, 1.3, 1.05]), 4)
    0.0158
    """
    gap = fastest_gap(batch_mins)
    return None if gap is None else gap * (len(batch_mins) - 1) / len(batch_mins)


@dataclass(slots=True)  # not frozen: a comparison makes one per benchmark
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
    #: the value head was compared with: the baseline's, or the median of the
    #: newest ``runs`` runs of the lineage
    reference: float = math.nan
    runs: int = 1

    @property
    def ratio(self) -> float:
        return math.exp(self.effect)

    @property
    def width(self) -> float:
        """One noise-width of the difference between head and the reference."""
        return self.noise * math.sqrt(1 + _MEDIAN_VARIANCE[self.runs])

    @property
    def interval(self) -> tuple[float, float]:
        """The ratio head/reference, give or take Z noise-widths of a difference."""
        width = Z * self.width
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
    return _history_noise(tuple(values))


@functools.lru_cache(maxsize=4096)  # a comparison asks twice: pooled, then its own
def _history_noise(values: tuple[float, ...]) -> float | None:
    positive = [v for v in values if v > 0]
    if len(positive) < 2:
        return None
    steps = [abs(math.log(b / a)) for a, b in itertools.pairwise(positive)]
    return _MAD * statistics.median(steps) / math.sqrt(2)


def noise(
    base: RunValue,
    head: RunValue | None,
    history: Sequence[float],
    pooled: float | None = None,
    across: float | None = None,
) -> tuple[float | None, str, int]:
    """(noise of one run's value, where it came from, history runs used).

    ``history`` are earlier runs' values, oldest first, the baseline's included.
    With at least HISTORY_ALONE successive ratios the history alone speaks: it is
    the run-to-run noise of the very statistic compared. With fewer, what is known
    is combined, each estimate's square weighted by how much it rests on: the short
    history by its ratios, ``pooled`` (the typical history noise of the other
    benchmarks in the comparison: the machine's noise) by POOLED_WEIGHT, the
    spread of the runs' own batches by WITHIN_WEIGHT, and ``across`` (how far the
    comparison's benchmarks moved apart, :func:`across_noise`) by ACROSS_WEIGHT,
    only without ``pooled``, since a commit that changes most benchmarks widens it
    (on the verdict benchmark, where a slowed commit changes 18 of 25, it read
    12-20% floors against 7-9% from the other benchmarks' history). The largest
    of them instead let the least reliable one, a run's batch error from five
    batches, set most floors.
    """
    steps = max(len([v for v in history if v > 0]) - 1, 0)
    own = history_noise(history)
    if own is not None and steps >= HISTORY_ALONE:
        return own, f"history of {steps + 1} runs", steps + 1
    within = [
        w for r in (base, head) if r is not None and (w := r.within_noise) is not None
    ]
    parts = [
        (weight, value, label)
        for weight, value, label in (
            (float(steps), own, f"a short history of {steps + 1} runs"),
            (POOLED_WEIGHT, pooled, "the other benchmarks' history"),
            # this comparison's own spread only when no history says the machine's
            # noise: a commit that changes most benchmarks widens it
            (
                ACROSS_WEIGHT,
                across if pooled is None else None,
                "the spread of all benchmarks' changes",
            ),
            (WITHIN_WEIGHT, max(within) if within else None, "its batches"),
        )
        if value is not None and weight > 0
    ]
    if not parts:
        return None, "nothing: no history and no batches", 0
    total = math.fsum(weight for weight, _, _ in parts)
    value = math.sqrt(math.fsum(weight * v * v for weight, v, _ in parts) / total)
    if value < PRIOR_NOISE and not steps and pooled is None:
        # a first comparison: a run's batches alone say little of run-to-run noise
        return PRIOR_NOISE, f"an assumed {PRIOR_NOISE:.0%} (no history yet)", 0
    names = [label for _, _, label in parts]
    label = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if len(names) > 1:
        label += ", weighed"
    if not steps:
        label += ", no history"
    return value, label, steps + 1 if steps else 0


def over_probe(plain: Sequence[float], over: Sequence[float] | None) -> bool:
    """Whether to judge a benchmark by its time over the probe's: when both series
    have HISTORY_MIN successive ratios and the one over the probe is steadier by
    PROBE_GAIN (interpreted code usually is; native code, which the probe does
    not follow, usually is not). With less history, no: a sleep, native code or
    I/O does not follow the probe, and over it an A/A pair of a sleep read x1.405
    (plainly x1.004) and failed a gate.

    >>> plain = [1.0, 1.15, 0.98, 1.12, 1.0, 1.16]  # whole processes slower
    >>> probe = [1.0, 1.14, 1.0, 1.1, 1.01, 1.15]   # and the probe with them
    >>> over_probe(plain, [p / q for p, q in zip(plain, probe)])
    True
    >>> over_probe(plain[:3], [p / q for p, q in zip(plain, probe)][:3])  # too few
    False
    """
    if over is None or min(len(plain), len(over)) < HISTORY_MIN + 1:
        return False
    noise_plain, noise_over = history_noise(plain), history_noise(over)
    if noise_plain is None or noise_over is None:
        return False
    return noise_over < PROBE_GAIN * noise_plain


def across_noise(changes: Sequence[float]) -> float | None:
    """Run-to-run noise of one run's value from one comparison alone: the changes
    (log-ratios head/base) of all its benchmarks scatter around their typical change
    by the noise of two runs, while a real change moves a few of them. 1.4826 x the
    median absolute deviation from the median change, over sqrt(2); None for fewer
    than ACROSS_MIN benchmarks. It tells a first comparison what its machine's
    noise is, where nothing else does (a quiet machine's benchmarks agree to 1%,
    a shared one's by 10%).

    >>> round(across_noise([0.01, -0.01, 0.0, 0.02, -0.02, 0.0, 0.01, -0.01, 0.02, 0.7]), 4)
    0.0157
    >>> across_noise([0.01, 0.02]) is None
    True
    """
    if len(changes) < ACROSS_MIN:
        return None
    centre = statistics.median(changes)
    return _MAD * statistics.median(abs(c - centre) for c in changes) / math.sqrt(2)


def pooled_noise(histories: Sequence[Sequence[float]]) -> float | None:
    """The machine's run-to-run noise: the median of the history noise of the
    benchmarks that have any history (None when none has)."""
    found = [n for n in (history_noise(h) for h in histories) if n is not None]
    return statistics.median(found) if found else None


def judge_timing(
    base: RunValue,
    head: RunValue,
    history: Sequence[float],
    min_effect: float,
    pooled: float | None = None,
    across: float | None = None,
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
    evidence = floor_for(base, head, history, min_effect, pooled=pooled, across=across)
    effect, minimum = evidence.effect, math.log1p(min_effect)
    if abs(effect) >= evidence.floor:
        return ("regressed" if effect > 0 else "improved"), evidence
    if abs(effect) < minimum and evidence.floor <= UNCHANGED_FLOOR * minimum:
        return "unchanged", evidence
    # a change that would matter, but within the noise; or a benchmark too noisy
    # to have seen one
    return "inconclusive", evidence


def floor_for(
    base: RunValue,
    head: RunValue | None,
    history: Sequence[float],
    min_effect: float,
    effect: float = 0.0,
    pooled: float | None = None,
    across: float | None = None,
) -> Evidence:
    """The noise floor for a comparison with ``base`` (``head`` may not be measured
    yet: a session asks before timing, to measure a suspect twice); with ``head``,
    the effect is ln(head / the reference), else ``effect``."""
    sigma, source, used = noise(base, head, history, pooled, across)
    if sigma is None:
        sigma, source = UNKNOWN_NOISE, f"assumed {UNKNOWN_NOISE:.0%} ({source})"
    value, runs = reference(base.value, history, sigma, base.within_noise or 0.0)
    if head is not None and head.value > 0 and value > 0:
        effect = math.log(head.value / value)
    width = sigma * math.sqrt(1 + _MEDIAN_VARIANCE[runs])
    floor = max(math.log1p(min_effect), Z * width)
    return Evidence(effect, sigma, floor, source, used, value, runs)


def reference(
    base: float, history: Sequence[float], sigma: float, luck: float = 0.0
) -> tuple[float, int]:
    """(the value head is compared with, how many runs it is the median of).

    The median of the newest CENTRE_RUNS runs of the lineage (``history``, oldest
    first, holds the baseline's run), unless the baseline sits off that level by
    more than the noise allows: then the code changed at the baseline, and the
    runs before it describe other code. ``luck`` is how much the baseline's own
    reading rests on one batch (its batch error): a fastest call under the level
    that one lucky batch set is not a step (on the verdict benchmark a 50 ms baseline 8% under
    its history's level, its next-fastest batch 10% slower, was taken alone and
    made an A/A pair read x1.208 "regressed").

    >>> reference(1.0, [1.1, 0.9, 1.05, 1.0], 0.05)
    (1.025, 4)
    >>> reference(2.0, [1.0, 1.01, 0.99, 2.0], 0.02)  # a step at the baseline
    (2.0, 1)
    >>> reference(0.92, [1.0, 1.01, 0.99, 0.92], 0.02, luck=0.09)  # one lucky batch
    (0.995, 4)
    >>> reference(1.0, [1.0], 0.02)
    (1.0, 1)
    """
    recent = sorted([v for v in history if v > 0][-CENTRE_RUNS:])
    count = len(recent)
    if count < CENTRE_MIN:
        return base, 1
    half = count // 2
    level = recent[half] if count % 2 else (recent[half - 1] + recent[half]) / 2
    allowed = Z * sigma * math.sqrt(1 + _MEDIAN_VARIANCE[len(recent)])
    off = math.log(base / level)
    if (-off - luck if off < 0 else off) > allowed:  # luck only reads faster
        return base, 1
    return level, len(recent)
