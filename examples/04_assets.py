"""Assets: objects (models, arrays, anything picklable) stored beside the rows, once.

Run: python examples/04_assets.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cloudpickle

from xetrack import Reader, Tracker


class Model:
    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def predict(self, x: float) -> float:
        return sum(self.weights) * x


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "assets.db"
        tracker = Tracker(db, compress=True)
        model = Model([0.5, 1.5])
        for epoch in range(100):
            row = tracker.log({"epoch": epoch, "model": model})
        hashed = str(row["model"])
        print(f"the model cell holds its hash: {hashed}")
        print(f"logged 100 times, stored {len(tracker.assets)} time(s)")
        print("restored:", tracker.get(hashed).predict(2.0))

        out = tracker.assets.export(
            hashed, Path(folder) / "model.pkl"
        )  # plain cloudpickle
        with open(out, "rb") as handle:
            print(
                "exported file loads with cloudpickle:",
                cloudpickle.load(handle).weights,
            )
        scratch = str(tracker.log({"epoch": -1, "scratch": {"a", "set"}})["scratch"])
        tracker.remove_asset(scratch)  # the object and the cells naming it
        print(
            "removed asset:",
            tracker.get(scratch),
            "| its cell:",
            tracker[-1]["scratch"],
        )
        tracker.close()

        reader = Reader(db)
        reader.delete_run(tracker.track_id)
        print("after deleting the run, assets left:", len(reader.assets.list()))
        reader.close()


if __name__ == "__main__":
    main()
