"""Reading big stores: selections pushed into SQL, batches streamed, dtypes kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xetrack import Reader, Tracker
from xetrack.errors import InvalidArgumentError, UnknownColumnError
from xetrack.frames import frame_from_chunks, frame_from_rows

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


@pytest.fixture
def runs(db_path: Path, engine: str) -> Path:
    for name, model in (("run-a-0001", "bert"), ("run-b-0001", "gpt")):
        tracker = Tracker(
            db_path, engine=engine, track_id=name, params={"model": model}
        )
        tracker.log_batch(
            [
                {"epoch": e, "loss": 1 / (e + 1), "tag": None if e % 3 else "x"}
                for e in range(10)
            ]
        )
        tracker.close()
    return db_path


def test_columns_where_and_limit_equal_pandas_filtering(runs: Path) -> None:
    with Reader(runs) as reader:
        everything = reader.to_df()
        picked = reader.to_df(
            columns=["epoch", "loss"], where={"track_id": "run-b-0001"}, limit=4
        )
        tagged = reader.to_df(where={"tag": None}, columns=["track_id", "epoch"])
        some = reader.to_df(where={"epoch": [1, 2, 99]}, track_id="run-a-0001")
    expected = everything[everything["track_id"] == "run-b-0001"][["epoch", "loss"]]
    pd.testing.assert_frame_equal(picked, expected.head(4).reset_index(drop=True))
    assert list(tagged.columns) == ["track_id", "epoch"]
    assert len(tagged) == int(everything["tag"].isna().sum())
    assert some["epoch"].tolist() == [1, 2]


def test_where_values_are_bound_and_columns_checked(runs: Path) -> None:
    with Reader(runs) as reader:
        assert reader.to_df(where={"track_id": "x' OR '1'='1"}).empty
        with pytest.raises(UnknownColumnError, match=r"no column 'nope\"; --'"):
            reader.to_df(where={'nope"; --': 1})
        with pytest.raises(UnknownColumnError, match="no column 'acc'"):
            reader.to_df(columns=["epoch", "acc"])
        with pytest.raises(InvalidArgumentError, match="must be a list of column"):
            reader.to_df(columns="epoch")  # type: ignore[arg-type]
        assert reader.to_df(where={"epoch": []}).empty


def test_iter_batches_streams_every_row_in_order(runs: Path) -> None:
    with Reader(runs) as reader:
        whole = reader.to_df()
        batches = list(reader.iter_batches(7))
        one_run = list(reader.iter_batches(3, track_id="run-a-0001", columns=["epoch"]))
        with pytest.raises(InvalidArgumentError, match="size=0 must be"):
            next(reader.iter_batches(0))
    assert [len(b) for b in batches] == [7, 7, 6]
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)
    assert [b["epoch"].tolist() for b in one_run] == [
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8],
        [9],
    ]


def test_a_writer_can_log_between_batches(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with Tracker(db) as tracker:
        tracker.log_batch([{"i": i} for i in range(50)])
    writer = Tracker(db)
    with Reader(db) as reader:
        seen = 0
        for batch in reader.iter_batches(10):
            seen += len(batch)
            writer.log({"i": -1})  # the file is not locked by the open read
    writer.close()
    assert seen >= 50
    assert len(Reader.read_db(db)) == 50 + 5


def test_rows_come_back_in_the_order_written_even_when_the_index_disagrees(
    db_path: Path, engine: str
) -> None:
    with Tracker(db_path, engine=engine, track_id="mixed-0001") as tracker:
        tracker.write_rows(
            [
                {"timestamp": f"2024-01-0{d} 00:00:00.000000+00:00", "i": d}
                for d in (3, 1, 2)
            ]
        )
    with Reader(db_path) as reader:
        assert reader.to_df(track_id="mixed-0001")["i"].tolist() == [3, 1, 2]


def test_tracker_to_df_takes_the_same_selection(db_path: Path, engine: str) -> None:
    with Tracker(db_path, engine=engine) as tracker:
        tracker.log_batch([{"i": i, "even": i % 2 == 0} for i in range(6)])
        frame = tracker.to_df(columns=["i"], where={"even": True}, limit=2)
    assert frame["i"].tolist() == [0, 2] and list(frame.columns) == ["i"]


def test_chunks_of_nulls_take_the_type_of_the_column() -> None:
    """Chunked reading types each column as one pass over all its values would."""
    names = ["late_float", "int_then_null", "text", "flags", "big"]
    chunks = [
        [(None, 1, None, 1, 2**60 + 1), (None, 2, "a", 0, 1)],
        [(0.5, None, "b", None, None), (1.5, 3, None, 1, 2)],
        [(None, None, None, None, None)],
    ]
    frame = frame_from_chunks(names, chunks)
    whole = frame_from_rows(names, [row for chunk in chunks for row in chunk])
    assert frame.dtypes.tolist() == whole.dtypes.tolist()
    pd.testing.assert_frame_equal(frame, whole)
    assert frame["big"].tolist()[0] == 2**60 + 1  # exact, not a float
    assert frame_from_chunks(["a"], []).columns.tolist() == ["a"]
    # one chunk (a run's rows) is read as it is, names repeated or not
    for chunk in chunks:
        pd.testing.assert_frame_equal(
            frame_from_chunks(names, [chunk]), frame_from_rows(names, chunk)
        )
    twice = frame_from_chunks(["a", "a"], [[(None, 1), (2, None)]])
    assert twice.columns.tolist() == ["a", "a"]
    assert [twice.iloc[:, i].tolist() for i in (0, 1)] == [[pd.NA, 2], [1, pd.NA]]
