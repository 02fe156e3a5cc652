"""The verdict rule's invariants, as properties of numbers (no store, no pytest run)."""

from __future__ import annotations

import math
import statistics

from hypothesis import example, given
from hypothesis import strategies as st

from xetrack.verdict import (
    CENTRE_MIN,
    RunValue,
    across_noise,
    history_noise,
    judge_timing,
    min_spread,
    over_probe,
    reference,
)

values = st.floats(min_value=1e-7, max_value=10.0, allow_nan=False)
jitter = st.floats(min_value=-0.01, max_value=0.01)
histories = st.lists(st.floats(min_value=0.9, max_value=1.1), min_size=0, max_size=12)
FLIP = {"regressed": "improved", "improved": "regressed"}


@given(values, st.floats(min_value=0.2, max_value=5.0), histories, st.floats(0.01, 0.5))
def test_a_verdict_does_not_depend_on_the_unit(
    base: float, ratio: float, history: list[float], scale: float
) -> None:
    plain = judge_timing(RunValue(base), RunValue(base * ratio), history, 0.05)[0]
    scaled = judge_timing(
        RunValue(base * scale),
        RunValue(base * ratio * scale),
        [h * scale for h in history],
        0.05,
    )[0]
    assert plain == scaled


short_histories = st.lists(
    st.floats(min_value=0.9, max_value=1.1), min_size=0, max_size=CENTRE_MIN - 1
)


@given(values, st.floats(min_value=0.2, max_value=5.0), short_histories)
def test_swapping_base_and_head_swaps_regressed_and_improved(
    base: float, ratio: float, history: list[float]
) -> None:
    # with a short history head is judged against the baseline's run alone, so
    # the two runs play symmetric parts
    forward = judge_timing(RunValue(base), RunValue(base * ratio), history, 0.05)[0]
    backward = judge_timing(RunValue(base * ratio), RunValue(base), history, 0.05)[0]
    assert backward == FLIP.get(forward, forward)


@given(values, histories, st.floats(min_value=1.0, max_value=3.0))
@example(base=0.9375, history=[1.0, 1.0, 0.9375], ratio=1.0)  # head under the median
def test_a_bigger_slowdown_is_never_judged_milder(
    base: float, history: list[float], ratio: float
) -> None:
    # Head is judged against the lineage's median, which may sit above the
    # baseline: then head = base reads faster than the reference, and an
    # ``inconclusive`` may lean either way. Verdicts rank by the effect they judged.
    def rank(head: float) -> int:
        verdict, evidence = judge_timing(RunValue(base), RunValue(head), history, 0.05)
        if verdict == "inconclusive":
            assert evidence is not None
            return 1 if evidence.effect < 0 else 3
        return {"improved": 0, "unchanged": 2, "regressed": 4}[verdict]

    smaller, bigger = rank(base * ratio), rank(base * ratio * 1.1)
    assert bigger >= smaller
    if smaller == 4:
        assert bigger == 4


@given(values, histories)
def test_the_same_value_is_never_a_change(base: float, history: list[float]) -> None:
    verdict, evidence = judge_timing(RunValue(base), RunValue(base), history, 0.05)
    assert verdict in ("unchanged", "inconclusive")
    assert evidence is not None and evidence.interval[0] <= 1.0 <= evidence.interval[1]


@given(
    st.lists(jitter, min_size=6, max_size=15),
    st.floats(min_value=1.5, max_value=10.0),
    st.integers(min_value=1, max_value=4),
)
def test_one_past_step_change_does_not_inflate_the_noise(
    noise: list[float], step: float, where: int
) -> None:
    steady = [1.0 + n for n in noise]
    stepped = [v * (step if i >= where else 1.0) for i, v in enumerate(steady)]
    found = history_noise(stepped)
    assert found is not None
    # every successive ratio but the step is within about 2%: so is the estimate
    assert found <= 1.4826 * math.log(1.01 / 0.99) / math.sqrt(2) + 1e-12


