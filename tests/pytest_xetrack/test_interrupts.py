"""Interrupting an xdist session (Ctrl-C, SIGTERM, SIGKILL of the controller) keeps
the row of every test that had finished: at once, or after the next session on the
same database recovered the dead session's spools."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xetrack import Reader

QUICK = 12  # per file; each of the two workers runs one file (--dist loadfile)
#: Seconds a niced session may take to reach a point or to end: a bound that makes a
#: hang fail, never an expected time. At nice 19 beside CPU-bound work a session
#: gets a few percent of a core: a minute was seen to run out after a Ctrl-C.
PATIENCE = 600

#: Each file: quick tests, then one that blocks until it is killed, so once both
#: workers are blocked the set of finished tests cannot change.
TEST_FILE = """
import os, time
from pathlib import Path

import pytest

@pytest.mark.parametrize("i", range({quick}))
def test_quick(tracker, i):
    tracker.log({{"i": i, "file": {name!r}}})

def test_zz_block(tracker):
    Path(os.environ["BLOCKED_DIR"], {name!r}).write_text("blocked")
    deadline = time.monotonic() + {patience}
    while time.monotonic() < deadline:
        time.sleep(0.05)
"""


def _start(project: Path, db: Path, tmpdir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TMPDIR": str(tmpdir),
        "BLOCKED_DIR": str(project / "blocked"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",  # in file order: the blocking test runs last
            f"--xetrack-db={db}",
            str(project),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's job is
        preexec_fn=_as_a_terminal_job,
    )


def _as_a_terminal_job() -> None:
    """Low priority for these sessions and their workers: on a 2-core CI runner
    they must not starve the timing-sensitive tests running beside them. And
    SIGINT delivered, as to a terminal's job: a suite started in the background
    of a non-interactive shell (``.ci/run &``) inherits SIGINT ignored, and a
    Python started so never turns Ctrl-C into KeyboardInterrupt (the session
    would wait out PATIENCE)."""
    os.nice(19)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_until(condition: object, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():  # type: ignore[operator]
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"pytest ended before {what}:\n{out}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _spooled_tests(db: Path, tmpdir: Path) -> set[str]:
    """The tests whose rows the workers spooled (finished, teardown done), wherever
    the spools are (next to the database; in the temp dir before that)."""
    found = set()
    spools = [
        *db.parent.glob(f".{db.name}.xetrack-spool/*/*.jsonl"),
        *tmpdir.glob("xetrack-spool-*/*.jsonl"),
    ]
    for spool in spools:
        for line in spool.read_text().splitlines():
            for entry in json.loads(line)["rows"]:
                found.add(entry["row"]["test_nodeid"])
    return found


def _rows(db: Path) -> set[str]:
    with Reader(db) as reader:
        return set(reader.to_df()["test_nodeid"])


@pytest.mark.parametrize(
    "how", ["ctrl-c", "sigterm", "sigkill"], ids=["ctrl-c", "sigterm", "sigkill"]
)
def test_interrupted_xdist_session_keeps_every_finished_test(
    tmp_path: Path, how: str
) -> None:
    project = tmp_path / "project"
    (project / "blocked").mkdir(parents=True)
    for name in ("a", "b"):
        (project / f"test_{name}.py").write_text(
            TEST_FILE.format(quick=QUICK, name=name, patience=PATIENCE)
        )
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    db = tmp_path / "bench.db"
    proc = _start(project, db, tmpdir)
    try:
        _wait_until(
            lambda: len(list((project / "blocked").iterdir())) == 2,
            "both workers to block",
            proc,
        )
        finished = _spooled_tests(db, tmpdir)
        assert len(finished) == 2 * QUICK
        if how == "ctrl-c":  # the terminal sends SIGINT to the whole foreground group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        proc.wait(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
        try:  # workers left blocked by a killed controller
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    output = proc.stdout.read().decode() if proc.stdout else ""
    spools = db.parent / f".{db.name}.xetrack-spool"
    if how == "ctrl-c":
        assert _rows(db) == finished, output
        assert not spools.exists()
    else:
        assert finished <= _rows(db) | _spooled_tests(db, tmpdir)
    assert not list(tmpdir.glob("xetrack-spool-*"))

    # The next session on the same database recovers what is left, once.
    (project / "test_a.py").unlink()
    (project / "test_b.py").write_text("def test_next(tracker):\n    tracker.log({})\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--xetrack-db={db}",
        ],
        cwd=project,
        env={**os.environ, "TMPDIR": str(tmpdir)},
        capture_output=True,
        text=True,
        preexec_fn=_as_a_terminal_job,
    )
    assert done.returncode == 0, done.stdout
    with Reader(db) as reader:
        frame = reader.to_df()
    earlier = frame[frame["test_nodeid"] != "test_b.py::test_next"]
    assert set(earlier["test_nodeid"]) == finished
    assert len(earlier) == len(finished)  # each row once, however it arrived
    assert not spools.exists()
    assert not list(tmpdir.glob("xetrack-spool-*"))


def _fake_spool(db: Path, name: str, pid: int, started: float | None) -> Path:
    import socket

    folder = db.parent / f".{db.name}.xetrack-spool" / name
    folder.mkdir(parents=True)
    owner = {"host": socket.gethostname(), "pid": pid, "started": started}
    (folder / "owner.json").write_text(json.dumps(owner))
    row = {
        "timestamp": "2026-01-01 00:00:00.000000+00:00",
        "track_id": f"run-{name}",
        "test_nodeid": f"t.py::{name}",
    }
    line = {"rows": [{"table": "default", "row": row}], "assets": {}, "served": 0}
    (folder / "gw0-x.jsonl").write_text(json.dumps(line) + "\n")
    return folder


def test_a_live_sessions_spools_are_not_taken_a_dead_ones_are(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    import psutil

    db = tmp_path / "shared.db"
    live = _fake_spool(db, "live", os.getpid(), psutil.Process().create_time())
    dead_proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = _fake_spool(db, "dead", int(dead_proc.stdout), time.time() - 5)
    reused = _fake_spool(db, "reused", os.getpid(), 12.0)  # our pid, another start
    pytester.makepyfile("def test_x(tracker):\n    tracker.log({'x': 1})\n")
    result = pytester.runpytest_subprocess(f"--xetrack-db={db}", "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*recovered 1 rows*interrupted session*"])
    assert set(Reader(db).to_df()["track_id"]) >= {"run-dead", "run-reused"}
    assert "run-live" not in set(Reader(db).to_df()["track_id"])
    assert live.exists() and not dead.exists() and not reused.exists()


def test_xetrack_timeout_is_validated_and_reaches_the_store(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    import sqlite3

    db = tmp_path / "busy.db"
    pytester.makepyfile("def test_a(tracker):\n    tracker.log({'a': 1})\n")
    bad = pytester.runpytest(f"--xetrack-db={db}", "--xetrack-timeout=soon")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*expected seconds >= 0 like 30 or 2.5, got 'soon'*"])
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=1)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        pytester.makeini("[pytest]\nxetrack_timeout = 0.3\n")
        held = pytester.runpytest(f"--xetrack-db={db}", "-p", "no:xdist")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # the session records its run when it opens the store: the wait ends there,
    # before any test runs, as a usage error
    assert held.ret == pytest.ExitCode.USAGE_ERROR
    held.stderr.fnmatch_lines(["*stayed locked by another connection for 0.3 s*"])
