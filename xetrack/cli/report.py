"""xt report: the store's comparison and history as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from xetrack.cli.common import DbArg, EngineOpt, TableOpt, errors, whole
from xetrack.cli.compare import AnyEnvOpt, MinEffectOpt, RepoOpt


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        db: DbArg,
        out: Annotated[
            Path,
            typer.Option("-o", "--output", help="The HTML file to write."),
        ] = Path("report.html"),
        base: Annotated[
            Optional[str],
            typer.Option(
                "--base",
                help="Commit, branch, tag, track_id or 'latest' to compare with "
                "(default: the newest run on an ancestor commit).",
            ),
        ] = None,
        head: Annotated[
            Optional[str],
            typer.Option("--head", help="The run to judge (default: latest)."),
        ] = None,
        last: Annotated[
            int,
            typer.Option(
                "--last",
                parser=whole(1, "commits"),
                help="How many commits the history charts span.",
            ),
        ] = 100,
        min_effect: MinEffectOpt = 0.05,
        repo: RepoOpt = Path("."),
        any_env: AnyEnvOpt = False,
        table: TableOpt = "default",
        engine: EngineOpt = None,
    ) -> None:
        """Write an HTML report (needs the report extra): comparison, history charts
        per benchmark, distributions of the changed ones, run details."""
        from xetrack.progress import progress
        from xetrack.report import build

        with errors(), progress("reading runs") as tick:
            written = build(
                db,
                out,
                head=head,
                base=base,
                table=table,
                repo=repo,
                last=last,
                min_effect=min_effect,
                any_env=any_env,
                engine=engine,
                progress=tick,
            )
        typer.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")
