"""The drop-in's ``--benchmark-*`` options: each accepted and checked, mapped onto
the timing engine, the table, JSON that pytest-benchmark's own code reads, saved
runs and comparisons."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xetrack import Reader

FAST = ("--benchmark-max-time=0.01", "--benchmark-min-rounds=3", "-p", "no:xdist")
TESTS = """
import pytest

def test_plain():
    pass

def test_sum(benchmark):
    benchmark.extra_info["n"] = 10
    assert benchmark(sum, range(10)) == 45

@pytest.mark.parametrize("n", [10, 1000])
def test_sized(benchmark, n):
    benchmark.group = "sized"
    benchmark(sum, range(n))

def test_sleep(benchmark):
    import time
    benchmark.group = "sized"
    benchmark.pedantic(time.sleep, args=(0.002,), rounds=2)
"""


def _rows(db: Path) -> dict[str, dict[str, object]]:
    frame = Reader(db).to_df()
    return {
        str(r["test_nodeid"]).rsplit("::", 1)[-1]: dict(r)
        for r in frame.to_dict("records")
    }


@pytest.mark.parametrize(
    "given",
    [
        ["--benchmark-enable"],
        ["--benchmark-min-time=0.0001"],
        ["--benchmark-max-time=0.02"],
        ["--benchmark-min-rounds=4"],
        ["--benchmark-warmup"],
        ["--benchmark-warmup=off"],
        ["--benchmark-warmup=on", "--benchmark-warmup-iterations=10"],
        ["--benchmark-disable-gc"],
        ["--benchmark-timer=time.process_time"],
        ["--benchmark-calibration-precision=20"],
        ["--benchmark-sort=mean"],
        ["--benchmark-group-by=param:n"],
        ["--benchmark-columns=min,median,rounds"],
        ["--benchmark-name=long"],
        ["--benchmark-time-unit=us"],
        ["--benchmark-save-data", "--benchmark-autosave"],
        ["--benchmark-quiet"],
    ],
    ids=lambda given: given[0].split("=")[0],
)
def test_each_option_is_accepted(pytester: pytest.Pytester, given: list[str]) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(*FAST, *given)
    result.assert_outcomes(passed=5)
    assert "accepted with no meaning here" not in result.stdout.str()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("--benchmark-sort=fastest", "cannot sort on 'fastest'; use one of: min, max"),
        ("--benchmark-group-by=module", "cannot group by 'module'; use one or more"),
        (
            "--benchmark-columns=min,p99",
            "unknown column\\(s\\) 'p99'; columns are: min",
        ),
        ("--benchmark-name=tiny", "name format 'tiny' is not one of: short, normal"),
        ("--benchmark-timer=time.time", "timer 'time.time' is not one xetrack times"),
        ("--benchmark-warmup=maybe", "warmup 'maybe' is not one of: on, off, auto"),
        ("--benchmark-warmup-iterations=-1", "expected a whole number >= 0"),
        ("--benchmark-min-rounds=0", "--benchmark-min-rounds"),
        ("--benchmark-max-time=soon", "--benchmark-max-time"),
        ("--benchmark-compare-fail=p99:5%", "write FIELD:N% or FIELD:SECONDS"),
        ("--benchmark-save=a/b", "must be non-empty and free of"),
        ("--benchmark-time-unit=h", "time unit 'h' is not one of: ns, us"),
    ],
)
def test_a_wrong_value_is_a_usage_error_saying_what_would_work(
    pytester: pytest.Pytester, given: str, message: str
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(given)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stderr.str()
    result.stderr.re_match_lines([f".*{message}.*"])


def test_disable_only_and_skip_choose_what_runs(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
calls = []

def test_plain():
    pass

def test_bench(benchmark):
    assert benchmark(calls.append, 1) is None

def test_counted():
    # runs after test_bench: disabled, the benchmarked function ran once, untimed
    import os
    if os.environ.get("EXPECT_ONE"):
        assert calls == [1]
"""
    )
    db = tmp_path / "b.db"
    disabled = pytester.runpytest(*FAST, "--benchmark-disable", f"--xetrack-db={db}")
    disabled.assert_outcomes(passed=3)
    assert "benchmark:" not in disabled.stdout.str().split("xetrack", 1)[-1]
    assert "test_bench" not in _rows(db)  # nothing was measured
    enabled = pytester.runpytest(*FAST, "--benchmark-disable", "--benchmark-enable")
    enabled.assert_outcomes(passed=3)
    enabled.stdout.fnmatch_lines(["*benchmark: 1 test*"])
    pytester.runpytest(*FAST, "--benchmark-only").assert_outcomes(passed=1, skipped=2)
    skip = pytester.runpytest(*FAST, "--benchmark-skip")
    skip.assert_outcomes(passed=2, skipped=1)
    both = pytester.runpytest("--benchmark-only", "--benchmark-disable")
    assert both.ret == pytest.ExitCode.USAGE_ERROR
    both.stderr.fnmatch_lines(["*--benchmark-only and --benchmark-disable cannot go*"])


