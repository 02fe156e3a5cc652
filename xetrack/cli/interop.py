"""Other tools' results in and out: ``xt import pytest-benchmark``, ``xt export
pytest-benchmark``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from xetrack.cli.common import DbArg, EngineOpt, TableOpt, errors

importing = typer.Typer(
    help="Read other tools' results into a database.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
exporting = typer.Typer(
    help="Write a run in another tool's format.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@importing.command(name="pytest-benchmark")
def import_pytest_benchmark(
    db: DbArg,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files pytest-benchmark wrote (--benchmark-json, --benchmark-save), "
            "or folders of them such as .benchmarks."
        ),
    ],
    table: TableOpt = "default",
    engine: EngineOpt = None,
) -> None:
    """One run per file, one row per benchmark; runs already there are skipped."""
    from xetrack.interop.history import import_files

    with errors(db):
        result = import_files(db, paths, table=table, engine=engine)
    typer.echo(
        f"imported {result.runs} runs ({result.rows} rows) from {result.files} files"
        + (f"; {len(result.skipped)} were there already" if result.skipped else "")
    )


@exporting.command(name="pytest-benchmark")
def export_pytest_benchmark(
    db: DbArg,
    run: Annotated[
        Optional[str],
        typer.Argument(
            help="The run: 'latest' (default), a track_id, commit or branch."
        ),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", help="Write the JSON here (default: standard output)."
        ),
    ] = None,
    data: Annotated[
        bool,
        typer.Option("--data/--no-data", help="Include every sample (default: yes)."),
    ] = True,
    table: TableOpt = "default",
    engine: EngineOpt = None,
    repo: Annotated[
        Path,
        typer.Option("--repo", help="The git repository, for commits and branches."),
    ] = Path("."),
) -> None:
    """A run as pytest-benchmark's JSON, which its `compare` command reads."""
    from xetrack.interop import pytest_benchmark as files
    from xetrack.interop.history import export_document

    with errors(db):
        doc = export_document(
            db, run, table=table, repo=repo, engine=engine, include_data=data
        )
        if output is None:
            typer.echo(files.dumps(doc))
        else:
            files.write(output, doc)
            typer.echo(f"wrote {len(doc['benchmarks'])} benchmarks to {output}")
