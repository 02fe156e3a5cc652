"""What a front end asks the timing engine for: one frozen, validated config."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Final

from xetrack.errors import InvalidArgumentError

#: The clocks a benchmark may be timed with, by name.
TIMERS: Final[dict[str, Callable[[], float]]] = {
    "perf_counter": time.perf_counter,
    "process_time": time.process_time,
    "thread_time": time.thread_time,
}

#: A setup's return value: keyword arguments, or ``(args, kwargs)``, or None.
Setup = Callable[[], Any]
Teardown = Callable[..., Any]


def timer_name(value: str) -> str:
    """``perf_counter``, ``time.perf_counter`` and friends, as a key of TIMERS."""
    name = value.strip()
    if name.startswith("time."):
        name = name[len("time.") :]
    if name not in TIMERS:
        raise InvalidArgumentError(
            f"unknown timer {value!r}; use one of: {', '.join(TIMERS)}"
        )
    return name


@dataclass(frozen=True)
class TimingConfig:
    """How to measure one benchmark.

    By default the engine spends a time budget: ``warmup_time`` of untimed
    rounds, then timed rounds until both ``min_rounds`` rounds and ``min_time``
    seconds of timed work are done, never past ``max_time`` in all. ``rounds``,
    ``warmup_rounds`` and ``iterations`` fix those counts exactly instead.

    A round calls the function ``iterations`` times between two readings of the
    timer. Given ``rounds``, a round is one call unless ``iterations`` is given
    too; with a budget, calibration picks ``iterations`` so that a round lasts at least
    ``calibration_precision`` times the timer's resolution and its own overhead
    (and ``min_round_time``, when given), and, with a budget, long enough that
    about ``target_rounds`` rounds fill ``min_time``. Samples are per call.

    ``setup`` runs before every round, untimed; it returns keyword arguments,
    ``(args, kwargs)`` or None, which feed that round's call. ``teardown`` runs
    after every round with the same arguments. With ``setup`` a round is one call:
    ``iterations > 1`` with it is an error.

    >>> TimingConfig(rounds=10, iterations=1).fixed
    True
    >>> TimingConfig(iterations=2, setup=dict)
    Traceback (most recent call last):
    ...
    xetrack.errors.InvalidArgumentError: iterations=2 with setup: ...
    """

    rounds: int | None = None
    iterations: int | None = None
    warmup_rounds: int | None = None
    warmup_time: float = 0.02
    warmup_iterations: int | None = None
    min_rounds: int = 5
    min_time: float = 0.2
    max_time: float = 1.0
    min_round_time: float | None = None
    calibration_precision: int = 10
    target_rounds: int = 200
    batches: int = 5
    timer: str = "perf_counter"
    disable_gc: bool = False
    #: seconds of the probe loop timed before each batch (0: none); see
    #: :func:`xetrack.timing.loops.probe`
    probe_time: float = 0.002
    setup: Setup | None = None
    teardown: Teardown | None = None

    def __post_init__(self) -> None:
        _count("rounds", self.rounds, 1, optional=True)
        _count("iterations", self.iterations, 1, optional=True)
        _count("warmup_rounds", self.warmup_rounds, 0, optional=True)
        _count("warmup_iterations", self.warmup_iterations, 0, optional=True)
        _count("min_rounds", self.min_rounds, 1)
        _count("calibration_precision", self.calibration_precision, 1)
        _count("target_rounds", self.target_rounds, 1)
        _count("batches", self.batches, 1)
        _seconds("warmup_time", self.warmup_time)
        _seconds("min_time", self.min_time)
        _seconds("max_time", self.max_time)
        _seconds("min_round_time", self.min_round_time, optional=True)
        _seconds("probe_time", self.probe_time)
        if self.max_time < self.min_time:
            raise InvalidArgumentError(
                f"max_time={self.max_time!r} is below min_time={self.min_time!r}; "
                f"the budget needs max_time >= min_time"
            )
        object.__setattr__(self, "timer", timer_name(self.timer))
        for name in ("setup", "teardown"):
            given = getattr(self, name)
            if given is not None and not callable(given):
                raise InvalidArgumentError(
                    f"{name}={given!r} is not callable; pass a function"
                )
        if self.setup is not None and (self.iterations or 1) > 1:
            raise InvalidArgumentError(
                f"iterations={self.iterations} with setup: a setup feeds one call, so "
                f"each round is one call; drop iterations or the setup"
            )

    @property
    def fixed(self) -> bool:
        """True when the number of rounds is given, not found by the time budget."""
        return self.rounds is not None

    @property
    def clock(self) -> Callable[[], float]:
        return TIMERS[self.timer]

    def describe(self) -> dict[str, object]:
        """The settings as plain values (callables by their name), for a row or JSON."""
        out: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if callable(value):
                value = getattr(value, "__qualname__", type(value).__name__)
            out[item.name] = value
        return out


def _count(name: str, value: object, least: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise InvalidArgumentError(f"{name}={value!r} must be an int >= {least}")


def _seconds(name: str, value: object, optional: bool = False) -> None:
    if value is None and optional:
        return
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidArgumentError(
            f"{name}={value!r} must be a number of seconds >= 0, like 0.5"
        )
