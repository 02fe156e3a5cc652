"""Model monitoring: structured records to logs, no database, analysed later.

Run: python examples/08_model_monitoring.py
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pandas as pd

from xetrack import Reader, Tracker


def main() -> None:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        logs = Path(folder) / "logs"
        tracker = Tracker(
            Tracker.SKIP_INSERT, logs_path=logs, params={"service": "ranker"}
        )
        batch = pd.DataFrame(
            {
                "latency_ms": [rng.gauss(20, 3) for _ in range(50)],
                "score": [rng.random() for _ in range(50)],
            }
        )
        tracker.logger.monitor(batch)  # one record per row, the same keys every time
        tracker.logger.monitor({"latency_ms": 95.0, "score": 0.01})  # an outlier
        tracker.logger.experiment(
            {"model": "ranker-v2", "auc": 0.91}
        )  # a readable summary
        tracker.close()

        records = Reader.read_logs(logs)
        monitored = records[records["level"] == "MONITOR"]
        slow = monitored[
            monitored["latency_ms"] > monitored["latency_ms"].quantile(0.99)
        ]
        print(
            f"{len(monitored)} monitoring records; latency p50 {monitored['latency_ms'].median():.1f} ms"
        )
        print("outliers above p99:", slow["latency_ms"].round(1).tolist())
        print(
            "experiment record:",
            records[records["level"] == "EXPERIMENT"][["model", "auc"]].to_dict(
                "records"
            ),
        )


if __name__ == "__main__":
    main()
