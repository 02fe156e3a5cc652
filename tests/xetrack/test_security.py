"""Values read from a database, a cache or a JSON file are data: they never reach git
as options, are never unpickled to be listed, and `sql` cannot write anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xetrack import Tracker
from xetrack.cli import app
from xetrack.compare import compare

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository with two commits."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    for message in ("first", "second"):
        _git(
            root,
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
        )
    return root


def _crafted_db(tmp_path: Path, repo: Path, commit: str, engine: str) -> Path:
    """A run on a real commit, then a run whose git_commit is ``commit``."""
    db = tmp_path / f"crafted.{engine}"
    real = _git(repo, "rev-parse", "HEAD~1")
    for track_id, value in (("base-run", real), ("evil-run", commit)):
        run = Tracker(
            db, engine=engine, track_id=track_id, params={"git_commit": value}
        )
        run.log_batch(
            [
                {"test_nodeid": "t::x", "function_time": 0.01 + i / 1000}
                for i in range(5)
            ]
        )
        run.close()
    return db


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_git_never_takes_a_stored_commit_as_an_option(
    tmp_path: Path, repo: Path, engine: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    db = _crafted_db(tmp_path, repo, f"--output={victim}", engine)
    result = compare(db, repo=repo)
    assert victim.read_text() == "precious\n"
    assert result.head is not None and result.head.track_id == "evil-run"
    assert any("is not a commit id" in note for note in result.notes)
    code = runner.invoke(app, ["compare", str(db), "--repo", str(repo)]).exit_code
    assert code == 0 and victim.read_text() == "precious\n"
    code = runner.invoke(app, ["history", str(db), "--no-chart"]).exit_code
    assert code == 0 and victim.read_text() == "precious\n"


def test_a_typed_ref_that_looks_like_an_option_is_not_one(
    tmp_path: Path, repo: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    db = _crafted_db(tmp_path, repo, _git(repo, "rev-parse", "HEAD"), "sqlite")
    result = runner.invoke(
        app, ["compare", str(db), "--repo", str(repo), "--", f"--output={victim}"]
    )
    assert result.exit_code == 1 and "no run matches" in result.stderr
    assert victim.read_text() == "precious\n"
    # an ordinary ref still resolves through git
    ok = runner.invoke(app, ["compare", str(db), "HEAD~1", "--repo", str(repo)])
    assert ok.exit_code == 0, ok.stderr
    assert "base-run" in ok.stdout
