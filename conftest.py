# pytester (tests/pytest_xetrack) runs sessions in this process and unloads the
# modules they imported; numpy, scipy and duckdb cannot be imported twice, so they
# load before any of those sessions (the comparison after a session uses scipy).
import duckdb  # noqa: F401
import pandas  # noqa: F401
import scipy.stats  # noqa: F401

pytest_plugins = ["pytester"]
