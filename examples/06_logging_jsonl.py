"""Logs: every row also goes to log files, stdout or a JSONL file, and reads back typed.

Run: python examples/06_logging_jsonl.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from xetrack import Reader, Tracker


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        logs, jsonl = Path(folder) / "logs", Path(folder) / "data.jsonl"
        # SKIP_INSERT: no database at all, only the logs (data synthesis, monitoring)
        tracker = Tracker(
            Tracker.SKIP_INSERT, logs_path=logs, jsonl=jsonl, params={"model": "m1"}
        )
        tracker.log({"prompt": "Help me with my taxes", "label": 1})
        tracker.log({"prompt": "two lines:\nstill one record", "label": 0})
        tracker.close()

        print("log files:", sorted(p.name for p in logs.iterdir()))
        print("read back from the log files:")
        print(
            Reader.read_logs(logs)[["prompt", "label", "level"]].to_string(index=False)
        )
        print("\nthe JSONL file is plain JSON lines; pandas reads it directly:")
        print(
            pd.read_json(jsonl, lines=True)[
                ["timestamp", "level", "label", "model"]
            ].to_string(index=False)
        )


if __name__ == "__main__":
    main()
