"""A session's benchmarks measured a batch at a time, in turns, over the session.

A shared machine runs slow in spells of a fraction of a second to a few seconds.
A benchmark whose batches run back to back in its own test often sees one spell
from first round to last, so its fastest call moves with that spell: on our
2-core machine two sessions of the same code read 5-8% apart at 2 ms, and the
verdict's noise floor cannot be narrower than that. So a @track test calibrates,
warms up and times its first batch in its own test, as before, and its row is
written then (an interrupted session keeps it); after the last test the session
takes one more batch of each such benchmark in turn, until each has its budget,
and the rows get the timing of all their batches. Each benchmark's batches are
then a pass of the whole suite apart, and the fastest of them is a far steadier
reading (benchmarks/bench_verdicts.py).

Only a test that can be called again after its teardown is spread: one whose
arguments are all direct parametrize values (no fixture, autouse ones included,
could have been torn down), timed on the time budget (``rounds=`` are exact counts,
taken in the test), not served from or stored in the result cache, outside an
xdist worker. ``@track(spread=False)`` or ``--xetrack-no-spread`` keeps a
benchmark's batches in its test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from pytest_xetrack.session import Session
    from xetrack.timing import Measurement, Spread, TimingConfig


@dataclass
class Deferred:
    """A benchmark whose first batch is in its row, with more batches to take."""

    nodeid: str
    table: str
    #: the stored row: its timestamp finds it again, its columns are noted
    row: dict[str, object]
    spread: Spread
    #: a whole new measurement, for --xetrack-remeasure=inline
    again: Callable[[], Measurement]


def eligible(
    session: Session,
    item: pytest.Function,
    mark: Mapping[str, Any],
    config: TimingConfig,
    cached: bool,
) -> bool:
    """Whether this test's batches may be spread over the session."""
    if not session.options.spread or mark.get("spread") is False:
        return False
    if session.worker or not session.recording or cached or config.fixed:
        return False
    return only_parameters(item)


def only_parameters(item: pytest.Function) -> bool:
    """True when every name the test asks for is a direct parametrize value: then
    calling it again after its teardown is calling it as it was called."""
    callspec = getattr(item, "callspec", None)
    params = getattr(callspec, "params", {}) if callspec is not None else {}
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in item.fixturenames:
        if name not in params:
            return False  # a fixture (autouse ones too)
        defs = info.name2fixturedefs.get(name) or ()
        if any(
            getattr(d.func, "__name__", "") != "get_direct_param_fixture_func"
            for d in defs
        ):
            return False  # indirect parametrization: a fixture again
    return True


def finish(
    session: Session, interrupted: bool, config: pytest.Config | None = None
) -> bool:
    """After the last test: the remaining batches of every deferred benchmark, in
    turns, then (with ``config``) the other processes' share of their budget
    (:mod:`pytest_xetrack.processes`); then each row takes the timing of all its
    batches. Returns True when Ctrl-C stopped the batches (the rows keep those
    taken so far)."""
    from pytest_xetrack import processes, remeasure
    from xetrack.timing import spread_out

    deferred, session.deferred = session.deferred, []
    if not deferred:
        return False
    stopped = False
    if interrupted:
        session.notes.append(
            f"the session was interrupted: {len(deferred)} benchmarks keep the "
            f"timing of their first batch only"
        )
    else:
        try:
            spread_out([d.spread for d in deferred])
        except KeyboardInterrupt:
            stopped = True
            session.notes.append(
                f"interrupted while taking the later batches: {len(deferred)} "
                f"benchmarks keep the batches taken so far"
            )
    others: dict[str, Measurement] = {}
    if config is not None and not (stopped or interrupted):
        try:
            others = processes.elsewhere(session, config, deferred)
        except KeyboardInterrupt:
            stopped = True
            session.notes.append(
                f"interrupted while {len(deferred)} benchmarks were measured in a "
                f"fresh process: they keep this process's measurement"
            )
    for entry in deferred:
        measured = entry.spread.measurement
        late = entry.spread.late_error
        if late is not None:
            session.notes.append(
                f"{entry.nodeid}: a later batch raised {type(late).__name__}: "
                f"{str(late)[:120]}; its timing is from the batches before it "
                f"(@track(spread=False) measures it in one go, in its test)"
            )
        remeasure.write_out(entry.nodeid, measured)  # a fresh process: its share
        other = others.get(entry.nodeid)
        if other is not None and late is None and measured.samples:
            measured = measured.joined(other)
            session.joined[entry.nodeid] = measured
        first, again = None, 0
        if not (stopped or interrupted):
            measured, first, again = remeasure.confirmed(
                session, entry.nodeid, measured, entry.again
            )
        values: dict[str, object] = measured.columns()
        if first is not None:
            values["remeasured"], values["first_function_time"] = again, first
        _store(session, entry, values)
        session.note_timing(
            {**entry.row, **values, "test_nodeid": entry.nodeid}, entry.table
        )
    return stopped


def _store(session: Session, entry: Deferred, values: Mapping[str, object]) -> None:
    from xetrack.errors import XetrackError

    root = session.open_root()
    target = root if entry.table == root.table_name else root.derive(table=entry.table)
    try:
        target.update(
            values,
            where={"test_nodeid": entry.nodeid, "timestamp": [entry.row["timestamp"]]},
        )
    except XetrackError as exc:
        session.notes.append(
            f"the timing of {entry.nodeid}'s later batches could not be stored "
            f"(its row keeps its first batch): {exc}"
        )
