"""Stores and repositories that tests of re-measuring suspects share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def steady_baseline(
    db: Path, commit: str, nodeid: str, seconds: float, workers: int = 0
) -> None:
    """One earlier run of ``nodeid`` at a steady ``seconds`` a call, on ``commit``."""
    from pytest_xetrack.session import environment
    from xetrack import Tracker

    base = Tracker(
        db,
        params={
            "git_commit": commit,
            "env_fingerprint": environment(workers)["env_fingerprint"],
            "test_nodeid": nodeid,
        },
    )
    samples = [seconds] * 20
    base.log(
        {"function_time": seconds, "time_samples": samples, "time_batches": [4] * 5}
    )
    base.close()


def two_commits(pytester: pytest.Pytester, git: Callable[..., str]) -> str:
    """Commit A (the baseline's), then B with the test files; A's sha."""
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "commit", "-q", "--allow-empty", "-m", "A")
    first = git(pytester.path, "rev-parse", "HEAD")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "B")
    return first
