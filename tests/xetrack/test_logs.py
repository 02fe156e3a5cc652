"""Logs: loguru file/stdout sinks, JSONL, monitoring, and reading them back."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pandas as pd
import pytest
from loguru import logger

from xetrack import Reader, Tracker

TRICKY = {
    "text": 'two\nlines\tand a tab | xetrack\t{"json": true} "quotes"',
    "unicode": "état 数据 🙂",
    "empty": "",
    "n": 7,
    "f": 0.25,
    "ok": False,
    "raw": b"\x00\xff",
    "none": None,
}


def test_file_sink_round_trips_tricky_values(tmp_path: Path) -> None:
    tracker = Tracker(tmp_path / "t.db", logs_path=tmp_path / "logs")
    stored = tracker.log(TRICKY)
    tracker.log({"n": 8})
    tracker.close()
    frame = Reader.read_logs(tmp_path / "logs")
    first = frame.iloc[0].to_dict()
    for key, value in TRICKY.items():
        if value is None:
            assert pd.isna(first[key])
        else:
            assert first[key] == value, key
    assert first["timestamp"] == stored["timestamp"] and first["level"] == "TRACKING"
    assert frame["n"].tolist() == [7, 8] and frame["n"].dtype == "int64"
    assert Reader.read_logs(tmp_path / "logs", limit=1)["n"].tolist() == [8]


def test_stdout_sink_prints_one_line_per_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = Tracker(Tracker.SKIP_INSERT, logs_stdout=True)
    tracker.log({"text": "a\nb", "n": 1})
    tracker.close()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "| TRACKING | xetrack\t" in lines[0]
    assert json.loads(lines[0].split("\t", 1)[1])["text"] == "a\nb"


def test_jsonl_round_trips_and_pandas_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "out" / "data.jsonl"
    tracker = Tracker(Tracker.SKIP_INSERT, jsonl=path, params={"model": "m"})
    tracker.log(TRICKY)
    tracker.log({**TRICKY, "n": 9})
    tracker.close()
    ours = Reader.read_jsonl(path)
    assert (
        ours["text"].tolist() == [TRICKY["text"]] * 2
        and ours["raw"].tolist() == [b"\x00\xff"] * 2
    )
    assert ours["n"].tolist() == [7, 9] and ours["level"].tolist() == ["TRACKING"] * 2
    assert (
        pd.Timestamp(ours["timestamp"][0]).tzinfo is not None
    )  # ISO 8601 with timezone
    plain = pd.read_json(path, lines=True)
    assert plain["unicode"].tolist() == [TRICKY["unicode"]] * 2 and plain[
        "model"
    ].tolist() == ["m", "m"]


def test_two_trackers_keep_their_own_sinks(tmp_path: Path) -> None:
    one = Tracker(
        Tracker.SKIP_INSERT, logs_path=tmp_path / "one", jsonl=tmp_path / "one.jsonl"
    )
    two = Tracker(Tracker.SKIP_INSERT, logs_path=tmp_path / "two")
    one.log({"who": "one"})
    two.log({"who": "two"})
    one.log({"who": "one"})
    assert Reader.read_logs(tmp_path / "one")["who"].tolist() == ["one", "one"]
    assert Reader.read_logs(tmp_path / "two")["who"].tolist() == ["two"]
    assert Reader.read_jsonl(tmp_path / "one.jsonl")["who"].tolist() == ["one", "one"]
    one.close()
    two.log({"who": "two"})  # closing one left two's sink alone
    assert Reader.read_logs(tmp_path / "two")["who"].tolist() == ["two", "two"]
    two.close()


def test_host_application_handler_is_untouched(tmp_path: Path) -> None:
    seen: list[str] = []
    host = logger.add(lambda message: seen.append(str(message)), level="TRACE")
    try:
        tracker = Tracker(
            Tracker.SKIP_INSERT, logs_path=tmp_path / "logs", logs_stdout=True
        )
        tracker.log({"secret": 1})
        logger.info("host message")
        tracker.close()
        logger.info("still here")
        assert [m for m in seen if "secret" in m] == []  # tracking rows stay out of it
        assert any("host message" in m for m in seen) and any(
            "still here" in m for m in seen
        )
    finally:
        logger.remove(host)


def test_sinks_are_released_on_close_and_on_garbage_collection(tmp_path: Path) -> None:
    def handler_count() -> int:
        return len(logger._core.handlers)  # type: ignore[attr-defined]

    # an unclosed tracker an earlier test in this worker dropped must not release
    # its sink midway through the counts below
    gc.collect()
    before = handler_count()
    tracker = Tracker(Tracker.SKIP_INSERT, logs_path=tmp_path / "a", logs_stdout=True)
    assert handler_count() == before + 2
    tracker.close()
    assert handler_count() == before
    with Tracker(Tracker.SKIP_INSERT, logs_path=tmp_path / "b"):
        assert handler_count() == before + 1
    assert handler_count() == before
    Tracker(Tracker.SKIP_INSERT, logs_path=tmp_path / "c").log({"x": 1})
    gc.collect()
    assert handler_count() == before


def test_skip_insert_writes_no_database_but_keeps_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracker = Tracker(db=Tracker.SKIP_INSERT, jsonl="data.jsonl")
    row = tracker.log({"prompt": "hi", "label": 1})
    assert row["prompt"] == "hi" and tracker.latest["label"] == 1
    tracker.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl"]


def test_monitor_writes_consistent_records_and_experiment_its_own_level(
    tmp_path: Path,
) -> None:
    tracker = Tracker(Tracker.SKIP_INSERT, logs_path=tmp_path / "logs")
    frame = pd.DataFrame({"latency": [1.5, 2.5], "model": ["v1", "v2"]})
    tracker.logger.monitor(frame)
    tracker.logger.monitor(
        {"latency": 3.5, "drift": 0.1}
    )  # 'model' missing: written as null
    tracker.logger.experiment({"lr": 0.01, "accuracy": 0.93})
    tracker.close()
    logs = Reader.read_logs(tmp_path / "logs")
    monitored = logs[logs["level"] == "MONITOR"]
    assert monitored["latency"].tolist() == [1.5, 2.5, 3.5]
    assert monitored["model"].tolist()[:2] == ["v1", "v2"] and pd.isna(
        monitored["model"].tolist()[2]
    )
    experiment = logs[logs["level"] == "EXPERIMENT"].iloc[0]
    assert experiment["accuracy"] == 0.93 and experiment["lr"] == 0.01


def test_reading_a_missing_log_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no log file or folder at"):
        Reader.read_logs(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no JSONL file at"):
        Reader.read_jsonl(tmp_path / "nope.jsonl")


def test_jsonl_and_database_share_one_timestamp_format(tmp_path: Path) -> None:
    """ISO 8601 with the UTC offset, the same text in the file and in the row."""
    import datetime as dt
    import re

    tracker = Tracker(tmp_path / "t.db", jsonl=tmp_path / "d.jsonl")
    stored = tracker.log({"n": 1})
    tracker.close()
    line = json.loads((tmp_path / "d.jsonl").read_text().splitlines()[0])
    assert line["timestamp"] == stored["timestamp"]
    assert Reader.read_db(tmp_path / "t.db")["timestamp"][0] == stored["timestamp"]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", str(stored["timestamp"])
    )
    parsed = dt.datetime.fromisoformat(str(stored["timestamp"]))
    assert parsed.utcoffset() == dt.timedelta(0)
