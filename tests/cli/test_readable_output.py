"""What xt prints reads at a glance: times with units, one missing mark, key columns
of wide rows, colour only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xetrack import Tracker
from xetrack.cli import app

XT = str(Path(sys.executable).parent / "xt")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _two_runs(db: Path, engine: str = "sqlite") -> None:
    """Three benchmarks of very different cost; the middle one twice as slow."""
    costs = {"t::tiny": 0.65e-6, "t::mid": 54e-6, "t::big": 14e-3}
    for commit, slow in (("a" * 40, 1.0), ("b" * 40, 2.0)):
        run = Tracker(db, engine=engine, params={"git_commit": commit})
        run.log_batch(
            [
                {
                    "test_nodeid": name,
                    "function_time": cost
                    * (slow if name == "t::mid" else 1.0)
                    * (1 + i / 1000),
                }
                for name, cost in costs.items()
                for i in range(10)
            ]
        )
        run.close()


def _xt(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [XT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _xt_on_a_terminal(*args: str, env: dict[str, str], cwd: Path) -> str:
    """Run xt with its stdout on a real pseudo-terminal; return what it printed."""
    leader, follower = pty.openpty()
    environ = {
        k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")
    }
    process = subprocess.Popen(
        [XT, *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={**environ, "TERM": "xterm", "COLUMNS": "250", **env},
        cwd=cwd,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_compare_prints_each_benchmark_in_its_own_unit(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    _two_runs(db)
    out = _xt("compare", str(db), cwd=tmp_path)
    lines = {
        line.split()[0]: line for line in out.splitlines() if line.startswith("t::")
    }
    assert "650.0 ns" in lines["t::tiny"] and "54.00 µs" in lines["t::mid"]
    assert "108.0 µs" in lines["t::mid"] and "14.00 ms" in lines["t::big"]
    assert not re.search(r"\de-\d", out), out  # no exponent anywhere
    raw = json.loads(_xt("compare", str(db), "--format", "json", cwd=tmp_path))
    bases = {r["benchmark"]: r["base"] for r in raw["rows"]}
    assert bases["t::tiny"] == pytest.approx(0.65e-6)  # JSON keeps seconds


def test_head_prints_timing_columns_with_units_and_json_keeps_seconds(
    tmp_path: Path, engine: str
) -> None:
    db = tmp_path / "b.db"
    _two_runs(db, engine)
    out = CliRunner().invoke(app, ["head", str(db), "-n", "3"]).stdout
    assert "650.0 ns" in out and "0.00000065" not in out and "e-07" not in out
    rows = json.loads(CliRunner().invoke(app, ["head", str(db), "--json"]).stdout)
    assert rows[0]["function_time"] == pytest.approx(0.65e-6)


def test_missing_values_print_one_way_in_every_table(
    tmp_path: Path, engine: str
) -> None:
    db = tmp_path / "m.db"
    tracker = Tracker(db, engine=engine)
    tracker.log({"n": 1, "x": 1.5, "label": "a", "flag": True, "function_time": 1e-3})
    tracker.log({"n": None, "x": float("nan"), "label": None, "flag": None})
    tracker.close()
    runner = CliRunner()
    outputs = [
        runner.invoke(app, args).stdout
        for args in (
            ["head", str(db), "--all-columns"],
            ["tail", str(db), "--all-columns"],
            ["sql", str(db), 'SELECT n, x, label, flag FROM "default"'],
            ["stats", "bottom", str(db), "n", "--all-columns"],
            ["describe", str(db), "--columns", "n,x,function_time"],
        )
    ]
    for out in outputs:
        assert not re.search(r"\bnan\b|<NA>|\bNone\b|NaT", out), out
    cells = [c.strip() for c in outputs[1].splitlines()[-1].strip("|").split("|")]
    assert cells[-5:] == ["-", "-", "-", "-", "-"], outputs[
        1
    ]  # n, x, label, flag, time
    describe = outputs[4]
    assert re.search(r"\| count +\| +1 \| +1 +\| +1 \|", describe), describe
    assert "1.000 ms" in describe  # the time column's statistics have a unit


def _wide(db: Path) -> None:
    row: dict[str, object] = {
        "test_nodeid": "t.py::test_sort[1000]",
        "size": 1000,
        "function_time": 2e-3,
        "time_min": 1.9e-3,
        "accuracy": 0.9,
        "git_commit": "c" * 40,
    }
    row.update({name: 1 for name in ("rounds", "iterations", "warmup", "cpu_count")})
    row.update(
        {
            name: "x"
            for name in (
                "python_version",
                "platform",
                "cpu_model",
                "env_fingerprint",
                "git_branch",
                "timer",
                "test_name",
                "time_samples",
                "time_batches",
            )
        }
    )
    row.update(
        {name: 0.1 for name in ("time_max", "time_mean", "time_stddev", "time_iqr")}
    )
    Tracker(db).log(row)


@pytest.mark.parametrize(
    "command", [["stats", "top"], ["stats", "bottom"], ["head"], ["tail"]]
)
def test_wide_rows_show_key_columns_unless_asked(
    tmp_path: Path, command: list[str]
) -> None:
    db = tmp_path / "w.db"
    _wide(db)
    ranked = ["function_time"] if command[0] == "stats" else []
    done = CliRunner().invoke(app, [*command, str(db), *ranked])
    header = done.stdout.splitlines()[0]
    assert (
        "test_nodeid" in header and "function_time" in header and "accuracy" in header
    )
    assert "python_version" not in header and "time_samples" not in header
    assert "detail columns not shown" in done.stderr and "--all-columns" in done.stderr
    chosen = CliRunner().invoke(
        app, [*command, str(db), *ranked, "--columns", "size,cpu_model"]
    )
    names = [h.strip() for h in chosen.stdout.splitlines()[0].strip("|").split("|")]
    assert names == [*ranked, "size", "cpu_model"]  # the ranked column comes first
    every = CliRunner().invoke(app, [*command, str(db), *ranked, "--all-columns"])
    assert "python_version" in every.stdout.splitlines()[0]
    records = json.loads(
        CliRunner().invoke(app, [*command, str(db), *ranked, "--json"]).stdout
    )
    assert "python_version" in records[0] and "time_samples" in records[0]


def test_an_unknown_column_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _wide(db)
    done = CliRunner().invoke(app, ["head", str(db), "--columns", "nope"])
    assert done.exit_code == 1 and "nope" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_no_colour_into_a_pipe_or_with_no_color(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    _two_runs(db)
    piped = _xt(
        "compare", str(db), cwd=tmp_path, env={"NO_COLOR": "", "FORCE_COLOR": ""}
    )
    assert "regressed" in piped and not ANSI.search(piped)
    terminal = _xt_on_a_terminal("compare", str(db), env={}, cwd=tmp_path)
    assert "\x1b[1;31mregressed" in terminal, terminal
    assert not ANSI.search(
        _xt_on_a_terminal("compare", str(db), env={"NO_COLOR": "1"}, cwd=tmp_path)
    )
    forced = _xt(
        "compare", str(db), cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": ""}
    )
    assert "\x1b[1;31mregressed" in forced
    assert not ANSI.search(
        _xt(
            "compare",
            str(db),
            "--format",
            "markdown",
            cwd=tmp_path,
            env={"FORCE_COLOR": "1"},
        )
    )
