"""``pytest --help`` works with the plugin installed, and lists every option."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_xetrack.options import add_options


class _Recorder:
    """Collects what ``add_options`` registers: option names and their help texts."""

    def __init__(self) -> None:
        self.flags: list[str] = []
        self.helps: list[str] = []
        self.ini: list[str] = []

    def getgroup(self, *args: object, **kwargs: object) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.flags.extend(names)
        self.helps.append(str(kwargs.get("help", "")))

    def addini(self, name: str, help: str, **kwargs: object) -> None:
        self.ini.append(name)


def _registered() -> _Recorder:
    recorder = _Recorder()
    add_options(recorder)  # type: ignore[arg-type]
    return recorder


def test_pytest_help_renders_and_lists_every_xetrack_option(
    pytester: pytest.Pytester,
) -> None:
    """The real entry point in a fresh interpreter, as every user of the venv runs it."""
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0, result.stderr.str()
    assert "Traceback" not in result.stderr.str()
    text = result.stdout.str()
    registered = _registered()
    assert len(registered.flags) >= 10
    for flag in registered.flags:
        assert flag in text, f"{flag} missing from pytest --help"
    for name in registered.ini:
        assert name in text, f"ini key {name} missing from pytest --help"


def test_every_help_text_survives_argparse_formatting() -> None:
    """argparse %-formats help: a bare % (as in "5%") must be written %%."""
    for text in _registered().helps:
        params = {"default": None, "dest": "x", "metavar": "X", "prog": "pytest"}
        assert isinstance(text % params, str)  # raises TypeError on a bare %


def test_pytest_help_in_this_repository_loads_its_conftest_without_test_extras() -> (
    None
):
    """A new user's `pytest --help` in a clone, after the demo's install (no dev
    extra): the root conftest and the tests' conftest (loaded too, through
    testpaths) must load, so they import no optional package and nothing heavy
    before a session really starts."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pytest", "--help"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "could not load initial conftests" not in done.stdout + done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not {"scipy", "pandas", "duckdb", "hypothesis"} & imported


@pytest.mark.parametrize("blocked", [True, False], ids=["drop-in", "pytest-benchmark"])
def test_a_session_that_records_nothing_imports_no_xetrack(
    tmp_path: Path, blocked: bool
) -> None:
    """The plugin costs nothing until a session records: with our pytest-benchmark
    drop-in registered (pytest-benchmark blocked) or with pytest-benchmark itself."""
    (tmp_path / "test_plain.py").write_text("def test_one():\n    pass\n")
    args = ["-p", "no:benchmark"] if blocked else []
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pytest", "-q", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not {m for m in imported if m.split(".")[0] == "xetrack"}
