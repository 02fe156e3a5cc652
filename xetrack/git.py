"""The git state of a working tree: commit, branch, dirty. No git, no crash."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitInfo:
    """What git says of a working tree; every field None outside a repository."""

    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


def run_git(root: str | Path, *args: str) -> str | None:
    """Output of ``git -C root ARGS``; None if git is missing or says no."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(root: str | Path) -> GitInfo:
    """Commit (full sha), branch (None when detached) and dirtiness of ``root``."""
    commit = run_git(root, "rev-parse", "--verify", "HEAD")
    if not commit:
        return GitInfo()
    branch = run_git(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    status = run_git(root, "status", "--porcelain", "--untracked-files=no")
    return GitInfo(commit, branch or None, None if status is None else bool(status))
