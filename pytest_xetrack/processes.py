"""A benchmark's budget shared by several processes.

One process can run the same code several percent faster or slower than the
next for its whole life (where its code, its heap and the interpreter land in
memory), and a shared machine can run one process slow for seconds. No number of
batches in one process averages either out: once batches were spread over the
session (:mod:`pytest_xetrack.spread`), that was the larger part of what was left
of the run-to-run noise. Measured on our 2-core machine with the verdict
benchmark's suite, eight sessions of each scheme on the same code, alternating:
the fastest call of one session at the full budget moved 2.4% (0.2 us), 3.9%
(2 us), 5.3% (50 us), 3.6% (2 ms) and 6.7% (50 ms) from session to session; the
fastest call over two processes with half the budget each moved 1.4%, 3.6%,
3.0%, 3.2% and 3.6%. (The geometric mean of the two processes' fastest calls
moved less on that quiet stretch, but a process that spent its whole half of the
budget in a slow spell drags a mean with it: on a noisy day, replayed, it read
71% of the verdict benchmark's verdicts ``inconclusive`` against 39% for the
fastest call of either.)

So by default (``--xetrack-processes 2``) a benchmark whose batches are spread
spends half its budget in this session and half in one fresh ``python -m pytest``
of those benchmarks after the last test (pytest's start-up once for all of
them); its row holds the samples of both, its statistics are over all of them,
and ``time_processes`` says how many batches each process timed. A suspect
measured again in a fresh process (:mod:`pytest_xetrack.remeasure`) adds that
process to them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pytest

    from pytest_xetrack.session import Session
    from pytest_xetrack.spread import Deferred
    from xetrack.timing import Measurement, TimingConfig

#: Set for a fresh process: the number of processes its budget is a share of.
SHARE_ENV: Final = "XETRACK_PROCESS_SHARE"


def fresh() -> bool:
    """Whether this is a fresh process measuring for another session."""
    from pytest_xetrack.remeasure import OUT_ENV

    return bool(os.environ.get(OUT_ENV))


def share(session: Session) -> int:
    """How many processes a spread benchmark's budget is divided among here."""
    if fresh():  # a fresh process: the share the session chose
        given = os.environ.get(SHARE_ENV, "1")
        return int(given) if given.isdigit() and int(given) >= 1 else 1
    return session.options.processes


def divided(config: TimingConfig, processes: int, first: bool = True) -> TimingConfig:
    """One process's share of a benchmark's budget: its time (minimum and
    maximum) and its rounds, divided (the session's own process takes what does
    not divide evenly, so ``min_rounds=7`` over two is 4 and 3); the warmup is
    every process's own."""
    if processes <= 1 or config.fixed:
        return config
    rounds, left = divmod(config.min_rounds, processes)
    return replace(
        config,
        min_time=config.min_time / processes,
        max_time=max(config.max_time / processes, config.min_time / processes),
        min_rounds=max(1, rounds + (left if first else 0)),
    )


def elsewhere(
    session: Session, config: pytest.Config, deferred: Sequence[Deferred]
) -> dict[str, Measurement]:
    """The other processes' measurements of these benchmarks, by node id (one
    fresh process of all of them a process: pytest's start-up once); a note when
    a process failed, and those benchmarks keep this process's measurement."""
    from pytest_xetrack.remeasure import PROCESS_TIMEOUT, in_fresh_process

    processes = share(session)
    if processes <= 1 or not deferred or fresh():
        return {}  # a fresh process measures its own share only
    found: dict[str, Measurement] = {}
    nodeids = sorted({d.nodeid for d in deferred})
    # as long as this process took for them, with room for start-up and a slow spell
    took = math.fsum(d.spread.measurement.elapsed for d in deferred)
    timeout = PROCESS_TIMEOUT + 3 * took
    for _ in range(processes - 1):
        measured = in_fresh_process(config, nodeids, processes, timeout)
        if measured is None:
            session.notes.append(
                f"{len(nodeids)} benchmarks could not be measured in a fresh process "
                f"(it failed or found none of them: a test that needs an option "
                f"only this session was given?); they were measured in this one "
                f"only, or use --xetrack-processes 1"
            )
            break
        for nodeid, other in measured.items():
            found[nodeid] = found[nodeid].joined(other) if nodeid in found else other
    return found
