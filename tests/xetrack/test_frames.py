"""DataFrames keep ints exact and bools bools when a column has NULLs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xetrack import Reader, Tracker

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


BIG = 2**60 + 1


def _store(db_path: Path, engine: str) -> Tracker:
    tracker = Tracker(db_path, engine=engine)
    tracker.log({"big": BIG, "n": 1, "ok": True, "text": "a", "f": 0.5})
    tracker.log({"other": 1})
    return tracker


def test_to_df_uses_nullable_dtypes_where_a_column_has_nulls(
    db_path: Path, engine: str
) -> None:
    tracker = _store(db_path, engine)
    for frame in (tracker.to_df(), Reader(db_path).to_df()):
        assert frame["big"].dtype == "Int64" and frame["big"][0] == BIG
        assert frame["big"].tolist() == [BIG, pd.NA]
        assert frame["n"].dtype == "Int64" and frame["ok"].dtype == "boolean"
        assert frame["ok"].tolist() == [True, pd.NA]
        assert frame["f"].dtype == "float64"  # floats keep NaN
        assert frame["text"][0] == "a" and pd.isna(frame["text"][1])
    assert tracker["big"].tolist() == [BIG, pd.NA]


def test_a_column_without_nulls_keeps_its_plain_dtype(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    tracker.log_batch([{"n": i, "ok": i % 2 == 0} for i in range(3)])
    frame = tracker.to_df()
    assert frame["n"].dtype == "int64" and frame["ok"].dtype == bool


def test_sql_results_are_exact_too(db_path: Path, engine: str) -> None:
    _store(db_path, engine).close()
    frame = Reader(db_path).sql('SELECT big, other FROM "default"')
    assert frame["big"].dropna().tolist() == [BIG] and frame["big"].dtype == "Int64"


def test_read_logs_and_jsonl_keep_ints(tmp_path: Path) -> None:
    tracker = Tracker(
        Tracker.SKIP_INSERT, logs_path=tmp_path / "logs", jsonl=tmp_path / "d.jsonl"
    )
    tracker.log({"label": 1, "big": BIG})
    tracker.log({"other": "x"})
    tracker.close()
    for frame in (
        Reader.read_logs(tmp_path / "logs"),
        Reader.read_jsonl(tmp_path / "d.jsonl"),
    ):
        assert frame["label"].tolist() == [1, pd.NA] and frame["label"][0] == 1
        assert frame["big"][0] == BIG and frame["label"].dtype == "Int64"
