"""The timing engine on real code: calibration, budget, setup, GC, timers, stats."""

from __future__ import annotations

import gc
import itertools
import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xetrack.errors import InvalidArgumentError
from xetrack.timing import Spread, Stats, TimingConfig, clock, measure, spread_out
from xetrack.timing.loops import make_round, positional, round_function

QUICK = {"min_time": 0.01, "max_time": 0.2, "warmup_time": 0.0}


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def test_calibration_picks_more_iterations_for_faster_work() -> None:
    # CPU work on the thread's CPU clock: a busy machine that takes the CPU away
    # mid-round would stretch a wall-clock calibration round and stop it early
    on_cpu = TimingConfig(**QUICK, timer="thread_time")
    fast = measure(_spin, [1], config=on_cpu)
    slower = measure(_spin, [300], config=on_cpu)
    slow = measure(time.sleep, [0.003], config=TimingConfig(**QUICK))
    assert fast.iterations > slower.iterations > slow.iterations == 1
    assert fast.result == 0 and slower.result == _spin(300)
    for m in (fast, slower, slow):
        assert len(m.samples) == sum(m.batches) and m.stats() is not None


def test_a_round_lasts_at_least_the_clock_floor() -> None:
    """The target a round aims for is above the timer's resolution and overhead."""
    found = clock("perf_counter")
    assert found.resolution > 0 and found.overhead >= 0
    m = measure(_spin, [1], config=TimingConfig(rounds=3))
    assert m.round_target >= found.floor(10) >= 1000 * found.resolution


def test_the_time_budget_is_respected() -> None:
    config = TimingConfig(min_rounds=5, min_time=0.03, max_time=10.0, warmup_time=0)
    m = measure(_spin, [50], config=config)
    timed = math.fsum(m.samples) * m.iterations
    one_round = max(m.samples) * m.iterations
    assert not m.capped and len(m.samples) >= 5 and timed >= 0.03
    assert timed <= config.max_time + one_round


def test_max_time_caps_a_slow_benchmark_and_says_so() -> None:
    config = TimingConfig(min_rounds=50, min_time=0.0, max_time=0.05, warmup_time=0)
    m = measure(time.sleep, [0.01], config=config)
    one_round = max(m.samples)
    assert m.capped and 1 <= len(m.samples) < 50
    assert math.fsum(m.samples) <= config.max_time + one_round


def test_a_benchmark_slower_than_max_time_runs_once() -> None:
    calls: list[int] = []

    def experiment() -> dict[str, float]:
        calls.append(1)
        time.sleep(0.03)
        return {"accuracy": 0.9}

    m = measure(experiment, config=TimingConfig(max_time=0.02, min_time=0.0))
    assert len(calls) == 1 and len(m.samples) == 1
    assert m.result == {"accuracy": 0.9} and m.warmup_rounds == 0


def test_fixed_rounds_warmup_and_iterations_are_exact() -> None:
    calls: list[int] = []
    config = TimingConfig(rounds=7, warmup_rounds=2, iterations=3, batches=3)
    m = measure(calls.append, [1], config=config)
    assert len(calls) == (7 + 2) * 3 == m.calls
    assert len(m.samples) == 7 and m.batches == [3, 2, 2]
    assert m.warmup_rounds == 2 and m.iterations == 3


def test_fixed_rounds_without_warmup_call_a_slow_function_that_often() -> None:
    calls: list[int] = []

    def slow() -> None:
        calls.append(1)
        time.sleep(0.002)

    m = measure(slow, config=TimingConfig(rounds=3))
    assert len(calls) == 3 and len(m.samples) == 3 and m.iterations == 1


