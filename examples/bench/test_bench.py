"""A small benchmark suite: run it with `pytest examples/bench --xetrack-db=bench.db`.

The demo (examples/demo.py) runs it on two commits and compares them.
"""

from __future__ import annotations

import dataclasses
import os
import random

import pytest

from pytest_xetrack import track

#: The demo's second commit sets this to make one benchmark deliberately slower.
SLOWDOWN = float(os.environ.get("XETRACK_DEMO_SLOWDOWN", "1"))


@dataclasses.dataclass(frozen=True)
class SortConfig:
    size: int
    presorted: bool = False


@track
@pytest.mark.parametrize(
    "cfg",
    [SortConfig(50_000), SortConfig(200_000, presorted=True)],
    ids=["random", "sorted"],
)
def test_sort(cfg: SortConfig) -> dict[str, int]:
    rng = random.Random(0)
    data = (
        list(range(cfg.size))
        if cfg.presorted
        else [rng.random() for _ in range(cfg.size)]
    )
    return {"length": len(sorted(data))}


@track
@pytest.mark.parametrize("size", [4_000, 8_000])
def test_dict_build(size: int) -> None:
    repeats = int(SLOWDOWN)  # 3 on the demo's second commit: three times the work
    for _ in range(repeats):
        {i: str(i) for i in range(size * 5)}


@track(metrics={"accuracy": "max"})
def test_classifier() -> dict[str, float]:
    rng = random.Random(1)
    points = [(rng.random(), rng.random()) for _ in range(2_000)]
    correct = sum((x > 0.5) == (x + rng.gauss(0, 0.1) > 0.5) for x, _ in points)
    return {"accuracy": correct / len(points)}


@pytest.mark.parametrize("seed", [1, 2])
def test_experiment_rows(tracker, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    for epoch in range(3):
        tracker.log({"seed": seed, "epoch": epoch, "loss": rng.random() / (epoch + 1)})
