"""Tracker: the reference API on both engines, against real files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from xetrack import Reader, Tracker

pytestmark = pytest.mark.all_engines


def test_log_adds_columns_on_first_use_and_returns_row_as_stored(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, params={"model": "resnet18"}, engine=engine)
    row = tracker.log({"accuracy": 0.9, "epoch": 1})
    assert row["accuracy"] == 0.9 and row["epoch"] == 1 and row["model"] == "resnet18"
    assert row["track_id"] == tracker.track_id
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", str(row["timestamp"])
    )
    tracker.log({"loss": 0.1})
    assert tracker.columns == [
        "timestamp",
        "track_id",
        "accuracy",
        "epoch",
        "model",
        "loss",
    ]
    assert tracker[2] == {**tracker.latest, "accuracy": None, "epoch": None}
    assert tracker[1] == {**row, "loss": None}


def test_params_are_on_every_row_and_data_wins_over_params(db_path: Path) -> None:
    tracker = Tracker(db_path, params={"model": "a", "lr": 0.1})
    tracker.set_param("dataset", "cifar")
    tracker.set_params({"seed": 3})
    row = tracker.log({"lr": 0.5})
    assert row["lr"] == 0.5 and row["model"] == "a" and row["dataset"] == "cifar"
    assert tracker.params == {"model": "a", "lr": 0.1, "dataset": "cifar", "seed": 3}


def test_queries_of_this_run(db_path: Path, engine: str) -> None:
    other = Tracker(db_path, engine=engine, track_id="other-run-0001")
    other.log({"x": -1})
    other.close()
    tracker = Tracker(db_path, engine=engine)
    for i in range(10):
        tracker.log({"x": i, "even": i % 2 == 0})
    assert tracker.count_run() == len(tracker) == 10
    assert tracker.count_all() == 11
    assert list(tracker.head(3)["x"]) == [0, 1, 2]
    assert list(tracker.tail(3)["x"]) == [7, 8, 9]
    assert list(tracker.to_df()["x"]) == list(range(10))
    assert len(tracker.to_df(all=True)) == 11
    assert list(tracker["x"]) == list(range(10))
    assert tracker["even"].tolist() == [i % 2 == 0 for i in range(10)]
    assert tracker[-1]["x"] == 9 and tracker[1]["even"] is True
    with pytest.raises(
        IndexError, match="row 11 is out of range: this run has 10 rows"
    ):
        tracker[11]
    with pytest.raises(LookupError, match=r"no column 'nope'.*columns: 'timestamp'"):
        tracker["nope"]
    assert repr(tracker) == repr(tracker.to_df())


def test_set_value_and_set_where_touch_only_this_run(
    db_path: Path, engine: str
) -> None:
    other = Tracker(db_path, engine=engine)
    other.log({"label": "a", "score": 1})
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"label": "a", "score": 2})
    tracker.log({"label": "b", "score": 3})
    assert tracker.set_value("test_accuracy", 0.93) == 2
    assert tracker.set_where("good", True, "label", "a") == 1
    frame = tracker.to_df()
    assert frame["test_accuracy"].tolist() == [0.93, 0.93]
    assert frame["good"].tolist()[0] is True and pd.isna(frame["good"].tolist()[1])
    assert pd.isna(other.to_df()["test_accuracy"]).all()


def test_reset_drops_earlier_rows(db_path: Path, engine: str) -> None:
    Tracker(db_path, engine=engine).log({"x": 1})
    tracker = Tracker(db_path, engine=engine, reset=True)
    assert tracker.count_all() == 0 and tracker.columns == ["timestamp", "track_id"]


def test_tables_are_separate(db_path: Path, engine: str) -> None:
    models = Tracker(db_path, engine=engine, table="models")
    data = Tracker(db_path, engine=engine, table="select")  # a keyword works as a name
    models.log({"acc": 1.0})
    data.log({"rows": 10})
    assert models.columns[-1] == "acc" and data.columns[-1] == "rows"
    assert Reader(db_path, table="select").to_df()["rows"].tolist() == [10]


def test_log_batch_writes_all_rows_in_one_call(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    last = tracker.log_batch([{"step": i, "loss": 1 / (i + 1)} for i in range(500)])
    assert last["step"] == 499 and tracker.latest["step"] == 499
    assert tracker["step"].tolist() == list(range(500))
    assert tracker.log_batch([]) == {}


def test_log_batch_is_all_or_nothing(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"n": 1})
    with pytest.raises(TypeError, match="column 'n' holds integer values but got 'x'"):
        tracker.log_batch([{"n": 2}, {"n": 3}, {"n": "x"}])
    assert tracker["n"].tolist() == [1]


def test_generate_track_id_is_readable() -> None:
    ids = {Tracker.generate_track_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)+-\d{4}", i) for i in ids)


def test_exports(db_path: Path, engine: str, tmp_path: Path) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log_batch([{"a": i, "b": f"s{i}"} for i in range(3)])
    tracker.to_csv(tmp_path / "out.csv")
    tracker.to_parquet(tmp_path / "out.parquet")
    assert pd.read_csv(tmp_path / "out.csv")["a"].tolist() == [0, 1, 2]
    import duckdb

    parquet = duckdb.connect().execute(
        "SELECT b FROM read_parquet(?)", [str(tmp_path / "out.parquet")]
    )
    assert [r[0] for r in parquet.fetchall()] == ["s0", "s1", "s2"]


def test_properties(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"i": 1, "f": 1.5, "s": "x", "b": True, "raw": b"\x00"})
    assert tracker.db == str(db_path) and tracker.table_name == "default"
    expected = {
        "sqlite": ["TEXT", "TEXT", "INTEGER", "REAL", "TEXT", "BOOLEAN", "BLOB"],
        "duckdb": [
            "VARCHAR",
            "VARCHAR",
            "BIGINT",
            "DOUBLE",
            "VARCHAR",
            "BOOLEAN",
            "BLOB",
        ],
        "postgres": [
            "text",
            "text",
            "bigint",
            "double precision",
            "text",
            "boolean",
            "bytea",
        ],
    }[engine]
    assert list(tracker.dtypes.values()) == expected
    assert tracker.conn.execute('SELECT COUNT(*) FROM "default"').fetchone()[0] == 1


def test_in_memory_and_skip_insert_write_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    memory = Tracker(Tracker.IN_MEMORY)
    memory.log({"a": 1})
    assert memory.count_all() == 1
    skip = Tracker(Tracker.SKIP_INSERT, params={"p": 1})
    row = skip.log({"a": 2})
    assert row["a"] == 2 and skip.latest["p"] == 1 and skip.count_all() == 0
    assert list(tmp_path.iterdir()) == []


def test_git_commit_on_every_row(tmp_path: Path, engine: str, new_db: Any) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def run(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    run("init", "-q")
    run(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "c",
    )
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    tracker = Tracker(new_db("g"), engine=engine, git_root=repo)
    assert tracker.log({"x": 1})["git_commit"] == sha and len(sha) == 40


def test_git_root_outside_a_repository_warns_and_stores_null(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.warns(UserWarning, match="not inside a git repository"):
        tracker = Tracker(tmp_path / "g.db", git_root=outside)
    assert tracker.log({"x": 1})["git_commit"] is None
    assert Reader(tmp_path / "g.db").to_df()["git_commit"].isna().all()


def test_context_manager_closes(db_path: Path, engine: str) -> None:
    with Tracker(db_path, engine=engine) as tracker:
        tracker.log({"x": 1})
    assert Reader(db_path).to_df()["x"].tolist() == [1]


def test_repr_of_a_long_run_shows_head_and_tail_only(tmp_path: Path) -> None:
    tracker = Tracker(tmp_path / "long.db")
    tracker.log_batch([{"i": i} for i in range(500)])
    text = repr(tracker)
    lines = text.splitlines()
    assert lines[-1] == "[500 rows x 3 columns]" and "..." in lines
    assert lines[1].split()[0] == "0" and lines[-3].split()[0] == "499"
    assert len(lines) < 20


def test_on_write_sees_every_row_written_and_derived_trackers_inherit_it(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    seen: list[tuple[str, object]] = []
    tracker.on_write(
        lambda table, row: seen.append(
            (table, row["x"] if "x" in row else row.get("function_result"))
        )
    )
    tracker.log({"x": 1})
    tracker.log_batch([{"x": 2}, {"x": 3}])
    tracker.track(lambda: 4)
    tracker.derive(table="other").log({"x": 5})
    assert seen == [
        ("default", 1),
        ("default", 2),
        ("default", 3),
        ("default", 4),
        ("other", 5),
    ]
    with pytest.raises(TypeError):
        tracker.log({"x": "not an int"})
    assert len(seen) == 5  # a refused row is not reported
