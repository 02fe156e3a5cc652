"""xt runs: the runs table through the command line, with its filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xetrack import Tracker
from xetrack.cli import app

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def _runs(*args: object) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["runs", *map(str, args), "--json"])
    rows = json.loads(result.stdout) if result.exit_code == 0 else []
    return result.exit_code, rows, result.stderr


def test_xt_runs_filters_by_status_commit_branch_and_since(
    db_path: Path, engine: str
) -> None:
    with Tracker(
        db_path,
        engine=engine,
        track_id="good-0001",
        params={"git_commit": "c" * 40, "git_branch": "main"},
    ) as tracker:
        tracker.log({"x": 1})
    with pytest.raises(ZeroDivisionError):
        with Tracker(
            db_path,
            engine=engine,
            track_id="bad-0001",
            params={"git_commit": "d" * 40, "git_branch": "topic"},
        ) as tracker:
            tracker.log({"x": 1 / 1})
            tracker.log({"x": 1 / 0})
    code, rows, _ = _runs(db_path)
    assert code == 0 and [r["track_id"] for r in rows] == ["good-0001", "bad-0001"]
    assert rows[1]["status"] == "failed" and "ZeroDivisionError" in rows[1]["error"]
    assert [r["track_id"] for r in _runs(db_path, "--status", "failed")[1]] == [
        "bad-0001"
    ]
    assert [r["track_id"] for r in _runs(db_path, "--commit", "cccc")[1]] == [
        "good-0001"
    ]
    assert [r["track_id"] for r in _runs(db_path, "--branch", "topic")[1]] == [
        "bad-0001"
    ]
    assert _runs(db_path, "--since", "2999-01-01")[1] == []
    assert len(_runs(db_path, "--since", "1h")[1]) == 2


def test_xt_runs_names_a_bad_filter(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with Tracker(db) as tracker:
        tracker.log({"x": 1})
    code, _, err = _runs(db, "--status", "done")
    assert code == 1 and "status 'done' is not one of running, finished" in err
    code, _, err = _runs(db, "--since", "last tuesday")
    assert code == 1 and "since 'last tuesday' is neither a date" in err
