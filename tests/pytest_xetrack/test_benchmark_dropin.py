"""The drop-in for pytest-benchmark (pytest-benchmark blocked, as where it is not
installed): the ``benchmark`` fixture and its ``pedantic`` rules, the marker, rows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from suspects import steady_baseline, two_commits

from xetrack import Reader

#: Short budgets: these tests check behaviour, not figures.
FAST = ("--benchmark-max-time=0.01", "--benchmark-min-rounds=3", "-p", "no:xdist")


def _rows(db: Path) -> dict[str, dict[str, object]]:
    frame = Reader(db).to_df()
    return {
        str(r["test_nodeid"]).rsplit("::", 1)[-1]: dict(r)
        for r in frame.to_dict("records")
    }


def _json(path: Path) -> dict[str, dict[str, object]]:
    doc = json.loads(path.read_text())
    return {str(b["name"]): b for b in doc["benchmarks"]}


def test_call_returns_the_result_and_stats_are_there_after_the_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import pytest

def add(a, b, scale=1):
    return (a + b) * scale

def test_call(benchmark):
    assert benchmark.stats is None
    assert benchmark(add, 2, 3, scale=10) == 50
    stats = benchmark.stats
    for key in ("min", "max", "mean", "median", "stddev", "iqr", "ops", "rounds",
                "iterations"):
        assert stats[key] is not None, key
    assert stats["min"] <= stats["median"] <= stats["max"]
    assert stats.stats.rounds >= 3 and stats["iterations"] >= 1
    assert benchmark.name == "test_call"
    assert benchmark.fullname.endswith("::test_call") and benchmark.param is None

def test_lambda(benchmark):
    assert benchmark(lambda: [1, 2, 3]) == [1, 2, 3]

@pytest.mark.parametrize("size", [1, 2])
def test_param(benchmark, size):
    assert benchmark(lambda: size * 2) == size * 2
    assert benchmark.param == str(size)
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest(*FAST, f"--xetrack-db={db}").assert_outcomes(passed=4)
    assert set(_rows(db)) == {
        "test_call",
        "test_lambda",
        "test_param[1]",
        "test_param[2]",
    }


def test_decorator_form_measures_the_function_at_once(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
calls = []

def test_decorated(benchmark):
    @benchmark
    def run():
        calls.append(1)
    assert len(calls) >= 3  # measured before the test goes on
    assert benchmark.stats["rounds"] >= 3
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest(*FAST, f"--xetrack-db={db}").assert_outcomes(passed=1)
    assert int(_rows(db)["test_decorated"]["rounds"]) >= 3  # type: ignore[call-overload]


def test_pedantic_runs_exactly_the_rounds_iterations_and_warmup_it_is_given(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
calls = []

def target(x, y=0):
    calls.append((x, y))
    return x + y

def test_exact(benchmark):
    result = benchmark.pedantic(target, args=(1,), kwargs={"y": 2}, rounds=4,
                                warmup_rounds=2, iterations=3)
    assert result == 3
    assert len(calls) == (4 + 2) * 3 and set(calls) == {(1, 2)}
    assert benchmark.stats["rounds"] == 4 and benchmark.stats["iterations"] == 3

def test_defaults_are_one_round_of_one_call(benchmark):
    calls.clear()
    assert benchmark.pedantic(target, args=(5,)) == 5
    assert calls == [(5, 0)] and benchmark.stats["rounds"] == 1
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest("-p", "no:xdist", f"--xetrack-db={db}").assert_outcomes(passed=2)
    row = _rows(db)["test_exact"]
    assert (row["rounds"], row["iterations"]) == (4, 3)
    assert len(json.loads(str(row["time_samples"]))) == 4


def test_pedantic_setup_runs_before_every_round_and_feeds_it_teardown_after(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
log = []

def test_setup_returns_args(benchmark):
    counter = iter(range(100))

    def setup():
        n = next(counter)
        log.append(("setup", n))
        return (n,), {"tag": "t"}

    def target(n, tag):
        log.append(("call", n, tag))
        return n

    def teardown(n, tag):
        log.append(("teardown", n, tag))
        assert log[-2] == ("call", n, tag)  # the same round's arguments

    last = benchmark.pedantic(target, setup=setup, teardown=teardown, rounds=3,
                              warmup_rounds=1)
    assert last == 3
    assert [e[0] for e in log] == ["setup", "call", "teardown"] * 4
    assert [e[1] for e in log if e[0] == "call"] == [0, 1, 2, 3]

def test_setup_returning_nothing_keeps_the_given_args(benchmark):
    ran = []
    result = benchmark.pedantic(lambda a: a * 2, args=(21,), setup=lambda: ran.append(1),
                                rounds=2)
    assert result == 42 and ran == [1, 1]
"""
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "benchmark.pedantic(f, args=(1,), setup=lambda: ((2,), {}))",
            "setup returned arguments while args/kwargs were given",
        ),
        (
            "benchmark.pedantic(f, setup=lambda: 7)",
            "return \\(args, kwargs\\)",
        ),
        (
            "benchmark.pedantic(f, args=(1,), setup=lambda: None, iterations=2)",
            "iterations=2\\) with a setup function",
        ),
        ("benchmark.pedantic(f, args=(1,), rounds=0)", "rounds must be an int >= 1"),
        ("benchmark.pedantic(f, args=(1,), iterations=0)", "iterations must be an int"),
        (
            "benchmark.pedantic(f, args=(1,), warmup_rounds=-1)",
            "warmup_rounds must be an int >= 0",
        ),
        ("benchmark.pedantic(f, args=(1,), setup=3)", "setup=3\\) is not callable"),
    ],
)
def test_pedantic_refuses_what_pytest_benchmark_refuses(
    pytester: pytest.Pytester, call: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
import pytest

def f(x=0):
    return x

def test_wrong(benchmark):
    with pytest.raises(Exception, match={message!r}) as caught:
        {call}
    from xetrack.errors import XetrackError
    assert isinstance(caught.value, XetrackError)
"""
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)


def test_using_the_fixture_twice_is_an_error_and_keeps_it_out_of_the_results(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
def test_twice(benchmark):
    benchmark(len, "a")
    benchmark.pedantic(len, args=("b",))

def test_once(benchmark):
    benchmark(len, "a")
"""
    )
    out = tmp_path / "out.json"
    result = pytester.runpytest(*FAST, f"--benchmark-json={out}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*FixtureAlreadyUsed: the benchmark fixture can be used once per test*"]
    )
    assert set(_json(out)) == {"test_once"}


