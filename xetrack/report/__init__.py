"""The HTML report: one self-contained file of a store's comparison and history.

``build(db, "report.html")`` compares the latest run with its baseline
(:func:`xetrack.compare.compare`), reads the history of the last commits
(:func:`xetrack.timeline.timeline`) and writes a page that opens offline: its
styles, its script and Plotly's JavaScript are inlined, and it requests nothing.
Plotly comes with the ``report`` extra (``pip install "xetrack[report]"``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from xetrack.errors import InvalidArgumentError, XetrackError
from xetrack.timeline import Progress

if TYPE_CHECKING:
    from xetrack.comparison import Comparison

__all__ = ["MissingExtraError", "build"]


class MissingExtraError(XetrackError, ImportError):
    """The report needs Plotly, which the ``report`` extra installs."""


def plotly_js() -> str:
    """Plotly's JavaScript bundle, as its Python package ships it."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise MissingExtraError(
            "the HTML report needs plotly, which draws its charts: "
            "pip install 'xetrack[report]'"
        ) from exc
    return str(get_plotlyjs())


def build(
    db: str | Path,
    out: str | Path,
    head: str | None = None,
    base: str | None = None,
    table: str = "default",
    repo: str | Path | None = ".",
    last: int = 100,
    min_effect: float = 0.05,
    any_env: bool = False,
    engine: str | None = None,
    progress: Progress | None = None,
    comparison: Comparison | None = None,
) -> Path:
    """Write the report of ``db`` to ``out`` and return its path.

    ``head`` and ``base`` name the runs to compare as :func:`xetrack.compare.compare`
    takes them, unless ``comparison`` is one already made (the pytest session's);
    ``last`` is how many commits the history charts span. The file is written
    whole or not at all (a temporary file renamed into place).
    """
    from xetrack.compare import compare
    from xetrack.report.data import payload
    from xetrack.report.page import render
    from xetrack.timeline import timeline

    script = plotly_js()  # before any work: a missing extra is the first thing said
    target = Path(out)
    if target.is_dir():
        raise InvalidArgumentError(f"{target} is a folder; give the report a file name")
    if not target.parent.is_dir():
        raise InvalidArgumentError(
            f"cannot write the report to {target}: folder {target.parent} does not "
            f"exist; create it or choose another path"
        )
    if comparison is None:
        comparison = compare(
            db,
            base,
            head,
            table=table,
            repo=repo,
            min_effect=min_effect,
            any_env=any_env,
            engine=engine,
        )
    history = timeline(
        db,
        table=table,
        repo=repo,
        last=last,
        min_effect=min_effect,
        engine=engine,
        progress=progress,
    )
    from xetrack.store.location import display, is_server_url

    # a server's URL without its password; a file by its name
    where = display(db) if is_server_url(str(db)) else Path(str(db)).name
    title = f"xetrack report: {where}"
    if comparison.head is not None:
        title += f" at {comparison.head.label()}"
    page = render(payload(comparison, history), script, title)
    # beside the target, so the rename is atomic; open() keeps the user's umask
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(page, encoding="utf-8")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
