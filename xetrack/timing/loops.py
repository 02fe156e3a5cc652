"""The timed loop, generated per call shape, and the clock's calibration.

Calling through ``functools.partial`` or ``**kwargs`` on every iteration costs
tens of nanoseconds, more than the work of a small benchmark. Like ``timeit``,
we generate the loop's source instead: the function and its arguments are
locals of the generated function, so an iteration is one call of a local with
local arguments. The last call's result is kept (one store per iteration) so
the benchmark's return value needs no extra, untimed call.
"""

from __future__ import annotations

import itertools
import keyword
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from xetrack.timing.config import TIMERS

#: round(range, timer, fn, *values) -> (seconds, last result)
RoundFn = Callable[..., tuple[float, Any]]

_LOOPS: dict[tuple[int, tuple[str, ...]], RoundFn | None] = {}
_MAX_LOOPS: Final = 256


def _plain_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def round_function(nargs: int, names: Sequence[str]) -> RoundFn | None:
    """The timed loop for calls with ``nargs`` positional and these keyword arguments.

    None when a keyword name is not a plain identifier (``**{"a-b": 1}``): such a
    name cannot appear in source, so no name reaches the generated source unless it
    is one.
    """
    key = (nargs, tuple(names))
    if key in _LOOPS:
        return _LOOPS[key]
    found: RoundFn | None = None
    if all(_plain_name(n) for n in names):
        params = [f"_a{i}" for i in range(nargs)] + [
            f"_k{i}" for i in range(len(names))
        ]
        passed = [f"_a{i}" for i in range(nargs)] + [
            f"{n}=_k{i}" for i, n in enumerate(names)
        ]
        signature = ", ".join(["_range", "_timer", "_fn", *params])
        source = (
            f"def _round({signature}):\n"
            f"    _r = None\n"
            f"    _t0 = _timer()\n"
            f"    for _ in _range:\n"
            f"        _r = _fn({', '.join(passed)})\n"
            f"    _t1 = _timer()\n"
            f"    return _t1 - _t0, _r\n"
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, "<xetrack timed loop>", "exec"), namespace)
        found = namespace["_round"]
    if len(_LOOPS) >= _MAX_LOOPS:  # shapes made on the fly: do not keep them all
        _LOOPS.clear()
    _LOOPS[key] = found
    return found


