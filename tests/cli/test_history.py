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
    assert chart.exit_code == 0 and "relative to each benchmark's first" in chart.stdout
    assert (
        chart.stdout.count("suite::test_") >= 6
    )  # table rows, then the chart's legend


def test_history_names_a_missing_metric(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _history(db, "sqlite")
    result = CliRunner().invoke(app, ["history", str(db), "--metric", "accuracy"])
    assert result.exit_code == 1 and "has no column 'accuracy'" in result.stderr


def test_the_chart_is_relative_with_its_legend_under_it_and_moves_marked(
    tmp_path: Path,
) -> None:
    from report_history import make_history

    db, repo = tmp_path / "b.db", tmp_path / "repo"
    shas = make_history(
        db, repo, count=4, names=["test_tiny", "test_query", "test_regress"]
    )
    result = CliRunner().invoke(app, ["history", str(db), "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b[" not in out  # no colour into a pipe
    chart, _, legend = out.partition("relative to each benchmark's first commit")[
        2
    ].partition("└")
    # 0.65 µs and 14 ms on one axis: both read x1, the regression x2
    ticks_y = [float(line.split("┤")[0]) for line in chart.splitlines() if "┤" in line]
    assert 0.9 < min(ticks_y) < 1.1 and 1.9 < max(ticks_y) < 2.2
    assert "test_regress" not in chart  # the legend is off the data...
    below = legend.splitlines()
    assert any("test_tiny (x1 = 6" in line and "ns)" in line for line in below)
    assert any("test_query (x1 = 1" in line and "ms)" in line for line in below)
    # ...and the commit where the verdict moved is marked, on the chart and under it
    assert "▲" in chart
    assert any(
        line.strip().startswith(f"▲ {shas[-1][:7]}: ")
        and "test_regress regressed x2" in line
        for line in below
    )
    # commits in git order under the chart
    ticks = next(line for line in below if shas[0][:7] in line)
    assert ticks.index(shas[0][:7]) < ticks.index(shas[-1][:7])
