"""Rows: head, tail, columns, ls, sql, set, delete, runs, copy."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from xetrack.cli.common import (
    AllColumnsOpt,
    ColumnsOpt,
    DbArg,
    EngineOpt,
    JsonOpt,
    NOpt,
    TableOpt,
    chosen_columns,
    errors,
    fail,
    narrowed,
    reader,
    show,
)
from xetrack.store.location import display


def register(app: typer.Typer) -> None:
    @app.command()
    def head(
        db: DbArg,
        n: NOpt = 5,
        columns: ColumnsOpt = None,
        every: AllColumnsOpt = False,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """The first rows of the table."""
        with reader(db, table, engine) as r, errors(db):
            frame = r.to_df(head=n, columns=chosen_columns(columns))
            show(narrowed(frame, columns, every, json), json)

    @app.command()
    def tail(
        db: DbArg,
        n: NOpt = 5,
        columns: ColumnsOpt = None,
        every: AllColumnsOpt = False,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """The last rows of the table."""
        with reader(db, table, engine) as r, errors(db):
            frame = r.to_df(tail=n, columns=chosen_columns(columns))
            show(narrowed(frame, columns, every, json), json)

    @app.command()
    def columns(
        db: DbArg, table: TableOpt = "default", engine: EngineOpt = None
    ) -> None:
        """The table's columns and their SQL types."""
        with reader(db, table, engine) as r:
            for name, sql_type in r.dtypes.items():
                typer.echo(f"{name}\t{sql_type}")

    @app.command()
    def ls(
        db: DbArg,
        column: Annotated[
            Optional[str], typer.Argument(help="List this column's values.")
        ] = None,
        unique: Annotated[
            bool, typer.Option("--unique", help="Distinct values only.")
        ] = False,
        track_id: Annotated[
            Optional[str], typer.Option("--track-id", help="Rows of one run.")
        ] = None,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Column names, or the values of one column."""
        import pandas as pd

        with reader(db, table, engine) as r:
            if column is None:
                frame = pd.DataFrame({"column": r.columns})
            else:
                with errors():
                    frame = pd.DataFrame({column: r.values(column, track_id, unique)})
            show(frame, json)

    @app.command()
    def sql(
        db: DbArg,
        query: Annotated[
            str,
            typer.Argument(
                help="SQL in the store's dialect, e.g. 'SELECT * FROM \"default\"'."
            ),
        ],
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Run a read-only SQL query; tables are reachable by their names."""
        with reader(db, table, engine) as r, errors():
            show(r.sql(query), json)

    @app.command(name="set")
    def set_(
        db: DbArg,
        key: Annotated[str, typer.Argument(help="The column to set.")],
        value: Annotated[
            str, typer.Argument(help="The value, typed as the column's type.")
        ],
        track_id: Annotated[
            Optional[str], typer.Option("--track-id", help="Only this run's rows.")
        ] = None,
        where_key: Annotated[
            Optional[str],
            typer.Option("--where-key", help="Only rows where this column..."),
        ] = None,
        where_value: Annotated[
            Optional[str], typer.Option("--where-value", help="...equals this value.")
        ] = None,
        every: Annotated[
            bool,
            typer.Option("--all", help="Every row of the table (no selector needed)."),
        ] = False,
        table: TableOpt = "default",
        engine: EngineOpt = None,
    ) -> None:
        """Set a column's value on rows: one run's, where a column has a value, or --all."""
        if (where_key is None) != (where_value is None):
            raise typer.BadParameter("--where-key and --where-value go together")
        if track_id is None and where_key is None and not every:
            raise typer.BadParameter(
                f"set needs --track-id, --where-key/--where-value or --all: without "
                f"one it would change {key} on every row of the table"
            )
        with reader(db, table, engine) as r, errors():
            typed = r.parse(key, value)
            if where_key is not None and where_value is not None:
                where = r.parse(where_key, where_value)
                count = r.set_where(key, typed, where_key, where, track_id=track_id)
            else:
                if track_id is not None and not r.has_run(track_id):
                    raise fail(
                        f"no run {track_id!r} in {display(db)}; list them with "
                        f"`xt runs {display(db)}`"
                    )
                count = r.set_value(key, typed, track_id=track_id)
            typer.echo(f"set {key} = {typed!r} on {count} rows")

    @app.command()
    def delete(
        db: DbArg,
        track_id: Annotated[str, typer.Argument(help="The run to delete.")],
        table: TableOpt = "default",
        engine: EngineOpt = None,
    ) -> None:
        """Delete every row of a run (and the assets only it used)."""
        with reader(db, table, engine) as r, errors():
            if not r.has_run(track_id):
                raise fail(
                    f"no run {track_id!r} in {display(db)}; list them with "
                    f"`xt runs {display(db)}`"
                )
            typer.echo(f"deleted {r.delete_run(track_id)} rows of {track_id}")

    @app.command()
    def runs(
        db: DbArg,
        status: Annotated[
            Optional[str],
            typer.Option("--status", help="running, finished, failed or interrupted."),
        ] = None,
        commit: Annotated[
            Optional[str],
            typer.Option("--commit", help="Runs on this commit (a prefix of the sha)."),
        ] = None,
        branch: Annotated[
            Optional[str], typer.Option("--branch", help="Runs on this git branch.")
        ] = None,
        since: Annotated[
            Optional[str],
            typer.Option(
                "--since",
                help="Runs started at or after this: 2026-01-31, 2026-01-31T12:00 "
                "(UTC), or an age such as 30m, 12h, 2d, 1w.",
            ),
        ] = None,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """One line per run: status, start and end, rows, error, host, git state."""
        with reader(db, table, engine) as r, errors():
            show(r.runs(status=status, commit=commit, branch=branch, since=since), json)

    @app.command(name="copy")
    def copy_(
        source: Annotated[
            str, typer.Argument(help="The database (file or URL) to copy from.")
        ],
        target: Annotated[
            str,
            typer.Argument(
                help="The database to copy into: a file (created if missing) or a "
                "postgresql:// URL."
            ),
        ],
        assets: Annotated[
            bool, typer.Option("--assets/--no-assets", help="Copy stored objects too.")
        ] = True,
        table: Annotated[
            Optional[list[str]],
            typer.Option("--table", help="A table to copy (repeatable; default: all)."),
        ] = None,
        engine: EngineOpt = None,
    ) -> None:
        """Copy rows between stores of any engine; rows already there are skipped."""
        from xetrack import copy
        from xetrack.progress import progress

        with errors(), progress("copying rows") as tick:
            added = copy(
                source,
                target,
                assets=assets,
                tables=table or None,
                engine=engine,
                progress=tick,
            )
        typer.echo(f"copied {added} rows into {display(target)}")