def test_setup_runs_per_round_untimed_and_feeds_the_call() -> None:
    made: list[list[int]] = []
    torn: list[list[int]] = []

    def setup() -> dict[str, list[int]]:
        time.sleep(0.005)  # would dominate every sample if it were timed
        data = [3, 1, 2]
        made.append(data)
        return {"data": data}

    def work(data: list[int]) -> int:
        data.sort()  # mutates: a round given the same list twice would differ
        return data.pop()

    def teardown(data: list[int]) -> None:
        torn.append(data)

    config = TimingConfig(rounds=20, warmup_rounds=1, setup=setup, teardown=teardown)
    m = measure(work, config=config)
    assert m.error is None and m.iterations == 1
    assert len(made) == 21 == len(torn) and all(d == [1, 2] for d in made)
    assert torn == made  # teardown got the round's own arguments
    stats = m.stats()
    assert stats is not None and stats.median < 0.005


def test_setup_may_return_args_and_kwargs() -> None:
    config = TimingConfig(rounds=2, setup=lambda: ((2,), {"exp": 10}))
    assert measure(pow, config=config).result == 1024


def test_setup_rules_are_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="iterations=2 with setup"):
        TimingConfig(iterations=2, setup=dict)
    with pytest.raises(InvalidArgumentError, match="arguments and setup both given"):
        measure(pow, [2, 3], config=TimingConfig(setup=dict))
    bad = measure(pow, config=TimingConfig(rounds=2, setup=lambda: 42))
    assert isinstance(bad.error, InvalidArgumentError)
    assert "setup returned int 42; return a dict" in str(bad.error)


def test_gc_is_collected_and_can_be_disabled_during_rounds() -> None:
    seen: list[bool] = []
    assert gc.isenabled()
    measure(lambda: seen.append(gc.isenabled()), config=TimingConfig(rounds=3))
    assert set(seen) == {True}
    seen.clear()
    measure(
        lambda: seen.append(gc.isenabled()),
        config=TimingConfig(rounds=3, disable_gc=True),
    )
    assert set(seen) == {False} and gc.isenabled()


