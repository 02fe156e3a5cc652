"""Measuring a suspected regression again, in a new process.

One process of the same code can run 10-20% slower than the next for its whole
life (measured on our 2-core machine: nine of ten fresh processes timed a 2 us
loop at 1.42 us, the tenth at 1.64 us, each steady to 0.4% within itself): where
the interpreter, the heap and the code land in memory differs per process. A
second reading in the same process keeps that layout, so a session that came out
slow stays slow. A suspect is therefore timed again in a fresh ``python -m pytest``
of that one test (the same interpreter, ini file, plugins and timing options),
up to :data:`PROCESSES` times, and the fastest process's measurement stands: a
real regression is slow in every process, an unlucky layout in one. When a fresh
process cannot run the test (it fails there, needs a command-line option only
this session was given, times out), the suspect is measured again in this
process after a pause, as ``--xetrack-remeasure=inline`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from pytest_xetrack.session import Session
    from xetrack.timing import Measurement

#: Where a fresh process writes its measurement (set only for that process).
OUT_ENV: Final = "XETRACK_REMEASURE_OUT"
#: Fresh processes tried at most for one suspect: the chance that every one is
#: unlucky falls with each (two of a one-in-five layout: 4%, three: 0.8%).
PROCESSES: Final = 2
#: Seconds to wait before measuring a suspect again in this process: long enough
#: for a burst of other work on the machine to pass, short against a session.
PAUSE: Final = 0.25
MODES: Final = ("process", "inline", "off")
#: Seconds of fresh processes one session spends at most (a suite whose test
#: modules take long to import pays that per suspect): past it, suspects are
#: measured again in this process.
PROCESS_BUDGET: Final = 60.0
#: Environment a fresh process must not inherit: an xdist worker's identity, and
#: the CI summary file only the session that asked may write to.
_NOT_INHERITED: Final = (
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "GITHUB_STEP_SUMMARY",
)


def confirmed(
    session: Session,
    item: pytest.Function,
    measured: Measurement,
    again: Callable[[], Measurement],
) -> tuple[Measurement, float | None, int]:
    """The measurement to keep, the first median if it was measured again, and how
    many more measurements were taken.

    A measurement slower than its reference by more than the minimum effect is a
    suspect (not only one past the noise floor: an unlucky process that is not
    measured again stays in the history and widens every later floor); with
    ``off`` it stands as it is.
    """
    mode = session.options.remeasure
    expected = session.expected.get(item.nodeid)
    if mode == "off" or expected is None or measured.error is not None:
        return measured, None, 0
    stats = measured.stats()
    if stats is None:
        return measured, None, 0
    reference = expected[0]
    suspect = reference * (1 + session.options.min_effect)
    if reference <= 0 or stats.min <= suspect:
        return measured, None, 0  # compared as compare() does: the fastest call
    if mode == "process" and session.fresh_seconds < PROCESS_BUDGET:
        taken = []
        for _ in range(PROCESSES):
            started = time.perf_counter()
            fresh = in_fresh_process(item, measured)
            session.fresh_seconds += time.perf_counter() - started
            if fresh is None:
                break
            taken.append(fresh)
            if _min(fresh) <= suspect:
                break  # an unlucky process, not slower code
        if taken:
            best = min([measured, *taken], key=_min)
            return best, stats.median, len(taken)
    import gc

    time.sleep(PAUSE)
    gc.collect()  # rare (a suspect only) and after a pause: the full collection
    return again(), stats.median, 1


def _min(measured: Measurement) -> float:
    stats = measured.stats()
    return stats.min if stats is not None else float("inf")


def in_fresh_process(
    item: pytest.Function, measured: Measurement
) -> Measurement | None:
    """``item`` measured in a new pytest process, or None when that did not work."""
    from dataclasses import replace

    config = item.config
    with tempfile.TemporaryDirectory(prefix="xetrack-remeasure-") as scratch:
        out = Path(scratch, "measurement.json")
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env[OUT_ENV] = str(out)
        budget = measured.config.max_time
        try:
            done = subprocess.run(
                _command(item, Path(scratch, "fresh.db")),
                cwd=config.invocation_params.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60 + 10 * budget,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0 or not out.is_file():
            return None
        try:
            found = json.loads(out.read_text())
            samples = [float(s) for s in found["samples"]]
            batches = [int(b) for b in found["batches"]]
            iterations = int(found["iterations"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    if not samples or iterations < 1 or sum(batches) != len(samples):
        return None
    return replace(
        measured,
        samples=samples,
        batches=batches,
        iterations=iterations,
        warmup_rounds=int(found.get("warmup_rounds", 0)),
        warmup_calls=int(found.get("warmup_calls", 0)),
        elapsed=float(found.get("elapsed", 0.0)),
        capped=bool(found.get("capped", False)),
    )


def _command(item: pytest.Function, db: Path) -> list[str]:
    """This one test, as this session would run it, recording into a scratch file."""
    config = item.config
    name = item.nodeid.split("::", 1)
    target = str(item.path) + ("::" + name[1] if len(name) > 1 else "")
    command = [sys.executable, "-m", "pytest", target, "-q", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(config.rootpath)]
    if config.inipath is not None:
        command += ["-c", str(config.inipath)]
    args = list(config.invocation_params.args)
    for i, arg in enumerate(args[:-1]):  # plugins this session was asked to load
        if arg == "-p" and not args[i + 1].startswith("no:cacheprovider"):
            command += ["-p", args[i + 1]]
    for arg in args:
        if arg.startswith("-p") and len(arg) > 2:
            command.append(arg)
    if config.pluginmanager.hasplugin("xdist"):
        command += ["-n", "0"]  # one process: this one test, not a pool
    from pytest_xetrack.options import timing_flags

    command += timing_flags(config)
    command += ["--xetrack-db", str(db)]
    return command


def write_out(measured: Measurement) -> None:
    """In a fresh process: hand the measurement to the session that asked for it."""
    path = os.environ.get(OUT_ENV)
    if not path or measured.error is not None:
        return
    Path(path).write_text(
        json.dumps(
            {
                "samples": measured.samples,
                "batches": measured.batches,
                "iterations": measured.iterations,
                "warmup_rounds": measured.warmup_rounds,
                "warmup_calls": measured.warmup_calls,
                "elapsed": measured.elapsed,
                "capped": measured.capped,
            }
        )
    )
