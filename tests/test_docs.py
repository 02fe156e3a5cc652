"""The README's Python snippets and the examples run, as written."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_snippets_run_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ```python block runs, in order, in one namespace, in an empty folder."""
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 10
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("readme_snippets")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"README.md block {number}", "exec"), module.__dict__)
        except Exception as exc:  # name the block, not just the line
            raise AssertionError(
                f"README python block {number} failed:\n{block}"
            ) from exc


def test_readme_postgres_snippets_run_against_a_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_server: Any
) -> None:
    """The ```python postgres blocks run on the test server: the README's example
    URL stands for a schema of its own there."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python postgres\n(.*?)```", text, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for number, block in enumerate(blocks, 1):
        code = block.replace(
            '"postgresql://ci@db.example:5432/bench"', repr(pg_server.new_url())
        )
        assert code != block, f"README postgres block {number} names no server"
        exec(compile(code, f"README.md postgres block {number}", "exec"), namespace)


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)[:2]
    assert commands[0].endswith("python examples/demo.py")
    assert commands[1].endswith("python -m pytest -n 2")
    ci = (ROOT / ".ci" / "run").read_text()
    for step in commands[1].split(" && "):
        assert step in ci, f".ci/run does not do `{step}` as the README says"


def test_examples_run_all_passes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_all.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9 passed, 0 failed" in done.stdout
