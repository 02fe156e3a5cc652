"""Bad options fail before any test runs, name the value, and touch nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from xetrack import Tracker

TEST = "def test_a(tracker):\n    tracker.log({'a': 1})\n"


def test_unknown_engine_lists_the_allowed_ones(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(TEST)
    result = pytester.runpytest(
        f"--xetrack-db={tmp_path / 'x.db'}", "--xetrack-engine=oracle"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown engine 'oracle'; use one of: sqlite, duckdb, postgres*"]
    )
    assert not (tmp_path / "x.db").exists()
    # postgres is a server: a file path for it is a usage error too, one line
    result = pytester.runpytest(
        f"--xetrack-db={tmp_path / 'x.db'}", "--xetrack-engine=postgres"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*engine='postgres' needs a server URL such as*"])
    assert not (tmp_path / "x.db").exists()


def test_non_database_file_is_named_and_untouched(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    pytester.makepyfile(TEST)
    result = pytester.runpytest(f"--xetrack-db={notes}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*{notes} is neither an SQLite nor a DuckDB database*"]
    )
    assert notes.read_text() == "not a database"
    result.stdout.no_fnmatch_line("*passed*")


@pytest.mark.parametrize("where", ["missing-folder", "directory"])
def test_unwritable_path_is_a_usage_error(
    pytester: pytest.Pytester, tmp_path: Path, where: str
) -> None:
    path = tmp_path / "nope" / "x.db" if where == "missing-folder" else tmp_path
    pytester.makepyfile(TEST)
    result = pytester.runpytest(f"--xetrack-db={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{path}*"])


def test_locked_duckdb_file_is_a_usage_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    path = tmp_path / "held.duckdb"
    holder = Tracker(path, engine="duckdb")
    holder.log({"a": 0})
    pytester.makepyfile(TEST)
    result = pytester.runpytest_subprocess(f"--xetrack-db={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is locked by another process*engine='sqlite'*"])
    holder.close()


def test_unknown_marker_argument_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import pytest\n@pytest.mark.track(roundz=3)\ndef test_a():\n    pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*@track got an unknown argument 'roundz'; allowed: rounds, warmup*"]
    )


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ("rounds=0", "@track(rounds=0) must be an int >= 1"),
        ("warmup=-1", "@track(warmup=-1) must be an int >= 0"),
        ("metrics={'acc': 'up'}", "the direction must be 'max' or 'min'"),
    ],
)
def test_bad_marker_values_are_named(
    pytester: pytest.Pytester, mark: str, message: str
) -> None:
    pytester.makepyfile(
        f"import pytest\n@pytest.mark.track({mark})\ndef test_a():\n    pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_bad_ini_value_is_named(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nxetrack_engine = oracle\n")
    pytester.makepyfile(TEST)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini key xetrack_engine = 'oracle': unknown engine 'oracle'*"]
    )


def test_track_helper_rejects_unknown_arguments() -> None:
    from pytest_xetrack import track

    with pytest.raises(TypeError, match="roundz"):
        track(roundz=3)  # type: ignore[call-arg]
