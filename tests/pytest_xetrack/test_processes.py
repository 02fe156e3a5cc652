"""A spread benchmark's budget shared by this session and a fresh process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xetrack import Reader

#: Each call writes its process id, so the log says which processes timed what.
SUITE = """
import os
import pathlib
import pytest
from pytest_xetrack import track

LOG = pathlib.Path(__file__).with_name("pids.log")


def called(name):
    with LOG.open("a") as log:
        log.write(f"{name} {os.getpid()}\\n")


@track(min_time=0.02)
@pytest.mark.parametrize("n", [200])
def test_loop(n):
    called("loop")
    total = 0
    for i in range(n):
        total += i


@track(min_time=0, min_rounds=7, warmup=0)
def test_counted():
    called("counted")


@pytest.fixture
def data():
    return [3, 1, 2]


@track(min_time=0.02)
def test_fixture(data):
    called("fixture")
    sorted(data)
"""


def _pids(pytester: pytest.Pytester) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for line in (pytester.path / "pids.log").read_text().splitlines():
        name, pid = line.split()
        out.setdefault(name, set()).add(int(pid))
    return out


def _rows(db: Path) -> dict[str, dict[str, object]]:
    reader = Reader(str(db))
    try:
        frame = reader.to_df()
    finally:
        reader.close()
    return {
        str(r["test_nodeid"]).split("::")[-1]: dict(r) for r in frame.to_dict("records")
    }


def test_a_spread_benchmark_is_timed_in_this_session_and_one_fresh_process(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    import os

    pytester.makepyfile(test_suite=SUITE)
    db = tmp_path / "p.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=3)
    pids, rows = _pids(pytester), _rows(db)
    # in-process pytester: this process is the session; the fresh one is another
    assert os.getpid() in pids["loop"] and len(pids["loop"]) == 2
    assert pids["fixture"] == {os.getpid()}  # a fixture test stays in its session

    loop = rows["test_loop[200]"]
    counts = json.loads(str(loop["time_processes"]))
    batches = json.loads(str(loop["time_batches"]))
    samples = json.loads(str(loop["time_samples"]))
    assert len(counts) == 2 and sum(counts) == len(batches)
    assert sum(batches) == len(samples) == loop["rounds"]
    # the reading is the fastest call of either process
    first = sum(batches[: counts[0]])
    assert (
        loop["time_min"]
        == min(samples)
        == min(min(samples[:first]), min(samples[first:]))
    )
    # the rounds asked for, shared: 4 here and 3 there
    assert rows["test_counted"]["rounds"] == 7
    assert rows["test_fixture"]["time_processes"] is None or (
        rows["test_fixture"]["time_processes"] != rows["test_fixture"]["time_processes"]
    )  # NULL (NaN in a frame)


def test_one_process_is_this_session_alone(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    import os

    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\nxetrack_processes = 1\n")
    db = tmp_path / "p.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=3)
    assert _pids(pytester)["loop"] == {os.getpid()}
    assert "time_processes" not in Reader(str(db)).columns


def test_a_fresh_process_that_fails_is_said_and_the_session_s_timing_stands(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        test_only_here="""
import os
import pytest
from pytest_xetrack import track


@track(min_time=0.1)  # more than one batch: spread, so shared with a fresh process
@pytest.mark.parametrize("n", [1])
def test_needs_this_session(n):
    # what an option only this session was given would do
    assert not os.environ.get("XETRACK_REMEASURE_OUT")
"""
    )
    db = tmp_path / "p.db"
    result = pytester.runpytest(f"--xetrack-db={db}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 benchmarks could not be measured in a fresh process*--xetrack-processes 1*"
        ]
    )
    (row,) = _rows(db).values()
    assert row["rounds"] and int(row["rounds"]) > 0  # type: ignore[call-overload]


def test_bad_process_counts_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest("--xetrack-processes=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--xetrack-processes*whole number >= 1*got '0'*"])


def test_two_process_runs_compare_without_a_spread_note(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Both runs spread their batches in both processes: nothing to warn about
    (a row counting one process's stretch against both processes' work read as
    batches taken back to back)."""
    from xetrack.compare import compare

    pytester.makepyfile(test_suite=SUITE)
    db = tmp_path / "p.db"
    for _ in range(2):
        pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=3)
    import sqlite3

    with sqlite3.connect(db) as con:
        first, second = [
            r[0]
            for r in con.execute(
                'SELECT track_id FROM "default" GROUP BY track_id ORDER BY MIN(timestamp)'
            )
        ]
    result = compare(db, base=first, head=second, repo=None)
    assert result.base is not None and result.rows
    assert not any("spread over the session" in note for note in result.notes)
