"""xt import pytest-benchmark / xt export pytest-benchmark: saved runs of
pytest-benchmark itself come into the store once, and a run goes back out as a file
its own code reads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xetrack import Reader
from xetrack.cli import app

TESTS = """
import pytest

def test_sum(benchmark):
    benchmark.extra_info["n"] = 100
    benchmark(sum, range(100))

@pytest.mark.parametrize("size", [1, 2])
def test_sized(benchmark, size):
    benchmark.group = "sized"
    benchmark.pedantic(lambda: size, rounds=4, iterations=2)
"""
FAST = ("--benchmark-max-time=0.01", "--benchmark-min-rounds=3", "-p", "no:xdist")


def xt(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def saved_by_pytest_benchmark(
    pytester: pytest.Pytester, with_pytest_benchmark: None
) -> Path:
    """Two runs saved by pytest-benchmark itself, in a git repository: one with
    every sample (--benchmark-save-data), one with stats only."""
    pytester.makepyfile(TESTS)
    _git(pytester.path, "init", "-q", "-b", "main")
    _git(pytester.path, "add", ".")
    _git(
        pytester.path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"
    )
    pytester.runpytest(
        *FAST, "--benchmark-autosave", "--benchmark-save-data"
    ).assert_outcomes(passed=3)
    pytester.runpytest(*FAST, "--benchmark-save=stats-only").assert_outcomes(passed=3)
    return pytester.path / ".benchmarks"


def test_import_reads_their_saved_runs_once(
    saved_by_pytest_benchmark: Path, tmp_path: Path, pytester: pytest.Pytester
) -> None:
    db = tmp_path / "h.db"
    code, out, err = xt("import", "pytest-benchmark", db, saved_by_pytest_benchmark)
    assert code == 0, err
    assert out.strip() == "imported 2 runs (6 rows) from 2 files"
    frame = Reader(db).to_df()
    head = _git(pytester.path, "rev-parse", "HEAD")
    assert set(frame["git_commit"]) == {head} and set(frame["git_branch"]) == {"main"}
    assert frame["track_id"].nunique() == 2
    files = sorted(saved_by_pytest_benchmark.rglob("*.json"))
    with_data = json.loads(files[0].read_text())
    by_name = {b["name"]: b for b in with_data["benchmarks"]}
    run = frame[frame["timestamp"] == frame["timestamp"].min()]
    row = run[run["test_nodeid"].str.endswith("::test_sum")].iloc[0]
    assert json.loads(str(row["time_samples"])) == by_name["test_sum"]["stats"]["data"]
    assert row["n"] == 100 and row["measured_by"] == "pytest-benchmark"
    assert row["cpu_model"] == with_data["machine_info"]["cpu"]["brand_raw"]
    stats_only = frame[frame["timestamp"] == frame["timestamp"].max()]
    sized = stats_only[stats_only["test_nodeid"].str.endswith("[1]")].iloc[0]
    saved = json.loads(files[1].read_text())
    theirs = next(b for b in saved["benchmarks"] if b["name"] == "test_sized[1]")
    assert sized["function_time"] == pytest.approx(theirs["stats"]["median"])
    assert (sized["rounds"], sized["iterations"]) == (4, 2)
    assert sized["benchmark_group"] == "sized" and sized["size"] == 1
    # again: nothing added
    code, out, _ = xt("import", "pytest-benchmark", db, *files)
    assert code == 0 and out.startswith("imported 0 runs (0 rows) from 2 files")
    assert "2 were there already" in out
    assert len(Reader(db).to_df()) == len(frame)


def test_export_writes_a_run_their_code_reads(
    saved_by_pytest_benchmark: Path, tmp_path: Path
) -> None:
    from pytest_benchmark.storage.file import FileStorage

    db = tmp_path / "h.db"
    first = sorted(saved_by_pytest_benchmark.rglob("*.json"))[0]
    assert xt("import", "pytest-benchmark", db, first)[0] == 0
    machine = first.parent.name
    target = tmp_path / "storage" / machine / "0001_exported.json"
    code, out, err = xt("export", "pytest-benchmark", db, "latest", "-o", target)
    assert code == 0 and "wrote 3 benchmarks" in out, err

    class Strict:
        def warning(self, text: str, **_: object) -> None:
            raise AssertionError(text)

        def info(self, *_: object, **__: object) -> None:
            pass

    loaded = {
        str(b["name"]): b
        for b in FileStorage(tmp_path / "storage", Strict(), machine).load_benchmarks()
    }
    original = {b["name"]: b for b in json.loads(first.read_text())["benchmarks"]}
    assert set(loaded) == set(original)
    for name, bench in original.items():
        for key in ("min", "max", "mean", "median", "rounds", "iterations"):
            assert loaded[name][key] == pytest.approx(bench["stats"][key]), key
        assert loaded[name]["group"] == bench["group"]
        assert loaded[name]["extra_info"] == bench["extra_info"]
    doc = json.loads(target.read_text())
    assert (
        doc["commit_info"]["id"] == json.loads(first.read_text())["commit_info"]["id"]
    )
    # exported then imported again is the run the store holds already
    code, out, _ = xt("import", "pytest-benchmark", db, target)
    assert code == 0 and out.startswith("imported 0 runs")


def test_export_of_the_drop_ins_run_and_to_standard_output(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(TESTS)
    db = tmp_path / "ours.db"
    pytester.runpytest(*FAST, f"--xetrack-db={db}").assert_outcomes(passed=3)
    code, out, _ = xt("export", "pytest-benchmark", db, "--no-data")
    assert code == 0
    doc = json.loads(out)
    names = sorted(b["name"] for b in doc["benchmarks"])
    assert names == ["test_sized[1]", "test_sized[2]", "test_sum"]
    assert all("data" not in b["stats"] for b in doc["benchmarks"])
    assert doc["xetrack"]["track_id"] == Reader(db).to_df()["track_id"].iloc[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"benchmarks": 3}', "has no 'benchmarks' list"),
        ('{"benchmarks": [], "datetime": "yesterday"}', "'datetime' is 'yesterday'"),
        (
            '{"benchmarks": [{"fullname": "t::a", "stats": {"min": -1}}], '
            '"datetime": "2026-01-01T00:00:00"}',
            "stats\\['min'\\] is -1, not a number of seconds",
        ),
    ],
)
def test_a_bad_file_is_one_line_and_the_store_is_unchanged(
    saved_by_pytest_benchmark: Path, tmp_path: Path, content: str, message: str
) -> None:
    import re

    db = tmp_path / "h.db"
    good = sorted(saved_by_pytest_benchmark.rglob("*.json"))[0]
    assert xt("import", "pytest-benchmark", db, good)[0] == 0
    before = len(Reader(db).to_df())
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    later = sorted(saved_by_pytest_benchmark.rglob("*.json"))[1]
    code, _, err = xt("import", "pytest-benchmark", db, later, bad)
    assert code == 1 and err.startswith("xt: ") and err.count("\n") == 1, err
    assert re.search(message, err) and str(bad) in err
    assert len(Reader(db).to_df()) == before  # the good file was not half imported


def test_missing_paths_and_runs_are_one_line(tmp_path: Path) -> None:
    code, _, err = xt(
        "import", "pytest-benchmark", tmp_path / "h.db", tmp_path / "nope"
    )
    assert code == 1 and "no such file or folder" in err and err.count("\n") == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = xt("import", "pytest-benchmark", tmp_path / "h.db", empty)
    assert code == 1 and "holds no .json file" in err
