"""``xt --help`` and every ``xt ... --help`` answer, exit 0 and print no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from xetrack.cli import app


def _paths() -> list[list[str]]:
    """Every command and group, as the words a user types: [], [head], [stats, top]..."""
    found: list[list[str]] = [[]]

    def walk(command: object, words: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            found.append([*words, name])
            walk(sub, [*words, name])

    walk(get_command(app), [])
    return found


def test_help_of_every_command_and_group() -> None:
    paths = _paths()
    assert ["stats", "top"] in paths and ["compare"] in paths and len(paths) >= 24
    runner = CliRunner()
    for words in paths:
        shown = " ".join(["xt", *words, "--help"])
        result = runner.invoke(app, [*words, "--help"])
        assert result.exception is None, f"{shown}: {result.exception!r}"
        assert result.exit_code == 0, shown
        assert result.stdout.startswith("Usage: xt"), shown


@pytest.mark.parametrize("words", [[], ["stats"], ["stats", "top"], ["compare"]])
def test_help_through_the_installed_entry_point(words: list[str]) -> None:
    xt = str(Path(sys.executable).parent / "xt")
    done = subprocess.run(
        [xt, *words, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("Usage: xt")