@given(st.lists(values, min_size=3, max_size=10))
def test_the_spread_of_a_minimum_is_bounded_by_its_gap(mins: list[float]) -> None:
    spread = min_spread(mins)
    first, second = sorted(mins)[:2]
    assert spread is not None and 0 <= spread <= math.log(second / first)


@given(
    st.lists(jitter, min_size=CENTRE_MIN, max_size=12),
    st.floats(min_value=1.3, max_value=3.0),
    st.booleans(),
)
def test_a_change_at_the_baseline_is_not_judged_again_at_head(
    noise: list[float], step: float, slower: bool
) -> None:
    # the baseline's commit changed the speed; head is the same code: comparing
    # head with the lineage's older runs would call the baseline's change again
    factor = step if slower else 1 / step
    history = [1.0 + n for n in noise]
    base = history[-1] * factor
    history[-1] = base
    assert reference(base, history, 0.01) == (base, 1)
    verdict, _ = judge_timing(RunValue(base), RunValue(base), history, 0.05)
    assert verdict in ("unchanged", "inconclusive")


@given(st.lists(jitter, min_size=CENTRE_MIN, max_size=12), st.floats(1.0, 1.3))
def test_head_is_judged_against_the_median_of_the_newest_runs(
    noise: list[float], ratio: float
) -> None:
    history = [1.0 + n for n in noise]
    level, runs = reference(history[-1], history, 0.01)
    assert runs == min(len(history), 5)
    assert min(history[-runs:]) <= level <= max(history[-runs:])
    head = RunValue(history[-1] * ratio)
    _, evidence = judge_timing(RunValue(history[-1]), head, history, 0.05)
    assert evidence is not None
    assert evidence.reference in (history[-1], statistics.median(history[-5:]))
    assert math.isclose(evidence.ratio, head.value / evidence.reference)


speeds = st.lists(st.floats(min_value=0.85, max_value=1.2), min_size=7, max_size=15)


@given(speeds, st.lists(st.floats(-0.003, 0.003), min_size=15, max_size=15))
def test_the_probe_is_used_where_it_follows_the_benchmark(
    speed: list[float], jitter: list[float]
) -> None:
    # whole processes faster or slower, the probe with them to within 0.3%: over
    # the probe the history is steadier, unless the processes hardly moved at all
    plain = list(speed)
    over = [s / (s * (1 + j)) for s, j in zip(speed, jitter, strict=False)]
    noise = history_noise(plain)
    assert noise is not None
    if noise > 0.01:
        assert over_probe(plain, over)


@given(speeds, st.lists(st.floats(-0.002, 0.002), min_size=15, max_size=15))
def test_the_probe_is_not_used_where_it_wanders_alone(
    speed: list[float], jitter: list[float]
) -> None:
    # native code, steady to 0.2%; the probe moved with the process: dividing by
    # it would add the process's noise, so the plain times are kept
    plain = [1 + j for j in jitter[: len(speed)]]
    over = [p / s for p, s in zip(plain, speed, strict=True)]
    moved = history_noise(speed)
    assert moved is not None
    if moved > 0.01:
        assert not over_probe(plain, over)
    assert not over_probe(plain[:5], over[:5])  # too short a history: plain


