"""The session's comparison beyond the terminal: the GitHub Actions step summary,
--xetrack-markdown and --xetrack-report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

SUITE = """
from pytest_xetrack import track

@track(rounds=3)
def test_one():
    pass

@track(rounds=3)
def test_two():
    sum(range(100))
"""


@pytest.fixture
def two_runs(
    pytester: pytest.Pytester, git: Callable[..., str], tmp_path: Path
) -> Callable[..., pytest.RunResult]:
    """A first run on one commit; returns a function running the second."""
    db = tmp_path / "b.db"
    git(pytester.path, "init", "-q", "-b", "main")
    pytester.makepyfile(test_a=SUITE)
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "A")
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}"]
    pytester.runpytest(*args).assert_outcomes(passed=2)
    git(pytester.path, "commit", "-q", "--allow-empty", "-m", "B")

    def second(*more: str) -> pytest.RunResult:
        return pytester.runpytest(*args, *more)

    return second


def test_the_step_summary_gets_the_comparison_appended(
    two_runs: Callable[..., pytest.RunResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("## earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = two_runs("--xetrack-compare")
    assert result.ret == 0, result.stdout.str()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## earlier step\n")  # appended, nothing lost
    assert "### xetrack:" in text and "vs " in text
    assert "| benchmark" in text and "test_a.py::test_one" in text
    assert "\x1b[" not in text


def test_without_a_comparison_the_step_summary_is_left_alone(
    two_runs: Callable[..., pytest.RunResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    two_runs().assert_outcomes(passed=2)
    assert not summary.exists()


def test_markdown_and_report_files_are_written_where_asked(
    two_runs: Callable[..., pytest.RunResult], tmp_path: Path
) -> None:
    markdown, report = tmp_path / "pr.md", tmp_path / "report.html"
    # each implies --xetrack-compare
    result = two_runs(f"--xetrack-markdown={markdown}", f"--xetrack-report={report}")
    assert result.ret == 0, result.stdout.str()
    assert "xetrack comparison" in result.stdout.str()
    text = markdown.read_text(encoding="utf-8")
    assert "| benchmark" in text and "test_a.py::test_two" in text
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "test_a.py::test_two" in page


def test_the_report_shows_the_sessions_table_and_comparison(
    pytester: pytest.Pytester, git: Callable[..., str], tmp_path: Path
) -> None:
    db, report = tmp_path / "b.db", tmp_path / "report.html"
    git(pytester.path, "init", "-q", "-b", "main")
    pytester.makepyfile(test_a=SUITE)
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "A")
    args = ["-p", "no:cacheprovider", f"--xetrack-db={db}", "--xetrack-table=perf"]
    pytester.runpytest(*args).assert_outcomes(passed=2)
    git(pytester.path, "commit", "-q", "--allow-empty", "-m", "B")
    result = pytester.runpytest(*args, f"--xetrack-report={report}")
    assert result.ret == 0, result.stdout.str()
    page = report.read_text(encoding="utf-8")
    # the benchmarks of table "perf", judged against the first run, as the summary
    # (read from the page's data: its script holds every verdict name anyway)
    data = json.loads(
        page.split('<script type="application/json" id="xetrack-data">', 1)[1].split(
            "</script>", 1
        )[0]
    )
    judged = {row["benchmark"]: row["verdict"] for row in data["rows"]}
    assert set(judged) == {"test_a.py::test_one", "test_a.py::test_two"}
    assert set(judged.values()) <= {
        "unchanged",
        "inconclusive",
        "improved",
        "regressed",
    }
    assert data["summary"] in result.stdout.str()


def test_an_output_that_cannot_be_written_fails_the_session(
    two_runs: Callable[..., pytest.RunResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(folder))
    result = two_runs("--xetrack-compare")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"xetrack: GITHUB_STEP_SUMMARY={folder}: *"])


@pytest.mark.parametrize("flag", ["--xetrack-markdown", "--xetrack-report"])
def test_output_options_are_checked_before_any_test_runs(
    pytester: pytest.Pytester, tmp_path: Path, flag: str
) -> None:
    pytester.makepyfile(test_a=SUITE)
    no_db = pytester.runpytest(f"{flag}={tmp_path / 'out'}")
    assert no_db.ret == pytest.ExitCode.USAGE_ERROR
    no_db.stderr.fnmatch_lines([f"*{flag}=* needs --xetrack-db*"])
    nowhere = tmp_path / "missing" / "out"
    bad = pytester.runpytest(f"--xetrack-db={tmp_path / 'b.db'}", f"{flag}={nowhere}")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines([f"*folder {nowhere.parent} does not exist*"])


def test_verdicts_are_coloured_only_where_pytest_may_colour(
    two_runs: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makepyfile(
        test_b="from pytest_xetrack import track\n\n@track(rounds=3)\ndef test_new():\n    pass\n"
    )

    def section(result: pytest.RunResult) -> str:
        return result.stdout.str().split("xetrack comparison")[1]

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    piped = section(two_runs("--xetrack-compare"))  # output captured: not a terminal
    assert "new" in piped and "\x1b[" not in piped
    forced = section(two_runs("--xetrack-compare", "--color=yes"))
    assert "\x1b[36mnew" in forced  # cyan, through pytest's own writer
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in section(two_runs("--xetrack-compare"))


def test_a_report_without_plotly_is_a_usage_error_naming_the_extra(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    pytester.makepyfile(test_a=SUITE)
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if it were not installed
    result = pytester.runpytest(
        f"--xetrack-db={tmp_path / 'b.db'}", f"--xetrack-report={tmp_path / 'r.html'}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "needs plotly" in result.stderr.str()
    assert "pip install 'xetrack[report]'" in result.stderr.str()
    assert not (tmp_path / "b.db").exists()  # refused before anything ran
