"""Assets: objects beside the rows, stored once, in the same database file."""

from __future__ import annotations

import threading
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from xetrack import Reader, Tracker
from xetrack.assets import UnknownAssetError
from xetrack.errors import InvalidValueError

pytestmark = pytest.mark.all_engines


class Model:
    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def predict(self, x: float) -> float:
        return sum(self.weights) * x


def test_object_is_stored_as_asset_and_cell_holds_hash(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    row = tracker.log({"model": Model([1.0, 2.0]), "accuracy": 0.9})
    hashed = str(row["model"])
    assert len(hashed) == 32 and tracker[1]["model"] == hashed
    assert tracker.get(hashed).predict(2.0) == 6.0
    if engine != "postgres":  # in the same file: no folder beside it
        assert (
            db_path.exists()
            and [p.name for p in db_path.parent.iterdir() if p.is_dir()] == []
        )
    reader = Reader(db_path)
    assert reader.assets.get(hashed).weights == [1.0, 2.0]
    assert "_xetrack_assets" not in reader.tables()


def test_the_same_object_logged_1000_times_is_stored_once(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    model = Model([0.5] * 100)
    tracker.log_batch([{"model": model, "i": i} for i in range(500)])
    for i in range(500):
        tracker.log({"model": model, "i": i})
    assert tracker.count_run() == 1000
    assert len(tracker.assets.list()) == 1
    assert (
        tracker.conn.execute('SELECT COUNT(*) FROM "_xetrack_assets"').fetchone()[0]
        == 1
    )


def test_numpy_array_round_trips(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    array = np.arange(12).reshape(3, 4)
    row = tracker.log({"array": array})
    assert np.array_equal(tracker.get(str(row["array"])), array)


def test_compressed_assets(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine, compress=True)
    big = Model([0.0] * 20_000)
    hashed = str(tracker.log({"model": big})["model"])
    data, size, compressed = tracker.conn.execute(
        'SELECT data, size, compressed FROM "_xetrack_assets"'
    ).fetchone()
    assert len(data) < size / 10 and bool(compressed) is True
    assert tracker.get(hashed).weights == big.weights


def test_export_writes_plain_cloudpickle(
    db_path: Path, engine: str, tmp_path: Path
) -> None:
    tracker = Tracker(db_path, engine=engine, compress=True)
    hashed = str(tracker.log({"model": Model([3.0])})["model"])
    out = tracker.assets.export(hashed, tmp_path / "model.pkl")
    with open(out, "rb") as handle:
        assert cloudpickle.load(handle).weights == [3.0]


def test_unpicklable_object_is_a_clear_error_naming_the_key(db_path: Path) -> None:
    tracker = Tracker(db_path)
    tracker.log({"x": 1})
    with pytest.raises(
        InvalidValueError, match="value of 'lock' \\(lock\\) cannot be pickled"
    ):
        tracker.log({"x": 2, "lock": threading.Lock()})
    assert tracker.count_all() == 1


def test_unknown_hash_is_a_clear_error(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    with pytest.raises(UnknownAssetError, match="no asset 'deadbeef'"):
        tracker.assets.get("deadbeef")
    assert tracker.get("deadbeef") is None  # like the reference's get
    tracker.log({"m": Model([1.0])})
    with pytest.raises(UnknownAssetError, match="no asset 'deadbeef' in"):
        tracker.assets.remove("deadbeef")


def test_remove_asset_clears_the_cells_naming_it(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)
    first = str(tracker.log({"model": Model([1.0]), "best": Model([2.0])})["model"])
    tracker.log(
        {"model": Model([1.0]), "label": first}
    )  # the same hash in another column
    tracker.close()
    reader = Reader(db_path)
    assert reader.remove_asset(first, column="model") is True
    frame = reader.to_df()
    assert frame["model"].isna().all() and frame["label"].tolist()[1] == first
    assert first not in reader.assets
    kept = str(frame["best"].tolist()[0])
    reader.remove_asset(kept)
    assert reader.to_df()["best"].isna().all()


def test_deleting_a_run_removes_assets_nothing_else_names(
    db_path: Path, engine: str
) -> None:
    shared = Model([1.0])
    one = Tracker(db_path, engine=engine)
    own = str(one.log({"model": Model([9.0]), "shared": shared})["model"])
    two = Tracker(db_path, engine=engine)
    common = str(two.log({"shared": shared})["shared"])
    one.close()
    two.close()
    reader = Reader(db_path)
    reader.delete_run(one.track_id)
    assert reader.assets.hashes() == [common]
    assert own not in reader.assets
