"""With pytest-benchmark installed and active: no fixture or option of ours, no
clash; with --xetrack-db its results are recorded as rows ``xt compare`` judges;
and each tool reads the other's saved runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xetrack import Reader
from xetrack.cli import app

TESTS = """
import pytest

def test_sum(benchmark):
    benchmark.group = "math"
    benchmark.extra_info["n"] = 100
    assert benchmark(sum, range(100)) == 4950

@pytest.mark.parametrize("n", [1, 2])
def test_pedantic(benchmark, n):
    benchmark.pedantic(lambda: n * 2, rounds=7, iterations=3)

def test_plain():
    pass
"""
#: pytest-benchmark's own fast settings
THEIRS_FAST = (
    "--benchmark-max-time=0.01",
    "--benchmark-min-rounds=3",
    "-p",
    "no:xdist",
)


@pytest.mark.usefixtures("with_pytest_benchmark")
def test_pytest_benchmark_active_means_none_of_ours(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
def test_whose(benchmark, request):
    assert type(benchmark).__module__ == "pytest_benchmark.fixture"
    assert not request.config.pluginmanager.has_plugin("xetrack-benchmark")
    benchmark(len, "a")
"""
    )
    result = pytester.runpytest(*THEIRS_FAST)
    result.assert_outcomes(passed=1)
    assert "xetrack stands in" not in result.stdout.str()
    shown = pytester.runpytest("--help")
    assert shown.ret == 0 and "xetrack stands in for it" not in shown.stdout.str()
    assert "--xetrack-db" in shown.stdout.str()


@pytest.mark.usefixtures("with_pytest_benchmark")
def test_its_results_are_recorded_and_xt_compare_judges_them(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(TESTS)
    db = tmp_path / "b.db"
    for _ in range(2):
        pytester.runpytest(*THEIRS_FAST, f"--xetrack-db={db}").assert_outcomes(passed=4)
    frame = Reader(db).to_df()
    timed = frame[frame["function_time"].notna()]
    assert sorted(timed["test_name"].unique()) == ["test_pedantic", "test_sum"]
    assert len(timed) == 6 and (timed["measured_by"] == "pytest-benchmark").all()
    row = timed[timed["test_name"] == "test_sum"].iloc[-1]
    samples = json.loads(str(row["time_samples"]))
    assert len(samples) == row["rounds"] >= 3  # every sample pytest-benchmark kept
    assert row["benchmark_group"] == "math" and row["n"] == 100
    assert row["time_min"] == pytest.approx(min(samples))
    pedantic = timed[timed["test_name"] == "test_pedantic"]
    assert set(pedantic["rounds"]) == {7} and set(pedantic["iterations"]) == {3}
    assert row["git_commit"] is None or isinstance(row["git_commit"], str)
    first, second = frame.sort_values("timestamp")["track_id"].unique()
    result = CliRunner().invoke(app, ["compare", str(db), first, second])
    assert result.exit_code == 0, result.output
    for name in ("test_sum", "test_pedantic[1]", "test_pedantic[2]"):
        assert name in result.output


@pytest.mark.usefixtures("with_pytest_benchmark")
def test_a_failed_benchmark_of_theirs_is_not_recorded(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
def test_raises(benchmark):
    benchmark(lambda: 1 / 0)
"""
    )
    db = tmp_path / "b.db"
    pytester.runpytest(*THEIRS_FAST, f"--xetrack-db={db}").assert_outcomes(failed=1)
    frame = Reader(db).to_df()
    assert "function_time" not in frame or frame["function_time"].isna().all()


def test_each_tool_reads_the_others_saved_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ours first; in file order, as the pytester fixture runs inner sessions
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:benchmark -p no:randomly")
    pytester.makepyfile(TESTS)
    ours = ("--benchmark-max-time=0.01", "--benchmark-min-rounds=3", "-p", "no:xdist")
    pytester.runpytest(*ours, "--benchmark-save=ours").assert_outcomes(passed=4)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    theirs = pytester.runpytest(
        *THEIRS_FAST,
        "--benchmark-compare=0001",
        "--benchmark-compare-fail=min:100000%",
        "--benchmark-autosave",
    )
    theirs.assert_outcomes(passed=4)
    text = theirs.stdout.str()
    assert "Failed to load" not in text and "0001_ours" in text
    assert "machine_info is different" not in text  # same machine, as it describes it
    assert "test_sum (0001_ours)" in text  # our run in their comparison table
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:benchmark -p no:randomly")
    back = pytester.runpytest(*ours, "--benchmark-compare=0002")
    back.assert_outcomes(passed=4)
    back.stdout.fnmatch_lines(["*compared with the saved run *0002_*"])
    assert "could not" not in back.stdout.str()
