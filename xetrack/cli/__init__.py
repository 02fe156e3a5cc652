"""``xt``: the command line over a store.

Each command parses its arguments, calls one library function and formats the
result. A library error becomes one line on stderr and exit status 1; usage errors
exit 2 (typer's own). No command prints a traceback.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from xetrack import __version__
from xetrack.cli import assets, cache, compare, data, interop, plot, report, stats

app = typer.Typer(
    name="xt",
    help="Query and manage xetrack databases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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


data.register(app)
compare.register(app)
report.register(app)
stats.register(app)
app.add_typer(stats.group, name="stats")
app.add_typer(assets.group, name="assets")
app.add_typer(cache.group, name="cache")
app.add_typer(plot.group, name="plot")
app.add_typer(interop.importing, name="import")
app.add_typer(interop.exporting, name="export")


def main() -> None:
    app()