def test_disable_runs_the_functions_once_as_plain_tests(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
calls = []

def test_call(benchmark):
    assert benchmark(lambda: calls.append(1) or 5) == 5
    assert calls == [1]

def test_pedantic(benchmark):
    seen = []
    out = benchmark.pedantic(lambda x: seen.append(x) or x, setup=lambda: ((3,), {}),
                             teardown=lambda x: seen.append(-x), rounds=50)
    assert out == 3 and seen == [3, -3]
"""
    )
    pytester.runpytest("--benchmark-disable").assert_outcomes(passed=2)


def test_timing_options_map_onto_the_engine(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import gc

def test_sum(benchmark):
    seen = []
    benchmark(lambda: seen.append(gc.isenabled()))
    assert not any(seen)
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest(
        "-p",
        "no:xdist",
        f"--xetrack-db={db}",
        "--benchmark-min-rounds=11",
        "--benchmark-max-time=0.001",
        "--benchmark-disable-gc",
        "--benchmark-timer=time.thread_time",
        "--benchmark-warmup=off",
    ).assert_outcomes(passed=1)
    row = _rows(db)["test_sum"]
    assert row["rounds"] == 11 and row["timer"] == "thread_time"
    options = json.loads(str(row["benchmark_meta"]))["options"]
    assert options["disable_gc"] is True and options["warmup"] is False


def test_options_with_no_meaning_here_are_accepted_and_said_once(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(
        *FAST,
        "--benchmark-histogram",
        "--benchmark-cprofile=cumtime",
        "--benchmark-verbose",
        "--benchmark-csv=out",
    )
    result.assert_outcomes(passed=5)
    said = [
        line for line in result.stdout.lines if "accepted with no meaning here" in line
    ]
    assert len(said) == 1
    for flag in ("histogram", "cprofile", "verbose", "csv"):
        assert f"--benchmark-{flag}" in said[0]


def test_the_table_groups_sorts_and_keeps_one_unit_per_group(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(*FAST, "--benchmark-sort=mean")
    result.assert_outcomes(passed=5)
    text = result.stdout.str()
    assert "benchmark: 1 test" in text and "benchmark 'sized': 3 tests" in text
    sized = text.split("benchmark 'sized'", 1)[1].split("Legend", 1)[0]
    header = next(line for line in sized.splitlines() if line.startswith("Name"))
    assert "(time in µs)" in header or "(time in ns)" in header
    for column in (
        "Min",
        "Max",
        "Mean",
        "StdDev",
        "Median",
        "IQR",
        "OPS",
        "Rounds",
        "Iterations",
    ):
        assert column in header
    names = [line.split()[0] for line in sized.splitlines() if line.startswith("test_")]
    assert names == ["test_sized[10]", "test_sized[1000]", "test_sleep"]  # by mean
    by_param = pytester.runpytest(
        *FAST,
        "--benchmark-group-by=param:n",
        "--benchmark-columns=min,rounds",
        "--benchmark-name=long",
    )
    out = by_param.stdout.str()
    assert "benchmark 'n=10': 1 test" in out and "benchmark 'n=1000': 1 test" in out
    header = next(line for line in by_param.stdout.lines if line.startswith("Name"))
    assert header.split()[-2:] == ["Min", "Rounds"]
    fixed = pytester.runpytest(*FAST, "--benchmark-time-unit=ms")
    headers = [line for line in fixed.stdout.lines if line.startswith("Name")]
    assert len(headers) == 2 and all("(time in ms)" in h for h in headers)
    assert "test_sized.py::test_sized[10]" not in out  # long names are full node ids
    assert any("::test_sized[10]" in line for line in by_param.stdout.lines)


def _load_with_pytest_benchmark(storage: Path) -> list[dict[str, object]]:
    """What pytest-benchmark's own storage reader makes of a folder of saved runs;
    a file it fails to load is a failure here, not a warning."""
    from pytest_benchmark.storage.file import FileStorage

    class Strict:
        def warning(self, text: str, **_: object) -> None:
            raise AssertionError(text)

        def info(self, *_: object, **__: object) -> None:
            pass

        debug = info

    machine = next(p.name for p in storage.iterdir())
    return list(
        FileStorage(storage, Strict(), default_machine_id=machine).load_benchmarks()
    )


def test_json_and_saved_runs_are_read_by_pytest_benchmark_itself(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(TESTS)
    out = tmp_path / "report.json"
    storage = tmp_path / "storage"
    result = pytester.runpytest(
        *FAST,
        f"--benchmark-json={out}",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-save=first",
        "--benchmark-save-data",
    )
    result.assert_outcomes(passed=5)
    doc = json.loads(out.read_text())
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(
        doc
    )
    by_name = {b["name"]: b for b in doc["benchmarks"]}
    assert set(by_name) == {
        "test_sum",
        "test_sized[10]",
        "test_sized[1000]",
        "test_sleep",
    }
    assert by_name["test_sum"]["extra_info"] == {"n": 10}
    assert by_name["test_sized[10]"]["group"] == "sized"
    assert by_name["test_sized[10]"]["params"] == {"n": 10}
    assert by_name["test_sized[10]"]["param"] == "10"
    sleep = by_name["test_sleep"]["stats"]
    assert sleep["rounds"] == 2 and len(sleep["data"]) == 2
    loaded = _load_with_pytest_benchmark(storage)
    assert {b["name"] for b in loaded} == set(by_name)
    for bench in loaded:
        mine = by_name[str(bench["name"])]["stats"]
        for key in ("min", "max", "mean", "median", "stddev", "iqr", "ops", "rounds"):
            assert bench[key] == pytest.approx(mine[key]), key  # type: ignore[index]
    # pytest-benchmark's compare command renders both files
    for target in (
        ["compare", str(out)],
        ["--storage", f"file://{storage}", "compare", "0001"],
    ):
        shown = subprocess.run(
            [
                sys.executable,
                "-c",
                "from pytest_benchmark.cli import main; main()",
                *target,
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        assert shown.returncode == 0, shown.stderr
        assert "test_sized[1000]" in shown.stdout and "Failed to load" not in (
            shown.stdout + shown.stderr
        )


def test_save_and_autosave_number_runs_as_pytest_benchmark_does(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TESTS)
    pytester.runpytest(*FAST, "--benchmark-save=base").assert_outcomes(passed=5)
    pytester.runpytest(*FAST, "--benchmark-autosave").assert_outcomes(passed=5)
    storage = pytester.path / ".benchmarks"
    (machine,) = list(storage.iterdir())
    saved = sorted(p.name for p in machine.iterdir())
    assert saved[0] == "0001_base.json" and saved[1].startswith("0002_")
    first = json.loads((machine / saved[0]).read_text())
    assert "data" not in first["benchmarks"][0]["stats"]  # as there: stats only
    assert len(_load_with_pytest_benchmark(storage)) == 8


def test_compare_with_a_saved_run_and_fail_on_a_regression(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import os, time

def test_wait(benchmark):
    benchmark.pedantic(time.sleep, args=(float(os.environ["WAIT"]),), rounds=5)
"""
    )
    fast = ("-p", "no:xdist")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAIT", "0.002")
        # nothing saved yet: the gate asked for cannot be applied, and says so
        none = pytester.runpytest(
            *fast, "--benchmark-compare", "--benchmark-compare-fail=min:5%"
        )
        assert none.ret != 0
        none.stdout.fnmatch_lines(["*function_time:5% was not applied: no baseline*"])
        pytester.runpytest(*fast, "--benchmark-autosave").assert_outcomes(passed=1)
        same = pytester.runpytest(*fast, "--benchmark-compare")
        same.assert_outcomes(passed=1)
        same.stdout.fnmatch_lines(["*compared with the saved run *0001_*"])
        assert same.ret == 0 and "different environments" not in same.stdout.str()
        env.setenv("WAIT", "0.02")
        slower = pytester.runpytest(
            *fast, "--benchmark-compare=0001", "--benchmark-compare-fail=min:50%"
        )
    assert slower.ret != 0, slower.stdout.str()
    slower.stdout.fnmatch_lines(["*test_wait*"])
    missing = pytester.runpytest(*fast, "--benchmark-compare=0042")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*--benchmark-compare=0042: no saved run*"])


