"""Real git history, a suite run per commit: the report, xt compare and the gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = """
import time
from pytest_xetrack import track
SLOW = {slow}

@track(rounds=15)
def test_steady():
    time.sleep(0.01)

@track(rounds=15)
def test_changing():
    time.sleep(0.01 * SLOW)

@track(rounds=15, metrics={{"accuracy": "max"}})
def test_model():
    time.sleep(0.005)
    return {{"accuracy": 0.9}}
"""


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=self.path,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def commit(self, slow: float, message: str) -> str:
        (self.path / "test_bench.py").write_text(SUITE.format(slow=slow))
        self.git("add", "test_bench.py")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def _xt(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "xt"), *map(str, args)],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Repo:
    return Repo(pytester.path)


def test_slowdown_is_flagged_aa_is_clean_and_the_gate_fails_only_the_regression(
    pytester: pytest.Pytester, repo: Repo, tmp_path: Path
) -> None:
    db = tmp_path / "bench.db"
    # sleeps on a shared machine drift by several percent between sessions: ask
    # only about changes of 30% or more, as the README advises for such suites
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}", "--xetrack-min-effect=0.3"]
    first = repo.commit(1.0, "A")
    pytester.runpytest_subprocess(*args, "--xetrack-compare").assert_outcomes(passed=3)

    repo.commit(1.0, "B: same code")
    same = pytester.runpytest_subprocess(*args, "--xetrack-fail=function_time:30%")
    assert same.ret == 0
    # the same code: never a regression (inconclusive where the machine was too
    # noisy to tell, which the row says)
    same.stdout.fnmatch_lines([f"* vs {first[:7]} (main)*"])
    same.stdout.no_fnmatch_line("*REGRESSION*")
    same.stdout.no_fnmatch_line("*regressed*")

    repo.commit(3.0, "C: three times as slow")  # far past any noise floor
    slow = pytester.runpytest_subprocess(*args, "--xetrack-fail=function_time:30%")
    slow.assert_outcomes(passed=3)
    assert slow.ret == pytest.ExitCode.TESTS_FAILED
    slow.stdout.fnmatch_lines(
        [
            "*test_bench.py::test_changing*function_time*regressed*",
            "*1 regressed, * vs *(main)*",
            "REGRESSION test_bench.py::test_changing function_time: * -> * (x*, [[]*, *], "
            "noise floor *% from *, n=15/15*) exceeds function_time:30%",
        ]
    )

    cli = _xt(
        "compare", db, "--repo", repo.path, "--min-effect", "0.3", "--format", "json"
    )
    data = json.loads(cli.stdout)
    verdicts = {(r["benchmark"], r["metric"]): r["verdict"] for r in data["rows"]}
    assert (
        verdicts.pop(("test_bench.py::test_changing", "function_time")) == "regressed"
    )
    assert verdicts.pop(("test_bench.py::test_model", "accuracy")) == "unchanged"
    assert set(verdicts.values()) <= {"unchanged", "inconclusive"}
    markdown = _xt(
        "compare", db, "--repo", repo.path, "--format", "markdown"
    ).stdout.splitlines()
    rows = [line for line in markdown if line.startswith("|")]
    assert len(rows) == 2 + 4 and all(line.count("|") == 11 for line in rows)
    gated = _xt(
        "compare",
        db,
        "--repo",
        repo.path,
        "--min-effect",
        "0.3",
        "--fail",
        "function_time:30%",
    )
    assert (
        gated.returncode == 1
        and "regression: test_bench.py::test_changing" in gated.stderr
    )
    aa = _xt(
        "compare",
        db,
        first,
        "HEAD~1",
        "--repo",
        repo.path,
        "--min-effect",
        "0.3",
        "--fail",
        "function_time:30%",
    )
    assert aa.returncode == 0 and "regressed" not in aa.stdout


def test_feature_branch_compares_with_the_merge_base_side(
    pytester: pytest.Pytester, repo: Repo, tmp_path: Path
) -> None:
    db = tmp_path / "bench.db"
    # B is twice as slow: were it the base, C would read improved far past 30%,
    # while the drift of sleeps between sessions on a busy machine stays below it
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}", "--xetrack-min-effect=0.3"]
    base = repo.commit(1.0, "A")
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("checkout", "-q", "main")
    repo.commit(
        2.0, "B on main, slower"
    )  # the newest run in the store, on another branch
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=3)
    repo.git("checkout", "-q", "feature")
    repo.commit(1.0, "C on the feature branch")
    result = pytester.runpytest_subprocess(*args, "--xetrack-compare")
    result.stdout.fnmatch_lines([f"*vs base {base[:7]} (main)*"])
    result.stdout.no_fnmatch_line("*improved*")  # B, twice as slow, is not the base


def test_no_baseline_is_a_note_of_the_report_and_fails_a_gate(
    pytester: pytest.Pytester, repo: Repo, tmp_path: Path
) -> None:
    repo.commit(1.0, "A")
    args = ["-p", "no:cacheprovider", f"--xetrack-db={tmp_path / 'b.db'}"]
    report = pytester.runpytest_subprocess(*args, "--xetrack-compare")
    assert report.ret == 0
    report.stdout.fnmatch_lines(["*note: no baseline for *"])
    gated = pytester.runpytest_subprocess(*args, "--xetrack-fail=function_time:30%")
    assert gated.ret == pytest.ExitCode.TESTS_FAILED
    gated.stdout.fnmatch_lines(["*function_time:30% was not applied: no baseline*"])


def test_bad_threshold_is_a_usage_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(
        f"--xetrack-db={tmp_path / 'b.db'}", "--xetrack-fail=function_time"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'function_time' is not METRIC:N% or METRIC:N*"])
