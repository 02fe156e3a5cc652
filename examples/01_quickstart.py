"""Quickstart: log rows, read them back with pandas, from the same file.

Run: python examples/01_quickstart.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from xetrack import Reader, Tracker


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "quickstart.db"

        tracker = Tracker(db, params={"model": "resnet18"})
        for epoch in range(1, 4):
            row = tracker.log(
                {"epoch": epoch, "accuracy": 0.7 + epoch / 10, "loss": 1 / epoch}
            )
        print("the last row, as stored (params and run id added):")
        print(row)

        tracker.set_param("dataset", "cifar10")
        tracker.log({"epoch": 4, "accuracy": 0.95, "loss": 0.2})
        tracker.set_value(
            "test_accuracy", 0.93
        )  # known only at the end: every row of the run
        print(
            f"\nrun {tracker.track_id} has {len(tracker)} rows; columns: {tracker.columns}"
        )
        # rows are numbered from 1, as in the original xetrack: [1] first, [-1] last
        print(f"first epoch: {tracker[1]['epoch']}, last epoch: {tracker[-1]['epoch']}")

        reader = Reader(db)
        frame = reader.to_df()
        print(
            "\nread back with Reader (notice: 'dataset' is empty for rows before it was set):"
        )
        print(
            frame[["epoch", "accuracy", "dataset", "test_accuracy"]].to_string(
                index=False
            )
        )
        best = frame.loc[frame["accuracy"].idxmax()]
        print(f"\nbest epoch: {best['epoch']} with accuracy {best['accuracy']:.2f}")
        reader.close()
        tracker.close()


if __name__ == "__main__":
    main()
