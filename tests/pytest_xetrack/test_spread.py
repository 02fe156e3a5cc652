"""A session's benchmarks timed a batch at a time, in turns, after the last test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xetrack import Reader

#: Each test writes its letter once a call, so the log is the order of every call.
SUITE = """
import pathlib
import pytest
from pytest_xetrack import track

LOG = pathlib.Path(__file__).with_name("calls.log")


def called(letter):
    with LOG.open("a") as log:
        log.write(letter)


@track(min_time=0.01)
@pytest.mark.parametrize("n", [3])
def test_a(n):
    called("a")


@track(min_time=0.01, table="other")
def test_b():
    called("b")


def test_middle():
    called("m")


@pytest.fixture
def data():
    return [1, 2, 3]


@track(min_time=0.01)
def test_fixture(data):
    called("f")


@track(min_time=0.01, spread=False)
def test_kept():
    called("k")


def test_last():
    called("z")
"""


def _row(db: Path, name: str, table: str = "default") -> dict[str, object]:
    reader = Reader(db, table=table)
    try:
        frame = reader.to_df()
    finally:
        reader.close()
    (row,) = [r for r in frame.to_dict("records") if r["test_name"] == name]
    return dict(row)


def test_batches_of_benchmarks_called_with_values_only_come_after_the_last_test(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_order=SUITE)
    db = tmp_path / "s.db"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--xetrack-db={db}")
    result.assert_outcomes(passed=6)
    log = (pytester.path / "calls.log").read_text()
    last = log.index("z")
    # a and b: the first batch in the test, the others after the last test
    assert log.index("a") < log.index("b") < log.index("m") < last
    assert "a" in log[last:] and "b" in log[last:]
    # a fixture could be torn down, spread=False says no: all in the test
    assert log.index("m") < log.index("f") and "f" not in log[last:]
    assert "k" not in log[last:]
    for name, table in (("test_a", "default"), ("test_b", "other")):
        row = _row(db, name, table)
        batches = json.loads(str(row["time_batches"]))
        samples = json.loads(str(row["time_samples"]))
        assert len(batches) >= 2 and sum(batches) == len(samples) == row["rounds"]
        assert len(samples) >= 5 and row["outcome"] == "passed"
        assert float(row["time_span"]) > 0  # type: ignore[arg-type]
        # every round of the later batches was timed after the last test
        later = (len(samples) - batches[0]) * int(row["iterations"])  # type: ignore[call-overload]
        assert log[last:].count(name[-1]) >= later > 0


def test_no_spread_times_every_batch_in_its_test(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_order=SUITE)
    db = tmp_path / "s.db"
    result = pytester.runpytest(
        "-p", "no:cacheprovider", f"--xetrack-db={db}", "--xetrack-no-spread"
    )
    result.assert_outcomes(passed=6)
    log = (pytester.path / "calls.log").read_text()
    assert log.rindex("a") < log.index("b") < log.index("m")
    assert log.rindex("b") < log.index("m") and log.endswith("z")


def test_a_later_batch_that_raises_keeps_the_first_and_says_so(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """A benchmark that depends on state a later test changes: its row keeps what
    was timed before, the test still passed, and the summary says why."""
    pytester.makepyfile(
        test_state="""
from pytest_xetrack import track

STATE = {"broken": False}


@track(min_time=0.01)
def test_depends_on_state():
    if STATE["broken"]:
        raise RuntimeError("STATE changed by a later test")


def test_breaks_it():
    STATE["broken"] = True
"""
    )
    db = tmp_path / "s.db"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--xetrack-db={db}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_depends_on_state: a later batch raised RuntimeError: STATE changed"
            "*@track(spread=False) measures it in one go*"
        ]
    )
    row = _row(db, "test_depends_on_state")
    assert row["outcome"] == "passed" and int(row["rounds"]) >= 1  # type: ignore[call-overload]
    assert len(json.loads(str(row["time_batches"]))) == 1


def test_spread_must_be_a_bool(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "from pytest_xetrack import track\n"
        "@track(spread='yes')\ndef test_a():\n    pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*test_a: @track(spread='yes') must be True or False*"]
    )


def test_ctrl_c_during_the_later_batches_keeps_the_rows_and_says_so(
    tmp_path: Path,
) -> None:
    """A real SIGINT while the session takes its later batches: the session ends as
    interrupted, and the row keeps the batches taken so far."""
    import os
    import signal
    import subprocess
    import sys
    import time

    project = tmp_path / "p"
    project.mkdir()
    (project / "test_long.py").write_text(
        """
import pathlib, time
import pytest
from pytest_xetrack import track

LOG = pathlib.Path(__file__).with_name("calls.log")

@track(min_time=5.0, max_time=10.0)
@pytest.mark.parametrize("n", [1])
def test_a(n):
    with LOG.open("a") as log:
        log.write("a")
    time.sleep(0.002)

def test_last():
    with LOG.open("a") as log:
        log.write("z")
"""
    )
    db = tmp_path / "i.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--xetrack-db={db}",
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log = project / "calls.log"
    deadline = time.monotonic() + 300  # a bound that makes a hang fail
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if "z" in text and "a" in text[text.index("z") :]:
            break  # a later batch has begun
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=300)[0].decode()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "interrupted while taking the later batches" in output
    assert "Traceback" not in output
    row = _row(db, "test_a")
    assert row["outcome"] == "passed" and len(json.loads(str(row["time_batches"]))) >= 1
    reader = Reader(db)
    try:
        (run,) = reader.run_records()
    finally:
        reader.close()
    assert run.status == "interrupted"
