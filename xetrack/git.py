"""The git state of a working tree: commit, branch, dirty. No git, no crash."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: A commit id as git prints it (SHA-1 or SHA-256), or a prefix of one: the only
#: form in which a commit read from a database may reach git.
_COMMIT_ID: Final = re.compile(r"[0-9a-f]{4,64}")


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


def is_commit_id(value: object) -> bool:
    """True for a hex commit id (or a prefix of at least 4 digits) and nothing else."""
    return isinstance(value, str) and _COMMIT_ID.fullmatch(value) is not None


def ancestors(root: str | Path, commit: str) -> set[str] | None:
    """Every commit reachable from ``commit``; None if git cannot tell.

    ``commit`` usually comes from a database, so it is data: only a hex commit id
    is passed, and after ``--end-of-options``, never where git reads options.
    """
    if not is_commit_id(commit):
        return None
    listed = run_git(root, "rev-list", "--end-of-options", commit)
    return None if listed is None else set(listed.split())


def is_shallow(root: str | Path) -> bool:
    """True when ``root`` is a shallow clone (``git clone --depth N``)."""
    return run_git(root, "rev-parse", "--is-shallow-repository") == "true"


def has_commit(root: str | Path, commit: str) -> bool:
    """True when the repository holds ``commit``; only a hex id ever reaches git."""
    if not is_commit_id(commit):
        return False
    return run_git(root, "cat-file", "-e", "--end-of-options", commit) is not None


def resolve_commit(root: str | Path, ref: str) -> str | None:
    """The full commit id a user's ref (branch, tag, ``HEAD~2``) names, or None."""
    if not ref or ref.startswith("-"):
        return None  # no ref starts with "-"; git would read it as an option
    return run_git(
        root,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{ref}^{{commit}}",
    )
