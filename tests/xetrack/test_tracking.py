"""track() and wrap(): one row per call, configs unpacked, errors recorded."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from xetrack import Reader, Tracker


@dataclasses.dataclass(frozen=True, slots=True)
class Optim:
    name: str
    momentum: float | None = None


@dataclasses.dataclass
class Data:
    dataset: str
    sizes: list[int]


class Experiment(BaseModel):
    seed: int
    optim: Optim
    note: str | None = None


def train(cfg: Experiment, data: Data, epochs: int = 2) -> dict[str, float]:
    """Pretend to train."""
    return {"accuracy": 0.5 + epochs / 10, "loss": 0.1}


def test_track_writes_one_row_with_call_metadata(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine, params={"model": "m"})
    result = tracker.track(
        lambda a, b=1: a + b, args=[2], kwargs={"b": 3}, params={"stage": "x"}
    )
    assert result == 5
    row = Reader(db_path).to_df().iloc[-1]
    assert row["function_name"] == "<lambda>" and row["function_result"] == 5
    assert row["args"] == "[2]" and json.loads(row["kwargs"]) == {"b": 3}
    assert row["error"] == "" and row["stage"] == "x" and row["model"] == "m"
    assert 0 <= row["function_time"] < 60


def test_configs_unpack_by_signature_name_positional_or_keyword(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    cfg = Experiment(seed=1, optim=Optim("adam", 0.9))
    data = Data("cifar", [1, 2])
    tracker.track(train, args=[cfg, data])
    tracker.track(train, kwargs={"data": data, "cfg": cfg})
    first, second = tracker[0], tracker[1]
    for key in (
        "cfg_seed",
        "cfg_optim_name",
        "cfg_optim_momentum",
        "cfg_note",
        "data_dataset",
        "data_sizes",
        "accuracy",
        "loss",
    ):
        assert first[key] == second[key], key
    assert first["cfg_optim_name"] == "adam" and first["cfg_optim_momentum"] == 0.9
    assert (
        first["cfg_note"] is None and "cfg_note" in tracker.columns
    )  # None fields kept
    assert json.loads(str(first["data_sizes"])) == [1, 2]
    assert first["accuracy"] == pytest.approx(0.7)


def test_returned_dict_keys_that_clash_are_kept_under_result_prefix(
    db_path: Path,
) -> None:
    tracker = Tracker(db_path)
    tracker.track(lambda: {"error": 0.25, "f1": 0.8})
    assert tracker.latest["error"] == "" and tracker.latest["result_error"] == 0.25


def test_failing_call_is_recorded_then_reraised(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)

    def boom(x: int) -> int:
        raise ValueError(f"bad x={x}")

    with pytest.raises(ValueError, match="bad x=3"):
        tracker.track(boom, args=[3])
    assert tracker.latest["error"] == "ValueError: bad x=3"
    assert tracker.count_run() == 1


def test_raise_on_error_false_logs_and_returns_none(db_path: Path) -> None:
    tracker = Tracker(db_path, raise_on_error=False)
    assert tracker.track(lambda: 1 / 0) is None
    assert tracker.latest["error"].startswith("ZeroDivisionError: ")


def test_wrap_keeps_name_docstring_signature(db_path: Path) -> None:
    tracker = Tracker(db_path)
    wrapped = tracker.wrap(params={"experiment": "baseline"})(train)
    assert wrapped.__name__ == "train" and wrapped.__doc__ == "Pretend to train."
    assert inspect.signature(wrapped) == inspect.signature(train)
    wrapped(Experiment(seed=2, optim=Optim("sgd")), Data("mnist", []), epochs=5)
    assert (
        tracker.latest["experiment"] == "baseline" and tracker.latest["cfg_seed"] == 2
    )


def test_bare_wrap_and_methods(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)

    @tracker.wrap
    def double(x: int) -> int:
        return 2 * x

    class Model:
        def __init__(self, scale: int) -> None:
            self.scale = scale

        @tracker.wrap()
        def predict(self, x: int) -> dict[str, int]:
            return {"prediction": self.scale * x}

    assert double(4) == 8
    assert Model(3).predict(2) == {"prediction": 6}
    row = tracker.latest
    assert row["function_name"] == "predict" and row["prediction"] == 6
    assert row["args"] == "[2]"  # the receiver is not an input
    assert tracker.count_run() == 2


def test_tracked_coroutine_is_awaited_and_timed(db_path: Path, engine: str) -> None:
    tracker = Tracker(db_path, engine=engine)

    @tracker.wrap()
    async def fetch(delay: float) -> dict[str, float]:
        await asyncio.sleep(delay)
        return {"fetched": delay}

    assert inspect.iscoroutinefunction(fetch)
    assert asyncio.run(fetch(0.05)) == {"fetched": 0.05}
    assert tracker.latest["function_time"] >= 0.05
    assert asyncio.run(tracker.track(fetch.__wrapped__, args=[0.0])) == {"fetched": 0.0}
    assert tracker.count_run() == 2


def test_non_dict_results(db_path: Path) -> None:
    tracker = Tracker(db_path, table="results")
    tracker.track(lambda: [1, 2])
    assert tracker.latest["function_result"] == "[1, 2]"
    tracker.track(lambda: object(), params={"other": True})
    assert str(tracker.latest["function_result"]).startswith("<object object at")


def test_system_metrics_are_sampled_during_the_call(db_path: Path) -> None:
    tracker = Tracker(
        db_path,
        log_system_params=True,
        log_network_params=True,
        measurement_interval=0.01,
    )

    def work() -> int:
        return sum(i * i for i in range(300_000))

    tracker.track(work)
    row = tracker.latest
    for key in ("cpu_percent", "ram_percent", "p_memory_percent", "disk_percent"):
        assert 0.0 <= float(row[key]) <= 100.0 * 64, (
            key
        )  # cpu_percent can exceed 100 per core
    assert int(row["p_rss_peak"]) > 1_000_000
    assert int(row["bytes_sent"]) >= 0 and int(row["bytes_recv"]) >= 0
    plain = Tracker(db_path, table="plain")
    plain.log({"x": 1})
    assert "cpu_percent" not in plain.latest


def test_functions_returning_different_types_into_one_table_lose_nothing(
    db_path: Path, engine: str
) -> None:
    tracker = Tracker(db_path, engine=engine)
    assert tracker.track(lambda: 6) == 6
    assert tracker.track(lambda: "done") == "done"
    frame = Reader(db_path).to_df()
    assert (
        frame["function_result"].tolist()[0] == 6
        and frame["function_result_str"].tolist()[1] == "done"
    )
