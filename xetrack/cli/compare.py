"""Comparing runs: compare (with a --fail gate) and history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from xetrack.cli.common import (
    DbArg,
    EngineOpt,
    JsonOpt,
    TableOpt,
    choice,
    errors,
    show,
    usage,
    whole,
)
from xetrack.compare import parse_min_effect, parse_threshold

_FORMATS = ("table", "markdown", "json")
# options of every command that judges runs (compare, history, report)
MinEffectOpt = Annotated[
    float,
    typer.Option(
        "--min-effect",
        parser=usage(parse_min_effect),
        help="Smallest relative change that counts: 5% or 0.05.",
    ),
]
RepoOpt = Annotated[
    Path,
    typer.Option("--repo", help="The git repository, for commits and ancestry."),
]
AnyEnvOpt = Annotated[
    bool,
    typer.Option(
        "--any-env", help="Also take a baseline measured on another environment."
    ),
]


def _checked_threshold(text: str) -> str:
    parse_threshold(text)  # the same parser and message as the plugin's
    return text


def register(app: typer.Typer) -> None:
    @app.command()
    def compare(
        db: DbArg,
        base: Annotated[
            Optional[str],
            typer.Argument(
                help="Commit, branch, tag, track_id or 'latest' (default: the newest run on an ancestor commit)."
            ),
        ] = None,
        head: Annotated[
            Optional[str], typer.Argument(help="The run to judge (default: latest).")
        ] = None,
        metric: Annotated[
            Optional[list[str]],
            typer.Option(
                "--metric",
                help="A column to compare (repeatable; default: function_time and declared metrics).",
            ),
        ] = None,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        fmt: Annotated[
            str,
            typer.Option(
                "--format",
                parser=choice(_FORMATS, "format"),
                help="table, markdown or json.",
            ),
        ] = "table",
        fail: Annotated[
            Optional[list[str]],
            typer.Option(
                "--fail",
                parser=usage(_checked_threshold),
                help="METRIC:N% or METRIC:N: exit 1 when a regression passes it, or "
                "when it cannot be checked (repeatable).",
            ),
        ] = None,
        min_effect: MinEffectOpt = 0.05,
        repo: RepoOpt = Path("."),
        any_env: AnyEnvOpt = False,
    ) -> None:
        """Compare a run with its baseline: what regressed, improved, or is noise."""
        from xetrack import compare as comparing

        with errors():
            thresholds = [comparing.parse_threshold(t) for t in fail or []]
            result = comparing.compare(
                db,
                base,
                head,
                table=table,
                metrics=metric,
                repo=repo,
                min_effect=min_effect,
                any_env=any_env,
                engine=engine,
            )
            from xetrack.colour import enabled, painter

            on = fmt == "table" and enabled()
            typer.echo(comparing.render(result, fmt, painter(on)), color=on)
            failing = comparing.gate(result, thresholds)
        if thresholds and result.base is None:
            # A gate that could not be applied must not read as a pass.
            for threshold in thresholds:
                typer.echo(
                    f"xt: --fail {threshold} was not applied: {result.summary()}",
                    err=True,
                )
            raise typer.Exit(1)
        unknown, metrics = comparing.unknown_metrics(result, thresholds)
        if unknown:
            raise typer.BadParameter(
                "; ".join(
                    f"no benchmark has a metric {t.metric!r} ({t})" for t in unknown
                )
                + f"; comparable metrics: {', '.join(metrics)}",
                param_hint="--fail",
            )
        for threshold, row in failing:
            typer.echo(
                f"xt: regression: {comparing.evidence(threshold, row)}", err=True
            )
        if failing:
            raise typer.Exit(1)

    @app.command()
    def history(
        db: DbArg,
        test: Annotated[
            Optional[str],
            typer.Option("--test", help="Benchmarks whose id contains this."),
        ] = None,
        metric: Annotated[
            str, typer.Option("--metric", help="The column to follow.")
        ] = "function_time",
        last: Annotated[
            int,
            typer.Option(
                "--last", parser=whole(1, "commits"), help="How many commits."
            ),
        ] = 10,
        table: TableOpt = "default",
        engine: EngineOpt = None,
        json: JsonOpt = False,
        chart: Annotated[
            bool,
            typer.Option(
                "--chart/--no-chart", help="Draw a line chart (needs the plot extra)."
            ),
        ] = True,
        repo: RepoOpt = Path("."),
    ) -> None:
        """A metric across the last commits, per benchmark."""
        from xetrack.compare import history as across

        with errors():
            frame = across(
                db, test=test, metric=metric, last=last, table=table, engine=engine
            )
        show(frame, json, group="benchmark")
        if chart and not json and not frame.empty:
            from xetrack.timeline import timeline

            with errors():
                found = timeline(
                    db,
                    table=table,
                    repo=repo,
                    last=last,
                    metrics=[metric],
                    test=test,
                    engine=engine,
                )
            _chart(found, metric)


#: Each series' marker, so a chart reads without colour too.
_MARKERS = "o+*x#@%&=~"
#: Marks of the points where a series' verdict says it moved.
_MOVES = {"regressed": ("▲", "red"), "improved": ("▼", "green")}
_COLOURS = ("blue", "orange", "cyan", "magenta", "yellow", "gray", "white")


def _chart(found: Any, metric: str) -> None:
    """Each series relative to its own first commit (x1 = where it started), so
    benchmarks of 0.65 µs and 14 ms share a readable axis; the legend goes under
    the chart, off the data; commits where a verdict moved are marked."""
    try:
        import plotext as plt
    except ImportError:
        return  # the table above says it all; the chart is the plot extra's
    from xetrack.colour import enabled
    from xetrack.timeline import changed
    from xetrack.units import format_number, format_seconds

    # a series that starts at 0 has no ratio to draw (the table shows it)
    series = [s for s in found.series if s.metric == metric and s.baseline()]
    if not series:
        return
    on = enabled()
    plt.clear_figure()
    plt.plotsize(min(plt.terminal_width() or 100, 110), 24)
    legend = []
    for index, s in enumerate(series):
        marker, colour = (
            _MARKERS[index % len(_MARKERS)],
            _COLOURS[index % len(_COLOURS)],
        )
        xs = [p.run for p in s.points]
        plt.plot(xs, s.relative(), marker=marker, color=colour)
        base = s.baseline()
        shown = format_seconds(base) if s.is_time else format_number(base)
        legend.append((marker, colour, f"{s.benchmark} (x1 = {shown})"))
    moves = []
    for verdict, (mark, colour) in _MOVES.items():
        xs, ys = [], []
        for s in series:
            relative = dict(zip((p.run for p in s.points), s.relative(), strict=True))
            for point in changed(s):
                if point.verdict == verdict:
                    xs.append(point.run)
                    ys.append(relative[point.run])
                    label = found.runs[point.run].label()
                    ratio = f" x{point.ratio:.2f}" if point.ratio else ""
                    moves.append(f"{mark} {label}: {s.benchmark} {verdict}{ratio}")
        if xs:
            plt.scatter(xs, ys, marker=mark, color=colour)
    labels = [r.label() for r in found.runs]
    every = max(1, -(-len(labels) // 8))
    ticks = [i for i in range(len(labels)) if i % every == 0 or i == len(labels) - 1]
    plt.xticks(ticks, [labels[i] for i in ticks])
    plt.title(f"{metric} relative to each benchmark's first commit (git order)")
    text = plt.build()
    typer.echo(text if on else plt.uncolorize(text), color=on)
    for marker, colour, label in legend:
        shown_marker = plt.colorize(marker, colour) if on else marker
        typer.echo(f"  {shown_marker}  {label}", color=on)
    for line in moves:
        typer.echo(f"  {line}")
    for note in found.notes:
        typer.echo(f"note: {note}")
