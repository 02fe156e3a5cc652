"""Statistics: describe, top, bottom (also ``xt describe``)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from xetrack.cli.common import DbArg, EngineOpt, JsonOpt, TableOpt, errors, reader, show

group = typer.Typer(
    help="Summary statistics and best rows.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ColumnsOpt = Annotated[
    Optional[str], typer.Option("--columns", help="Comma-separated columns.")
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


def _chosen(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None


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
        show(frame.reset_index(names="stat"), json)
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
) -> None:
    with reader(db, table, engine) as r, errors():
        pick = r.top if highest else r.bottom
        show(pick(column, by=by, columns=_chosen(columns)), json)


@group.command()
def top(
    db: DbArg,
    column: ColumnArg,
    by: ByOpt = None,
    columns: ColumnsOpt = None,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """The whole row with the highest value of COLUMN (per --by group)."""
    _extreme(db, column, by, columns, table, engine, json, highest=True)


@group.command()
def bottom(
    db: DbArg,
    column: ColumnArg,
    by: ByOpt = None,
    columns: ColumnsOpt = None,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """The whole row with the lowest value of COLUMN (per --by group)."""
    _extreme(db, column, by, columns, table, engine, json, highest=False)


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