def test_a_json_path_that_cannot_be_written_fails_the_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(TESTS)
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = pytester.runpytest(*FAST, f"--benchmark-json={blocker}/out.json")
    result.assert_outcomes(passed=5)
    assert result.ret != 0
    result.stdout.fnmatch_lines([f"*cannot write {blocker}/out.json*"])


def test_under_xdist_the_table_and_json_hold_every_workers_benchmarks(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(TESTS)
    out = tmp_path / "out.json"
    db = tmp_path / "b.db"
    result = pytester.runpytest_subprocess(
        "-n", "2", *FAST[:2], f"--benchmark-json={out}", f"--xetrack-db={db}"
    )
    result.assert_outcomes(passed=5)
    names = {b["name"] for b in json.loads(out.read_text())["benchmarks"]}
    assert names == {"test_sum", "test_sized[10]", "test_sized[1000]", "test_sleep"}
    assert result.stdout.str().count("benchmark 'sized': 3 tests") == 1
    assert set(_rows(db)) >= names


@pytest.mark.parametrize(
    ("given", "threshold"),
    [
        ("mean:0.0000012345678", "function_time:0.0000012345678"),
        ("min:12.3456789%", "function_time:12.3456789%"),
        ("median:5%", "function_time:5%"),
    ],
)
def test_a_compare_fail_amount_reaches_the_gate_as_written(
    given: str, threshold: str
) -> None:
    from pytest_xetrack.benchmark.options import parse_compare_fail

    assert parse_compare_fail(given).threshold() == threshold
