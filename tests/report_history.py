"""A generated benchmark history in a real git repository and store: commits in
order, benchmarks of very different cost, a regression and an improvement at the
last commit, a new and a missing benchmark, a declared metric. The report tests
and benchmarks/bench_report.py (100 benchmarks x 100 commits) build it, and open
it in Chromium with the flags below."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from xetrack import Tracker

#: Debian's Chromium, and the flags it runs headless with here (no sandbox as
#: root, nothing fetched in the background)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENV = {
    "python_version": "3.11.9",
    "platform": "Linux-6.1-x86_64",
    "cpu_model": "Generated CPU @ 3.0GHz",
    "cpu_count": 8,
    "xdist_workers": 0,
}
#: name -> typical seconds of one call
COSTS = {
    "test_tiny": 0.65e-6,
    "test_parse": 54e-6,
    "test_query": 14e-3,
    "test_regress": 20e-6,
    "test_improve": 3e-3,
    "test_gone": 1e-4,
    "test_new": 2e-5,
}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commits(repo: Path, count: int) -> list[str]:
    """``count`` commits on main, oldest first."""
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    shas = []
    for number in range(count):
        _git(repo, "commit", "-q", "--allow-empty", "-m", f"change {number}")
        shas.append(_git(repo, "rev-parse", "HEAD"))
    return shas


def cost_at(name: str, index: int, count: int) -> float | None:
    """The true cost of ``name`` at commit ``index`` (None: not in the suite)."""
    if name in COSTS:
        base = COSTS[name]
    else:  # generated: 0.5 µs to 50 ms, spread over decades
        number = int(name.rsplit("_", 1)[1])
        base = 5e-7 * 10 ** ((number % 50) / 10)
    last = index == count - 1
    if name == "test_new" and not last:
        return None
    if name == "test_gone" and last:
        return None
    if name == "test_regress" and last:
        return base * 2
    if name == "test_improve" and last:
        return base * 0.5
    return base


def make_history(
    db: Path,
    repo: Path,
    count: int = 6,
    names: Sequence[str] = tuple(COSTS),
    samples: int = 15,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """One run per commit of ``repo`` into ``db``; returns the commits."""
    rng = random.Random(seed)
    shas = commits(repo, count)
    for index, sha in enumerate(shas):
        tracker = Tracker(
            db,
            params={
                "git_commit": sha,
                "git_branch": "main",
                "env_fingerprint": "generated",
                **ENV,
            },
            warnings=False,
        )
        rows = []
        for name in names:
            cost = cost_at(name, index, count)
            if cost is None:
                continue
            # 1% noise, a run-level drift of 0.5%: unchanged reads unchanged
            drift = 1 + rng.gauss(0, 0.005)
            values = [
                cost * drift * (1 + abs(rng.gauss(0, 0.01))) for _ in range(samples)
            ]
            values.sort()
            row: dict[str, object] = {
                "test_nodeid": f"tests/bench/test_{'io' if len(name) % 2 else 'cpu'}.py::{name}",
                "outcome": "passed",
                "function_time": values[len(values) // 2],
                "time_min": values[0],
                "time_samples": json.dumps(values),
            }
            if name == "test_query":
                row["metrics"] = json.dumps({"accuracy": "max"})
                row["accuracy"] = 0.90 + 0.01 * index
            rows.append(row)
        tracker.log_batch(rows)
        tracker.close()
        if progress is not None:
            progress(index)
    return shas
