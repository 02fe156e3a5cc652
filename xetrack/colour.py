"""Colour for verdicts: only on a terminal, never into a pipe or a file.

``NO_COLOR`` (any non-empty value, https://no-color.org) turns it off;
``FORCE_COLOR`` (non-empty, not ``0``) turns it on where the output is not a
terminal (CI logs that render ANSI). The pytest plugin does not decide itself: it
paints through pytest's terminal writer, which knows whether it may.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import IO, Final

__all__ = ["CSS", "VERDICT_COLOURS", "enabled", "painter"]

#: The colour (pytest's terminal writer names them so too) of each verdict that
#: deserves one; "unchanged" and "-" stay plain.
VERDICT_COLOURS: Final[Mapping[str, str]] = {
    "regressed": "red",
    "failed": "red",
    "missing": "purple",
    "inconclusive": "yellow",
    "new": "cyan",
    "improved": "green",
}
#: The same verdicts in the HTML report.
CSS: Final[Mapping[str, str]] = {
    "regressed": "#c62828",
    "failed": "#8e0000",
    "missing": "#7b1fa2",
    "inconclusive": "#b26a00",
    "new": "#00838f",
    "improved": "#2e7d32",
    "unchanged": "#546e7a",
    "-": "#546e7a",
}
_ANSI: Final = {
    "red": "31",
    "green": "32",
    "yellow": "33",
    "purple": "35",
    "cyan": "36",
}


def enabled(
    stream: IO[str] | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """Whether to colour what goes to ``stream`` (stdout by default)."""
    import sys

    environ = os.environ if env is None else env
    if environ.get("NO_COLOR"):
        return False
    forced = environ.get("FORCE_COLOR")
    if forced and forced != "0":
        return True
    if environ.get("TERM") == "dumb":
        return False
    target = sys.stdout if stream is None else stream
    isatty = getattr(target, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def painter(on: bool) -> Callable[[str, str], str] | None:
    """``paint(text, verdict)`` in ANSI colours when ``on``, else None (plain)."""
    if not on:
        return None

    def paint(text: str, verdict: str) -> str:
        colour = VERDICT_COLOURS.get(verdict)
        if colour is None:
            return text
        bold = "1;" if verdict in ("regressed", "failed") else ""
        return f"\x1b[{bold}{_ANSI[colour]}m{text}\x1b[0m"

    return paint
