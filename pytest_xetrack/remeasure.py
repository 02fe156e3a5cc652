"""Measuring a suspected regression again, in a new process.

One process of the same code can run 10-20% slower than the next for its whole
life (measured on our 2-core machine: nine of ten fresh processes timed a 2 us
loop at 1.42 us, the tenth at 1.64 us, each steady to 0.4% within itself): where
the interpreter, the heap and the code land in memory differs per process. A
second reading in the same process keeps that layout, so a session that came out
slow stays slow. So after the last test the suspects are timed again in a fresh
``python -m pytest`` of just them (the same interpreter, ini file, plugins and
timing options), and each row takes the faster process's measurement: a real regression is slow in every process, an unlucky
layout in one. ``--xetrack-remeasure=inline`` measures a suspect again in its own
test after a pause instead (for tests that cannot run alone), ``off`` never.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from pytest_xetrack.session import Session
    from xetrack.timing import Measurement

#: Where a fresh process writes its measurement (set only for that process).
OUT_ENV: Final = "XETRACK_REMEASURE_OUT"
#: Seconds to wait before measuring a suspect again in this process: long enough
#: for a burst of other work on the machine to pass, short against a session.
PAUSE: Final = 0.25
MODES: Final = ("process", "inline", "off")
#: Seconds the fresh process may take before it is stopped. One pass only: on the
#: verdict benchmark a second pass over the suspects still slow mostly met the
#: same slow spell of the machine as the first (tens of seconds long) and cost a
#: session 0.53x pytest-benchmark's wall time instead of about 0.44x.
PROCESS_TIMEOUT: Final = 120.0
#: Environment a fresh process must not inherit: an xdist worker's identity, and
#: the CI summary file only the session that asked may write to.
_NOT_INHERITED: Final = (
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "GITHUB_STEP_SUMMARY",
)


@dataclass
class Suspect:
    """A benchmark that came out slower than its reference, to measure again."""

    nodeid: str
    table: str
    #: its fastest call and median as first measured
    fastest: float
    median: float | None
    #: the probe loop's fastest call in that measurement
    probe: float | None = None
    #: extra measurements taken
    again: int = 0


def confirmed(
    session: Session,
    nodeid: str,
    measured: Measurement,
    again: Callable[[], Measurement],
) -> tuple[Measurement, float | None, int]:
    """In the test, with ``--xetrack-remeasure=inline``: the measurement to keep,
    the first median if it was measured again, and how many more were taken.

    With ``process`` (the default) a suspect is measured again at the end of the
    session instead (:func:`remeasure_suspects`); with ``off`` never.
    """
    if session.options.remeasure != "inline":
        return measured, None, 0
    stats = measured.stats()
    if measured.error is not None or stats is None:
        return measured, None, 0
    if not is_suspect(session, nodeid, stats.min, measured.probe):
        return measured, None, 0
    import gc

    time.sleep(PAUSE)
    gc.collect()  # rare (a suspect only) and after a pause: the full collection
    return again(), stats.median, 1


def is_suspect(
    session: Session, nodeid: str, fastest: float, probe: float | None
) -> bool:
    """Slower than its reference by more than the minimum effect (not only past the
    noise floor: an unlucky process that is not measured again stays in the history
    and widens every later floor). Compared as compare() does: the fastest call,
    over the probe's where the verdict will use that."""
    expected = session.expected.get(nodeid)
    if expected is None:
        return False
    return expected.exceeded(fastest, probe, session.options.min_effect)


def _faster(
    session: Session, suspect: Suspect, fastest: float, probe: float | None
) -> bool:
    """Whether a second measurement reads faster than the suspect's first, as the
    verdict reads both: over their probes' where it uses that."""
    expected = session.expected.get(suspect.nodeid)
    if expected is not None:
        again = expected.reading(fastest, probe)
        first = expected.reading(suspect.fastest, suspect.probe)
        if again is not None and first is not None:
            return again < first
    return fastest < suspect.fastest


def note(session: Session, table: str, row: Mapping[str, object]) -> None:
    """On the controller, for every benchmark row of this session: remember it if
    it is a suspect to measure again in a fresh process."""
    if session.options.remeasure != "process" or row.get("error"):
        return
    if row.get("measured_by"):  # pytest-benchmark's own fixture: not ours to redo
        return
    fastest, median = row.get("time_min"), row.get("function_time")
    probe = row.get("time_probe")
    probe = float(probe) if isinstance(probe, (int, float)) and probe > 0 else None
    nodeid = str(row.get("test_nodeid") or "")
    if not isinstance(fastest, (int, float)) or not nodeid:
        return
    if is_suspect(session, nodeid, float(fastest), probe):
        session.suspects[nodeid] = Suspect(
            nodeid,
            table,
            float(fastest),
            float(median) if isinstance(median, (int, float)) else None,
            probe,
        )


def remeasure_suspects(session: Session, config: pytest.Config) -> None:
    """After the last test, before the verdict: every suspect timed again in one
    fresh ``python -m pytest`` of just the suspects (one process for all: a session
    pays pytest's start-up once, not once a suspect); a suspect's row takes the
    faster process's measurement, or, when several processes measured it
    already (:mod:`pytest_xetrack.processes`), counts this one among them."""
    from pytest_xetrack.processes import share

    suspects = session.suspects
    found = in_fresh_process(config, sorted(suspects), share(session))
    if found is None:
        session.notes.append(
            f"{len(suspects)} suspected regressions could not be measured again in "
            f"a fresh process (it failed or found none of them: a test that needs "
            f"an option only this session was given?); their first measurement "
            f"stands, or use --xetrack-remeasure=inline"
        )
        return
    for nodeid, fresh in found.items():
        suspect, stats = suspects.get(nodeid), fresh.stats()
        if suspect is None or stats is None:
            continue
        suspect.again = 1
        joined = session.joined.get(nodeid)
        if joined is not None:  # timed in several processes: one more of them
            session.joined[nodeid] = both = joined.joined(fresh)
            columns = both.columns()
        else:
            faster = _faster(session, suspect, stats.min, fresh.probe)
            columns = fresh.columns() if faster else {}
            if faster:
                session.kept_again[nodeid] = fresh
        _store(session, suspect, columns)
        session.remeasured += 1


