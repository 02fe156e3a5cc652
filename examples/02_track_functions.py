"""Tracking functions: every call is a row with its timing, arguments and result.

Run: python examples/02_track_functions.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from xetrack import Tracker


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tracker = Tracker(Path(folder) / "functions.db", params={"stage": "demo"})

        def area(width: float, height: float) -> float:
            return width * height

        tracker.track(area, args=[3, 4])  # call it through the tracker ...

        @tracker.wrap(params={"kind": "wrapped"})  # ... or wrap it once
        def scores(n: int) -> dict[str, float]:
            return {"mean": (n - 1) / 2, "total": n * (n - 1) / 2}

        scores(10)

        @tracker.wrap()
        async def fetch(delay: float) -> int:
            await asyncio.sleep(delay)  # awaited and timed
            return 200

        asyncio.run(fetch(0.01))

        try:
            tracker.track(lambda: 1 / 0)
        except ZeroDivisionError:
            pass  # the failure was recorded before it was raised again

        columns = [
            "function_name",
            "function_time",
            "args",
            "function_result",
            "mean",
            "error",
        ]
        print(
            "notice: a returned dict became columns (mean, total); other results go to function_result"
        )
        print(tracker.to_df()[columns].to_string(index=False))
        tracker.close()


if __name__ == "__main__":
    main()
