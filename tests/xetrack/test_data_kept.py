"""Rows are kept and never doubled: a recreated table, copying twice, name clashes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from xetrack import Reader, Tracker, copy
from xetrack.cli import app
from xetrack.errors import InvalidKeyError

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def test_a_tracker_recovers_after_another_recreates_its_table(
    db_path: Path, engine: str
) -> None:
    first = Tracker(db_path, engine=engine)
    first.log({"x": 1})
    first.log({"x": 2})  # the plan of this row shape is cached now
    second = Tracker(db_path, engine=engine, reset=True)
    second.log({"y": 10})
    first.log({"x": 3})
    first.log_batch([{"x": 4}, {"x": 5, "z": "new"}])
    rows = second.to_df(all=True)
    assert rows["x"].dropna().astype(int).tolist() == [3, 4, 5]
    assert rows["y"].dropna().astype(int).tolist() == [10]
    first.close()
    second.close()


def test_copy_twice_adds_nothing_with_null_fixed_columns_and_after_xt_set(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    source = new_db("src")
    target = new_db("dst")
    with Tracker(source, engine=engine, track_id="run-1") as tracker:
        tracker.log_batch([{"acc": 0.1 * i, "epoch": i} for i in range(3)])
        tracker.conn.execute(  # a row written by another tool: NULL run and time
            'INSERT INTO "default" (acc, epoch) VALUES (0.9, 9)'
        )
    assert copy(source, target) == 4
    assert copy(source, target) == 0
    result = CliRunner().invoke(
        app, ["set", str(target), "acc", "0.5", "--track-id", "run-1"]
    )
    assert result.exit_code == 0, result.stderr
    assert copy(source, target) == 0
    frame = Reader.read_db(target)
    assert len(frame) == 4 and frame["track_id"].isna().sum() == 1


@dataclasses.dataclass(frozen=True)
class Cfg:
    lr: float


def test_a_config_field_and_a_key_of_the_same_name_are_refused() -> None:
    tracker = Tracker(Tracker.IN_MEMORY)
    for data in ({"cfg": Cfg(0.1), "cfg_lr": 99.0}, {"cfg_lr": 99.0, "cfg": Cfg(0.1)}):
        with pytest.raises(InvalidKeyError, match=r"'cfg_lr'.*field 'lr'.*'cfg'"):
            tracker.log(data)
    with pytest.raises(InvalidKeyError, match="cfg_lr"):
        tracker.log_batch([{"cfg": Cfg(0.2)}, {"cfg": Cfg(0.1), "cfg_lr": 1.0}])
    assert tracker.count_run() == 0  # nothing half-written
    assert tracker.log({"cfg": Cfg(0.1), "other": 1})["cfg_lr"] == 0.1


def test_an_object_param_is_stored_as_an_asset(db_path: Path, engine: str) -> None:
    with Tracker(db_path, engine=engine, params={"model": {1, 2}}) as tracker:
        row = tracker.log({"x": 1})
        assert tracker.get(str(row["model"])) == {1, 2}
