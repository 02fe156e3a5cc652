"""Every xt command on both engines, through the real CLI app; bad input exits 1."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from xetrack import Reader, Tracker
from xetrack.cli import app

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines

runner = CliRunner()


def read(db: Path, **kwargs: object) -> pd.DataFrame:
    """Rows of ``db``, with the Reader closed again (DuckDB: one config per process)."""
    return Reader.read_db(db, **kwargs)  # type: ignore[arg-type]


def track_ids(db: Path) -> list[str]:
    with Reader(db) as reader:
        return reader.track_ids()


def xt(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(tmp_path: Path, engine: str, new_db: Any) -> tuple[Path, str, str, str]:
    """A database with two runs, booleans, an asset, and a second table."""
    db = new_db("cli")
    first = Tracker(db, engine=engine, track_id="first-run-0001", params={"model": "a"})
    first.log_batch(
        [{"acc": 0.5 + i / 10, "epoch": i, "good": i % 2 == 0} for i in range(3)]
    )
    asset = str(first.log({"acc": 0.1, "epoch": 9, "model_obj": {1, 2}})["model_obj"])
    first.close()
    second = Tracker(
        db, engine=engine, track_id="second-run-0002", params={"model": "b"}
    )
    second.log_batch(
        [
            {"acc": 0.9, "epoch": 1, "good": True},
            {"acc": 0.7, "epoch": 2, "good": False},
        ]
    )
    second.close()
    other = Tracker(db, engine=engine, table="other")
    other.log({"z": 1})
    other.close()
    return db, first.track_id, second.track_id, asset


def test_head_tail_json_and_table(store: tuple[Path, str, str, str]) -> None:
    db, *_ = store
    code, out, _ = xt("head", db, "--n", "2", "--json")
    assert code == 0 and [r["epoch"] for r in json.loads(out)] == [0, 1]
    code, out, _ = xt("tail", db, "--n", "1", "--json")
    assert [r["acc"] for r in json.loads(out)] == [0.7]
    code, out, _ = xt("head", db)
    lines = out.splitlines()
    assert lines[0].startswith("| timestamp") and set(lines[1]) <= {
        "|",
        "-",
        ":",
    }  # markdown table
    code, out, _ = xt("tail", db, "--table", "other", "--json")
    assert json.loads(out)[0]["z"] == 1


def test_columns_and_ls(store: tuple[Path, str, str, str], engine: str) -> None:
    db, first, second, _ = store
    code, out, _ = xt("columns", db)
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()][:3] == [
        "timestamp",
        "track_id",
        "acc",
    ]
    declared = {"sqlite": "REAL", "duckdb": "DOUBLE", "postgres": "double precision"}
    assert f"acc\t{declared[engine]}" in out
    code, out, _ = xt("ls", db, "--json")
    assert [r["column"] for r in json.loads(out)][:3] == [
        "timestamp",
        "track_id",
        "acc",
    ]
    code, out, _ = xt("ls", db, "track_id", "--unique", "--json")
    assert [r["track_id"] for r in json.loads(out)] == [first, second]
    code, out, _ = xt("ls", db, "epoch", "--track-id", second, "--json")
    assert [r["epoch"] for r in json.loads(out)] == [1, 2]


def test_sql_in_the_store_dialect(store: tuple[Path, str, str, str]) -> None:
    db, *_ = store
    code, out, _ = xt(
        "sql",
        db,
        'SELECT model, COUNT(*) AS n FROM "default" GROUP BY model ORDER BY model',
        "--json",
    )
    assert code == 0 and json.loads(out) == [
        {"model": "a", "n": 4},
        {"model": "b", "n": 2},
    ]


def test_set_types_the_value_as_the_column(store: tuple[Path, str, str, str]) -> None:
    db, first, second, _ = store
    code, out, _ = xt("set", db, "acc", "0.8", "--track-id", second)
    assert code == 0 and "on 2 rows" in out
    assert read(db, track_id=second)["acc"].tolist() == [0.8, 0.8]
    code, out, _ = xt(
        "set", db, "note", "best", "--where-key", "epoch", "--where-value", "1"
    )
    assert code == 0 and "on 2 rows" in out
    frame = read(db)
    assert sorted(frame[frame["note"] == "best"]["epoch"]) == [1, 1]
    code, _, _ = xt("set", db, "flagged", "true", "--track-id", first)
    assert read(db, track_id=first)["flagged"].tolist() == [True] * 4


def test_delete_and_runs(store: tuple[Path, str, str, str]) -> None:
    db, first, second, _ = store
    code, out, _ = xt("runs", db, "--json")
    runs = json.loads(out)
    assert [r["track_id"] for r in runs] == [first, second] and [
        r["rows"] for r in runs
    ] == [4, 2]
    code, out, _ = xt("delete", db, first)
    assert code == 0 and "deleted 4 rows" in out
    assert track_ids(db) == [second]


def test_stats_describe_top_bottom(store: tuple[Path, str, str, str]) -> None:
    db, *_ = store
    code, out, _ = xt("stats", "describe", db, "--columns", "acc,epoch", "--json")
    stats = {r["stat"]: r for r in json.loads(out)}
    assert code == 0 and stats["count"]["acc"] == 6 and stats["max"]["epoch"] == 9
    code, out, _ = xt("describe", db, "--columns", "acc", "--json")
    assert code == 0 and {r["stat"] for r in json.loads(out)} >= {"mean", "std"}
    code, out, _ = xt("stats", "top", db, "acc", "--json")
    assert [r["acc"] for r in json.loads(out)] == [0.9]
    code, out, _ = xt("stats", "bottom", db, "acc", "--json")
    assert [r["epoch"] for r in json.loads(out)] == [9]
    code, out, _ = xt("stats", "top", db, "acc", "--by", "model", "--json")
    assert sorted((r["model"], r["acc"]) for r in json.loads(out)) == [
        ("a", 0.7),
        ("b", 0.9),
    ]


def test_assets_ls_export_delete(
    store: tuple[Path, str, str, str], tmp_path: Path
) -> None:
    db, _, _, asset = store
    code, out, _ = xt("assets", "ls", db, "--json")
    assert code == 0 and [r["hash"] for r in json.loads(out)] == [asset]
    code, out, _ = xt("assets", "export", db, asset, tmp_path / "obj.pkl")
    assert code == 0
    with open(tmp_path / "obj.pkl", "rb") as handle:
        assert cloudpickle.load(handle) == {1, 2}
    code, out, _ = xt("assets", "delete", db, asset)
    with Reader(db) as reader:
        assert code == 0 and reader.assets.hashes() == []
    assert read(db)["model_obj"].isna().all()


def test_cache_ls_and_delete(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    tracker = Tracker(tmp_path / "c.db", cache=cache)
    tracker.track(pow, args=[2, 10])
    tracker.close()
    code, out, _ = xt("cache", "ls", cache, "--json")
    entries = json.loads(out)
    assert (
        code == 0
        and entries[0]["function"] == "builtins.pow"
        and entries[0]["track_id"] == tracker.track_id
    )
    code, out, _ = xt("cache", "delete", cache, tracker.track_id)
    assert code == 0 and "deleted 1 cache entries" in out
    code, _, err = xt("cache", "delete", cache, tracker.track_id)
    assert code == 1 and "no cache entries computed by" in err


def test_copy_round_trip_sqlite_duckdb_sqlite(tmp_path: Path) -> None:
    source = tmp_path / "a.db"
    tracker = Tracker(source, track_id="orig-run-0001")
    tracker.log_batch(
        [
            {
                "i": i,
                "f": i / 2,
                "s": f"s{i}",
                "b": i % 2 == 0,
                "raw": b"\x01",
                "obj": (i, "t"),
            }
            for i in range(5)
        ]
    )
    tracker.log({"i": 9, "model": {3, 4}})
    tracker.close()
    middle, back = tmp_path / "b.duckdb", tmp_path / "c.db"
    code, out, _ = xt("copy", source, middle, "--engine", "duckdb")
    assert code == 0 and "copied 6 rows" in out
    code, out, _ = xt("copy", middle, back, "--engine", "sqlite")
    assert "copied 6 rows" in out
    code, out, _ = xt("copy", middle, back)
    assert "copied 0 rows" in out
    original, copied = Reader(source), Reader(back)
    assert copied.engine == "sqlite" and Reader(middle).engine == "duckdb"
    for index in range(6):
        assert original._events.row(index) == copied._events.row(index)
    assert copied.dtypes == original.dtypes
    hashed = str(copied.to_df()["model"].dropna().iloc[0])
    assert copied.assets.get(hashed) == {3, 4}
    code, out, _ = xt("copy", source, back, "--no-assets")
    assert "copied 0 rows" in out


BAD = [
    ("missing file", ["head", "{missing}"], "no database at"),
    ("text file", ["head", "{text}"], "is neither an SQLite nor a DuckDB database"),
    ("unknown table", ["head", "{db}", "--table", "nope"], "no table 'nope'"),
    ("unknown column", ["ls", "{db}", "nope"], "no column 'nope'"),
    ("unknown column top", ["stats", "top", "{db}", "nope"], "no column 'nope'"),
    ("unknown track_id", ["delete", "{db}", "no-such-run"], "no run 'no-such-run'"),
    (
        "unknown track_id set",
        ["set", "{db}", "acc", "1", "--track-id", "no-such-run"],
        "no run 'no-such-run'",
    ),
    (
        "unknown hash",
        ["assets", "export", "{db}", "deadbeef", "{out}"],
        "no asset 'deadbeef'",
    ),
    (
        "unknown hash delete",
        ["assets", "delete", "{db}", "deadbeef"],
        "no asset 'deadbeef'",
    ),
    ("sql syntax", ["sql", "{db}", "SELEC x"], "query failed"),
    (
        "value does not fit",
        ["set", "{db}", "epoch", "abc", "--all"],
        "value 'abc' does not fit column 'epoch', which holds integer values",
    ),
    (
        "where is not sql",
        [
            "set",
            "{db}",
            "acc",
            "1",
            "--where-key",
            "1=1 OR epoch",
            "--where-value",
            "1",
        ],
        "no column '1=1 OR epoch'",
    ),
    ("missing cache dir", ["cache", "ls", "{missing}"], "no cache directory at"),
    (
        "copy unknown table",
        ["copy", "{db}", "{out}", "--table", "nope"],
        "no table 'nope'",
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_exit_1_nothing_modified(
    store: tuple[Path, str, str, str],
    tmp_path: Path,
    case: str,
    args: list[str],
    message: str,
) -> None:
    db, *_ = store
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    values = {
        "db": db,
        "missing": tmp_path / "missing.db",
        "text": text,
        "out": tmp_path / "out.bin",
    }
    before = read(db)
    code, out, err = xt(*[a.format(**values) for a in args])
    assert code == 1, out
    assert (
        message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    )
    assert read(db).equals(before)
    assert text.read_text() == "hello"


def test_usage_errors_exit_2(store: tuple[Path, str, str, str]) -> None:
    db, *_ = store
    code, _, err = xt("set", db, "acc", "1", "--where-key", "epoch")
    assert code == 2 and "--where-key and --where-value go together" in err
    code, _, _ = xt("head")
    assert code == 2


def test_plot_draws_in_the_terminal(store: tuple[Path, str, str, str]) -> None:
    db, *_ = store
    code, out, _ = xt("plot", "hist", db, "acc", "--bins", "5")
    assert code == 0 and "acc (6 values)" in out
    code, out, _ = xt("plot", "scatter", db, "epoch", "acc")
    assert code == 0 and "epoch" in out


def test_plot_without_plotext_names_the_extra(
    store: tuple[Path, str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, *_ = store
    monkeypatch.setitem(sys.modules, "plotext", None)
    code, _, err = xt("plot", "hist", db, "acc")
    assert (
        code == 1
        and err.strip() == "xt: plotting needs plotext: pip install 'xetrack[plot]'"
    )


def _commands() -> list[str]:
    root = get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names.extend(f"{name} {s}" for s in sub) if sub else names.append(name)
    return sorted(names)


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    commands = _commands()
    assert len(commands) >= 19
    for command in commands:
        code, out, _ = xt(*command.split(), "--help")
        assert code == 0 and len(out.splitlines()) > 3, command
        doc = re.search(r"Usage: .*\n\s*\n\s*(\S.*)", out)
        assert doc, f"xt {command} has no help text"
        assert f"xt {command}" in readme, f"README does not show `xt {command}`"


def test_the_installed_entry_point_exits_1_without_traceback(tmp_path: Path) -> None:
    xt_path = Path(sys.executable).parent / "xt"
    done = subprocess.run(
        [str(xt_path), "head", str(tmp_path / "nope.db")],
        capture_output=True,
        text=True,
    )
    assert (
        done.returncode == 1
        and done.stderr.startswith("xt: no database at")
        and "Traceback" not in done.stderr
    )
