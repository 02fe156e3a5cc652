"""@track as a benchmark: the time budget, options, setup, GC, xdist, re-measuring."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from suspects import steady_baseline, two_commits

from xetrack import Reader


def _rows(db: Path) -> dict[str, dict[str, object]]:
    frame = Reader(db).to_df()
    return {str(r["test_name"]): dict(r) for r in frame.to_dict("records")}


def test_bare_track_is_a_calibrated_benchmark(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import time
from pytest_xetrack import track

@track
def test_fast():
    sum(range(10))

@track()
def test_slow():
    time.sleep(0.004)

@track(timer="thread_time")
def test_fast_on_cpu_time():
    sum(range(10))
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=3)
    rows = _rows(db)
    fast, slow = rows["test_fast"], rows["test_slow"]
    on_cpu = rows["test_fast_on_cpu_time"]
    for row in (fast, slow, on_cpu):
        samples = json.loads(str(row["time_samples"]))
        assert row["rounds"] == len(samples) >= 5
        assert sum(json.loads(str(row["time_batches"]))) == len(samples)
        assert row["unstable"] in (0, 1)
        assert float(row["time_probe"]) > 0  # type: ignore[arg-type]
    assert fast["timer"] == slow["timer"] == "perf_counter"  # the default
    assert slow["iterations"] == 1 and int(fast["warmup"]) >= 1  # type: ignore[call-overload]
    # Calibration grows the calls per round for fast work. Asserted on the CPU
    # clock: on the wall clock, a busy machine preempting one of calibration's
    # short rounds makes it look long enough, and calibration rightly stops there.
    assert on_cpu["timer"] == "thread_time" and int(on_cpu["iterations"]) > 100  # type: ignore[call-overload]


def test_timing_options_and_ini_keys_set_the_defaults(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
from pytest_xetrack import track

@track
def test_default():
    pass

@track(min_rounds=7, max_time=5)
def test_own():
    pass

@track(iterations=1)
def test_fixed():
    pass
"""
    )
    pytester.makeini("[pytest]\nxetrack_min_rounds = 40\nxetrack_timer = thread_time\n")
    db = tmp_path / "o.db"
    pytester.runpytest(
        f"--xetrack-db={db}",
        "--xetrack-min-time=0",
        "--xetrack-max-time=30",  # never the limit, even on a starved machine
        "--xetrack-warmup=0",
        "--xetrack-timer=time.process_time",
    ).assert_outcomes(passed=3)
    rows = _rows(db)
    assert rows["test_default"]["rounds"] == 40 and rows["test_own"]["rounds"] == 7
    assert {r["timer"] for r in rows.values()} == {"process_time"}  # flag over ini
    assert rows["test_fixed"]["warmup"] == 0  # no calibration, no warmup


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--xetrack-timer=wall", "unknown timer 'wall'; use one of: perf_counter"),
        ("--xetrack-min-time=soon", "expected a duration like 0.5, 500ms, 20us or 2s"),
        ("--xetrack-max-time=-1", "got '-1'"),
        ("--xetrack-min-rounds=0", "expected a whole number >= 1, like 5, got '0'"),
        ("--xetrack-warmup=inf", "expected a duration like 0.5"),
    ],
)
def test_bad_timing_options_are_usage_errors(
    pytester: pytest.Pytester, option: str, message: str
) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_min_time_above_max_time_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest("--xetrack-min-time=2", "--xetrack-max-time=500ms")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--xetrack-min-time=2 is above --xetrack-max-time=0.5*"]
    )


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ("iterations=3, setup=dict", "iterations=3 with setup"),
        ("timer='wall'", "unknown timer 'wall'"),
        ("min_time=-1", "min_time=-1 must be a number of seconds"),
    ],
)
def test_bad_timing_marker_arguments_are_named(
    pytester: pytest.Pytester, mark: str, message: str
) -> None:
    pytester.makepyfile(
        f"from pytest_xetrack import track\n@track({mark})\ndef test_a():\n    pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*test_a: @track: {message}*"])


