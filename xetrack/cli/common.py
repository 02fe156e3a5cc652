"""What every ``xt`` command shares: options, opening a store, errors, output."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

from xetrack.errors import XetrackError
from xetrack.store import ENGINES
from xetrack.store.location import display, scrub
from xetrack.timing import TIMING_COLUMNS

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


ColumnsOpt = Annotated[
    Optional[str],
    typer.Option(
        "--columns",
        help="Comma-separated columns to show (default: the key columns; --json: all).",
    ),
]
AllColumnsOpt = Annotated[
    bool,
    typer.Option("--all-columns", help="Show every column, however wide the rows."),
]

#: What a wide row's default view leaves out: where and how a value was measured,
#: not what was measured (``--columns``, ``--all-columns`` and ``--json`` show them).
DETAIL_COLUMNS = (
    frozenset(
        {
            # the environment (its env_fingerprint stands for it) and git beyond
            # the commit
            "python_version",
            "platform",
            "cpu_model",
            "cpu_count",
            "env_fingerprint",
            "xdist_workers",
            "git_branch",
            "git_dirty",
            # a suspect measured twice
            "first_function_time",
            "remeasured",
            # the plugin's bookkeeping
            "test_name",
            "metrics",
            "cache",
            "duration",
            "args",
            "kwargs",
        }
    )
    # the timing engine's raw material and settings beside what was measured
    | (TIMING_COLUMNS - {"function_time", "time_min", "unstable"})
)


def chosen_columns(text: str | None) -> list[str] | None:
    """``--columns a,b``: the names, or None when not given."""
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def key_columns(columns: Sequence[str], keep: Sequence[str] = ()) -> list[str]:
    """``columns`` without the detail columns, ``keep`` (the column ranked by, a
    --by column) always in."""
    return [c for c in columns if c not in DETAIL_COLUMNS or c in keep]


def narrowed(
    frame: pd.DataFrame,
    columns: str | None,
    every: bool,
    as_json: bool,
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """The columns of a wide frame to print: those asked for, or all of them for
    ``--all-columns`` and JSON, or else the key columns (a note on stderr says how
    many are hidden and how to see them)."""
    names = [str(c) for c in frame.columns]
    if columns or every or as_json:
        return frame
    shown = key_columns(names, keep)
    hidden = len(names) - len(shown)
    if hidden:
        left_out = [c for c in names if c not in shown]
        more = f", and {len(left_out) - 6} more" if len(left_out) > 6 else ""
        typer.echo(
            f"xt: {hidden} detail columns not shown ({', '.join(left_out[:6])}{more}); "
            f"--columns NAME,... or --all-columns shows them",
            err=True,
        )
    return frame[shown]


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
    not. A missing cell (None, NaN, pandas' NA) is None, which the table prints as
    the one missing mark, so an int column with a NULL still prints its ints as ints."""
    if _missing(value):
        return None
    if type(value).__name__ in ("bool", "bool_"):  # Python's and numpy's
        return str(bool(value))  # tabulate would print True as 1 beside blanks
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > _WIDEST:
        return value[: _WIDEST - 3] + "..."
    return value


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
    )


def table_text(
    frame: pd.DataFrame,
    seconds: Collection[str] = (),
    plain_rows: Collection[int] = (),
    group: str | None = None,
) -> str:
    """A frame as a Markdown (github) table: one missing mark for None, NaN and NA;
    times (the columns :func:`xetrack.units.is_seconds_column` knows, and
    ``seconds``) in one unit per column (per value of the column ``group``, when
    given: one benchmark's rows) with the same significant digits,
    right-aligned. Rows at positions ``plain_rows`` (counts in a summary) keep
    their numbers as they are."""
    from tabulate import tabulate

    from xetrack.units import MISSING, format_seconds, is_seconds_column, unit_for

    names = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    for i in plain_rows:  # counts: a float column's count is still a whole number
        rows[i] = [
            int(v) if isinstance(v, float) and v.is_integer() else v for v in rows[i]
        ]
    align = []
    for index, name in enumerate(names):
        column = [row[index] for row in rows]
        timed = [v for i, v in enumerate(column) if i not in plain_rows]
        if (name in seconds or is_seconds_column(name)) and _numeric(timed):
            keys = [None] * len(rows)
            if group in names:
                at = names.index(group)
                keys = [row[at] for row in rows]
            units = {
                key: unit_for(
                    [
                        v
                        for i, v in enumerate(column)
                        if keys[i] == key and i not in plain_rows
                    ]
                )
                for key in set(keys)
            }
            for i, row in enumerate(rows):
                if i not in plain_rows and row[index] is not None:
                    row[index] = format_seconds(row[index], units[keys[i]])
            align.append("right")
        else:
            align.append("decimal" if _numeric(column) else "left")
    return tabulate(
        rows,
        headers=names,
        tablefmt="github",
        missingval=MISSING,
        colalign=align or None,
    )


def show(
    frame: pd.DataFrame,
    as_json: bool = False,
    seconds: Collection[str] = (),
    plain_rows: Collection[int] = (),
    group: str | None = None,
) -> None:
    """A table readable in a terminal and valid Markdown (see :func:`table_text`),
    or JSON records with raw values (seconds stay seconds)."""
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
    typer.echo(table_text(frame, seconds, plain_rows, group))


def _missing(value: Any) -> bool:
    from xetrack.units import is_missing

    return is_missing(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        import base64

        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if _missing(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else value
