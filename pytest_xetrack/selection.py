"""What a session selected (paths, node ids, deselected tests), recorded on its run
so a comparison does not call the benchmarks ``-k``/``-m``/paths left out missing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_xetrack.session import Session

#: Fixtures through which a test writes rows (the pytest-benchmark drop-in's too).
_RECORDING_FIXTURES = frozenset({"tracker", "benchmark"})
#: The key under which a worker sends its deselected node ids to the controller.
WORKER_KEY = "xetrack_deselected"


def may_record(item: pytest.Item, record_all: bool) -> bool:
    """Whether a test can write rows (only those matter to a comparison; a suite's
    thousands of plain tests need not be listed)."""
    if record_all or item.get_closest_marker("track") is not None:
        return True
    return bool(_RECORDING_FIXTURES & set(getattr(item, "fixturenames", ())))


def note_deselected(session: Session, items: Sequence[pytest.Item]) -> None:
    session.deselected.update(
        item.nodeid for item in items if may_record(item, session.options.record_all)
    )


def collected(config: pytest.Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rootdir-relative paths collected whole and the node ids given alone,
    from the session's arguments (testpaths or the invocation folder when none)."""
    root = config.rootpath
    paths: list[str] = []
    nodes: list[str] = []
    for arg in config.args:
        part, sep, rest = str(arg).partition("::")
        target = Path(config.invocation_params.dir, part)
        try:
            relative = Path(os.path.relpath(target.resolve(), root)).as_posix()
        except ValueError:  # another drive (Windows): the whole suite, to be safe
            relative = ""
        relative = "" if relative == "." else relative
        if relative.startswith("..") or not target.exists():
            # outside the rootdir or not a path (--pyargs): nothing is known, so
            # everything counts as selected, as before selections were recorded
            return ("",), ()
        if sep:
            nodes.append(f"{relative}::{rest}")
        else:
            paths.append(relative)
    return tuple(paths), tuple(nodes)


def record(session: Session, config: pytest.Config) -> None:
    """Store the session's selection on its run record (controller or plain)."""
    from xetrack.errors import XetrackError
    from xetrack.selection import Selection

    paths, nodes = collected(config)
    selection = Selection(paths, nodes, frozenset(session.deselected))
    try:
        session.open_root().record_selection(selection)
    except XetrackError as exc:
        session.notes.append(
            f"could not record which tests this session selected ({exc}); a "
            f"comparison may list deselected benchmarks as missing"
        )