def test_setup_feeds_each_round_untimed_and_teardown_follows(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    log = tmp_path / "log.txt"
    pytester.makepyfile(
        f"""
import time
from pytest_xetrack import track

def make():
    time.sleep(0.01)  # not timed: samples stay far below it
    return {{"data": [3, 1, 2]}}

def done(data):
    with open({str(log)!r}, "a") as f:
        f.write("t" if data == [1, 2, 3] else "?")

@track(rounds=6, setup=make, teardown=done)
def test_sort(tmp_path, data=None):
    data.sort()  # in place: a list sorted once would make later rounds cheaper
"""
    )
    db = tmp_path / "s.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=1)
    row = _rows(db)["test_sort"]
    samples = json.loads(str(row["time_samples"]))
    assert log.read_text() == "t" * 6 and row["iterations"] == 1 and len(samples) == 6
    assert sorted(samples)[3] < 0.01


def test_disable_gc_turns_it_off_inside_rounds_only(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    seen = tmp_path / "gc.txt"
    pytester.makepyfile(
        f"""
import gc
from pytest_xetrack import track

@track(rounds=3, iterations=1)
def test_gc():
    with open({str(seen)!r}, "a") as f:
        f.write(str(int(gc.isenabled())))

def test_after():
    assert gc.isenabled()
"""
    )
    db = tmp_path / "g.db"
    pytester.runpytest(f"--xetrack-db={db}", "--xetrack-disable-gc").assert_outcomes(
        passed=2
    )
    assert seen.read_text() == "000"
    seen.unlink()
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=2)
    assert seen.read_text() == "111"


def test_unstable_timings_are_flagged_on_the_row_and_in_the_summary(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import time
from pytest_xetrack import track
calls = []

@track(rounds=10, iterations=1)
def test_drifting():
    calls.append(1)
    time.sleep((0.001, 0.003, 0.001, 0.004, 0.002)[(len(calls) - 1) // 2])
"""
    )
    db = tmp_path / "u.db"
    result = pytester.runpytest(f"--xetrack-db={db}")
    result.assert_outcomes(passed=1)
    row = _rows(db)["test_drifting"]
    # batches of 1-4 ms sleeps: their medians spread, and on a loaded machine the
    # rounds' own spread may pass its limit first; either reason flags it
    reason = str(row["unstable_reason"])
    assert row["unstable"] == 1
    assert "batch medians spread" in reason or "interquartile range" in reason
    result.stdout.fnmatch_lines(
        ["*xetrack: 1 of 1 benchmarks are unstable (unstable=1 on their rows*"]
    )


def test_xdist_rows_carry_the_worker_count_and_the_summary_warns(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import pytest
from pytest_xetrack import track

@track(rounds=3)
@pytest.mark.parametrize("i", range(4))
def test_bench(i):
    sum(range(100))
"""
    )
    db = tmp_path / "x.db"
    result = pytester.runpytest_subprocess(f"--xetrack-db={db}", "-n", "2")
    result.assert_outcomes(passed=4)
    frame = Reader(db).to_df()
    assert list(frame["xdist_workers"]) == [2] * 4
    result.stdout.fnmatch_lines(
        ["*xetrack: 4 benchmarks were timed under pytest-xdist with 2 workers*"]
    )
    serial = pytester.runpytest_subprocess(f"--xetrack-db={db}", "-p", "no:xdist")
    serial.stdout.no_fnmatch_line("*timed under pytest-xdist*")
    frame = Reader(db).to_df()
    fingerprints = frame.groupby("xdist_workers")["env_fingerprint"].first()
    assert sorted(frame["xdist_workers"].unique()) == [0, 2]
    assert fingerprints[0] != fingerprints[2]  # never a baseline for each other


def test_a_suspected_regression_is_measured_again_in_this_process_with_inline(
    pytester: pytest.Pytester, tmp_path: Path, git: Callable[..., str]
) -> None:
    """The first measurement is slow (a passing burst of load), the second is not:
    the second stands, the first is kept beside it, and nothing regresses."""
    from pytest_xetrack.session import environment
    from xetrack import Tracker

    pytester.makepyfile(
        test_burst="""
from pytest_xetrack import track
calls = []

@track(rounds=10, iterations=1)
def test_bench():
    calls.append(1)
    sum(range(2_000_000 if len(calls) <= 10 else 10))
"""
    )
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "commit", "-q", "--allow-empty", "-m", "A")
    first = git(pytester.path, "rev-parse", "HEAD")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "B")
    db = tmp_path / "r.db"
    # the baseline, recorded on commit A: a steady 1 ms
    base = Tracker(
        db,
        params={
            "git_commit": first,
            "env_fingerprint": environment()["env_fingerprint"],
            "test_nodeid": "test_burst.py::test_bench",
        },
    )
    base.log(
        {"function_time": 1e-3, "time_samples": [1e-3] * 20, "time_batches": [4] * 5}
    )
    base.close()
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--xetrack-db={db}",
        "--xetrack-fail=function_time:5%",
        "--xetrack-remeasure=inline",
    )
    assert result.ret == 0
    latest = Reader(db).latest().iloc[0]
    assert latest["remeasured"] == 1 and latest["first_function_time"] > 1.05e-3
    assert latest["function_time"] < 1e-3
    result.stdout.fnmatch_lines(
        [
            "*xetrack: 1 benchmarks looked slower than their baseline by more than the"
            " minimum effect and were measured again (after a pause*",
            "*test_bench*function_time*improved (*measured twice)*",
        ]
    )
    result.stdout.no_fnmatch_line("*REGRESSION*")


