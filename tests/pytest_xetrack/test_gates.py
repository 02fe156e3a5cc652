"""A gate a CI user asked for never passes silently: it applies, or the exit says why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from xetrack import Reader
from xetrack.compare import parse_min_effect

SUITE = """
import time
from pytest_xetrack import track

@track(rounds=6, metrics={"accuracy": "max"})
def test_model():
    time.sleep(0.002)
    return {"accuracy": 0.9}
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def commit(repo: Path, message: str) -> str:
    (repo / "test_bench.py").write_text(SUITE)
    (repo / "history.txt").open("a").write(message + "\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def record(pytester: pytest.Pytester, repo: Path, db: Path, *args: str) -> object:
    """One session of the suite in ``repo``, in this process."""
    return pytester.runpytest(
        str(repo / "test_bench.py"),
        f"--rootdir={repo}",
        "-p",
        "no:cacheprovider",
        f"--xetrack-db={db}",
        *args,
    )


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


def test_fail_without_a_database_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest("--xetrack-fail=function_time:5%")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--xetrack-fail needs --xetrack-db*nothing is recorded*--xetrack-db=bench.db*"
        ]
    )
    result.stdout.no_fnmatch_line("*passed*")
    # asked for by --xetrack-disable on purpose: nothing to gate, no error
    assert (
        pytester.runpytest("--xetrack-fail=function_time:5%", "--xetrack-disable").ret
        == 0
    )


