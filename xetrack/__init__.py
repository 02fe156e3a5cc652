"""xetrack: a local-first experiment tracker and benchmark store.

``import xetrack`` stays light: pandas and duckdb load when first needed.
"""

from __future__ import annotations

from xetrack.copy import copy
from xetrack.errors import XetrackError
from xetrack.reader import Reader
from xetrack.tracker import Tracker

__version__ = "0.1.0"

__all__ = ["Reader", "Tracker", "XetrackError", "__version__", "copy"]
