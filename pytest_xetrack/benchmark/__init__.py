"""A drop-in for pytest-benchmark: its ``benchmark`` fixture, marker and options,
over xetrack's timing engine; registered only when pytest-benchmark is not active.

Whether it will be active is decided when our options are added, and plugin load
order may put us before pytest-benchmark, so its registration is not awaited: it
is active when it is registered already, or when it is installed, not blocked
(``-p no:benchmark``) and plugins are loaded from entry points.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any, Final

#: The name pytest-benchmark's plugin is registered under (its entry point).
THEIRS: Final = "benchmark"
#: Ours, when it stands in for it.
OURS: Final = "xetrack-benchmark"


def pytest_benchmark_active(pluginmanager: Any) -> bool:
    """True when pytest-benchmark is (or will be) this session's plugin."""
    if pluginmanager.is_blocked(THEIRS):
        return False
    if pluginmanager.get_plugin(THEIRS) is not None:
        return True
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False  # only -p loads plugins then, and -p ones load before ours
    try:
        return importlib.util.find_spec("pytest_benchmark") is not None
    except (ImportError, ValueError):
        return False


def register(pluginmanager: Any) -> bool:
    """Register the drop-in unless pytest-benchmark is active; True if registered."""
    if pytest_benchmark_active(pluginmanager) or pluginmanager.has_plugin(OURS):
        return False
    from pytest_xetrack.benchmark import plugin

    pluginmanager.register(plugin, OURS)
    return True
