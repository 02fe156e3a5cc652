"""The plugin, as a user runs it: pytester sessions, rows read back with Reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xetrack import Reader

CONFIGS = """
import dataclasses
import pydantic
import pytest
from pytest_xetrack import track

@dataclasses.dataclass(frozen=True)
class Cfg:
    n: int
    name: str = "small"

class Model(pydantic.BaseModel):
    depth: int
    note: str | None = None
"""


def test_fixture_rows_carry_test_and_parametrize_columns(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        CONFIGS
        + """
@pytest.mark.parametrize("cfg", [Cfg(1), Cfg(2, "big")])
@pytest.mark.parametrize("model", [Model(depth=3)])
@pytest.mark.parametrize("obj", [object()])
def test_rows(tracker, cfg, model, obj):
    tracker.log({"sq": cfg.n * cfg.n})

def test_fails(tracker):
    tracker.log({"sq": -1})
    assert False
"""
    )
    db = tmp_path / "runs.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=2, failed=1)
    frame = Reader(db).to_df()
    assert len(frame) == 3 and frame["track_id"].nunique() == 1
    ok = frame[frame["cfg_n"] == 2].iloc[0]
    assert ok["test_nodeid"].endswith("::test_rows[obj0-model0-cfg1]")
    assert ok["cfg_n"] == 2 and ok["cfg_name"] == "big" and ok["model_depth"] == 3
    assert pd_isna(ok["model_note"]) and "model_note" in frame.columns
    assert (
        ok["obj"] == "obj0"
        and ok["test_name"] == "test_rows"
        and ok["outcome"] == "passed"
    )
    assert frame.set_index("test_name").loc["test_fails", "outcome"] == "failed"
    for column in (
        "git_commit",
        "git_branch",
        "git_dirty",
        "python_version",
        "platform",
        "cpu_model",
        "cpu_count",
        "env_fingerprint",
    ):
        assert column in frame.columns


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_track_rounds_warmup_statistics_and_samples(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    pytester.makepyfile(
        f"""
from pytest_xetrack import track

@track(rounds=7, warmup=2, iterations=1, metrics={{"accuracy": "max"}}, params={{"suite": "unit"}})
def test_bench():
    with open({str(calls)!r}, "a") as f:
        f.write("x")
    return {{"accuracy": 0.75, "error": 0.25}}

@track(rounds=2)
def test_scalar():
    return 42
"""
    )
    db = tmp_path / "bench.db"
    result = pytester.runpytest(
        f"--xetrack-db={db}", "-W", "error::pytest.PytestReturnNotNoneWarning"
    )
    result.assert_outcomes(passed=2)
    assert calls.read_text() == "x" * 9  # 2 warmup + 7 timed rounds
    frame = Reader(db).to_df().set_index("test_name")
    bench = frame.loc["test_bench"]
    samples = json.loads(bench["time_samples"])
    assert len(samples) == 7 == bench["rounds"] and bench["warmup"] == 2
    assert bench["time_min"] == min(samples) and bench["time_max"] == max(samples)
    assert bench["time_min"] <= bench["function_time"] <= bench["time_max"]
    assert bench["time_iqr"] >= 0 and bench["time_stddev"] >= 0
    assert (
        bench["accuracy"] == 0.75
        and bench["result_error"] == 0.25
        and bench["error"] == ""
    )
    assert (
        json.loads(bench["metrics"]) == {"accuracy": "max"} and bench["suite"] == "unit"
    )
    assert frame.loc["test_scalar", "function_result"] == 42
    result.stdout.fnmatch_lines(["*xetrack: 2 rows written to *bench.db as run *"])


def test_failing_round_fails_the_test_and_records_it(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
from pytest_xetrack import track
count = []

@track(rounds=5, iterations=1)
def test_third_round_fails():
    count.append(1)
    if len(count) == 3:
        raise ValueError("round three broke")
"""
    )
    db = tmp_path / "bench.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(failed=1)
    row = Reader(db).to_df().iloc[0]
    assert (
        row["outcome"] == "failed" and row["error"] == "ValueError: round three broke"
    )
    assert row["rounds"] == 2 and len(json.loads(row["time_samples"])) == 2


