"""Copying stores: SQLite to DuckDB and back; a second copy adds nothing.

Run: python examples/09_copy_stores.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from xetrack import Reader, Tracker, copy


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        source, archive = Path(folder) / "laptop.db", Path(folder) / "archive.duckdb"
        tracker = Tracker(source)
        tracker.log_batch(
            [{"step": i, "loss": 1 / (i + 1), "ok": i % 2 == 0} for i in range(10)]
        )
        tracker.log(
            {"step": 10, "weights": [0.1, 0.2], "model": {"frozen", "set"}}
        )  # a set: an asset
        tracker.close()

        print("first copy added", copy(source, archive, engine="duckdb"), "rows")
        print(
            "second copy added",
            copy(source, archive),
            "rows (rows already there are recognised)",
        )
        back = Path(folder) / "back.db"
        copy(archive, back, engine="sqlite")
        original, returned = Reader(source), Reader(back)
        same = original.to_df().equals(returned.to_df())
        print(
            "SQLite -> DuckDB -> SQLite gives back the same rows and types:",
            same and original.dtypes == returned.dtypes,
        )
        print(
            "the asset came along:",
            returned.assets.get(str(returned.to_df()["model"].dropna().iloc[0])),
        )
        original.close()
        returned.close()


if __name__ == "__main__":
    main()
