"""Analysis: the same rows through pandas and through SQL, on both engines.

Run: python examples/07_analysis_pandas_sql.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from xetrack import Reader, Tracker


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for engine, name in (("sqlite", "runs.db"), ("duckdb", "runs.duckdb")):
            db = Path(folder) / name
            for model, base in (("resnet", 0.80), ("vit", 0.85)):
                tracker = Tracker(db, engine=engine, params={"model": model})
                tracker.log_batch(
                    [{"epoch": e, "accuracy": base + e / 100} for e in range(5)]
                )
                tracker.close()

            reader = Reader(db)  # the engine is detected from the file
            frame = reader.to_df()
            print(f"[{reader.engine}] pandas: best accuracy per model")
            print(frame.groupby("model")["accuracy"].max().to_string())
            print(f"[{reader.engine}] SQL in the store's own dialect:")
            print(
                reader.sql(
                    'SELECT model, AVG(accuracy) AS mean_accuracy FROM "default" GROUP BY model ORDER BY model'
                ).to_string(index=False)
            )
            print(
                f"[{reader.engine}] the best row per model, ranked inside the database:"
            )
            print(
                reader.top("accuracy", by="model")[
                    ["model", "epoch", "accuracy"]
                ].to_string(index=False)
            )
            print()
            reader.close()


if __name__ == "__main__":
    main()