def test_cache_serves_the_second_session_without_running(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    pytester.makepyfile(
        CONFIGS
        + f"""
@track(rounds=3, cache=True)
@pytest.mark.parametrize("cfg", [Cfg(1), Cfg(2)])
def test_cached(cfg):
    with open({str(runs)!r}, "a") as f:
        f.write("x")
    return {{"value": cfg.n * 10}}
"""
    )
    db, cache = tmp_path / "bench.db", tmp_path / "cache"
    first = pytester.runpytest(f"--xetrack-db={db}", f"--xetrack-cache={cache}")
    first.assert_outcomes(passed=2)
    assert runs.read_text() == "x" * 6
    second = pytester.runpytest(f"--xetrack-db={db}", f"--xetrack-cache={cache}")
    second.assert_outcomes(passed=2)
    assert runs.read_text() == "x" * 6  # nothing executed the second time
    second.stdout.fnmatch_lines(["*2 results served from cache*"])
    frame = Reader(db).to_df()
    first_run, second_run = frame["track_id"].unique()
    served = frame[frame["track_id"] == second_run]
    assert served["cache"].tolist() == [first_run, first_run]
    assert sorted(served["value"]) == [10, 20] and sorted(served["cfg_n"]) == [1, 2]
    assert (served["rounds"] == 3).all()
    forced = pytester.runpytest(
        f"--xetrack-db={db}", f"--xetrack-cache={cache}", "--xetrack-cache-force"
    )
    forced.assert_outcomes(passed=2)
    assert runs.read_text() == "x" * 12


def test_no_database_means_memory_and_no_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
def test_uses_tracker(tracker):
    tracker.log({"a": 1})
    assert tracker.count_run() == 1
    assert tracker.db == ":memory:"
"""
    )
    before = set(Path(pytester.path).iterdir())
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert set(Path(pytester.path).iterdir()) == before


def test_track_and_wrap_work_inside_tests(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
def test_inner(tracker):
    @tracker.wrap()
    def double(x):
        return 2 * x
    assert double(3) == 6
    assert tracker.track(lambda: {"k": 1}) == {"k": 1}
"""
    )
    db = tmp_path / "t.db"
    pytester.runpytest(f"--xetrack-db={db}").assert_outcomes(passed=1)
    frame = Reader(db).to_df()
    assert frame["function_name"].tolist() == ["double", "<lambda>"]
    assert (frame["test_name"] == "test_inner").all() and (
        frame["outcome"] == "passed"
    ).all()


def test_record_all_adds_a_row_per_test(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
import pytest
def test_a(): pass
def test_b(): assert False
@pytest.mark.skip(reason="no")
def test_c(): pass
"""
    )
    db = tmp_path / "all.db"
    pytester.runpytest(f"--xetrack-db={db}", "--xetrack-all").assert_outcomes(
        passed=1, failed=1, skipped=1
    )
    frame = Reader(db).to_df().set_index("test_name")
    assert frame["outcome"].to_dict() == {
        "test_a": "passed",
        "test_b": "failed",
        "test_c": "skipped",
    }
    assert (frame["duration"] >= 0).all()
    assert frame.loc["test_b", "error"].startswith("assert False")


def test_value_the_store_cannot_take_fails_only_that_test(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
def test_first(tracker):
    tracker.log({"x": 1})

def test_bad(tracker):
    tracker.log({"x": "text"})

def test_after(tracker):
    tracker.log({"x": 3})
"""
    )
    db = tmp_path / "v.db"
    result = pytester.runpytest(f"--xetrack-db={db}")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*column 'x' holds integer values but got 'text'*"])
    assert Reader(db).to_df()["x"].tolist() == [1, 3]


def test_disable_records_nothing(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(
        """
from pytest_xetrack import track
@track(rounds=3)
def test_once(tracker):
    tracker.log({"a": 1})
"""
    )
    db = tmp_path / "off.db"
    pytester.runpytest(f"--xetrack-db={db}", "--xetrack-disable").assert_outcomes(
        passed=1
    )
    assert not db.exists()


def test_ini_keys_work(pytester: pytest.Pytester, tmp_path: Path) -> None:
    db = tmp_path / "ini.db"
    pytester.makeini(f"[pytest]\nxetrack_db = {db}\nxetrack_table = runs\n")
    pytester.makepyfile("def test_a(tracker):\n    tracker.log({'a': 1})\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert Reader(db, table="runs").to_df()["a"].tolist() == [1]


def test_duckdb_engine(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_a(tracker):\n    tracker.log({'a': 1})\n")
    db = tmp_path / "d.duckdb"
    pytester.runpytest(f"--xetrack-db={db}", "--xetrack-engine=duckdb").assert_outcomes(
        passed=1
    )
    reader = Reader(db)
    assert reader.engine == "duckdb" and reader.to_df()["a"].tolist() == [1]
