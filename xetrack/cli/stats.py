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


def _describe(
    db: DbArg, columns: ColumnsOpt, table: str, engine: str | None, json: bool
) -> None:
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    with reader(db, table, engine) as r, errors():
        frame = r.describe(chosen)
        show(frame.reset_index(names="stat"), json)


@group.command()
def describe(
    db: DbArg,
    columns: ColumnsOpt = None,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """Count, mean, std, min, quartiles and max of numeric columns."""
    _describe(db, columns, table, engine, json)


def _extreme(
    db: DbArg,
    column: str,
    by: str | None,
    table: str,
    engine: str | None,
    json: bool,
    highest: bool,
) -> None:
    with reader(db, table, engine) as r, errors():
        show(r.top(column, by=by) if highest else r.bottom(column, by=by), json)


@group.command()
def top(
    db: DbArg,
    column: ColumnArg,
    by: ByOpt = None,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """The whole row with the highest value of COLUMN (per --by group)."""
    _extreme(db, column, by, table, engine, json, highest=True)


@group.command()
def bottom(
    db: DbArg,
    column: ColumnArg,
    by: ByOpt = None,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """The whole row with the lowest value of COLUMN (per --by group)."""
    _extreme(db, column, by, table, engine, json, highest=False)


def register(app: typer.Typer) -> None:
    @app.command(name="describe")
    def describe_alias(
        db: DbArg,
        columns: ColumnsOpt = None,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Same as `xt stats describe`."""
        _describe(db, columns, table, engine, json)
