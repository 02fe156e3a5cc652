"""Running part of a suite (-k, -m, paths) does not make the rest ``missing``; a
benchmark that was selected and did not run, or vanished from its file, is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xetrack.compare import compare

FAST = """
import pytest
from pytest_xetrack import track

@track(rounds=3)
def test_one():
    pass

@track(rounds=3)
@pytest.mark.slow
def test_two():
    pass
"""
OTHER = """
from pytest_xetrack import track

@track(rounds=3)
def test_three():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, git: Callable[..., str]) -> Callable[..., None]:
    git(pytester.path, "init", "-q", "-b", "main")
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow ones\n")
    pytester.makepyfile(test_a=FAST, test_b=OTHER)

    def commit(message: str) -> None:
        git(pytester.path, "add", "-A")
        git(pytester.path, "commit", "-q", "--allow-empty", "-m", message)

    return commit


def _verdicts(db: Path, repo: Path) -> tuple[dict[str, str], list[str]]:
    result = compare(db, repo=repo)
    return {r.benchmark: r.verdict for r in result.rows}, result.unselected


@pytest.mark.parametrize(
    "selection",
    [["-k", "one"], ["-m", "not slow"], ["test_a.py::test_one"]],
    ids=["k", "m", "node"],
)
def test_deselected_benchmarks_are_not_missing(
    pytester: pytest.Pytester,
    suite: Callable[..., None],
    tmp_path: Path,
    selection: list[str],
) -> None:
    db = tmp_path / "b.db"
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}"]
    suite("A")
    pytester.runpytest(*args).assert_outcomes(passed=3)
    suite("B")
    # the selection first: --xetrack-compare takes an optional REF after it
    result = pytester.runpytest(*args, *selection, "--xetrack-compare")
    result.assert_outcomes(passed=1 if selection[0] != "-m" else 2)
    verdicts, unselected = _verdicts(db, pytester.path)
    assert "missing" not in verdicts.values(), verdicts
    assert "test_a.py::test_two" in unselected
    text = result.stdout.str().split("xetrack comparison")[1]
    assert "missing" not in text and "not selected in this run" in text


def test_a_path_selection_leaves_other_files_out(
    pytester: pytest.Pytester, suite: Callable[..., None], tmp_path: Path
) -> None:
    db = tmp_path / "b.db"
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}"]
    suite("A")
    pytester.runpytest(*args).assert_outcomes(passed=3)
    suite("B")
    pytester.runpytest(*args, "test_a.py").assert_outcomes(passed=2)
    verdicts, unselected = _verdicts(db, pytester.path)
    assert set(verdicts) == {"test_a.py::test_one", "test_a.py::test_two"}
    assert unselected == ["test_b.py::test_three"]


def test_selected_but_not_run_and_vanished_benchmarks_are_missing(
    pytester: pytest.Pytester, suite: Callable[..., None], tmp_path: Path
) -> None:
    db = tmp_path / "b.db"
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}"]
    suite("A")
    pytester.runpytest(*args).assert_outcomes(passed=3)
    # test_two removed from the suite; test_three skips: both were the baseline's
    pytester.makepyfile(
        test_a=FAST.split("@track(rounds=3)\n@pytest.mark.slow")[0],
        test_b=OTHER.replace("pass", "import pytest; pytest.skip('not today')"),
    )
    suite("B")
    pytester.runpytest(*args, "test_a.py", "test_b.py").assert_outcomes(
        passed=1, skipped=1
    )
    verdicts, unselected = _verdicts(db, pytester.path)
    assert verdicts["test_a.py::test_two"] == "missing"  # vanished from its file
    assert verdicts["test_b.py::test_three"] == "missing"  # selected, did not run
    assert unselected == []


def test_under_xdist_the_workers_deselections_reach_the_record(
    pytester: pytest.Pytester, suite: Callable[..., None], tmp_path: Path
) -> None:
    db = tmp_path / "b.db"
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}"]
    suite("A")
    pytester.runpytest(*args, "-n", "2").assert_outcomes(passed=3)
    suite("B")
    pytester.runpytest_subprocess(*args, "-n", "2", "-k", "one").assert_outcomes(
        passed=1
    )
    verdicts, unselected = _verdicts(db, pytester.path)
    assert "missing" not in verdicts.values()
    assert unselected == ["test_a.py::test_two", "test_b.py::test_three"]


def test_a_copied_store_keeps_the_selection(
    pytester: pytest.Pytester, suite: Callable[..., None], tmp_path: Path
) -> None:
    from xetrack import copy

    db = tmp_path / "b.db"
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}"]
    suite("A")
    pytester.runpytest(*args).assert_outcomes(passed=3)
    suite("B")
    pytester.runpytest(*args, "-k", "one").assert_outcomes(passed=1)
    copied = tmp_path / "copy.duckdb"
    copy(db, copied, engine="duckdb")
    result = compare(copied, repo=pytester.path)
    assert "missing" not in {r.verdict for r in result.rows}
    assert len(result.unselected) == 2
