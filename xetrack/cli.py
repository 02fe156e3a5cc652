"""``xt``: the command line over a store. Each command parses, calls one library
function and formats the result; library errors become one line on stderr, exit 1."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from xetrack import __version__

app = typer.Typer(
    name="xt",
    help="Query and manage xetrack databases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xt (xetrack) {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        Optional[bool],  # typer reads the annotation at run time
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = None,
) -> None:
    """Query and manage xetrack databases."""


def main() -> None:
    app()
