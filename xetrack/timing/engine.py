"""The timing engine: calibration, warmup, a time budget, batches, GC control.

Every front end (``@track``, ``Tracker.track(timing=...)``, later the
pytest-benchmark-compatible fixture) resolves its options into a
:class:`~xetrack.timing.config.TimingConfig` and hands a callable here; none of
them times anything itself.
"""

from __future__ import annotations

import gc
import itertools
import math
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from xetrack.errors import InvalidArgumentError
from xetrack.timing.config import TimingConfig
from xetrack.timing.loops import Clock, clock, make_round, probe
from xetrack.timing.stats import Stats

_WALL = time.perf_counter

#: The columns :meth:`Measurement.columns` writes (a returned dict's keys of the same
#: names are stored as ``result_<key>`` by the front ends).
TIMING_COLUMNS: Final = frozenset(
    {
        "function_time",
        "time_min",
        "time_max",
        "time_mean",
        "time_stddev",
        "time_iqr",
        "time_ops",
        "time_outliers",
        "rounds",
        "iterations",
        "warmup",
        "time_samples",
        "time_batches",
        "time_probe",
        "timer",
        "unstable",
        "unstable_reason",
        "time_span",
        "time_processes",
    }
)


@dataclass
class Measurement:
    """What measuring produced: per-call samples (one per timed round) and how."""

    config: TimingConfig
    clock: Clock
    samples: list[float] = field(default_factory=list)
    iterations: int = 1
    #: sizes of the consecutive batches the samples were timed in
    batches: list[int] = field(default_factory=list)
    #: the probe loop's fastest call just before each batch, seconds
    probes: list[float] = field(default_factory=list)
    #: untimed rounds before timing (calibration and warmup) and the calls they made
    warmup_rounds: int = 0
    warmup_calls: int = 0
    #: the shortest round the calibration aimed for, seconds
    round_target: float = 0.0
    #: wall time spent measuring (calibration, warmup, rounds), seconds
    elapsed: float = 0.0
    #: wall seconds from the first timed batch's start to the last one's end: the
    #: stretch of time the batches sampled (more than ``elapsed`` when spread)
    span: float = 0.0
    #: max_time stopped the rounds before min_rounds and min_time were reached
    capped: bool = False
    #: its batches were taken at different times, between other work (:class:`Spread`)
    spread_out: bool = False
    #: how many consecutive batches each process timed, when more than one process
    #: measured it (:meth:`joined`); empty: this process alone
    processes: list[int] = field(default_factory=list)
    result: Any = None
    #: the first exception a call raised; the rounds before it are kept
    error: BaseException | None = None

    @property
    def probe(self) -> float | None:
        """The probe loop's fastest call over the measurement (None: not timed)."""
        return min(self.probes) if self.probes else None

    @property
    def calls(self) -> int:
        """Every call of the function, warmup included."""
        return self.warmup_calls + len(self.samples) * self.iterations

    def joined(self, other: Measurement) -> Measurement:
        """This measurement and another process's of the same benchmark, as one:
        the samples, batches and probes of both, in order, and how many batches
        each process timed (its fastest call is the fastest of either process;
        its ``span`` the stretches each sampled, added).
        Samples are per call, so the processes may have calibrated different
        iteration counts; ``iterations`` stays this one's."""
        own = self.processes or [len(self.batches) or 1]
        theirs = other.processes or [len(other.batches) or 1]
        return replace(
            self,
            samples=[*self.samples, *other.samples],
            batches=[
                *(self.batches or [len(self.samples)]),
                *(other.batches or [len(other.samples)]),
            ],
            probes=[*self.probes, *other.probes],
            warmup_rounds=self.warmup_rounds + other.warmup_rounds,
            warmup_calls=self.warmup_calls + other.warmup_calls,
            elapsed=self.elapsed + other.elapsed,
            span=self.span + other.span,  # each process's stretch: both were sampled
            capped=self.capped or other.capped,
            spread_out=self.spread_out or other.spread_out,
            processes=[*own, *theirs],
        )

    def stats(self) -> Stats | None:
        """The statistics of the samples, or None when no round finished."""
        if not self.samples:
            return None
        return Stats.from_samples(self.samples, self.iterations, self.batches)

    def columns(self) -> dict[str, object]:
        """The row of a measured benchmark (``rounds`` is 0 when no round finished):
        the statistics, every sample and batch, the warmup, the timer, and whether
        the result is unstable and why."""
        row: dict[str, object] = {"rounds": 0}
        stats = self.stats()
        if stats is not None:
            row.update(stats.columns())
            reason = stats.unstable(spread_out=self.spread_out)
            row["unstable"] = int(bool(reason))
            row["unstable_reason"] = reason
            row["time_samples"] = self.samples
            row["time_batches"] = self.batches
        if self.probes:
            row["time_probe"] = self.probe
        if self.span:
            row["time_span"] = self.span
        if len(self.processes) > 1 and stats is not None:
            row["time_processes"] = self.processes
        row["warmup"] = self.warmup_rounds
        row["timer"] = self.config.timer
        return row


