"""Columns whose type is not known up front: None-only keys and function_result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from xetrack import Reader, Tracker, copy
from xetrack.errors import TypeConflictError

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines

RESULTS: list[object] = [6, "done", 2.5, True, [1, 2], None, b"\x00\xff", "7"]
#: as each row reads back: a list result is stored as its JSON text, as always
STORED: list[object] = [6, "done", 2.5, True, "[1, 2]", None, b"\x00\xff", "7"]


def test_function_result_keeps_every_rows_value_whatever_its_type(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    for result, stored in zip(RESULTS, STORED, strict=True):
        assert tracker.track(lambda value=result: value) == result
        assert tracker.latest["function_result"] == stored
    assert "function_result_str" not in tracker.columns
    assert tracker["function_result"].tolist() == STORED
    assert [tracker[i]["function_result"] for i in range(1, 9)] == STORED
    frame = Reader(db_path).to_df()
    assert frame["function_result"].tolist() == STORED
    assert [type(v) for v in frame["function_result"][:4]] == [int, str, float, bool]


def test_function_result_stays_typed_while_results_agree(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.track(max, args=[3, 7])
    tracker.track(max, args=[1.5, 0.5])  # an int column widens to float, as always
    assert "JSON" not in tracker.dtypes["function_result"]
    assert tracker["function_result"].tolist() == [7, 1.5]


def test_mixed_results_in_one_batch_and_from_another_process(
    db_path: Path, engine: str
) -> None:
    first = Tracker(db_path, engine=engine)
    first.log_batch([{"function_result": 1}, {"function_result": "one"}])
    first.close()
    code = (
        "import sys\nfrom xetrack import Tracker\n"
        "t = Tracker(sys.argv[1])\nt.track(lambda: {'k': 1})\nt.track(lambda: False)\n"
        "t.track(lambda: 'two')\nt.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(db_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    values = Reader.read_db(db_path)["function_result"].tolist()
    assert values[:2] == [1, "one"] and values[3:] == [False, "two"]
    assert pd.isna(values[2])


def test_other_columns_still_refuse_a_conflicting_type(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"epoch": 1})
    with pytest.raises(TypeConflictError, match="column 'epoch' holds integer"):
        tracker.log({"epoch": "two"})


def test_a_key_logged_only_with_none_has_its_column(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"a": 1, "note": None, "n": None, "flag": None})
    assert tracker.columns == ["timestamp", "track_id", "a", "note", "n", "flag"]
    frame = Reader.read_db(db_path)
    assert list(frame.columns)[-3:] == ["note", "n", "flag"]
    assert frame[["note", "n", "flag"]].isna().all().all()
    # the first value gives the column its type; nothing was there to lose
    tracker.log({"note": "x", "n": 2**60 + 1, "flag": True})
    tracker.log({"n": None})
    assert tracker["note"].tolist()[1] == "x"
    assert tracker["n"].tolist()[1] == 2**60 + 1
    assert tracker["flag"].tolist()[1] is True
    with pytest.raises(TypeConflictError, match="column 'n' holds integer"):
        tracker.log({"n": "text now"})


def test_xt_head_shows_a_none_only_column(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"a": 1, "note": None})
    tracker.close()
    xt = str(Path(sys.executable).parent / "xt")
    done = subprocess.run([xt, "head", str(db_path)], capture_output=True, text=True)
    assert done.returncode == 0 and "note" in done.stdout.splitlines()[0]


def test_copy_keeps_mixed_and_untyped_columns(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    source = new_db("src")
    tracker = Tracker(source, engine=engine)
    tracker.track(lambda: 1)
    tracker.track(lambda: "one")
    tracker.log({"empty": None})
    tracker.close()
    other = "sqlite" if engine == "duckdb" else "duckdb"
    target = tmp_path / f"dst.{other}"
    assert copy(source, target, engine=other) == 3
    assert copy(source, target) == 0  # copying twice adds nothing
    frame = Reader.read_db(target)
    assert frame["function_result"].tolist()[:2] == [1, "one"]
    assert "empty" in frame.columns


def test_xt_set_types_a_value_for_an_untyped_or_mixed_column(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine, track_id="only-run-0001")
    tracker.log({"note": None})
    tracker.track(lambda: "text")
    tracker.track(lambda: 1)
    tracker.close()
    with Reader(db_path) as reader:
        assert (
            reader.parse("note", "5") == 5 and reader.parse("function_result", "5") == 5
        )
        reader.set_value("note", reader.parse("note", "5"))
    assert Reader.read_db(db_path)["note"].tolist() == [5, 5, 5]
