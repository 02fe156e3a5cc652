"""The session's comparison beyond the terminal: Markdown for a pull request or the
GitHub Actions step summary, and the HTML report. All render the one comparison the
terminal summary shows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_xetrack.report import Verdict
    from pytest_xetrack.session import Session

#: Set by GitHub Actions: a Markdown file whose content the run's page shows.
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def markdown(verdict: Verdict) -> str:
    """The comparison as Markdown, with the gate's findings under it."""
    from xetrack.compare import render

    comparison = verdict.comparison
    if comparison is not None:
        body = render(comparison, "markdown")
        title = comparison.summary()
    else:  # the comparison itself failed: say why
        body, title = verdict.text, "no comparison"
    lines = [f"### xetrack: {title}", "", body]
    problems = [
        *(f"**REGRESSION** {f}" for f in verdict.failures),
        *(f"**xetrack:** {u}" for u in (*verdict.unapplied, *verdict.usage)),
    ]
    if problems:
        lines += ["", *(f"- {p}" for p in problems)]
    return "\n".join(lines) + "\n"


def write_outputs(session: Session, rootdir: str) -> list[str]:
    """Write what the session asked for; return what could not be written (each a
    line naming the file and why)."""
    verdict = session.verdict
    if verdict is None:
        return []
    problems = []
    text = markdown(verdict)
    summary = os.environ.get(STEP_SUMMARY)
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as exc:
            problems.append(f"{STEP_SUMMARY}={summary}: {exc.strerror or exc}")
    options = session.options
    if options.markdown:
        try:
            Path(options.markdown).write_text(text, encoding="utf-8")
        except OSError as exc:
            problems.append(
                f"--xetrack-markdown={options.markdown}: {exc.strerror or exc}"
            )
    if options.report:
        problems += _report(session, rootdir)
    return problems


def _report(session: Session, rootdir: str) -> list[str]:
    from xetrack.errors import XetrackError
    from xetrack.report import build

    options = session.options
    assert options.db is not None and options.report is not None
    try:
        build(
            options.db,
            options.report,
            head=session.track_id,
            base=None if options.compare in (None, "auto") else options.compare,
            table=options.table,
            repo=rootdir,
            min_effect=options.min_effect,
            any_env=options.any_env,
            engine=options.engine,
            # the comparison the summary and the Markdown show, not made again
            comparison=session.verdict.comparison if session.verdict else None,
        )
    except (XetrackError, OSError) as exc:
        return [f"--xetrack-report={options.report}: {exc}"]
    return []
