"""Under pytest-xdist only the controller writes; no row is lost, even on a crash."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from xetrack import Reader

SUITE = """
import dataclasses, pytest
from pytest_xetrack import track

@dataclasses.dataclass(frozen=True)
class Cfg:
    n: int

@pytest.mark.parametrize("i", range(6))
def test_fixture(tracker, i):
    tracker.log({"i": i, "blob": b"\\x00\\x01", "obj": {1, 2}})

@track(rounds=3)
@pytest.mark.parametrize("cfg", [Cfg(1), Cfg(2)])
def test_bench(cfg):
    return {"value": cfg.n}
"""


@pytest.mark.parametrize("engine", ["sqlite", "duckdb", "postgres"])
def test_two_workers_rows_equal_tests_with_one_track_id(
    pytester: pytest.Pytester, tmp_path: Path, engine: str, new_db: Any
) -> None:
    pytester.makepyfile(SUITE)
    db = new_db("x")
    result = pytester.runpytest_subprocess(
        "-n", "2", f"--xetrack-db={db}", f"--xetrack-engine={engine}"
    )
    password = urlsplit(str(db)).password
    if password:  # the summary names the server, never its password
        assert password not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=8)
    reader = Reader(db)
    frame = reader.to_df()
    assert len(frame) == 8 and frame["track_id"].nunique() == 1
    assert sorted(frame["i"].dropna().astype(int)) == list(range(6))
    assert (frame["outcome"] == "passed").all()
    fixture_rows = frame[frame["test_name"] == "test_fixture"]
    assert fixture_rows["blob"].tolist() == [b"\x00\x01"] * 6
    assert reader.assets.get(fixture_rows["obj"].iloc[0]) == {
        1,
        2,
    }  # the asset came along
    result.stdout.fnmatch_lines(["*xetrack: 8 rows written to*"])


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_crashed_worker_keeps_rows_of_finished_tests(
    pytester: pytest.Pytester, tmp_path: Path, engine: str, new_db: Any
) -> None:
    pytester.makepyfile(
        """
import os

def test_a(tracker):
    tracker.log({"step": "a"})

def test_b(tracker):
    tracker.log({"step": "b"})

def test_crash(tracker):
    tracker.log({"step": "lost"})
    os._exit(3)

def test_c(tracker):
    tracker.log({"step": "c"})
"""
    )
    db = new_db("crash")
    result = pytester.runpytest_subprocess(
        "-n", "1", "-p", "no:randomly", f"--xetrack-db={db}"
    )
    result.assert_outcomes(passed=3, failed=1)
    frame = Reader(db).to_df()
    assert sorted(frame["step"]) == ["a", "b", "c"]
    assert frame["track_id"].nunique() == 1
    result.stdout.fnmatch_lines(
        ["*worker gw0 went down*rows of its finished tests were written*"]
    )
    assert not list(tmp_path.glob(".*xetrack-spool*"))  # the spools are gone
    if engine == "postgres":  # a server's are kept on this machine, gone too
        assert not list(Path(os.environ["XETRACK_SPOOL_DIR"]).rglob("*.jsonl"))


def test_a_payload_lost_on_the_way_is_written_from_the_spool(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """A worker that finished says how many payloads it sent: when the controller
    received fewer (a report that lost its payload), it reads the worker's spool
    when the worker goes down, and writes each missing row once."""
    pytester.makeconftest(
        """
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "teardown" and item.name == "test_b":
        report.__dict__.pop("xetrack_payload", None)  # lost on the way
    return report
"""
    )
    pytester.makepyfile(
        """
def test_a(tracker):
    tracker.log({"step": "a"})

def test_b(tracker):
    tracker.log({"step": "b"})

def test_c(tracker):
    tracker.log({"step": "c"})
"""
    )
    db = tmp_path / "lost.db"
    result = pytester.runpytest_subprocess("-n", "1", f"--xetrack-db={db}")
    result.assert_outcomes(passed=3)
    assert sorted(Reader(db).to_df()["step"]) == ["a", "b", "c"]
    assert not list(tmp_path.glob(".*xetrack-spool*"))


def test_without_xdist_nothing_breaks(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(SUITE)
    db = tmp_path / "plain.db"
    pytester.runpytest_subprocess(
        "-p", "no:xdist", f"--xetrack-db={db}"
    ).assert_outcomes(passed=8)
    assert len(Reader(db)) == 8
