"""Progress of long work, shown only on a terminal (never into a pipe or a log).

``with progress("reading runs") as tick: work(progress=tick)`` hands the work a
``tick(done, total)`` callback; on a terminal it draws typer's progress bar on
stderr, elsewhere it does nothing, so output that is piped or captured stays the
same with or without it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["progress"]

Tick = Callable[[int, int], None]


@contextlib.contextmanager
def progress(label: str, stream: Any = None) -> Iterator[Tick | None]:
    """A ``tick(done, total)`` drawing a bar on ``stream`` (stderr) when it is a
    terminal; None elsewhere (callers pass it on as "no progress")."""
    target = sys.stderr if stream is None else stream
    isatty = getattr(target, "isatty", None)
    if not (callable(isatty) and isatty()):
        yield None
        return
    import typer

    state: dict[str, Any] = {"bar": None, "done": 0}

    def tick(done: int, total: int) -> None:
        bar = state["bar"]
        if bar is None:
            bar = typer.progressbar(length=max(total, 1), label=label, file=target)
            bar.__enter__()
            state["bar"] = bar
        bar.update(max(done - state["done"], 0))
        state["done"] = done

    try:
        yield tick
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
