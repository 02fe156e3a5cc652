"""The terminal summary's comparison and the regression gate, built on xetrack.compare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Verdict:
    """What the session's comparison found, for the summary and the exit status."""

    text: str
    failures: list[str] = field(default_factory=list)
    #: why a --xetrack-fail threshold could not be applied (the session must not pass)
    unapplied: list[str] = field(default_factory=list)
    #: thresholds that can never apply (a metric no benchmark has): a usage error
    usage: list[str] = field(default_factory=list)
    #: the comparison itself (None when it failed): the summary paints its
    #: verdicts, the Markdown and HTML outputs render it too
    comparison: Any = None


def check_reference(options: Any, rootdir: str) -> None:
    """Before any test runs: the baseline ``--xetrack-compare=REF`` names must exist.

    Raises :class:`pytest.UsageError` listing the runs there are.
    """
    from xetrack import compare as engine
    from xetrack.errors import XetrackError
    from xetrack.store import display, is_server_url, open_store

    if not is_server_url(options.db) and not Path(options.db).exists():
        raise pytest.UsageError(
            f"--xetrack-compare={options.compare}: {display(options.db)} has no runs "
            f"yet to compare with; record one first (run without --xetrack-compare)"
        )
    try:
        store = open_store(options.db, read_only=True)
        try:
            runs = engine._runs(store, options.table)
        finally:
            store.close()
        engine.resolve(options.compare, runs, rootdir)
    except XetrackError as exc:
        raise pytest.UsageError(f"--xetrack-compare={options.compare}: {exc}") from None


def judge_session(session: Any, rootdir: str) -> Verdict:
    """Compare this session's run with its baseline; gate it on ``--xetrack-fail``."""
    from xetrack import compare as engine
    from xetrack.errors import XetrackError

    options = session.options
    base = None if options.compare in (None, "auto") else options.compare
    thresholds = [engine.parse_threshold(t) for t in options.fail]
    try:
        result = engine.compare(
            options.db,
            base=base,
            head=session.track_id,
            table=options.table,
            repo=rootdir,
            any_env=options.any_env,
            min_effect=options.min_effect,
        )
    except XetrackError as exc:
        return _unapplied(f"comparison failed: {exc}", thresholds)
    if result.base is None:
        notes = "; ".join(result.notes) or result.summary()
        verdict = _unapplied(f"note: {notes}", thresholds, result.summary())
        verdict.comparison = result
        return verdict
    unknown, metrics = engine.unknown_metrics(result, thresholds)
    usage = [
        f"--xetrack-fail={t}: no benchmark has a metric {t.metric!r}; comparable "
        f"metrics: {', '.join(metrics)}"
        for t in unknown
    ]
    failures = [engine.evidence(t, row) for t, row in engine.gate(result, thresholds)]
    return Verdict(
        engine.render(result, "table"), failures, usage=usage, comparison=result
    )


def _unapplied(text: str, thresholds: list[Any], reason: str | None = None) -> Verdict:
    why = reason or text
    return Verdict(
        text,
        unapplied=[f"--xetrack-fail={t} was not applied: {why}" for t in thresholds],
    )


def write(terminal: Any, verdict: Verdict) -> None:
    terminal.write_sep("-", "xetrack comparison")
    text = verdict.text
    if verdict.comparison is not None and verdict.comparison.base is not None:
        from xetrack.compare import render

        # pytest's writer knows whether it may colour (a terminal, NO_COLOR,
        # FORCE_COLOR, --color): its markup is plain text when it may not
        writer = terminal.config.get_terminal_writer()
        text = render(verdict.comparison, "table", _painter(writer))
    for line in text.splitlines():
        terminal.write_line(line)
    for failure in verdict.failures:
        terminal.write_line(f"REGRESSION {failure}", red=True, bold=True)
    for line in (*verdict.unapplied, *verdict.usage):
        terminal.write_line(f"xetrack: {line}", red=True, bold=True)


def _painter(writer: Any) -> Callable[[str, str], str]:
    from xetrack.colour import VERDICT_COLOURS

    def paint(text: str, verdict: str) -> str:
        colour = VERDICT_COLOURS.get(verdict)
        if colour is None:
            return text
        bold = verdict in ("regressed", "failed")
        return str(writer.markup(text, **{colour: True, "bold": bold}))

    return paint


def exit_status(verdict: Verdict, current: int) -> int:
    """A regression, or a gate that could not be applied, fails a passing session; a
    threshold that can never apply is a usage error."""
    if current != pytest.ExitCode.OK:
        return current
    if verdict.usage:
        return int(pytest.ExitCode.USAGE_ERROR)
    if verdict.failures or verdict.unapplied:
        return int(pytest.ExitCode.TESTS_FAILED)
    return current
