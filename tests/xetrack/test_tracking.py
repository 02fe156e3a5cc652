"""track() and wrap(): one row per call, configs unpacked, errors recorded."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from xetrack import Reader, Tracker
from xetrack.errors import InvalidArgumentError

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


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
    first, second = tracker[1], tracker[2]
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
    assert frame["function_result"].tolist() == [6, "done"]
    assert "function_result_str" not in frame.columns


# -- the fast path that finds configs without binding the call -----------------------
DEFAULT_OPTIM = Optim("default")


def _positional(a: int, cfg: Optim, b: int = 1) -> None: ...


def _defaults(cfg: Optim = DEFAULT_OPTIM, *, other: Optim = DEFAULT_OPTIM) -> None: ...


def _keyword_only(a: int, *, cfg: Optim) -> None: ...


def _variadic(*args: object, cfg: Optim) -> None: ...


def _positional_only(cfg: Optim, /, n: int = 0) -> None: ...


class _Holder:
    def method(self, cfg: Optim, n: int = 0) -> None: ...

    @classmethod
    def build(cls, cfg: Optim) -> None: ...

    def star(*args: object) -> None: ...


_X, _Y = Optim("x"), Optim("y")
_CALLS = [
    (_positional, (1, _X), {}),
    (_positional, (1,), {"cfg": _X}),
    (_positional, (), {"a": 1, "cfg": _X, "b": 2}),
    (_positional, (1, _X, 2, 3), {}),  # too many: does not bind
    (_positional, (1,), {}),  # a required argument missing
    (_positional, (1, _X), {"cfg": _Y}),  # given twice
    (_positional, (1, _X), {"nope": 1}),  # unknown keyword
    (_defaults, (), {}),
    (_defaults, (_X,), {}),
    (_defaults, (), {"other": _Y}),
    (_defaults, (_X, _Y), {}),  # other is keyword-only
    (_keyword_only, (1,), {"cfg": _X}),
    (_keyword_only, (1, _X), {}),
    (_variadic, (1, 2), {"cfg": _X}),
    (_positional_only, (_X,), {"n": 2}),
    (_Holder().method, (_X,), {}),
    (_Holder().method, (), {"cfg": _X, "n": 1}),
    (_Holder.method, (_Holder(), _X), {}),  # as a decorated method sees it
    (_Holder.build, (_X,), {}),
    (_Holder().star, (_X,), {}),
]


@pytest.mark.parametrize(("func", "args", "kwargs"), _CALLS)
def test_configs_found_without_binding_match_the_bound_call(
    func: Callable[..., None], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    from xetrack.cache import bind
    from xetrack.tracking import _bound_configs, shape_of

    try:  # what Python itself makes of the call
        truth = inspect.signature(func).bind(*args, **kwargs)
        truth.apply_defaults()
        arguments: dict[str, object] | None = dict(truth.arguments)
    except TypeError:
        arguments = None
    assert bind(func, args, kwargs) == arguments
    fast = shape_of(func).configs(args, kwargs)
    if fast is not None:  # None: the call is bound the slow way, as just checked
        assert arguments is not None, "the fast path accepted a call that cannot bind"
        assert list(fast.items()) == list(_bound_configs(arguments).items())


def test_a_config_default_is_unpacked_like_a_given_one(db_path: Path) -> None:
    tracker = Tracker(db_path)
    tracker.track(_defaults)
    tracker.track(_defaults, kwargs={"other": _Y})
    first, second = tracker[1], tracker[2]
    assert first["cfg_name"] == "default" and first["other_name"] == "default"
    assert second["cfg_name"] == "default" and second["other_name"] == "y"


def test_track_with_timing_benchmarks_through_the_engine(db_path: Path) -> None:
    """timing= makes Tracker.track time many calls with the @track engine: one row."""
    from xetrack.timing import TimingConfig

    tracker = Tracker(db_path)
    calls: list[int] = []

    def work(n: int) -> dict[str, int]:
        calls.append(n)
        return {"total": sum(range(n))}

    result = tracker.track(
        work, args=[100], timing=TimingConfig(rounds=4, warmup_rounds=1, iterations=3)
    )
    assert result == {"total": 4950} and len(calls) == (4 + 1) * 3
    row = tracker.latest
    samples = json.loads(str(row["time_samples"]))
    assert len(tracker) == 1 and row["rounds"] == 4 == len(samples)
    assert row["iterations"] == 3 and row["total"] == 4950
    assert row["time_min"] <= row["function_time"] <= row["time_max"]
    calls.clear()
    assert tracker.track(work, args=[10], timing=True) == {"total": 45}
    assert int(tracker.latest["rounds"]) >= 5 and len(calls) >= 5
    # calibrated on the thread's CPU clock, which a busy machine cannot stretch
    # (a wall-clock round preempted mid-calibration may end it at one call)
    on_cpu = TimingConfig(timer="thread_time")
    assert tracker.track(work, args=[10], timing=on_cpu) == {"total": 45}
    assert int(tracker.latest["iterations"]) > 1


def test_track_with_timing_rejects_what_it_cannot_time(db_path: Path) -> None:
    tracker = Tracker(db_path)

    async def waits() -> None:
        return None

    with pytest.raises(InvalidArgumentError, match="waits is a coroutine function"):
        tracker.track(waits, timing=True)
    with pytest.raises(InvalidArgumentError, match=r"pass True or a xetrack\.timing"):
        tracker.track(max, args=[1, 2], timing=5)  # type: ignore[arg-type]
    failing = Tracker(db_path, raise_on_error=False)

    def broken() -> None:
        raise ValueError("no")

    from xetrack.timing import TimingConfig

    assert failing.track(broken, timing=TimingConfig(rounds=2)) is None
    assert failing.latest["error"] == "ValueError: no"
