# pytester (tests/pytest_xetrack) runs sessions in this process and unloads the
# modules they imported; numpy and duckdb cannot be imported twice, so they load
# before any of those sessions.
import duckdb  # noqa: F401
import pandas  # noqa: F401

pytest_plugins = ["pytester"]