@given(
    st.lists(st.floats(-0.01, 0.01), min_size=10, max_size=30),
    st.lists(st.floats(0.2, 3.0), min_size=0, max_size=3),
)
def test_a_few_real_changes_do_not_inflate_the_spread_of_a_comparison(
    noise: list[float], changes: list[float]
) -> None:
    # every benchmark within 1% of the typical change but for up to three that
    # really moved (and fewer than a third): the spread stays that of the noise
    found = across_noise([*noise, *changes[: len(noise) // 3]])
    assert found is not None and found <= 1.4826 * 0.02 / math.sqrt(2) + 1e-12


def test_batches_spread_over_the_session_count_their_own_spread_as_it_is() -> None:
    """Back to back, a run's batches see a second of the machine and their spread is
    inflated; spread over the session they saw its spells themselves."""
    mins = [1.0, 1.03, 1.1, 1.2, 1.05]
    back_to_back = RunValue(1.0, min_spread(mins))
    spread = RunValue(1.0, min_spread(mins), spread=True)
    assert back_to_back.within_noise == 2 * spread.within_noise  # type: ignore[operator]
    # a first comparison: the batches are all that is known
    _, wide = judge_timing(back_to_back, RunValue(1.08), [], 0.05)
    _, narrow = judge_timing(spread, RunValue(1.08, spread=True), [], 0.05)
    assert wide is not None and narrow is not None
    assert narrow.noise == spread.within_noise < wide.noise
    assert "its batches" in narrow.source


def test_a_comparison_s_own_spread_counts_only_without_any_history() -> None:
    """How far this comparison's benchmarks moved apart says the machine's noise
    only when no history does: a commit that changes most of them widens it."""
    short = [1.0, 1.01, 0.99]
    _, with_pool = judge_timing(
        RunValue(1.0), RunValue(1.3), short, 0.05, pooled=0.01, across=0.2
    )
    assert with_pool is not None and with_pool.noise < 0.2
    _, alone = judge_timing(RunValue(1.0), RunValue(1.3), [1.0], 0.05, across=0.2)
    assert alone is not None and alone.noise == 0.2
    assert "spread of all benchmarks' changes" in alone.source


def test_a_baseline_one_lucky_batch_made_fast_is_not_a_step() -> None:
    """A 50 ms baseline read 8% under its steady history, its next-fastest batch 10%
    slower than its fastest: head, as fast as the history, is no regression. Taken
    alone as a step, the lucky baseline made head read x1.09 (verdicts15, aa 7)."""
    history = [1.0, 1.01, 0.99, 1.0, 1.01, 1.0, 0.92]
    lucky = RunValue(0.92, min_spread([0.92, 1.02, 1.03, 1.01, 1.04]), spread=True)
    head = RunValue(1.0, 0.005, spread=True)
    verdict, evidence = judge_timing(lucky, head, history, 0.05)
    assert evidence is not None and evidence.runs == 5  # the median, not the base
    assert verdict == "unchanged"
    # the same baseline with all its batches that fast is a step: taken alone
    steady = RunValue(0.92, min_spread([0.92, 0.921, 0.925, 0.93, 0.922]), spread=True)
    _, evidence = judge_timing(steady, RunValue(0.92), history, 0.05)
    assert evidence is not None and evidence.runs == 1
    # a slow baseline is no luck: its batch error does not hide a step up
    slow = RunValue(1.09, min_spread([1.09, 1.2, 1.21, 1.19, 1.22]), spread=True)
    assert reference(
        1.09, [*history[:-1], 1.09], 0.01, luck=slow.within_noise or 0
    ) == (
        1.09,
        1,
    )


def test_one_run_s_batch_error_does_not_set_the_floor_of_a_short_history() -> None:
    """A +20% slowdown after three steady runs, on a machine whose other benchmarks
    move 2% from run to run, measured in a run whose fastest call rests on one
    batch (a 10% gap): the largest estimate, that batch error, made it
    inconclusive; weighed against the rest it is a regression."""
    history = [1.0, 1.01, 0.995, 1.0]
    base = RunValue(1.0, 0.004, spread=True)
    head = RunValue(1.2, min_spread([1.2, 1.32, 1.33, 1.31, 1.34]), spread=True)
    verdict, evidence = judge_timing(base, head, history, 0.05, pooled=0.02)
    assert evidence is not None and "weighed" in evidence.source
    assert verdict == "regressed"
    # and a steady A/A pair on the same machine is not
    same = RunValue(1.01, 0.004, spread=True)
    assert judge_timing(base, same, history, 0.05, pooled=0.02)[0] == "unchanged"
