"""pytest sessions recording into one PostgreSQL store: many at once, through a
restart, while the server is away, and the CI pattern of local files pushed later."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pg_server import Server
from test_interrupts import (  # niced sessions, and their time bound
    PATIENCE,
    _as_a_terminal_job,
)

from xetrack import Reader

#: Each session waits in its conftest (loaded before the plugin opens the store)
#: until every session is there: their first writes, which create the tables,
#: the runs table, the indexes and the columns, race for real.
BARRIER_CONFTEST = f"""
import os, pathlib, time
folder = pathlib.Path(os.environ["XT_BARRIER"])
(folder / str(os.getpid())).touch()
deadline = time.monotonic() + {PATIENCE}
while len(list(folder.iterdir())) < int(os.environ["XT_SESSIONS"]):
    assert time.monotonic() < deadline, "the other sessions never started"
    time.sleep(0.01)
"""

SUITE = """
import pytest
from pytest_xetrack import track

@pytest.mark.parametrize("k", range(4))
def test_metrics(tracker, k):
    tracker.log({f"metric_{k}": k * 0.5, "shared": k, f"count_{k}": k, "flag": k % 2 == 0})

@track(rounds=2)
def test_bench():
    return {"score": 1.5, "bench_only": "x"}
"""


def _session(
    project: Path, db: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("PYTEST_XDIST_WORKER", None)
    environment.pop("PYTEST_ADDOPTS", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:hypothesispytest",  # half a second of imports, 16 times
            "-p",
            "no:randomly",  # in file order: the outage suite's steps follow each other
            "-q",
            f"--xetrack-db={db}",
            *args,
        ],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_as_a_terminal_job,
    )


def _project(folder: Path, suite: str, conftest: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "test_suite.py").write_text(textwrap.dedent(suite))
    if conftest:
        (folder / "conftest.py").write_text(textwrap.dedent(conftest))
    return folder


def test_sixteen_sessions_at_once_into_one_store_lose_nothing(
    pg_server: Server, tmp_path: Path
) -> None:
    """16 pytest processes, released together, add the same tables and columns:
    none fails, every test's row is there, every run is recorded."""
    sessions = 16
    db = pg_server.new_url()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"XT_BARRIER": str(barrier), "XT_SESSIONS": str(sessions)}
    procs = [
        _session(
            _project(tmp_path / f"runner{n}", SUITE, BARRIER_CONFTEST), db, env=env
        )
        for n in range(sessions)
    ]
    outputs = [proc.communicate(timeout=PATIENCE)[0] for proc in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output
        assert "5 passed" in output and "rror" not in output, output
        assert pg_server.secret not in output
    with Reader(db) as reader:
        frame = reader.to_df()
        runs = reader.runs()
    assert len(frame) == sessions * 5
    assert frame.groupby("track_id").size().tolist() == [5] * sessions
    assert (frame["outcome"] == "passed").all()
    assert sorted(frame["metric_3"].dropna().tolist()) == [1.5] * sessions
    assert len(runs) == sessions and set(runs["status"]) == {"finished"}
    assert runs["rows"].tolist() == [5] * sessions


def test_an_unreachable_server_is_a_usage_error_before_any_test(
    tmp_path: Path,
) -> None:
    import socket

    project = _project(
        tmp_path / "p", "def test_x(tracker):\n    tracker.log({'x': 1})\n"
    )
    # bound and never listening for the whole session: connecting is refused, and
    # no server started meanwhile (another worker's) can take the port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        db = f"postgresql://ci:hunter2-secret@127.0.0.1:{port}/bench"
        proc = _session(project, db)
        output = proc.communicate(timeout=PATIENCE)[0]
    assert proc.returncode == 4, output  # pytest's usage error: no test ran
    assert "cannot connect to postgresql://ci:***@127.0.0.1" in output
    assert "hunter2-secret" not in output and "Traceback" not in output
    assert "passed" not in output


RESTART_SUITE = (
    f"PATIENCE = {PATIENCE}\n"
    + """
import os, pathlib, time

signal = pathlib.Path(os.environ["XT_SIGNAL"])

def test_before(tracker):
    tracker.log({"step": 0})

def test_meanwhile_the_server_goes(tracker):
    tracker.log({"step": 1})
    (signal / "stop").touch()
    deadline = time.monotonic() + PATIENCE
    while not (signal / "down").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)

def test_during_the_outage(tracker):
    for k in range(5):
        tracker.log({"step": 2 + k, "late": True})

def test_after(tracker):
    tracker.log({"step": 7})
"""
)


def _run_with_an_outage(
    server: Server, tmp_path: Path, db: str, outage: float, *args: str
) -> str:
    """A session that stops for the server to go down; it is started again
    ``outage`` seconds later (None: after the session ended)."""
    signal = tmp_path / "signal"
    signal.mkdir()
    proc = _session(
        _project(tmp_path / "p", RESTART_SUITE),
        db,
        *args,
        env={"XT_SIGNAL": str(signal)},
    )
    deadline = time.monotonic() + PATIENCE
    while not (signal / "stop").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    server.stop()
    (signal / "down").touch()
    if outage > 0:
        time.sleep(outage)  # the outage itself
        server.start()
    output = proc.communicate(timeout=PATIENCE)[0]
    assert proc.returncode == 0, output
    return output


def test_a_server_restart_mid_session_keeps_every_row(
    own_server: Server, tmp_path: Path
) -> None:
    db = own_server.new_url()
    output = _run_with_an_outage(own_server, tmp_path, db, 1.5)
    assert "4 passed" in output and "kept in a local spool" not in output
    with Reader(db) as reader:
        assert sorted(reader.to_df()["step"]) == list(range(8))
        assert reader.runs()["status"].tolist() == ["finished"]


def test_rows_written_while_the_server_is_away_are_pushed_by_the_next_session(
    own_server: Server, tmp_path: Path
) -> None:
    db = own_server.new_url()
    output = _run_with_an_outage(own_server, tmp_path, db, 0, "--xetrack-timeout=0.5")
    assert "4 passed" in output
    assert "8 rows written to postgresql://xetrack:***@" in output
    assert "6 of them kept in a local spool" in output
    assert own_server.secret not in output
    own_server.start()
    with Reader(db) as reader:
        assert sorted(reader.to_df()["step"]) == [0, 1]
    nxt = _session(
        _project(
            tmp_path / "next", "def test_n(tracker):\n    tracker.log({'step': 8})\n"
        ),
        db,
    )
    assert nxt.wait(PATIENCE) == 0
    with Reader(db) as reader:
        frame = reader.to_df()
        assert sorted(frame["step"]) == list(range(9))
        late = frame[frame["late"].fillna(False).astype(bool)]
        assert late["test_nodeid"].unique().tolist() == [
            "test_suite.py::test_during_the_outage"
        ]


CI_SUITE = """
from pytest_xetrack import track

@track(rounds=5)
def test_sort():
    return {{"n": sorted(range({n}))[-1]}}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_runners_record_locally_push_with_xt_copy_and_compare_on_the_server(
    pytester: pytest.Pytester, pg_server: Server, tmp_path: Path
) -> None:
    """The CI pattern: each runner times into a local file (no network in the
    timed loop), then pushes it; a retried push adds nothing; compare reads the
    server and takes the baseline from git ancestry across runners' commits."""
    from typer.testing import CliRunner

    from xetrack.cli import app

    url = pg_server.new_url()
    root = Path(pytester.path)
    _git(root, "init", "-q")
    cli = CliRunner()
    commits = []
    for n, runner in ((1000, "runner-a"), (2000, "runner-b")):
        pytester.makepyfile(test_bench=CI_SUITE.format(n=n))
        _git(root, "add", "-A")
        _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", runner)
        commits.append(_git(root, "rev-parse", "HEAD"))
        local = tmp_path / f"{runner}.db"
        pytester.runpytest(f"--xetrack-db={local}", "-p", "no:xdist").assert_outcomes(
            passed=1
        )
        for attempt in (1, 2):  # a retried CI job pushes again
            pushed = cli.invoke(app, ["copy", str(local), url])
            assert pushed.exit_code == 0, pushed.stderr
            assert (
                "copied 1 rows" if attempt == 1 else "copied 0 rows"
            ) in pushed.stdout
            assert pg_server.secret not in pushed.stdout
    compared = cli.invoke(
        app, ["compare", url, "--repo", str(root), "--format", "json"]
    )
    assert compared.exit_code == 0, compared.stderr
    import json

    result = json.loads(compared.stdout)
    assert result["head"]["commit"] == commits[1]
    assert result["base"]["commit"] == commits[0]  # the ancestor, another runner's
    history = cli.invoke(app, ["history", url, "--no-chart", "--json"])
    assert history.exit_code == 0 and len(json.loads(history.stdout)) == 2
    # or a runner writes to the server directly, and its summary compares there
    pytester.makepyfile(test_bench=CI_SUITE.format(n=3000))
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "direct")
    direct = pytester.runpytest(
        f"--xetrack-db={url}", "-p", "no:xdist", "--xetrack-compare"
    )
    direct.assert_outcomes(passed=1)
    direct.stdout.fnmatch_lines([f"*vs {commits[1][:7]}*"])
    assert pg_server.secret not in direct.stdout.str()
