"""Tiny harness: best-of-N timing and a table of figures with their raw baselines."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def user_env() -> dict[str, str]:
    """This environment with bytecode caching on, as users have it: where
    PYTHONDONTWRITEBYTECODE is set (some containers), an editable install would be
    compiled again by every subprocess we time."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in seconds (least disturbed by noise)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def race(
    raw: Callable[[], object], ours: Callable[[], object], repeat: int = 5
) -> tuple[float, float]:
    """Best times of ``raw`` and ``ours``, run alternately so drift hits both alike."""
    raw_best = ours_best = float("inf")
    for _ in range(repeat):
        raw_best = min(raw_best, best_of(raw, 1))
        ours_best = min(ours_best, best_of(ours, 1))
    return raw_best, ours_best


@dataclass
class Report:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, name: str, ours: str, raw: str, ratio: str, target: str) -> None:
        self.rows.append((name, ours, raw, ratio, target))
        print(f"  {name}: {ours} | raw {raw} | {ratio} | target {target}", flush=True)

    def table(self) -> str:
        from tabulate import tabulate

        return tabulate(
            self.rows,
            headers=["measure", "xetrack", "raw driver", "ratio", "target"],
            tablefmt="github",
        )