def test_compare_with_a_ref_that_matches_no_run_lists_the_runs(
    pytester: pytest.Pytester, origin: Path, tmp_path: Path
) -> None:
    db = tmp_path / "bench.db"
    sha = commit(origin, "A")
    record(pytester, origin, db).assert_outcomes(passed=1)  # type: ignore[attr-defined]
    run = Reader(db).track_ids()[0]
    result = record(pytester, origin, db, "--xetrack-compare=v9.9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # type: ignore[attr-defined]
    result.stderr.fnmatch_lines(  # type: ignore[attr-defined]
        [f"*--xetrack-compare=v9.9: no run matches 'v9.9'*{run} ({sha[:7]}, main*"]
    )
    assert len(Reader(db).track_ids()) == 1  # failed before any test ran


def test_compare_latest_never_compares_the_run_with_itself(
    pytester: pytest.Pytester, origin: Path, tmp_path: Path
) -> None:
    db = tmp_path / "bench.db"
    commit(origin, "A")
    record(pytester, origin, db).assert_outcomes(passed=1)  # type: ignore[attr-defined]
    first = Reader(db).track_ids()[0]
    result = record(pytester, origin, db, "--xetrack-compare=latest")
    head = Reader(db).track_ids()[1]
    assert f"[{head}] vs base " in result.stdout.str()  # type: ignore[attr-defined]
    assert f" [{first}]" in result.stdout.str() and head != first  # type: ignore[attr-defined]


def test_shallow_clone_says_why_there_is_no_baseline_and_the_gate_fails(
    pytester: pytest.Pytester, origin: Path, tmp_path: Path
) -> None:
    db = tmp_path / "bench.db"
    first = commit(origin, "A")
    record(pytester, origin, db).assert_outcomes(passed=1)  # type: ignore[attr-defined]
    commit(origin, "B")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    gated = record(pytester, clone, db, "--xetrack-fail=function_time:50%")
    gated.assert_outcomes(passed=1)  # type: ignore[attr-defined]
    assert gated.ret == pytest.ExitCode.TESTS_FAILED  # type: ignore[attr-defined]
    gated.stdout.fnmatch_lines(  # type: ignore[attr-defined]
        [
            f"*shallow clone*1 run(s) on other commits ({first[:7]})*fetch-depth: 0*"
            "git fetch --unshallow*",
            "*--xetrack-fail=function_time:50% was not applied: no baseline*",
        ]
    )
    # a report only (no gate): the same explanation, and the exit status of the tests
    report = record(pytester, clone, db, "--xetrack-compare")
    assert report.ret == 0  # type: ignore[attr-defined]
    report.stdout.fnmatch_lines(["*shallow clone*git fetch --unshallow*"])  # type: ignore[attr-defined]


def test_fail_with_no_baseline_at_all_is_not_green(
    pytester: pytest.Pytester, origin: Path, tmp_path: Path
) -> None:
    commit(origin, "A")
    result = record(
        pytester, origin, tmp_path / "b.db", "--xetrack-fail=function_time:30%"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # type: ignore[attr-defined]
    result.stdout.fnmatch_lines(  # type: ignore[attr-defined]
        ["*note: no baseline for *", "*function_time:30% was not applied: no baseline*"]
    )


def test_fail_on_a_metric_no_benchmark_has_lists_the_comparable_ones(
    pytester: pytest.Pytester, origin: Path, tmp_path: Path
) -> None:
    db = tmp_path / "bench.db"
    commit(origin, "A")
    record(pytester, origin, db).assert_outcomes(passed=1)  # type: ignore[attr-defined]
    commit(origin, "B")
    result = record(pytester, origin, db, "--xetrack-fail=time:5%")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # type: ignore[attr-defined]
    result.stdout.fnmatch_lines(  # type: ignore[attr-defined]
        [
            "*--xetrack-fail=time:5%: no benchmark has a metric 'time'; "
            "comparable metrics: accuracy, function_time*"
        ]
    )


def test_a_declared_metric_never_returned_is_a_warning(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        "from pytest_xetrack import track\n"
        "@track(metrics={'accuracy': 'max', 'recall': 'max'})\n"
        "def test_a():\n    return {'accuracy': 0.5}\n"
        "@track(metrics={'loss': 'min'})\n"
        "def test_b():\n    pass\n"
    )
    result = pytester.runpytest(f"--xetrack-db={tmp_path / 'b.db'}")
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(
        [
            "*test_a*declares metric 'recall' but the test returned no such key*",
            "*test_b*declares metric 'loss' but the test returned no such key*",
        ]
    )


@pytest.mark.parametrize("given", ["5", "1", "2.5", "-0.1", "5%%", "x", ""])
def test_min_effect_must_be_a_fraction_below_one_or_a_percentage(given: str) -> None:
    with pytest.raises(ValueError, match=f"min effect {given!r}.*write 5% or 0.05"):
        parse_min_effect(given)


@pytest.mark.parametrize(
    ("given", "value"), [("5%", 0.05), ("0.05", 0.05), ("0", 0.0), ("150%", 1.5)]
)
def test_min_effect_accepts_percentages_and_fractions(given: str, value: float) -> None:
    assert parse_min_effect(given) == pytest.approx(value)


def test_the_plugin_reads_min_effect_with_the_same_parser(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest("--xetrack-min-effect=5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*min effect '5'*write 5% or 0.05*"])
    assert pytester.runpytest("--xetrack-min-effect=5%").ret == 0


def test_disable_keeps_a_returned_dict_free_of_pytest_warnings(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        "from pytest_xetrack import track\n"
        "calls = []\n"
        "@track(rounds=3)\n"
        "def test_a():\n    calls.append(1)\n    return {'accuracy': 0.5}\n"
        "def test_ran_once():\n    assert calls == [1]\n"
    )
    result = pytester.runpytest("--xetrack-disable", "-W", "error")
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*PytestReturnNotNoneWarning*")


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_cache_path_that_cannot_be_a_directory_is_a_usage_error(
    pytester: pytest.Pytester, tmp_path: Path, kind: str
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    path = blocker if kind == "file" else blocker / "cache"
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(f"--xetrack-cache={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--xetrack-cache={path}: {blocker} is a file*"])
    assert blocker.read_text() == "keep me"


def test_engine_option_ignores_letter_case(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile("def test_a(tracker):\n    tracker.log({'a': 1})\n")
    db = tmp_path / "b.duckdb"
    pytester.runpytest(f"--xetrack-db={db}", "--xetrack-engine=DuckDB").assert_outcomes(
        passed=1
    )
    assert Reader(db).engine == "duckdb"


def test_a_returned_track_id_is_stored_as_result_track_id(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        "from pytest_xetrack import track\n"
        "@track\n"
        "def test_a():\n    return {'track_id': 'mine', 'timestamp': 'noon'}\n"
    )
    db = tmp_path / "b.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=1)
    row = Reader.read_db(db).iloc[0]
    assert row["result_track_id"] == "mine" and row["result_timestamp"] == "noon"
    assert row["track_id"] != "mine"


def test_parametrize_names_that_clash_with_plugin_columns_keep_their_values(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        "import pytest\n"
        "@pytest.mark.parametrize('track_id', [7])\n"
        "@pytest.mark.parametrize('outcome', ['mine'])\n"
        "def test_a(tracker, track_id, outcome):\n    tracker.log({'x': 1})\n"
    )
    db = tmp_path / "b.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=1)
    row = Reader.read_db(db).iloc[0]
    assert row["param_track_id"] == 7 and row["param_outcome"] == "mine"
    assert row["outcome"] == "passed" and row["track_id"] != 7


def test_a_parametrize_name_like_an_environment_column_keeps_both_values(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        "import pytest\n"
        "@pytest.mark.parametrize('xdist_workers', [9])\n"
        "@pytest.mark.parametrize('cpu_count', [99])\n"
        "def test_a(tracker, xdist_workers, cpu_count):\n    tracker.log({'x': 1})\n"
    )
    db = tmp_path / "b.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=1)
    row = Reader.read_db(db).iloc[0]
    assert row["param_xdist_workers"] == 9 and row["param_cpu_count"] == 99
    assert row["xdist_workers"] == 0 and row["cpu_count"] != 99
