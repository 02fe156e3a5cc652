"""Statistics: describe, top, bottom (also ``xt describe``)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from xetrack.cli.common import (
    AllColumnsOpt,
    DbArg,
    EngineOpt,
    JsonOpt,
    TableOpt,
    chosen_columns,
    errors,
    narrowed,
    reader,
    show,
)

group = typer.Typer(
    help="Summary statistics and best rows.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ColumnsOpt = Annotated[
    Optional[str], typer.Option("--columns", help="Comma-separated columns.")
]
RowColumnsOpt = Annotated[
    Optional[str],
    typer.Option(
        "--columns",
        help="Comma-separated columns of the row to show (default: the key columns; "
        "--json: all).",
    ),
]
ByOpt = Annotated[
    Optional[str], typer.Option("--by", help="One best row per value of this column.")
]
ColumnArg = Annotated[str, typer.Argument(help="The column to rank rows by.")]
QuartilesOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--quartiles/--no-quartiles",
        help="Exact quartiles (default: DuckDB yes; SQLite no, it sorts each column).",
    ),
]


_chosen = chosen_columns


def _describe(
    db: DbArg,
    columns: ColumnsOpt,
    table: str,
    engine: str | None,
    json: bool,
    quartiles: bool | None,
) -> None:
    with reader(db, table, engine) as r, errors():
        frame = r.describe(_chosen(columns), quartiles=quartiles)
        counts = [i for i, stat in enumerate(frame.index) if stat in ("count", "nulls")]
        show(frame.reset_index(names="stat"), json, plain_rows=counts)
        note = frame.attrs.get("note")
        if note:
            typer.echo(f"xt: note: {note}", err=True)


@group.command()
def describe(
    db: DbArg,
    columns: ColumnsOpt = None,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
    quartiles: QuartilesOpt = None,
) -> None:
    """Count, nulls, mean, std, min, quartiles and max of columns, by the engine."""
    _describe(db, columns, table, engine, json, quartiles)


def _extreme(
    db: DbArg,
    column: str,
    by: str | None,
    columns: str | None,
    table: str,
    engine: str | None,
    json: bool,
    highest: bool,
    every: bool = False,
) -> None:
    with reader(db, table, engine) as r, errors():
        pick = r.top if highest else r.bottom
        frame = pick(column, by=by, columns=_chosen(columns))
        keep = [column, *([by] if by else [])]
        show(narrowed(frame, columns, every, json, keep), json)


@group.command()
def top(
    db: DbArg,
    column: ColumnArg,
    by: ByOpt = None,
    columns: RowColumnsOpt = None,
    every: AllColumnsOpt = False,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """The whole row with the highest value of COLUMN (per --by group)."""
    _extreme(db, column, by, columns, table, engine, json, True, every)


@group.command()
def bottom(
    db: DbArg,
    column: ColumnArg,
    by: ByOpt = None,
    columns: RowColumnsOpt = None,
    every: AllColumnsOpt = False,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """The whole row with the lowest value of COLUMN (per --by group)."""
    _extreme(db, column, by, columns, table, engine, json, False, every)


def register(app: typer.Typer) -> None:
    @app.command(name="describe")
    def describe_alias(
        db: DbArg,
        columns: ColumnsOpt = None,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
        quartiles: QuartilesOpt = None,
    ) -> None:
        """Same as `xt stats describe`."""
        _describe(db, columns, table, engine, json, quartiles)
