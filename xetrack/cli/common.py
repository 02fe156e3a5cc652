"""What every ``xt`` command shares: options, opening a store, errors, output."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from xetrack.errors import XetrackError

if TYPE_CHECKING:
    import pandas as pd

    from xetrack import Reader


def _engine(text: str) -> str:
    """An engine name, in any letter case; a usage error (exit 2) lists the known."""
    from xetrack.store import ENGINES

    if text.strip().lower() not in ENGINES:
        raise typer.BadParameter(f"engine {text!r} is not one of {', '.join(ENGINES)}")
    return text.strip().lower()


def _count(text: str) -> int:
    """A number of rows: an int >= 0 (exit 2 otherwise)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise typer.BadParameter(f"{text!r} is not a number of rows (an int >= 0)")
    return value


DbArg = Annotated[Path, typer.Argument(help="The database file (SQLite or DuckDB).")]
TableOpt = Annotated[str, typer.Option("--table", help="The table to use.")]
EngineOpt = Annotated[
    Optional[str],
    typer.Option(
        "--engine",
        parser=_engine,
        help="sqlite or duckdb (default: detected from the file).",
    ),
]
NOpt = Annotated[int, typer.Option("--n", "-n", parser=_count, help="How many rows.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON records instead of a table.")
]


def fail(message: str) -> typer.Exit:
    """Print ``message`` to stderr; the caller raises the returned Exit(1)."""
    typer.echo(f"xt: {message}", err=True)
    return typer.Exit(1)


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """Library errors (and OS errors about files) as one line on stderr, exit 1."""
    try:
        yield
    except XetrackError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(
            f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        ) from None


@contextlib.contextmanager
def reader(
    db: Path, table: str = "default", engine: str | None = None
) -> Iterator[Reader]:
    from xetrack import Reader

    with errors():
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
