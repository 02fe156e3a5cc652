"""Every xt command behaves alike: options, usage errors (exit 2), exact numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_commands import xt  # the same runner over the real app
from typer.main import get_command

from xetrack import Reader, Tracker
from xetrack.cli import app

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines

BIG = 2**60 + 1


@pytest.fixture
def db(tmp_path: Path, engine: str, new_db: Any) -> Path:
    path = new_db("c")
    for commit, slow in (("a" * 40, 1.0), ("b" * 40, 1.0)):
        run = Tracker(path, engine=engine, params={"git_commit": commit, "model": "m"})
        run.log_batch(
            [
                {"test_nodeid": "t::x", "function_time": 0.01 * slow * (1 + i / 50)}
                for i in range(6)
            ]
        )
        run.close()
    extra = Tracker(path, engine=engine, track_id="extra-run-0001")
    extra.log({"big": BIG, "epoch": 3})
    extra.close()
    return path


def test_n_has_a_short_form_and_refuses_negatives(db: Path) -> None:
    assert xt("head", db, "-n", "2")[1] == xt("head", db, "--n", "2")[1]
    assert xt("tail", db, "-n", "1", "--json")[0] == 0
    code, _, err = xt("head", db, "--n", "-3")
    assert code == 2 and "'-3' is not a number of rows (an int >= 0)" in err


def _store_commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(command: object, words: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            if getattr(sub, "commands", None):
                walk(sub, [*words, name])
            elif words[:1] != ["cache"]:  # a cache directory is not a store
                found.append([*words, name])

    walk(get_command(app), [])
    return found


def test_every_command_that_opens_a_store_takes_engine() -> None:
    commands = _store_commands()
    assert ["compare"] in commands and ["history"] in commands
    for words in commands:
        _, out, _ = xt(*words, "--help")
        assert "--engine" in out, f"xt {' '.join(words)} has no --engine"


def test_engine_ignores_case_and_a_bad_one_is_a_usage_error(
    db: Path, engine: str, tmp_path: Path
) -> None:
    assert xt("head", db, "--engine", engine.upper())[0] == 0
    assert (
        xt("compare", db, "--engine", engine.capitalize(), "--repo", tmp_path)[0] == 0
    )
    code, _, err = xt("head", db, "--engine", "oracle")
    assert code == 2 and "oracle" in err and "sqlite" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "{db}", "--format", "yaml"], "yaml"),
        (["compare", "{db}", "--min-effect", "5"], "write 5% or 0.05"),
        (
            ["compare", "{db}", "--fail", "function_time"],
            "is not METRIC:N% or METRIC:N",
        ),
        (["plot", "hist", "{db}", "epoch", "--bins", "0"], "0"),
        (["history", "{db}", "--last", "0"], "0"),
        (
            ["set", "{db}", "epoch", "4"],
            "--track-id, --where-key/--where-value or --all",
        ),
    ],
)
def test_usage_errors_exit_2_and_change_nothing(
    db: Path, args: list[str], message: str
) -> None:
    before = Reader.read_db(db)
    code, _, err = xt(*[a.format(db=db) for a in args])
    assert code == 2 and message in err, err
    assert Reader.read_db(db).equals(before)


def test_set_on_every_row_needs_all(db: Path) -> None:
    code, out, _ = xt("set", db, "reviewer", "ana", "--all")
    assert code == 0 and "on 13 rows" in out
    assert set(Reader.read_db(db)["reviewer"]) == {"ana"}


def test_compare_min_effect_reads_a_percentage(db: Path, tmp_path: Path) -> None:
    code, out, _ = xt(
        "compare", db, "--min-effect", "5%", "--format", "json", "--repo", tmp_path
    )
    assert code == 0 and json.loads(out)["min_effect"] == 0.05


def test_compare_base_latest_is_never_the_head_run(db: Path, tmp_path: Path) -> None:
    code, out, _ = xt("compare", db, "latest", "--format", "json", "--repo", tmp_path)
    data = json.loads(out)
    assert code == 0 and data["base"]["track_id"] != data["head"]["track_id"]


def test_compare_fail_on_an_unknown_metric_lists_the_comparable_ones(
    db: Path, tmp_path: Path
) -> None:
    tracks = Reader(db).track_ids()
    code, _, err = xt(
        "compare", db, tracks[0], tracks[1], "--fail", "time:5%", "--repo", tmp_path
    )
    assert code == 2 and "no benchmark has a metric 'time'" in err
    assert "comparable metrics: function_time" in err


def test_compare_fail_without_a_baseline_is_not_green(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    path = new_db("one")
    Tracker(path, engine=engine).log({"test_nodeid": "t::x", "function_time": 0.1})
    code, _, err = xt("compare", path, "--fail", "function_time:5%", "--repo", tmp_path)
    assert code == 1 and "--fail function_time:5% was not applied: no baseline" in err


def test_plot_hist_of_a_text_column_names_its_type(db: Path) -> None:
    code, _, err = xt("plot", "hist", db, "model")
    assert code == 1 and "column 'model' holds text values" in err
    assert xt("plot", "scatter", db, "model", "epoch")[0] == 1


def test_json_and_tables_show_ints_exactly(db: Path) -> None:
    code, out, _ = xt("tail", db, "--n", "1", "--json")
    assert code == 0 and json.loads(out)[0]["big"] == BIG
    # the timestamp can contain "3.0" (14:06:33.07), so look at the value's own text
    assert json.loads(out)[0]["epoch"] == 3 and '"epoch": 3.0' not in out
    _, table, _ = xt("tail", db, "--n", "2")
    # cells, not the text: a run id can hold "nan" (nano-, banana-)
    cells = {c.strip() for line in table.splitlines() for c in line.split("|")}
    assert str(BIG) in cells and not cells & {"nan", "NaN", "<NA>", "None"}
    flagged = Tracker(db, track_id="flag-run-0001")
    flagged.log({"ok": True})
    flagged.close()
    _, table, _ = xt("tail", db, "--n", "3")
    (line,) = [row for row in table.splitlines() if "flag-run-0001" in row]
    assert "True" in line.split("|")[-2] and " 1 " not in line