def _store(session: Session, suspect: Suspect, columns: Mapping[str, object]) -> None:
    from xetrack.errors import XetrackError

    values = {
        **columns,
        "remeasured": suspect.again,
        "first_function_time": suspect.median,
    }
    root = session.open_root()
    target = (
        root if suspect.table == root.table_name else root.derive(table=suspect.table)
    )
    try:
        target.update(values, where={"test_nodeid": suspect.nodeid})
    except XetrackError as exc:
        session.notes.append(
            f"the second measurement of {suspect.nodeid} could not be stored: {exc}"
        )


def in_fresh_process(
    config: pytest.Config,
    nodeids: Sequence[str],
    share: int = 1,
    timeout: float = PROCESS_TIMEOUT,
) -> dict[str, Measurement] | None:
    """``nodeids`` measured in one new pytest process: what it measured, by node id,
    or None when it failed or measured none of them. ``share``: the number of
    processes a spread benchmark's budget is divided among
    (:mod:`pytest_xetrack.processes`)."""
    from pytest_xetrack.processes import SHARE_ENV
    from xetrack.timing import TIMERS, Measurement, TimingConfig
    from xetrack.timing.loops import clock

    with tempfile.TemporaryDirectory(prefix="xetrack-remeasure-") as scratch:
        out = Path(scratch, "out")
        out.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env[OUT_ENV] = str(out)
        env[SHARE_ENV] = str(share)
        try:
            done = subprocess.run(
                _command(config, nodeids, Path(scratch, "fresh.db")),
                cwd=config.invocation_params.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        found: dict[str, Measurement] = {}
        for path in out.glob("*.json"):
            try:
                data = json.loads(path.read_text())
                samples = [float(s) for s in data["samples"]]
                batches = [int(b) for b in data["batches"]]
                probes = [p for p in map(float, data.get("probes", [])) if 0 < p < 1]
                iterations = int(data["iterations"])
                timer = str(data["timer"])
                nodeid = str(data["nodeid"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if not samples or iterations < 1 or sum(batches) != len(samples):
                continue
            found[nodeid] = Measurement(
                TimingConfig(timer=timer) if timer in TIMERS else TimingConfig(),
                clock(timer) if timer in TIMERS else clock("perf_counter"),
                samples=samples,
                iterations=iterations,
                batches=batches,
                warmup_rounds=int(data.get("warmup_rounds", 0)),
                probes=probes,
                spread_out=data.get("spread_out") is True,
            )
    if done.returncode not in (0, 1) or not found:
        return None  # 1: some test failed there; what it measured still counts
    return found


def _command(config: pytest.Config, nodeids: Sequence[str], db: Path) -> list[str]:
    """These tests, as this session would run them, recording into a scratch file."""
    targets = []
    for nodeid in nodeids:
        path, _, rest = nodeid.partition("::")
        targets.append(str(Path(config.rootpath, path)) + (f"::{rest}" if rest else ""))
    command = [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(config.rootpath)]
    if config.inipath is not None:
        command += ["-c", str(config.inipath)]
    command += _passed_on(list(config.invocation_params.args))
    if config.pluginmanager.hasplugin("xdist"):
        command += ["-n", "0"]  # one process: these tests, not a pool
    from pytest_xetrack.options import timing_flags

    command += timing_flags(config)
    command += ["--xetrack-db", str(db)]
    return command


#: Options of this session a fresh process needs to import and run its tests as
#: this one did (each takes one value): plugins, ini overrides, import mode,
#: warning filters, where conftests are looked for.
_PASSED_ON: Final = (
    "-p",
    "-o",
    "--override-ini",
    "--import-mode",
    "-W",
    "--pythonwarnings",
    "--confcutdir",
)


def _passed_on(args: Sequence[str]) -> list[str]:
    """The options of ``args`` in _PASSED_ON, as given (``-o x=1``, ``-ox=1``,
    ``--import-mode=importlib``)."""
    kept: list[str] = []
    for i, arg in enumerate(args):
        if arg in _PASSED_ON and i + 1 < len(args):
            kept += [arg, args[i + 1]]
        elif (
            any(
                arg.startswith(f"{flag}=") or (len(flag) == 2 and arg.startswith(flag))
                for flag in _PASSED_ON
            )
            and arg not in _PASSED_ON
        ):
            kept.append(arg)
    return kept


def write_out(nodeid: str, measured: Measurement) -> None:
    """In a fresh process: hand a measurement to the session that asked for it."""
    directory = os.environ.get(OUT_ENV)
    if not directory or measured.error is not None or not measured.samples:
        return
    import hashlib

    name = hashlib.blake2b(nodeid.encode(), digest_size=12).hexdigest()
    Path(directory, f"{name}.json").write_text(
        json.dumps(
            {
                "nodeid": nodeid,
                "samples": measured.samples,
                "batches": measured.batches,
                "iterations": measured.iterations,
                "warmup_rounds": measured.warmup_rounds,
                "probes": measured.probes,
                "timer": measured.config.timer,
                "spread_out": measured.spread_out,
            }
        )
    )
