"""A pytest session is one run: its record says how it ended; outcomes stay exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from xetrack import Reader

SUITE = """
import pytest
from pytest_xetrack import track

@track(rounds=2)
def test_timed():
    pass

def test_logged(tracker):
    tracker.log({"x": 1})
    tracker.log({"x": 2})

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")

def test_teardown_error(tracker, broken_teardown):
    tracker.log({"x": 3})
"""


def _run_record(db: Path) -> dict[str, object]:
    with Reader(db) as reader:
        (record,) = reader.runs().to_dict(orient="records")
    return record


def test_a_passing_session_is_a_finished_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile("def test_ok(tracker):\n    tracker.log({'x': 1})\n")
    db = tmp_path / "ok.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=1)
    record = _run_record(db)
    assert (record["status"], record["rows"], record["error"]) == ("finished", 1, None)
    assert record["env_fingerprint"]  # the session's environment, from its context


def test_a_failing_session_is_a_failed_run_and_outcomes_are_final(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        SUITE
        + "\ndef test_fails(tracker):\n    tracker.log({'x': 4})\n    assert False\n"
    )
    db = tmp_path / "bad.db"
    result = pytester.runpytest(f"--xetrack-db={db}")
    result.assert_outcomes(passed=3, failed=1, errors=1)
    record = _run_record(db)
    assert (record["status"], record["error"], record["rows"]) == (
        "failed",
        "1 failed, 1 error",
        5,
    )
    frame = Reader(db).to_df()
    outcomes = dict(zip(frame["test_name"], frame["outcome"], strict=False))
    assert outcomes == {
        "test_timed": "passed",
        "test_logged": "passed",
        "test_teardown_error": "error",
        "test_fails": "failed",
    }
    assert (frame["test_name"] == "test_logged").sum() == 2


def test_an_interrupted_session_is_an_interrupted_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        "def test_first(tracker):\n    tracker.log({'x': 1})\n"
        "def test_stop():\n    raise KeyboardInterrupt\n"
    )
    db = tmp_path / "stop.db"
    result = pytester.runpytest_subprocess(f"--xetrack-db={db}")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert _run_record(db)["status"] == "interrupted"


def test_passing_timed_tests_need_no_outcome_update(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """A @track row is written with its outcome: no UPDATE per test after it."""
    pytester.makepyfile(
        "from pytest_xetrack import track\n"
        + "".join(f"@track(rounds=1)\ndef test_{i}():\n    pass\n" for i in range(5))
    )
    pytester.makeconftest(
        """
import xetrack.tracker

calls = []
original = xetrack.tracker.Tracker.update

def counting(self, values, where):
    calls.append(where)
    return original(self, values, where)

xetrack.tracker.Tracker.update = counting

def pytest_sessionfinish(session):
    print(f"updates={len(calls)}")
"""
    )
    db = tmp_path / "timed.db"
    result = pytester.runpytest("-s", f"--xetrack-db={db}")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*updates=0*"])
