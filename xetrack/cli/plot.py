"""Terminal plots with plotext (the `plot` extra)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xetrack.cli.common import (
    DbArg,
    EngineOpt,
    TableOpt,
    errors,
    fail,
    reader,
    whole,
)

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


_KINDS = {str: "text", bytes: "blob", bool: "boolean"}


def _numbers(column: str, values: list[object]) -> list[float]:
    """The values of a numeric column as floats; a column of another type is an
    error naming it (a histogram of text would silently be empty)."""
    for value in values:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            kind = _KINDS.get(type(value), f"{type(value).__name__} (mixed)")
            raise fail(
                f"column {column!r} holds {kind} values; plot a numeric column "
                f"(`xt columns` lists the types)"
            )
    return [float(v) for v in values if v is not None]  # type: ignore[arg-type]


@group.command()
def hist(
    db: DbArg,
    column: Annotated[str, typer.Argument(help="A numeric column.")],
    bins: Annotated[
        int, typer.Option("--bins", parser=whole(1, "bins"), help="Number of bins.")
    ] = 20,
    table: TableOpt = "default",
    engine: EngineOpt = None,
) -> None:
    """A histogram of a column."""
    plt = _plotext()
    with reader(db, table, engine) as r, errors():
        values = _numbers(column, r.values(column))
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
        xs, ys = r.values(x), r.values(y)
        _numbers(x, xs), _numbers(y, ys)
        pairs = [
            (float(a), float(b))  # type: ignore[arg-type]
            for a, b in zip(xs, ys, strict=True)
            if a is not None and b is not None
        ]
    plt.clear_figure()
    plt.scatter([p[0] for p in pairs], [p[1] for p in pairs])
    plt.xlabel(x)
    plt.ylabel(y)
    plt.show()
