"""Terminal plots with plotext (the `plot` extra)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xetrack.cli.common import DbArg, EngineOpt, TableOpt, errors, fail, reader

group = typer.Typer(
    help="Plots in the terminal (pip install 'xetrack[plot]').",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _plotext() -> Any:
    try:
        import plotext
    except ImportError:
        raise fail("plotting needs plotext: pip install 'xetrack[plot]'") from None
    return plotext


@group.command()
def hist(
    db: DbArg,
    column: Annotated[str, typer.Argument(help="A numeric column.")],
    bins: Annotated[int, typer.Option("--bins", help="Number of bins.")] = 20,
    table: TableOpt = "default",
    engine: EngineOpt = None,
) -> None:
    """A histogram of a column."""
    plt = _plotext()
    with reader(db, table, engine) as r, errors():
        values = [float(v) for v in r.values(column) if isinstance(v, (int, float))]
    plt.clear_figure()
    plt.hist(values, bins=bins)
    plt.title(f"{column} ({len(values)} values)")
    plt.show()


@group.command()
def scatter(
    db: DbArg,
    x: Annotated[str, typer.Argument(help="Column for the x axis.")],
    y: Annotated[str, typer.Argument(help="Column for the y axis.")],
    table: TableOpt = "default",
    engine: EngineOpt = None,
) -> None:
    """A scatter plot of two columns."""
    plt = _plotext()
    with reader(db, table, engine) as r, errors():
        pairs = [
            (float(a), float(b))
            for a, b in zip(r.values(x), r.values(y), strict=True)
            if isinstance(a, (int, float)) and isinstance(b, (int, float))
        ]
    plt.clear_figure()
    plt.scatter([p[0] for p in pairs], [p[1] for p in pairs])
    plt.xlabel(x)
    plt.ylabel(y)
    plt.show()