#: slow (about 2 ms a call) in the session's processes, fast in the fresh one that
#: measures a suspect again: what an unlucky process looks like, made certain. (Not
#: "the first process to import it": under -n 2 both workers import the file, and
#: the one that ran the test was not always the first.)
FIRST_PROCESS_SLOW = """
import os
from pytest_xetrack import track
SLOW = "XETRACK_REMEASURE_OUT" not in os.environ

@track(rounds=10, iterations=1)
def test_bench():
    sum(range(200_000 if SLOW else 10))
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_suspect_is_measured_again_in_a_fresh_process_and_the_fastest_stands(
    pytester: pytest.Pytester,
    tmp_path: Path,
    git: Callable[..., str],
    workers: list[str],
) -> None:
    pytester.makepyfile(test_layout=FIRST_PROCESS_SLOW)
    db = tmp_path / "p.db"
    commit = two_commits(pytester, git)
    steady_baseline(db, commit, "test_layout.py::test_bench", 1e-3, len(workers) and 2)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--xetrack-db={db}",
        "--xetrack-fail=function_time:5%",
        *workers,
    )
    assert result.ret == 0, result.stdout.str()
    latest = Reader(db).latest().iloc[0]
    # one fresh process was enough: it came out fast
    assert latest["remeasured"] == 1 and latest["first_function_time"] > 1.05e-3
    assert latest["function_time"] < 1e-3
    result.stdout.fnmatch_lines(["*test_bench*improved (*measured twice)*"])
    result.stdout.no_fnmatch_line("*REGRESSION*")
    # the fresh process wrote nothing of its own: one run, one row
    assert len(Reader(db).runs()) == 2 and len(Reader(db).to_df()) == 2


def test_slower_code_is_slow_in_a_fresh_process_too_and_still_regresses(
    pytester: pytest.Pytester, tmp_path: Path, git: Callable[..., str]
) -> None:
    pytester.makepyfile(
        test_slow="""
from pytest_xetrack import track

@track(rounds=10, iterations=1)
def test_bench():
    sum(range(200_000))
"""
    )
    db = tmp_path / "s.db"
    steady_baseline(db, two_commits(pytester, git), "test_slow.py::test_bench", 1e-5)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--xetrack-db={db}",
        "--xetrack-fail=function_time:5%",
    )
    assert result.ret == 1
    latest = Reader(db).latest().iloc[0]
    assert latest["remeasured"] == 1  # the fresh process was slow too
    result.stdout.fnmatch_lines(["*REGRESSION*test_bench*"])


def test_a_suspect_a_fresh_process_cannot_run_keeps_its_measurement_and_says_so(
    pytester: pytest.Pytester, tmp_path: Path, git: Callable[..., str]
) -> None:
    # the test needs an option only the session's own command line gave: a fresh
    # process fails it, so the first measurement stands, with a note
    pytester.makeconftest(
        """
def pytest_addoption(parser):
    parser.addoption("--needed", action="store_true")
"""
    )
    pytester.makepyfile(
        test_needs="""
import pytest
from pytest_xetrack import track

@track(rounds=10, iterations=1)
def test_bench(request):
    if not request.config.getoption("needed"):
        pytest.fail("run me with --needed")
    sum(range(200_000))
"""
    )
    db = tmp_path / "n.db"
    steady_baseline(db, two_commits(pytester, git), "test_needs.py::test_bench", 1e-5)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--needed",
        f"--xetrack-db={db}",
        "--xetrack-fail=function_time:5%",
    )
    assert result.ret == 1
    latest = Reader(db).latest().iloc[0]
    assert not latest.get("remeasured")
    result.stdout.fnmatch_lines(
        ["*1 suspected regressions could not be measured again in a fresh process*"]
    )
    result.stdout.fnmatch_lines(["*REGRESSION*test_bench*"])
