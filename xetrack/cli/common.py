"""What every ``xt`` command shares: options, opening a store, errors, output."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

from xetrack.errors import XetrackError
from xetrack.store import ENGINES
from xetrack.store.location import display, scrub

T = TypeVar("T")

if TYPE_CHECKING:
    import pandas as pd

    from xetrack import Reader


def usage(parse: Callable[[str], T]) -> Callable[[str], T]:
    """A parser of the library as an option's parser: its ValueError (which names
    the value and what would work) is a usage error, exit 2."""

    def parser(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parser


def whole(minimum: int, what: str) -> Callable[[str], int]:
    """A parser of an int of at least ``minimum`` (``what`` names it in the error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise ValueError(
                f"{text!r} is not a number of {what} (an int >= {minimum})"
            )
        return value

    return usage(parse)


def choice(allowed: Sequence[str], what: str) -> Callable[[str], str]:
    """A parser of one of ``allowed``, in any letter case."""

    def parse(text: str) -> str:
        if text.strip().lower() not in allowed:
            raise ValueError(f"{what} {text!r} is not one of {', '.join(allowed)}")
        return text.strip().lower()

    return usage(parse)


DbArg = Annotated[
    str,
    typer.Argument(
        help="The database: a SQLite or DuckDB file, or a postgresql:// URL."
    ),
]
TableOpt = Annotated[str, typer.Option("--table", help="The table to use.")]
EngineOpt = Annotated[
    Optional[str],
    typer.Option(
        "--engine",
        parser=choice(ENGINES, "engine"),
        help="sqlite, duckdb or postgres (default: detected from the file or URL).",
    ),
]
NOpt = Annotated[
    int, typer.Option("--n", "-n", parser=whole(0, "rows"), help="How many rows.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON records instead of a table.")
]


def fail(message: str) -> typer.Exit:
    """Print ``message`` to stderr; the caller raises the returned Exit(1)."""
    typer.echo(f"xt: {message}", err=True)
    return typer.Exit(1)


@contextlib.contextmanager
def errors(db: str | Path | None = None) -> Iterator[None]:
    """Library errors (and OS errors about files) as one line on stderr, exit 1.

    A raw sqlite3, DuckDB or psycopg error that the library did not name (it
    should) is still one line, naming ``db`` (a URL's password masked): a
    traceback is never the answer to bad input.
    """
    try:
        yield
    except XetrackError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(
            f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        ) from None
    except Exception as exc:
        if not _driver_error(exc):
            raise
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        if db is not None:
            first = f"{display(db)}: {scrub(first, str(db))}"
        raise fail(first) from None


def _driver_error(exc: Exception) -> bool:
    import sqlite3
    import sys

    if isinstance(exc, sqlite3.Error):
        return True
    return any(
        module is not None and isinstance(exc, module.Error)
        for module in (sys.modules.get("duckdb"), sys.modules.get("psycopg"))
    )


@contextlib.contextmanager
def reader(
    db: str | Path, table: str = "default", engine: str | None = None
) -> Iterator[Reader]:
    from xetrack import Reader

    with errors(db):
        opened = Reader(db, engine=engine, table=table)
        try:
            yield opened
        finally:
            opened.close()


_WIDEST = 60


def _cell(value: Any) -> Any:
    """A cell as a terminal table shows it; long text (raw samples) is cut, --json is
    not. A missing cell (None, NaN, pandas' NA) is blank, so an int column with a
    NULL still prints its ints as ints."""
    if _missing(value):
        return None
    if type(value).__name__ in ("bool", "bool_"):  # Python's and numpy's
        return str(bool(value))  # tabulate would print True as 1 beside blanks
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > _WIDEST:
        return value[: _WIDEST - 3] + "..."
    return value


def show(frame: pd.DataFrame, as_json: bool = False) -> None:
    """A table readable in a terminal and valid Markdown, or JSON records."""
    if as_json:
        records = [
            {str(k): _json_value(v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")
        ]
        typer.echo(json.dumps(records, ensure_ascii=False, default=str))
        return
    if frame.empty and len(frame.columns) == 0:
        typer.echo("(no rows)")
        return
    from tabulate import tabulate

    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    typer.echo(
        tabulate(rows, headers=[str(c) for c in frame.columns], tablefmt="github")
    )


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes, bytearray, list, dict, tuple)):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        import base64

        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if _missing(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else value