def test_timers_by_name_and_unknown_ones_listed() -> None:
    m = measure(_spin, [10], config=TimingConfig(rounds=2, timer="time.process_time"))
    assert m.config.timer == "process_time" and m.clock.timer == "process_time"
    with pytest.raises(InvalidArgumentError, match="use one of: perf_counter, pro"):
        TimingConfig(timer="wall")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rounds": 0}, "rounds=0 must be an int >= 1"),
        ({"min_rounds": True}, "min_rounds=True must be an int >= 1"),
        ({"max_time": -1}, "max_time=-1 must be a number of seconds >= 0"),
        ({"min_time": math.nan}, "min_time=nan must be a number"),
        ({"min_time": 2.0, "max_time": 1.0}, "max_time=1.0 is below min_time=2.0"),
        ({"setup": 3}, "setup=3 is not callable"),
        ({"probe_time": -0.1}, "probe_time=-0.1 must be a number of seconds >= 0"),
    ],
)
def test_bad_settings_are_named(settings: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        TimingConfig(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("timer", ["perf_counter", "thread_time"])
def test_the_probe_loop_is_timed_before_every_batch(timer: str) -> None:
    """Its fastest call, on the benchmark's own timer, is the row's time_probe;
    no probe is timed or stored with probe_time=0."""
    m = measure(_spin, [20], config=TimingConfig(**QUICK, timer=timer))
    assert len(m.probes) == len(m.batches) >= 1
    assert all(p > 0 for p in m.probes)
    assert m.columns()["time_probe"] == min(m.probes)
    fixed = measure(_spin, [20], config=TimingConfig(rounds=3, batches=3))
    assert len(fixed.probes) == len(fixed.batches) >= 2
    off = measure(_spin, [20], config=TimingConfig(**QUICK, probe_time=0))
    assert off.probes == [] and "time_probe" not in off.columns()


def test_the_first_exception_stops_and_keeps_finished_rounds() -> None:
    calls: list[int] = []

    def third_fails() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("round three broke")

    m = measure(third_fails, config=TimingConfig(rounds=5, iterations=1))
    assert isinstance(m.error, ValueError) and len(m.samples) == 2


def test_generated_loop_passes_arguments_and_odd_keywords() -> None:
    def f(a: int, b: int = 0, **rest: int) -> int:
        return a + b + sum(rest.values())

    assert make_round(f, (1,), {"b": 2})(3, time.perf_counter)[1] == 3
    assert make_round(f, (1,), {"not-a-name": 5})(2, time.perf_counter)[1] == 6
    assert round_function(0, ("x; import os",)) is None  # never pasted into source


def test_empty_function_loop_costs_little_more_than_a_call() -> None:
    """Counts, not wall-clock: the generated loop's code has no per-iteration
    ``**kwargs`` or ``partial`` call (a call of a local with local arguments)."""
    import dis

    loop = round_function(1, ("k",))
    assert loop is not None
    names = {i.opname for i in dis.get_instructions(loop)}
    assert "CALL_FUNCTION_EX" not in names and "LOAD_GLOBAL" not in names


samples_strategy = st.lists(
    st.floats(min_value=1e-9, max_value=10.0, allow_nan=False), min_size=1, max_size=60
)


@given(samples_strategy, st.integers(min_value=1, max_value=5))
def test_stats_invariants(samples: list[float], parts: int) -> None:
    sizes = [len(samples) // parts] * parts
    s = Stats.from_samples(samples, iterations=3, batches=sizes)
    assert s.min <= s.q1 <= s.median <= s.q3 <= s.max
    assert s.min <= s.mean <= s.max and s.stddev >= 0 and s.iqr >= 0
    assert s.rounds == len(samples) and s.iterations == 3
    assert 0 <= s.outliers <= len(samples) and s.ops > 0
    for m in s.batch_medians:
        assert s.min <= m <= s.max
    assert Stats.from_samples(list(reversed(samples))).median == s.median


@given(samples_strategy, st.floats(min_value=0.5, max_value=4.0))
def test_stats_scale_with_the_samples(samples: list[float], factor: float) -> None:
    s = Stats.from_samples(samples)
    scaled = Stats.from_samples([x * factor for x in samples])
    assert scaled.median == pytest.approx(s.median * factor, rel=1e-9)
    assert scaled.iqr == pytest.approx(s.iqr * factor, rel=1e-9, abs=1e-15)


def test_unstable_says_why() -> None:
    steady = Stats.from_samples([1.0] * 20, batches=[5, 5, 5, 5])
    assert steady.unstable() == "" and steady.batch_noise() == 0.0
    drifting = Stats.from_samples(
        [1.0] * 4 + [1.3] * 4 + [0.8] * 4 + [1.2] * 4 + [1.0] * 4, batches=[4] * 5
    )
    assert "batch medians spread by 27.0%" in drifting.unstable()
    wide = Stats.from_samples([1.0, 2.0, 3.0, 4.0])
    assert "the interquartile range is 60.0% of the median" in wide.unstable()
    with pytest.raises(ValueError, match="no samples"):
        Stats.from_samples([])


@given(samples_strategy)
def test_stats_agree_with_the_statistics_module(samples: list[float]) -> None:
    """Our float arithmetic gives the standard library's (exact) answers."""
    import statistics

    s = Stats.from_samples(samples)
    assert s.median == pytest.approx(statistics.median(samples), rel=1e-12)
    if len(samples) > 1:
        q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
        assert (s.q1, s.q3) == (
            pytest.approx(q1, rel=1e-9),
            pytest.approx(q3, rel=1e-9),
        )
        assert s.stddev == pytest.approx(statistics.stdev(samples), rel=1e-6, abs=1e-15)


def test_keyword_arguments_in_signature_order_are_passed_by_position() -> None:
    def f(a, b, c=3):  # type: ignore[no-untyped-def]
        return a, b, c

    assert positional(f, (1,), {"b": 2}) == ((1, 2), {})
    assert positional(f, (), {"a": 1, "b": 2, "c": 4}) == ((1, 2, 4), {})
    # out of order, a gap, or a name the signature lacks: left as keywords
    assert positional(f, (), {"b": 2, "a": 1}) == ((), {"b": 2, "a": 1})
    assert positional(f, (), {"a": 1, "c": 2}) == ((), {"a": 1, "c": 2})
    assert positional(f, (1, 2, 3), {"d": 4}) == ((1, 2, 3), {"d": 4})
    assert make_round(f, (), {"a": 1, "b": 2})(2, time.perf_counter)[1] == (1, 2, 3)


def test_a_positional_only_parameter_given_by_keyword_still_fails() -> None:
    def f(a, /, b):  # type: ignore[no-untyped-def]
        return a + b

    assert positional(f, (), {"a": 1, "b": 2}) == ((), {"a": 1, "b": 2})
    with pytest.raises(TypeError, match="positional-only"):
        make_round(f, (), {"a": 1, "b": 2})(1, time.perf_counter)


# -- batches spread over time ------------------------------------------------------------
def test_a_spread_measurement_takes_one_batch_then_one_each_resume() -> None:
    config = TimingConfig(min_time=0.02, max_time=1.0, warmup_time=0.0, batches=4)
    spread = Spread(_spin, [50], config=config)
    first = spread.start()
    assert len(first.batches) == 1 and not spread.done
    taken = 1
    while spread.resume():
        taken += 1
        assert len(spread.measurement.batches) == taken
    m = spread.measurement
    assert spread.done and not spread.resume()  # complete: nothing more is taken
    assert len(m.batches) >= 2 and sum(m.batches) == len(m.samples)
    assert len(m.probes) == len(m.batches)  # the machine's speed before each batch
    assert math.fsum(m.samples) * m.iterations >= config.min_time


def test_time_between_batches_is_not_spent_from_the_budget() -> None:
    """max_time caps the time spent measuring, not the session's time in between;
    time_span says how long a stretch the batches sampled."""
    config = TimingConfig(min_time=0.02, max_time=0.5, warmup_time=0.0, batches=3)
    spread = Spread(_spin, [50], config=config)
    spread.start()
    while True:
        time.sleep(0.6)  # other tests run: one pause alone outlasts max_time
        if not spread.resume():
            break
    m = spread.measurement
    assert not m.capped and len(m.batches) >= 2
    assert m.elapsed < config.max_time < m.span
    assert m.columns()["time_span"] == m.span


def test_fixed_rounds_are_not_spread() -> None:
    calls: list[int] = []
    spread = Spread(calls.append, [1], config=TimingConfig(rounds=6, batches=3))
    m = spread.start()
    assert spread.done and len(m.samples) == 6 and len(calls) == 6
    assert not spread.resume() and len(calls) == 6


def test_an_exception_in_a_later_batch_keeps_the_batches_before_it() -> None:
    broken: list[bool] = []

    def work() -> int:
        if broken:
            raise RuntimeError("state changed")
        return _spin(50)

    config = TimingConfig(min_time=0.02, max_time=1.0, warmup_time=0.0, batches=4)
    spread = Spread(work, config=config)
    first = len(spread.start().samples)
    broken.append(True)
    assert not spread.resume() and spread.done
    m = spread.measurement
    assert isinstance(spread.late_error, RuntimeError) and m.error is None
    assert len(m.samples) == first and m.stats() is not None


def test_spread_out_takes_one_batch_of_each_in_turn() -> None:
    order: list[str] = []

    def named(name: str) -> None:
        order.append(name)
        _spin(20)

    # six rounds in three batches, whatever the machine's speed: two resumes each
    config = TimingConfig(
        min_rounds=6, min_time=0.0, max_time=10.0, warmup_time=0.0, batches=3
    )
    spreads = [Spread(named, [name], config=config) for name in "ab"]
    for spread in spreads:
        spread.start()
    order.clear()
    spread_out(spreads)
    assert all(s.done for s in spreads)
    # the calls after the first batches alternate between the two benchmarks
    switches = sum(1 for x, y in itertools.pairwise(order) if x != y)
    assert switches == 3 and order[0] == "a" and order[-1] == "b"
    assert all(len(s.measurement.batches) == 3 for s in spreads)


def test_ctrl_c_in_a_later_batch_is_raised_not_kept_as_the_benchmark_s_error() -> None:
    pressed: list[bool] = []

    def work() -> None:
        if pressed:
            raise KeyboardInterrupt
        _spin(50)

    config = TimingConfig(min_time=0.02, max_time=1.0, warmup_time=0.0, batches=4)
    spread = Spread(work, config=config)
    spread.start()
    pressed.append(True)
    with pytest.raises(KeyboardInterrupt):
        spread.resume()
    assert spread.done and spread.late_error is None and spread.measurement.samples


def test_spread_batches_are_unstable_when_the_fastest_call_rests_on_one_batch() -> None:
    # batches back to back: medians 20% apart say the machine changed speed
    apart = Stats.from_samples(
        [1.0, 1.0, 1.02, 1.02, 1.2, 1.2, 1.25, 1.25], batches=[2, 2, 2, 2]
    )
    assert "batch medians spread" in apart.unstable()
    # spread over a session, that is what the batches are for; the fastest
    # calls of two batches agree, so the value compared is sound
    assert apart.unstable(spread_out=True) == ""
    lonely = Stats.from_samples([1.0, 1.3, 1.25, 1.3, 1.3, 1.3], batches=[2, 2, 2])
    reason = lonely.unstable(spread_out=True)
    assert "rests on one batch" in reason and "was 25.0% slower" in reason
    assert lonely.fastest_gap() == pytest.approx(math.log(1.25))


def test_a_spread_measurement_says_so_on_its_row() -> None:
    config = TimingConfig(min_time=0.02, max_time=1.0, warmup_time=0.0, batches=3)
    spread = Spread(_spin, [50], config=config)
    assert spread.start().spread_out
    assert not measure(_spin, [50], config=config).spread_out


# -- several processes -------------------------------------------------------------------
def test_measurements_of_two_processes_join_into_one_reading() -> None:
    config = TimingConfig(min_time=0.01, warmup_time=0.0)
    here, there = (
        measure(_spin, [50], config=config),
        measure(_spin, [50], config=config),
    )
    both = here.joined(there)
    assert both.samples == here.samples + there.samples
    assert both.batches == here.batches + there.batches
    assert both.processes == [len(here.batches), len(there.batches)]
    columns = both.columns()
    assert columns["time_processes"] == both.processes
    # the fastest call of either process; the statistics are of all the samples
    assert columns["time_min"] == min(min(here.samples), min(there.samples))
    assert columns["rounds"] == len(here.samples) + len(there.samples)
    # the stretches both sampled: a comparison tells spread from back to back by it
    assert both.span == pytest.approx(here.span + there.span)
    # a third process counts as one more
    assert both.joined(there).processes == [*both.processes, len(there.batches)]
    assert "time_processes" not in here.columns()  # one process: nothing to say


def test_a_budget_short_after_its_planned_batches_is_not_taken_a_round_at_a_time() -> (
    None
):
    """A slow first round (a spell, a cold cache) plans too few rounds; what is left
    of the budget is then planned from the rounds seen since, not one round a batch."""
    calls = itertools.count()

    def slow_at_first(n: int) -> None:
        if next(calls) == 0:
            time.sleep(0.02)
        _spin(n)

    config = TimingConfig(min_time=0.05, min_rounds=3, warmup_time=0.0, iterations=1)
    m = measure(slow_at_first, [200], config=config)
    assert math.fsum(m.samples) >= config.min_time
    assert len(m.batches) <= config.batches + 4  # not hundreds of one-round batches
