"""Function caching: an equal call is served from disk, with lineage to the run that computed it.

Run: python examples/05_function_caching.py
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from xetrack import Reader, Tracker


@dataclasses.dataclass(frozen=True)  # frozen: a stable cache key
class Job:
    size: int
    name: str


def expensive(job: Job) -> dict[str, int]:
    time.sleep(0.2)
    return {"result": job.size**2}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db, cache = Path(folder) / "cache.db", Path(folder) / "cache"
        first = Tracker(db, cache=cache)
        first.track(expensive, args=[Job(10, "a")])
        first.close()

        second = Tracker(db, cache=cache)  # a new run, as in a new process tomorrow
        start = time.perf_counter()
        second.track(
            expensive, kwargs={"job": Job(10, "a")}
        )  # same call, spelled differently
        second.track(expensive, args=[Job(11, "a")])  # a different call: computed
        print(
            f"second run took {time.perf_counter() - start:.2f} s for two calls (one was cached)"
        )

        frame = Reader(db).to_df()
        print(
            "notice: 'cache' is empty when computed, and names the computing run on a hit"
        )
        print(
            frame[
                ["track_id", "job_size", "result", "cache", "function_time"]
            ].to_string(index=False)
        )
        for key, entry in Reader.scan_cache(cache):
            print(
                f"cache entry {key[:8]}... computed by {entry['cache']} for {entry['function']}"
            )
        second.close()


if __name__ == "__main__":
    main()
