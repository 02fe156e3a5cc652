"""describe/top/bottom computed by the engine equal pandas' answers on the same rows."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from xetrack import Reader, Tracker
from xetrack.cli import app
from xetrack.store import open_store

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines

ROWS = [
    {"epoch": 1, "loss": 0.9, "acc": 0.50, "good": True, "model": "a", "seed": 7},
    {"epoch": 2, "loss": 0.7, "acc": 0.61, "good": False, "model": "b"},
    {"epoch": 3, "loss": None, "acc": 0.61, "good": True, "model": "a", "seed": 9},
    {"epoch": 4, "loss": 0.4, "acc": 0.80, "good": None, "model": "b", "seed": 3},
    {"epoch": 5, "loss": 0.35, "acc": 0.79, "good": True, "model": "c", "seed": 1},
]


@pytest.fixture
def small(db_path: Path, engine: str) -> Path:
    with Tracker(db_path, engine=engine) as tracker:
        tracker.log_batch(ROWS)
    return db_path


def _pandas(db: Path) -> pd.DataFrame:
    return pd.DataFrame(ROWS)


def test_describe_equals_pandas_on_the_numeric_columns(small: Path) -> None:
    with Reader(small) as reader:
        ours = reader.describe(quartiles=True)
    expected = _pandas(small)[["epoch", "loss", "acc", "seed"]].describe()
    assert list(ours.columns) == ["epoch", "loss", "acc", "seed"]  # no bool, no text
    for stat in expected.index:
        for column in expected.columns:
            assert ours.loc[stat, column] == pytest.approx(
                expected.loc[stat, column], rel=1e-12
            ), (stat, column)
    assert ours.loc["nulls"].tolist() == [0, 1, 0, 1]


def test_describe_of_chosen_columns_includes_booleans_and_text(small: Path) -> None:
    with Reader(small) as reader:
        ours = reader.describe(["good", "model"], quartiles=True)
    assert ours.loc["count", "good"] == 4 and ours.loc["nulls", "good"] == 1
    assert ours.loc["mean", "good"] == pytest.approx(0.75)
    assert (ours.loc["min", "model"], ours.loc["max", "model"]) == ("a", "c")
    assert math.isnan(ours.loc["mean", "model"])


def test_sqlite_leaves_quartiles_out_unless_asked_and_says_so(
    tmp_path: Path,
) -> None:
    db = tmp_path / "q.db"
    with Tracker(db) as tracker:
        tracker.log_batch(ROWS)
    with Reader(db) as reader:
        plain = reader.describe()
    assert "50%" not in plain.index and "quartiles omitted" in plain.attrs["note"]
    result = CliRunner().invoke(app, ["describe", str(db), "--columns", "acc"])
    assert result.exit_code == 0 and "xt: note: quartiles omitted" in result.stderr
    result = CliRunner().invoke(
        app, ["describe", str(db), "--columns", "acc", "--quartiles", "--json"]
    )
    stats = {r["stat"]: r["acc"] for r in __import__("json").loads(result.stdout)}
    assert result.exit_code == 0 and stats["50%"] == pytest.approx(0.61)


def test_duckdb_gives_quartiles_by_default(tmp_path: Path) -> None:
    db = tmp_path / "q.duckdb"
    with Tracker(db, engine="duckdb") as tracker:
        tracker.log_batch(ROWS)
    with Reader(db) as reader:
        frame = reader.describe(["loss"])
    expected = pd.DataFrame(ROWS)["loss"].describe()
    assert frame.loc["25%", "loss"] == pytest.approx(expected["25%"])
    assert "note" not in frame.attrs


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.floats(1e9, 1e9 + 1, allow_nan=False),  # a small spread, a large mean
        ),
        max_size=25,
    )
)
def test_describe_property_matches_pandas(values: list[float | None]) -> None:
    tracker = Tracker(Tracker.IN_MEMORY)
    tracker.declare({"x": float})
    tracker.log_batch([{"x": v} for v in values] or [{"x": None}])
    from xetrack.aggregate import describe

    ours = describe(tracker._store, "default", ["x"], quartiles=True)["x"]
    expected = pd.Series([v for v in values], dtype=float).describe()
    for stat in ("count", "mean", "std", "min", "25%", "50%", "75%", "max"):
        if math.isnan(expected[stat]):
            assert math.isnan(ours[stat]), stat
        else:
            scale = max((abs(v) for v in values if v is not None), default=1.0)
            assert ours[stat] == pytest.approx(
                expected[stat], rel=1e-9, abs=1e-12 * scale
            ), stat
    tracker.close()


def test_top_and_bottom_equal_pandas_and_keep_the_first_of_ties(small: Path) -> None:
    frame = _pandas(small)
    with Reader(small) as reader:
        top = reader.top("acc")
        bottom = reader.bottom("loss")
        tied = reader.bottom("acc", columns=["epoch"])
        per_model = reader.top("acc", by="model", columns=["epoch"])
    assert top["epoch"].tolist() == [frame.loc[frame["acc"].idxmax(), "epoch"]]
    assert bottom["epoch"].tolist() == [frame.loc[frame["loss"].idxmin(), "epoch"]]
    assert list(tied.columns) == ["acc", "epoch"] and tied["epoch"].tolist() == [1]
    best = frame.loc[frame.groupby("model")["acc"].idxmax()]
    assert list(per_model.columns) == ["acc", "model", "epoch"]
    assert sorted(per_model["epoch"]) == sorted(best["epoch"])


def test_top_with_only_nulls_is_empty(db_path: Path, engine: str) -> None:
    with Tracker(db_path, engine=engine) as tracker:
        tracker.declare({"score": float})
        tracker.log({"score": None, "other": 1})
    with Reader(db_path) as reader:
        assert reader.top("score").empty


def test_cli_top_bottom_take_columns(small: Path) -> None:
    result = CliRunner().invoke(
        app, ["stats", "top", str(small), "acc", "--columns", "model", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert __import__("json").loads(result.stdout) == [{"acc": 0.8, "model": "b"}]
    result = CliRunner().invoke(
        app, ["stats", "bottom", str(small), "acc", "--columns", "nope"]
    )
    assert result.exit_code == 1 and "no column 'nope'" in result.stderr


def test_describe_reads_no_rows_into_python(small: Path) -> None:
    """The summary is one aggregate query (plus one per column for quartiles)."""
    store = open_store(small, read_only=True)
    seen: list[str] = []
    query = store.query

    def spy(sql: str, params: object = ()) -> object:
        seen.append(sql)
        return query(sql, params)  # type: ignore[arg-type]

    store.query = spy  # type: ignore[method-assign,assignment]
    from xetrack.aggregate import describe

    describe(store, "default", ["acc", "loss"], quartiles=False)
    store.close()
    assert len(seen) == 2 and all("GROUP BY" not in s for s in seen)