def test_a_failing_function_fails_the_test_and_is_not_a_result(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
def test_raises(benchmark):
    benchmark(lambda: 1 / 0)

def test_fine(benchmark):
    benchmark(len, "x")
"""
    )
    out = tmp_path / "out.json"
    db = tmp_path / "b.db"
    result = pytester.runpytest(*FAST, f"--benchmark-json={out}", f"--xetrack-db={db}")
    result.assert_outcomes(passed=1, failed=1)
    assert set(_json(out)) == {"test_fine"}
    assert _rows(db)["test_raises"]["outcome"] == "failed"


def test_rows_are_track_rows_plus_group_and_extra_info_columns(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import pytest
from pytest_xetrack import track

@track
def test_tracked():
    sum(range(10))

def test_bench(benchmark):
    benchmark.group = "parsing"
    benchmark.extra_info["size"] = 128
    benchmark.extra_info["rounds"] = "clashes with a timing column"
    benchmark.extra_info["nested"] = {"a": [1, 2]}
    benchmark(sum, range(10))

@pytest.mark.benchmark(group="from-marker")
def test_marked(benchmark):
    benchmark(sum, range(10))
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest(*FAST, f"--xetrack-db={db}").assert_outcomes(passed=3)
    rows = _rows(db)
    tracked, bench = rows["test_tracked"], rows["test_bench"]
    from xetrack.timing import TIMING_COLUMNS

    # every timing column of an @track row, filled on the fixture's row too
    timing = TIMING_COLUMNS - {"unstable_reason"}
    for row in (tracked, bench):
        assert all(row[c] is not None for c in timing), row
        assert (
            row["track_id"] == tracked["track_id"]
            and row["git_commit"] == tracked["git_commit"]
        )
    assert bench["benchmark_group"] == "parsing" and bench["size"] == 128
    assert bench["extra_rounds"] == "clashes with a timing column"
    assert int(bench["rounds"]) >= 3  # type: ignore[call-overload]
    meta = json.loads(str(bench["benchmark_meta"]))
    assert meta["extra_info"]["nested"] == {"a": [1, 2]}
    assert rows["test_marked"]["benchmark_group"] == "from-marker"
    assert len(json.loads(str(bench["time_samples"]))) == bench["rounds"]


def test_the_marker_options_are_honoured(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import time
import pytest

@pytest.mark.benchmark(min_rounds=17, max_time=0.001, timer=time.process_time,
                       disable_gc=True, warmup=False, group="g")
def test_marked(benchmark):
    import gc
    seen = []
    benchmark(lambda: seen.append(gc.isenabled()))
    assert not any(seen)  # no collection while timing
    assert gc.isenabled()  # and back on after

@pytest.mark.benchmark(warmup=True, warmup_iterations=3, max_time=0.1, min_rounds=2)
def test_warm_bounded(benchmark):
    benchmark(time.sleep, 0.001)

@pytest.mark.benchmark(warmup=True, max_time=0.1, min_rounds=2)
def test_warm(benchmark):
    benchmark(time.sleep, 0.001)

# on the CPU clock: a preempted wall-clock round would end calibration early
@pytest.mark.benchmark(min_time=0.02, max_time=0.001, min_rounds=2,
                       timer=time.process_time)
def test_min_time(benchmark):
    benchmark(sum, range(1000))

@pytest.mark.benchmark(max_time=0.001, min_rounds=2, timer=time.process_time)
def test_no_min_time(benchmark):
    benchmark(sum, range(1000))
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest("-p", "no:xdist", f"--xetrack-db={db}").assert_outcomes(passed=5)
    rows = _rows(db)
    marked = rows["test_marked"]
    assert marked["rounds"] == 17 and marked["timer"] == "process_time"
    assert marked["benchmark_group"] == "g"
    options = json.loads(str(marked["benchmark_meta"]))["options"]
    assert options["disable_gc"] is True and options["min_rounds"] == 17
    assert options["warmup"] is False
    # warming up for the budget (0.1 s of 1 ms calls), unless warmup_iterations caps it
    # (the untimed rounds also count calibration's, at most two here)
    assert int(rows["test_warm"]["warmup"]) >= 8  # type: ignore[call-overload]
    assert int(rows["test_warm_bounded"]["warmup"]) <= 3 + 2  # type: ignore[call-overload]
    # a round lasts min_time (20 ms), not the clock's floor (well under 1 ms): far
    # more calls
    longer = int(rows["test_min_time"]["iterations"])  # type: ignore[call-overload]
    assert longer >= 10 * int(rows["test_no_min_time"]["iterations"])  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ("min_rounds=0", "min_rounds"),
        ("rounds=3", "unknown argument 'rounds'; allowed: max_time"),
        ("group=3", "group=3\\) must be a str"),
        ("timer='time.monotonic_ns'", "timer 'time.monotonic_ns' is not one"),
    ],
)
def test_a_wrong_marker_is_a_usage_error_naming_the_test(
    pytester: pytest.Pytester, mark: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
import pytest

@pytest.mark.benchmark({mark})
def test_marked(benchmark):
    benchmark(len, "a")
"""
    )
    result = pytester.runpytest("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_marked" in result.stderr.str()
    assert re.search(message, result.stderr.str()), result.stderr.str()


def test_an_unused_fixture_is_warned_about(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
def test_forgot(benchmark):
    pass
"""
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*the benchmark fixture was not used in this test*"])


def test_ours_wins_over_another_plugins_untimed_benchmark_fixture(
    pytester: pytest.Pytester,
) -> None:
    """pytest-codspeed, not measuring, offers a ``benchmark`` that runs once untimed
    (loaded after us, as this plugin a conftest names is): ours is the one tests get."""
    pytester.makepyfile(
        stand_in="""
import pytest

@pytest.fixture
def benchmark():
    return lambda fn, *args: fn(*args)
""",
        test_whose="""
def test_whose(benchmark):
    assert type(benchmark).__module__ == "pytest_xetrack.benchmark.fixture"
""",
    )
    pytester.makeconftest("pytest_plugins = ['stand_in']")
    pytester.syspathinsert()
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)


def test_a_suspect_measured_again_reads_the_same_in_the_json_as_in_the_store(
    pytester: pytest.Pytester, tmp_path: Path, git: Any
) -> None:
    """The drop-in's benchmark was slow in the session's process and fast in the
    fresh one that measured it again: the store keeps the fresh measurement, and so
    do pytest-benchmark's JSON and table, not the first one."""
    pytester.makepyfile(
        test_layout="""
import os
SLOW = "XETRACK_REMEASURE_OUT" not in os.environ

def test_bench(benchmark):
    benchmark.pedantic(sum, (range(200_000 if SLOW else 10),), rounds=10)
"""
    )
    db, out = tmp_path / "p.db", tmp_path / "out.json"
    steady_baseline(db, two_commits(pytester, git), "test_layout.py::test_bench", 1e-3)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--xetrack-db={db}",
        "--xetrack-compare",
        f"--benchmark-json={out}",
    )
    assert result.ret == 0, result.stdout.str()
    row = Reader(db).latest().iloc[0]
    assert row["remeasured"] == 1 and row["first_function_time"] > 1.05e-3
    (stats,) = [b["stats"] for b in json.loads(out.read_text())["benchmarks"]]
    assert stats["min"] == pytest.approx(row["time_min"]) and stats["min"] < 1e-3
    assert stats["median"] == pytest.approx(row["function_time"])
    assert max(stats["data"]) < 1e-3  # the fresh process's rounds, every one
