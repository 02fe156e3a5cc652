"""Objects stored beside the rows: ls, export, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xetrack.cli.common import DbArg, EngineOpt, JsonOpt, TableOpt, errors, reader, show

group = typer.Typer(
    help="Objects stored beside the rows.", no_args_is_help=True, rich_markup_mode=None
)
HashArg = Annotated[
    str, typer.Argument(help="The asset's hash (the value its cell holds).")
]


@group.command(name="ls")
def list_assets(
    db: DbArg,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    json: JsonOpt = False,
) -> None:
    """Every asset: hash, size, compressed, the run that stored it first."""
    with reader(db, table, engine) as r, errors():
        show(r.assets.list(), json)


@group.command()
def export(
    db: DbArg,
    hashed: HashArg,
    out: Annotated[
        Path, typer.Argument(help="File to write (plain cloudpickle bytes).")
    ],
    table: TableOpt = "default",
    engine: EngineOpt = None,
) -> None:
    """Write an asset to a file that cloudpickle.load reads."""
    with reader(db, table, engine) as r, errors():
        path = r.assets.export(hashed, out)
    typer.echo(f"wrote {path}")


@group.command()
def delete(
    db: DbArg, hashed: HashArg, table: TableOpt = "default", engine: EngineOpt = None
) -> None:
    """Delete an asset and clear the cells of the table that name it."""
    with reader(db, table, engine) as r, errors():
        r.remove_asset(hashed)
    typer.echo(f"deleted asset {hashed}")
