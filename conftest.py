# pytester (tests/pytest_xetrack) runs sessions in this process and unloads the
# modules they imported; numpy (under pandas) and duckdb cannot be imported twice,
# so they load before any of those sessions. At session start, not when this file
# is read: `pytest --help` in a clone stays fast and needs nothing beyond the
# package's own dependencies.
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def pytest_sessionstart(session: pytest.Session) -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
