"""The installed ``xt`` entry point answers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import xetrack


def _xt() -> str:
    found = shutil.which("xt", path=str(Path(sys.executable).parent))
    assert found, "the xt console script is not installed next to this Python"
    return found


def test_xt_version_prints_the_package_version() -> None:
    done = subprocess.run([_xt(), "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.strip() == f"xt (xetrack) {xetrack.__version__}"


def test_xt_without_arguments_shows_help() -> None:
    done = subprocess.run([_xt()], capture_output=True, text=True)
    assert "Usage: xt" in done.stdout + done.stderr
