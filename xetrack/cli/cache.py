"""The result cache directory: ls, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xetrack.cli.common import JsonOpt, errors, show

group = typer.Typer(
    help="The function result cache.", no_args_is_help=True, rich_markup_mode=None
)
DirArg = Annotated[
    Path, typer.Argument(help="The cache directory given to Tracker(cache=...).")
]


@group.command(name="ls")
def list_cache(directory: DirArg, json: JsonOpt = False) -> None:
    """Every entry: key, function, the run that computed it, size, time, key parts.

    Read from metadata only: no value is unpickled and no file is created.
    """
    import json as _json

    import pandas as pd

    from xetrack import Reader

    columns = ["key", "function", "track_id", "size", "time", "parts"]
    with errors():
        entries = [
            {
                "key": key,
                "function": entry["function"] or "(metadata unavailable)",
                "track_id": entry["cache"] or "",
                "size": entry["size"],
                "time": entry["time"],
                "parts": _json.dumps(entry["parts"]) if entry["parts"] else "",
            }
            for key, entry in Reader.scan_cache(directory)
        ]
    show(pd.DataFrame(entries, columns=columns), json)


@group.command()
def delete(
    directory: DirArg,
    track_id: Annotated[
        str, typer.Argument(help="Delete entries computed by this run.")
    ],
) -> None:
    """Delete the entries a run computed."""
    from xetrack import Reader

    with errors():
        count = Reader.delete_cache_by_track_id(directory, track_id)
    if count == 0:
        typer.echo(
            f"xt: no cache entries computed by {track_id!r} in {directory}", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"deleted {count} cache entries of {track_id}")