class _Stop(Exception):
    """The function raised: stop measuring (the exception is in the measurement)."""


def measure(
    fn: Callable[..., Any],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    config: TimingConfig | None = None,
) -> Measurement:
    """Time ``fn(*args, **kwargs)`` as ``config`` says.

    The first exception stops the measurement; it is kept in
    ``Measurement.error`` with the samples of the rounds that finished. With
    ``config.setup``, each round's arguments come from it instead.
    """
    return _Run.of(fn, args, kwargs, config).go()


class Spread:
    """A measurement whose batches are spread over time: :meth:`start` calibrates,
    warms up and times the first batch; each :meth:`resume` times one more batch,
    later. Interference on a shared machine comes in spells of a fraction of a
    second to seconds, so batches taken back to back often share one spell, and
    batches seconds apart do not: their fastest call is far more repeatable from
    run to run (benchmarks/bench_verdicts.py). A session takes one batch of every
    benchmark in turn, :func:`spread_out`.

    With ``config.rounds`` given the counts are exact and the batches run at once,
    as :func:`measure` runs them; so does a measurement stopped by an exception.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        config: TimingConfig | None = None,
    ) -> None:
        self._run = _Run.of(fn, args, kwargs, config)
        #: the exception a later batch raised (the batches before it are kept)
        self.late_error: BaseException | None = None

    @property
    def measurement(self) -> Measurement:
        return self._run.out

    @property
    def done(self) -> bool:
        """No batch is left to take: complete, capped, or stopped by an exception."""
        return self._run.finished

    def start(self) -> Measurement:
        """Calibrate, warm up, time the first batch; the measurement so far."""
        run = self._run
        run.go(first_only=not run.config.fixed)
        run.out.spread_out = not run.finished
        return run.out

    def resume(self) -> bool:
        """Time the next batch; False once the measurement has all it planned (or
        a call raised, then ``late_error`` holds it)."""
        if self.done:
            return False
        error = self._run.resume()
        if error is not None and not isinstance(error, Exception):
            raise error  # Ctrl-C, SystemExit: not the benchmark's failure
        self.late_error = error
        return not self.done


def spread_out(measurements: Sequence[Spread]) -> None:
    """Take one batch of each measurement in turn until all are complete."""
    pending = [m for m in measurements if not m.done]
    while pending:
        pending = [m for m in pending if m.resume()]


class _Run:
    """One measurement in progress."""

    @classmethod
    def of(
        cls,
        fn: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any] | None,
        config: TimingConfig | None,
    ) -> _Run:
        config = config or TimingConfig()
        if config.setup is not None and (args or kwargs):
            raise InvalidArgumentError(
                "arguments and setup both given: with setup, each round's arguments "
                "come from its return value; pass one or the other"
            )
        return cls(fn, tuple(args), dict(kwargs or {}), config)

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        config: TimingConfig,
    ) -> None:
        self.fn = fn
        self.args, self.kwargs = args, kwargs
        self.config = config
        self.timer = config.clock
        self.out = Measurement(config, clock(config.timer))
        self.fixed_round = (
            make_round(fn, args, kwargs) if config.setup is None else None
        )
        self.start = _WALL()
        self.gc_was_enabled = gc.isenabled()
        #: timed rounds already in ``samples`` that belong to the next batch
        self.pending = 0
        #: the duration of the latest round, for planning the next ones
        self.last = 0.0
        #: the batch sizes still to run (planned, then more of the same size)
        self.sizes: Iterator[int] = iter(())
        #: no batch is left to run: enough, capped, or cut short by max_time
        self.finished = False
        #: when the first timed batch started (wall clock)
        self.first_batch: float | None = None

    # -- one round ---------------------------------------------------------------------
    def round(self, n: int) -> float:
        """Run one round of ``n`` calls; its duration in seconds (of the timer)."""
        config = self.config
        try:
            if self.fixed_round is not None:
                args, kwargs = self.args, self.kwargs
                seconds, result = self.fixed_round(n, self.timer)
            else:
                args, kwargs = setup_arguments(config.setup() if config.setup else None)
                seconds, result = make_round(self.fn, args, kwargs)(n, self.timer)
            if config.teardown is not None:
                config.teardown(*args, **kwargs)
        except BaseException as exc:  # pytest's own outcomes (skip, xfail) too
            self.out.error = exc
            raise _Stop from None
        self.out.result = result
        self.last = seconds
        return seconds

    def elapsed(self) -> float:
        return _WALL() - self.start

    # -- the phases ----------------------------------------------------------------------
    def go(self, first_only: bool = False) -> Measurement:
        """Measure; with ``first_only``, stop after the first timed batch (and
        :meth:`resume` runs the others)."""
        out, config = self.out, self.config
        if config.disable_gc:
            gc.disable()
        try:
            first = self.warm(self.calibrate())
            _collect()
            self.timed(first, first_only)
        except _Stop:
            self.finished = True
        finally:
            if config.disable_gc and self.gc_was_enabled:
                gc.enable()
            out.elapsed = self.elapsed()
        return out

    def resume(self) -> BaseException | None:
        """One more batch, some time after the last: the exception a call raised,
        else None. The time budget counts only the time spent measuring."""
        out, config = self.out, self.config
        self.start = _WALL() - out.elapsed
        self.gc_was_enabled = gc.isenabled()
        if config.disable_gc:
            gc.disable()
        try:
            if self.last <= config.warmup_time:
                # the caches other tests used meanwhile: one round untimed, when a
                # round costs no more than the warmup the benchmark was given
                self.round(out.iterations)
                self._untimed(out.iterations)
            self._next_batch()
        except _Stop:
            self.finished = True
            error, out.error = out.error, None
            return error
        finally:
            if config.disable_gc and self.gc_was_enabled:
                gc.enable()
            out.elapsed = self.elapsed()
            self._close_batch(0)
        return None

    def calibrate(self) -> float:
        """Choose iterations per round; the duration of the last round, which ran at
        the chosen count (it may serve as a warmup or the first timed round)."""
        out, config = self.out, self.config
        floor = out.clock.floor(config.calibration_precision)
        target = max(floor, config.min_round_time or 0.0)
        if not config.fixed:
            target = max(target, config.min_time / config.target_rounds)
        out.round_target = target
        # Given rounds are exact counts of timed calls (as pedantic's are): a round is
        # one call unless iterations says otherwise, so an experiment with side
        # effects runs as often as it was asked to. Only a budget calibrates.
        one = config.setup is not None or config.rounds is not None
        fixed = config.iterations or (1 if one else None)
        n = fixed or 1
        seconds = self.round(n)
        while fixed is None and seconds < target and self.elapsed() < config.max_time:
            # grow toward the target from what this round took, at most 100x a step
            # (a first call can be slow: imports, caches) and at least 2x
            guess = n * target / max(seconds, out.clock.resolution) * 1.1
            out.warmup_rounds += 1
            out.warmup_calls += n
            n = int(min(max(guess, n * 2), n * 100))
            seconds = self.round(n)
        out.iterations = n
        return seconds

    def warm(self, carry: float) -> float | None:
        """Untimed rounds at the chosen count; the carried round counts as the first.
        Returns the carried round's duration when it becomes the first timed round."""
        out, config, n = self.out, self.config, self.out.iterations
        if config.fixed and config.warmup_rounds is None:
            return carry  # counts given: no warmup unless asked (one call of a slow
            # experiment with rounds=1 is one call)
        if config.warmup_rounds is not None:
            if config.warmup_rounds == 0:
                return carry
            self._untimed(n)
            for _ in range(config.warmup_rounds - 1):
                self.round(n)
                self._untimed(n)
            return None
        # by time: the carried round is warmup if any is wanted
        if config.warmup_time <= 0:
            return carry
        self._untimed(n)
        limit = config.warmup_iterations
        while self.elapsed() < config.warmup_time and (
            limit is None or out.warmup_calls + n <= limit
        ):
            if self.elapsed() + carry > config.max_time:
                break
            carry = self.round(n)
            self._untimed(n)
        if self.elapsed() + carry > config.max_time:
            # no time left for a timed round: the last warmup round is the sample,
            # so a benchmark slower than max_time still has one
            out.warmup_rounds -= 1
            out.warmup_calls -= n
            return carry
        return None

    def _untimed(self, n: int) -> None:
        self.out.warmup_rounds += 1
        self.out.warmup_calls += n

    def timed(self, carry: float | None, first_only: bool = False) -> None:
        out, config, n = self.out, self.config, self.out.iterations
        samples = out.samples
        if carry is not None:
            samples.append(carry / n)
            self.pending = 1
        per_round = self.last or out.round_target or 1e-9
        if config.fixed:
            assert config.rounds is not None
            for size in _even(config.rounds - len(samples), config.batches):
                self._batch(n, size, None)
            self._close_batch(0)
            self.finished = True
            return
        planned = max(config.min_rounds, math.ceil(config.min_time / per_round))
        plan = _even(planned - len(samples), config.batches)
        # the planned batches, then, while the budget is short (the first rounds
        # estimated the time per round from too few calls, or in a slow spell),
        # what is left of it in two more batches at the time per round seen since
        self.sizes = itertools.chain(plan, self._replanned(max(plan, default=1)))
        while self._next_batch() and not first_only:
            pass
        self._close_batch(0)

    def _replanned(self, least: int) -> Iterator[int]:
        config, out = self.config, self.out
        for share in itertools.chain([2], itertools.repeat(1)):
            short = config.min_time - math.fsum(out.samples) * out.iterations
            per_round = statistics.median(out.samples) * out.iterations
            rounds = math.ceil(short / per_round) if per_round > 0 else least
            yield max(least, math.ceil(rounds / share), 1)

    def _next_batch(self) -> bool:
        """Time the next batch of the plan; False once none is left to run."""
        out, config = self.out, self.config
        if self.finished or self._enough():
            self.finished = True
            return False
        if self.elapsed() >= config.max_time and out.samples:
            out.capped = self.finished = True
            return False
        share = config.min_time / config.batches if config.min_time > 0 else math.inf
        if not self._batch(out.iterations, next(self.sizes), config.max_time, share):
            out.capped = not self._enough()
            self.finished = True
            return False
        if self._enough():
            self.finished = True
            return False
        return True

    def _enough(self) -> bool:
        config, samples = self.config, self.out.samples
        timed = math.fsum(samples) * self.out.iterations
        return len(samples) >= config.min_rounds and timed >= config.min_time

    def _batch(
        self, n: int, size: int, deadline: float | None, share: float = math.inf
    ) -> bool:
        """Time ``size`` rounds as one batch, fewer once they did ``share`` seconds
        of timed work (a batch's share of the budget: a per-round time guessed
        too short must not put the whole budget in one batch); False if the
        deadline cut it short."""
        if size <= 0:
            return True
        out, samples = self.out, self.out.samples
        if out.batches:  # between batches: collect what the last one left
            _collect()
        if self.config.probe_time:  # the machine's speed right now, untimed
            out.probes.append(probe(self.config.timer, self.config.probe_time))
        begun = _WALL()
        if self.first_batch is None:
            self.first_batch = begun
        done, worked = 0, 0.0
        try:
            for _ in range(size):
                seconds = self.round(n)
                samples.append(seconds / n)
                done += 1
                worked += seconds
                if deadline is not None and self.elapsed() + seconds > deadline:
                    return False
                if worked >= share:
                    break
            return True
        finally:
            self._close_batch(done)
            out.span = _WALL() - (self.first_batch or begun)

    def _close_batch(self, done: int) -> None:
        if done + self.pending:
            self.out.batches.append(done + self.pending)
        self.pending = 0


def _collect() -> None:
    """Collect the young generations: the garbage warmup or the last batch made, so
    the timed rounds do not pay for it. Not the oldest generation: in a process
    holding a large test session that takes tens of milliseconds, far more than
    a small benchmark's whole budget, and what it holds is not the benchmark's."""
    gc.collect(1)


def _even(total: int, parts: int) -> list[int]:
    """``total`` rounds in at most ``parts`` batches of sizes differing by one."""
    if total <= 0:
        return []
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def setup_arguments(value: object) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A setup's return value as (args, kwargs)."""
    if value is None:
        return (), {}
    if isinstance(value, Mapping):
        return (), dict(value)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], (tuple, list))
        and isinstance(value[1], Mapping)
    ):
        return tuple(value[0]), dict(value[1])
    raise InvalidArgumentError(
        f"setup returned {type(value).__name__} {value!r:.60}; return a dict of "
        f"keyword arguments, (args, kwargs), or None"
    )
