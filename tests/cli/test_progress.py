"""Progress of long work: drawn on a terminal, never into a pipe or a file."""

from __future__ import annotations

import os
import pty
from pathlib import Path

from xetrack import Tracker, copy
from xetrack.progress import progress


def _rows(db: Path, count: int) -> None:
    tracker = Tracker(db, warnings=False)
    tracker.log_batch([{"i": i} for i in range(count)])
    tracker.close()


def test_a_copy_draws_progress_on_a_terminal(tmp_path: Path) -> None:
    source = tmp_path / "a.db"
    _rows(source, 120_000)  # three parts of 50 000
    leader, follower = pty.openpty()  # a real terminal
    terminal = os.fdopen(follower, "w")
    seen: list[tuple[int, int]] = []
    with progress("copying rows", terminal) as tick:
        assert tick is not None

        def both(done: int, total: int) -> None:
            seen.append((done, total))
            tick(done, total)

        assert copy(source, tmp_path / "b.db", progress=both) == 120_000
    terminal.close()
    drawn = os.read(leader, 65536).decode()
    os.close(leader)
    assert "copying rows" in drawn and "100%" in drawn
    assert seen[-1] == (120_000, 120_000) and len(seen) >= 3


def test_no_progress_into_a_pipe(tmp_path: Path) -> None:
    reading, writing = os.pipe()
    pipe = os.fdopen(writing, "w")
    with progress("copying rows", pipe) as tick:
        assert tick is None
    pipe.close()
    assert os.read(reading, 100) == b""
    os.close(reading)
