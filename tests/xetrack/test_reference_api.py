"""The reference API, as code written for the original xetrack uses it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xetrack import Reader, Tracker
from xetrack.errors import InvalidArgumentError, InvalidKeyError

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def test_integer_index_is_one_based_like_the_reference(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    for i in range(3):
        tracker.log({"i": i})
    assert tracker[1]["i"] == 0  # "tracker[1]  # First row as dict"
    assert tracker[3]["i"] == 2 and tracker[-1]["i"] == 2 and tracker[-3]["i"] == 0
    assert tracker[np.int64(2)]["i"] == 1  # an index from numpy or pandas
    with pytest.raises(
        IndexError, match=r"tracker\[0\].*numbered from 1.*tracker\[1\]"
    ):
        tracker[0]
    with pytest.raises(
        IndexError,
        match=r"row 4 is out of range: this run has 3 rows.*1\.\.3.*-3\.\.-1",
    ):
        tracker[4]
    with pytest.raises(IndexError, match="row -4 is out of range: this run has 3 rows"):
        tracker[-4]


def test_index_of_an_empty_run_says_it_is_empty(db_path: Path, engine: str) -> None:
    with pytest.raises(IndexError, match="this run has no rows yet"):
        Tracker(db_path, engine=engine)[1]


def test_track_id_can_be_assigned_for_later_rows(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine, track_id="first-run-0001")
    tracker.log({"x": 1})
    tracker.track_id = "second-run-0002"
    assert tracker.log({"x": 2})["track_id"] == "second-run-0002"
    assert tracker.count_run() == 1 and tracker[1]["x"] == 2
    assert Reader(db_path).track_ids() == ["first-run-0001", "second-run-0002"]
    with pytest.raises(
        InvalidArgumentError, match="track_id '' must be a non-empty str"
    ):
        tracker.track_id = ""
    assert tracker.track_id == "second-run-0002"


def test_assigned_track_id_is_the_lineage_of_later_cache_entries(
    tmp_path: Path,
) -> None:
    tracker = Tracker(tmp_path / "c.db", cache=tmp_path / "cache")
    tracker.track_id = "computing-run-0001"
    tracker.track(divmod, args=[7, 2])
    tracker.track_id = "serving-run-0002"
    tracker.track(divmod, args=[7, 2])
    assert tracker.latest["cache"] == "computing-run-0001"
    assert tracker.latest["track_id"] == "serving-run-0002"


def test_remove_asset_on_the_tracker_then_get_returns_none(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    hashed = str(tracker.log({"obj": {1, 2, 3}})["obj"])
    tracker.log({"other": {4}})
    assert len(tracker.assets) == 2 and tracker.get(hashed) == {1, 2, 3}
    assert tracker.remove_asset(hashed) is True
    assert tracker.get(hashed) is None and len(tracker.assets) == 1
    assert tracker[1]["obj"] is None  # the cell naming it is cleared, as Reader does
    assert tracker.get("0" * 32) is None


def test_non_str_keys_are_stored_under_their_str(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    row = tracker.log({0: 0, 1.5: "a", "name": "n"})
    assert row["0"] == 0 and row["1.5"] == "a"
    frame = pd.DataFrame({0: [1, 2], 1: [3.0, 4.0]})
    tracker.log_batch(frame.to_dict("records"))
    assert tracker.columns == ["timestamp", "track_id", "0", "1.5", "name", "1"]
    assert tracker["0"].tolist() == [0, 1, 2]


def test_keys_that_become_the_same_str_are_refused_naming_both(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"x": 1})
    with pytest.raises(InvalidKeyError, match=r"keys 0 and '0' are both stored as '0'"):
        tracker.log({0: "int", "0": "str"})
    with pytest.raises(InvalidKeyError, match=r"keys '1' and 1 are both stored as '1'"):
        tracker.set_params({"1": "a", 1: "b"})
    assert tracker.count_all() == 1 and "0" not in tracker.columns


@dataclasses.dataclass(eq=False)
class Node:
    name: str
    parent: Node | None = None
    child: Node | None = None


def family() -> Node:
    """A parent whose child points back at it."""
    root = Node("root")
    root.child = Node("kid", parent=root)
    return root


def test_a_tracked_call_whose_argument_holds_a_cycle_writes_its_row(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    ran: list[str] = []
    assert tracker.track(lambda node: ran.append(node.name) or 7, args=[family()]) == 7
    row = tracker[-1]
    assert ran == ["root"] and row["function_result"] == 7
    assert row["node_name"] == "root" and row["node_child_name"] == "kid"
    assert row["node_child_parent"] == "<cycle: node>"  # shown, not followed
    assert "..." in str(row["args"])  # the args column shows it by its repr


def test_log_of_a_config_with_a_cycle_is_a_clear_error(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    with pytest.raises(ValueError, match=r"'n_child_parent' refers back to 'n'"):
        tracker.log({"n": family()})
    assert tracker.count_all() == 0


def test_an_existing_empty_file_becomes_a_duckdb_database(tmp_path: Path) -> None:
    path = tmp_path / "made-by-touch.duckdb"
    path.touch()
    tracker = Tracker(path, engine="duckdb")
    tracker.log({"a": 1})
    tracker.close()
    assert Reader(path).engine == "duckdb" and len(Reader.read_db(path)) == 1


def test_a_returned_dict_with_fixed_column_names_keeps_them_apart(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine, track_id="the-run-0001")
    tracker.track(lambda: {"track_id": "mine", "timestamp": "noon", "rowid": 3})
    row = tracker[-1]
    assert row["track_id"] == "the-run-0001" and row["result_track_id"] == "mine"
    assert row["result_timestamp"] == "noon" and row["result_rowid"] == 3
