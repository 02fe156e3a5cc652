from __future__ import annotations

from pathlib import Path

import pytest

ENGINES = ["sqlite", "duckdb"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_path(tmp_path: Path, engine: str) -> Path:
    return tmp_path / f"exp.{'db' if engine == 'sqlite' else 'duckdb'}"
