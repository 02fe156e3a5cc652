"""xt history: a metric across commits, as a table, JSON and a terminal chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from xetrack import Tracker
from xetrack.cli import app

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def _history(db: Path, engine: str) -> None:
    for number, commit in enumerate(("a" * 40, "b" * 40, "c" * 40)):
        tracker = Tracker(db, engine=engine, params={"git_commit": commit})
        tracker.log_batch(
            [
                {
                    "test_nodeid": "suite::test_fast",
                    "function_time": 0.001 * (number + 1),
                },
                {"test_nodeid": "suite::test_slow", "function_time": 0.1},
            ]
        )
        tracker.close()


def test_history_table_json_and_chart(tmp_path: Path, engine: str, new_db: Any) -> None:
    db = new_db("h")
    _history(db, engine)
    runner = CliRunner()
    result = runner.invoke(
        app, ["history", str(db), "--test", "fast", "--last", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["commit_id"], r["function_time"]) for r in rows] == [
        ("bbbbbbb", 0.002),
        ("ccccccc", 0.003),
    ]
    chart = runner.invoke(app, ["history", str(db)])
    assert chart.exit_code == 0 and "function_time by commit" in chart.stdout
    assert (
        chart.stdout.count("suite::test_") >= 6
    )  # table rows, then the chart's legend


def test_history_names_a_missing_metric(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _history(db, "sqlite")
    result = CliRunner().invoke(app, ["history", str(db), "--metric", "accuracy"])
    assert result.exit_code == 1 and "has no column 'accuracy'" in result.stderr