def make_round(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Callable[[int, Callable[[], float]], tuple[float, Any]]:
    """``run(iterations, timer) -> (seconds, result)`` for ``fn(*args, **kwargs)``."""
    args, kwargs = positional(fn, args, kwargs)
    names = tuple(kwargs)
    loop = round_function(len(args), names)
    values = (*args, *kwargs.values())
    if loop is None:  # slower, through **kwargs, but correct
        arguments, keywords = tuple(args), dict(kwargs)

        def run_generic(n: int, timer: Callable[[], float]) -> tuple[float, Any]:
            result = None
            start = timer()
            for _ in itertools.repeat(None, n):
                result = fn(*arguments, **keywords)
            return timer() - start, result

        return run_generic

    generated = loop

    def run(n: int, timer: Callable[[], float]) -> tuple[float, Any]:
        return generated(itertools.repeat(None, n), timer, fn, *values)

    return run


def positional(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> tuple[Sequence[Any], Mapping[str, Any]]:
    """The same call with its keyword arguments passed by position, where ``fn`` is
    a plain function whose next parameters are exactly those names in that order.

    A keyword call costs a few nanoseconds more than a positional one (about 3% of
    a 0.2 us function): pytest hands a test's arguments over by name, and the
    benchmark should time the function, not the way it was called.
    """
    code = getattr(fn, "__code__", None)
    if not kwargs or not isinstance(fn, types.FunctionType) or code is None:
        return args, kwargs
    names = tuple(kwargs)
    start = len(args)
    if start < code.co_posonlyargcount or start + len(names) > code.co_argcount:
        # a positional-only name given by keyword must still fail as it would
        return args, kwargs
    if code.co_varnames[start : start + len(names)] != names:
        return args, kwargs
    return (*args, *kwargs.values()), {}


@dataclass(frozen=True)
class Clock:
    """What a timer can resolve: measured once per process and timer."""

    timer: str
    #: the smallest step between two different readings, seconds
    resolution: float
    #: an empty timed round (two readings around a loop of no calls), seconds
    overhead: float

    def floor(self, precision: int) -> float:
        """The shortest round worth timing: ``precision`` x 100 times the larger of
        resolution and overhead, so both stay under 1/precision % of a round."""
        return precision * 100 * max(self.resolution, self.overhead)


_CLOCKS: dict[str, Clock] = {}


def clock(name: str) -> Clock:
    """The calibrated :class:`Clock` of a timer in TIMERS (cached per process)."""
    found = _CLOCKS.get(name)
    if found is None:
        found = _CLOCKS[name] = _calibrate(name)
    return found


def _calibrate(name: str) -> Clock:
    timer = TIMERS[name]
    wall = time.perf_counter
    # A coarse clock (a CPU-time clock on some systems) steps rarely: stop looking
    # after 50 ms of wall time rather than spinning on it.
    deadline = wall() + 0.05
    resolution = float("inf")
    for _ in range(200):
        first = timer()
        second = timer()
        while second == first and wall() < deadline:
            second = timer()
        if second > first:
            resolution = min(resolution, second - first)
        if wall() >= deadline:
            break
    if resolution == float("inf"):
        resolution = time.get_clock_info(name).resolution  # type: ignore[arg-type]
    empty = make_round(_nothing, (), {})
    overhead = min(empty(0, timer)[0] for _ in range(200))
    return Clock(name, resolution, max(overhead, 0.0))


def _nothing() -> None:
    return None


# -- the probe --------------------------------------------------------------------------
#: Steps of the probe's loop: about a microsecond of plain bytecode a call.
PROBE_STEPS: Final = 40


def _probe(steps: int) -> int:
    """The probe: a loop of integer arithmetic, code no benchmark can change.

    One process of the same code can run a tight bytecode loop 10-20% slower than
    the next for its whole life (where the interpreter lands in memory), and the
    machine's speed moves for seconds at a time; both move the probe with a
    benchmark of interpreted code, so a benchmark's time over the probe's is
    steadier from run to run than its time alone (benchmarks/bench_verdicts.py).
    Native code (a C sort) does not move with it: the verdict only uses the ratio
    where a benchmark's history shows it steadier.
    """
    x = 1
    for i in range(steps):
        x = (x * 3 + i) & 0xFFFF
    return x


_PROBES: dict[str, Callable[[int, Callable[[], float]], tuple[float, Any]]] = {}
_PROBE_CALLS: dict[str, int] = {}


def probe(timer_name: str, seconds: float) -> float:
    """The probe's fastest call (seconds, by the timer) over rounds filling about
    ``seconds`` of wall time, at least three rounds; each round lasts at least
    the clock's floor, so the timer's resolution does not show."""
    run = _PROBES.get(timer_name)
    if run is None:
        run = _PROBES[timer_name] = make_round(_probe, (PROBE_STEPS,), {})
    timer, wall = TIMERS[timer_name], time.perf_counter
    calls = _PROBE_CALLS.get(timer_name)
    if calls is None:
        floor, calls = clock(timer_name).floor(1), 8
        took = run(calls, timer)[0]
        while took < floor and calls < 1_000_000:
            calls *= 2
            took = run(calls, timer)[0]
        _PROBE_CALLS[timer_name] = calls
    fastest, rounds, deadline = float("inf"), 0, wall() + seconds
    while rounds < 3 or wall() < deadline:
        fastest = min(fastest, run(calls, timer)[0])
        rounds += 1
    return fastest / calls
