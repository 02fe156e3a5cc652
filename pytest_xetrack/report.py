"""The terminal summary's comparison and the regression gate, built on xetrack.compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Verdict:
    """What the session's comparison found, for the summary and the exit status."""

    text: str
    failures: list[str] = field(default_factory=list)


def judge_session(session: Any, rootdir: str) -> Verdict:
    """Compare this session's run with its baseline; gate it on ``--xetrack-fail``."""
    from xetrack import compare as engine
    from xetrack.errors import XetrackError

    options = session.options
    base = None if options.compare in (None, "auto") else options.compare
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
    except engine.NoRunError as exc:
        return Verdict(f"nothing to compare: {exc}")
    except XetrackError as exc:
        return Verdict(f"comparison failed: {exc}")
    if result.base is None:
        return Verdict(f"note: {result.summary()}")
    thresholds = [engine.parse_threshold(t) for t in options.fail]
    failures = [engine.evidence(t, row) for t, row in engine.gate(result, thresholds)]
    return Verdict(engine.render(result, "table"), failures)


def write(terminal: Any, verdict: Verdict) -> None:
    terminal.write_sep("-", "xetrack comparison")
    for line in verdict.text.splitlines():
        terminal.write_line(line)
    for failure in verdict.failures:
        terminal.write_line(f"REGRESSION {failure}", red=True, bold=True)


def exit_status(verdict: Verdict, current: int) -> int:
    if verdict.failures and current == pytest.ExitCode.OK:
        return int(pytest.ExitCode.TESTS_FAILED)
    return current
