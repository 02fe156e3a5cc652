"""pytest-benchmark's ``--benchmark-*`` options and ``benchmark`` marker, each value
checked when parsed (listing what is allowed), mapped onto the timing engine.

How the timing options map (pytest-benchmark's meaning, our engine's knobs):
``--benchmark-max-time`` is the time a benchmark spends (our ``min_time``, the
budget); ``--benchmark-min-rounds`` takes precedence over it, as there (no cap
unless ``--xetrack-max-time`` sets one); ``--benchmark-min-time`` is the shortest
round (our ``min_round_time``); warmup ``off`` is none, ``on`` warms up for the
budget, bounded by ``--benchmark-warmup-iterations``; left alone, our short warmup.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

from pytest_xetrack.options import parse_count, parse_duration

SORTS: Final = ("min", "max", "mean", "stddev", "name", "fullname")
GROUPINGS: Final = ("group", "name", "fullname", "func", "fullfunc", "param")
COLUMNS: Final = (
    "min",
    "max",
    "mean",
    "stddev",
    "median",
    "iqr",
    "outliers",
    "ops",
    "rounds",
    "iterations",
)
NAME_FORMATS: Final = ("short", "normal", "long", "trial")
TIME_UNITS: Final = ("ns", "us", "ms", "s", "auto")
FAIL_FIELDS: Final = ("min", "max", "mean", "median", "stddev", "iqr")
#: The marker's arguments, as pytest-benchmark allows them.
MARK_ARGS: Final = (
    "max_time",
    "min_rounds",
    "min_time",
    "precision",
    "confidence",
    "timer",
    "group",
    "disable_gc",
    "warmup",
    "warmup_iterations",
    "calibration_precision",
    "cprofile",
)
#: Marker arguments accepted with no meaning here (said once per session).
_IGNORED_MARK_ARGS: Final = ("precision", "confidence", "cprofile")
#: No cap on a benchmark's time: pytest-benchmark lets min_rounds run past max_time.
NO_CAP: Final = 1e6
_TIMERS: Final = ("perf_counter", "process_time", "thread_time")
_ILLEGAL: Final = "\\/:*?<>|"


# -- parsers ------------------------------------------------------------------------------
def parse_timer(value: str) -> str:
    """``time.perf_counter`` (pytest-benchmark's dotted form) or ``perf_counter``."""
    module, _, name = value.strip().rpartition(".")
    if module in ("", "time", "pep418") and name in _TIMERS:
        return name
    raise argparse.ArgumentTypeError(
        f"timer {value!r} is not one xetrack times with; use one of: "
        f"{', '.join(f'time.{t}' for t in _TIMERS)}"
    )


def parse_warmup(value: str) -> bool | None:
    """``on``/``off``/``auto`` (None: xetrack's own short warmup)."""
    text = value.strip().lower()
    if text in ("on", "true", "yes", ""):
        return True
    if text in ("off", "false", "no"):
        return False
    if text == "auto":
        return None
    raise argparse.ArgumentTypeError(f"warmup {value!r} is not one of: on, off, auto")


def parse_whole(value: str) -> int:
    """A whole number >= 0."""
    try:
        number = int(value.strip())
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 0, like 100000, got {value!r}"
        )
    return number


def parse_sort(value: str) -> str:
    text = value.strip().lower()
    if text not in SORTS:
        raise argparse.ArgumentTypeError(
            f"cannot sort on {value!r}; use one of: {', '.join(SORTS)}"
        )
    return text


def parse_group_by(value: str) -> str:
    """Comma-separated groupings: group, name, fullname, func, fullfunc, param or
    param:NAME."""
    parts = [p.strip() for p in value.split(",")]
    for part in parts:
        if part not in GROUPINGS and not (part.startswith("param:") and part[6:]):
            raise argparse.ArgumentTypeError(
                f"cannot group by {part!r}; use one or more (comma-separated) of: "
                f"{', '.join(GROUPINGS)}, param:NAME"
            )
    return ",".join(parts)


def parse_columns(value: str) -> tuple[str, ...]:
    chosen = tuple(c.strip().lower() for c in value.split(","))
    wrong = [c for c in chosen if c not in COLUMNS]
    if wrong:
        raise argparse.ArgumentTypeError(
            f"unknown column(s) {', '.join(map(repr, wrong))}; columns are: "
            f"{', '.join(COLUMNS)}"
        )
    return chosen


def parse_name_format(value: str) -> str:
    text = value.strip().lower()
    if text not in NAME_FORMATS:
        raise argparse.ArgumentTypeError(
            f"name format {value!r} is not one of: {', '.join(NAME_FORMATS)}"
        )
    return text


def parse_time_unit(value: str) -> str:
    text = value.strip().lower()
    if text not in TIME_UNITS:
        raise argparse.ArgumentTypeError(
            f"time unit {value!r} is not one of: {', '.join(TIME_UNITS)}"
        )
    return text


def parse_save(value: str) -> str:
    bad = "".join(c for c in _ILLEGAL if c in value)
    if not value.strip() or bad:
        raise argparse.ArgumentTypeError(
            f"save name {value!r} must be non-empty and free of {_ILLEGAL} (it "
            f"becomes a file name), like 'baseline'"
        )
    return value


def parse_fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a fraction between 0 and 1 like 0.02, got {value!r}"
        )
    return number


@dataclass(frozen=True)
class CompareFail:
    """``FIELD:N%`` or ``FIELD:N`` (seconds) of ``--benchmark-compare-fail``."""

    field: str
    amount: float
    relative: bool
    #: the amount as the user wrote it (``5%``, ``0.0000012345678``): passed on
    #: verbatim, so no digit is lost on the way to ``--xetrack-fail``
    text: str = ""

    def _amount(self) -> str:
        return self.text or f"{self.amount!r}{'%' if self.relative else ''}"

    def __str__(self) -> str:
        return f"{self.field}:{self._amount()}"

    def threshold(self) -> str:
        """The same gate as ``--xetrack-fail``: every field is judged as xetrack's
        timing verdict (the fastest call against the benchmark's noise)."""
        return f"function_time:{self._amount()}"


def parse_compare_fail(value: str) -> CompareFail:
    name, _, amount = value.strip().partition(":")
    relative = amount.endswith("%")
    try:
        number = float(amount[:-1] if relative else amount)
    except ValueError:
        number = -1.0
    if name not in FAIL_FIELDS or not number >= 0:
        raise argparse.ArgumentTypeError(
            f"cannot parse {value!r}: write FIELD:N% or FIELD:SECONDS with FIELD one "
            f"of {', '.join(FAIL_FIELDS)}, like min:5% or mean:0.001"
        )
    return CompareFail(name, number, relative, amount.strip())


def parse_storage(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a folder, like file://./.benchmarks")
    return value


# -- the options -------------------------------------------------------------------------
#: flag -> (parser or None for a switch, what it does here); defaults are applied
#: when read, so "given" can be told from "default".
_VALUED: Final[dict[str, tuple[Callable[[str], Any], str]]] = {
    "--benchmark-min-time": (
        parse_duration,
        "shortest round in seconds (xetrack calibrates above the timer's "
        "resolution anyway)",
    ),
    "--benchmark-max-time": (
        parse_duration,
        "seconds a benchmark spends timing (default: xetrack's 0.2 s budget); "
        "--benchmark-min-rounds takes precedence",
    ),
    "--benchmark-min-rounds": (parse_count, "timed rounds at least (default 5)"),
    "--benchmark-timer": (
        parse_timer,
        f"timer: {', '.join(f'time.{t}' for t in _TIMERS)} (default time.perf_counter)",
    ),
    "--benchmark-calibration-precision": (
        parse_count,
        "calibrate rounds to this many times the timer's precision (default 10)",
    ),
    "--benchmark-warmup-iterations": (
        parse_whole,
        "most calls spent warming up (default 100000 with --benchmark-warmup)",
    ),
    "--benchmark-save": (
        parse_save,
        "save the run as STORAGE/<machine>/NNNN_NAME.json (pytest-benchmark's layout)",
    ),
    "--benchmark-json": (
        Path,
        "write pytest-benchmark's JSON report, with every sample, to PATH",
    ),
    "--benchmark-sort": (parse_sort, f"sort the table on: {', '.join(SORTS)}"),
    "--benchmark-group-by": (
        parse_group_by,
        f"group the table by: {', '.join(GROUPINGS)}, param:NAME (comma-separated)",
    ),
    "--benchmark-columns": (
        parse_columns,
        f"the table's columns (comma-separated): {', '.join(COLUMNS)}",
    ),
    "--benchmark-name": (
        parse_name_format,
        f"how the table names benchmarks: {', '.join(NAME_FORMATS)}",
    ),
    "--benchmark-time-unit": (
        parse_time_unit,
        f"the table's time unit: {', '.join(TIME_UNITS)}",
    ),
    "--benchmark-storage": (
        parse_storage,
        "the folder of saved runs (default file://./.benchmarks)",
    ),
    "--benchmark-precision": (parse_fraction, "accepted; not used by xetrack"),
    "--benchmark-confidence": (parse_fraction, "accepted; not used by xetrack"),
    "--benchmark-cprofile": (str, "accepted; xetrack does not profile"),
    "--benchmark-cprofile-loops": (str, "accepted; xetrack does not profile"),
    "--benchmark-cprofile-top": (str, "accepted; xetrack does not profile"),
}
_SWITCHES: Final = {
    "--benchmark-disable-gc": "no garbage collection while a benchmark's rounds run",
    "--benchmark-skip": "skip the tests that use the benchmark fixture",
    "--benchmark-disable": "run benchmarked functions once, untimed, as plain tests",
    "--benchmark-enable": "override --benchmark-disable",
    "--benchmark-only": "run only the tests that use the benchmark fixture",
    "--benchmark-autosave": "save the run as STORAGE/<machine>/NNNN_<commit>_<time>.json",
    "--benchmark-save-data": "saved runs include every sample, not only the stats",
    "--benchmark-quiet": "no results table",
    "--benchmark-verbose": "accepted; xetrack prints no progress",
}
#: Options with an optional value: flag -> (parser, value when bare, help).
_OPTIONAL: Final[dict[str, tuple[Callable[[str], Any], Any, str]]] = {
    "--benchmark-warmup": (
        parse_warmup,
        True,
        "warm up for the whole budget: on, off, or auto (xetrack's short warmup)",
    ),
    "--benchmark-compare": (
        str,
        "",
        "compare with saved run NUM (or the latest saved), or with a commit, branch "
        "or track_id of --xetrack-db; gates with --benchmark-compare-fail",
    ),
    "--benchmark-netrc": (str, "~/.netrc", "accepted; no Elasticsearch storage here"),
}
#: Options that append (pytest-benchmark's histogram/csv/dump prefixes).
_APPENDED: Final = {
    "--benchmark-histogram": "accepted; xetrack draws no histograms (see xt plot)",
    "--benchmark-csv": "accepted; xetrack writes no CSV (see xt sql)",
    "--benchmark-cprofile-dump": "accepted; xetrack does not profile",
}
#: Given, these have no meaning here: the session says so once.
_NO_MEANING: Final = (
    "--benchmark-precision",
    "--benchmark-confidence",
    "--benchmark-cprofile",
    "--benchmark-cprofile-loops",
    "--benchmark-cprofile-top",
    "--benchmark-cprofile-dump",
    "--benchmark-netrc",
    "--benchmark-histogram",
    "--benchmark-csv",
    "--benchmark-verbose",
)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "benchmark", "pytest-benchmark's options (xetrack stands in for it)"
    )
    for flag, (parse, text) in _VALUED.items():
        group.addoption(flag, dest=_dest(flag), type=parse, default=None, help=text)
    for flag, text in _SWITCHES.items():
        group.addoption(
            flag, dest=_dest(flag), action="store_true", default=False, help=text
        )
    for flag, (parse, bare, text) in _OPTIONAL.items():
        group.addoption(
            flag,
            dest=_dest(flag),
            nargs="?",
            type=parse,
            const=bare,
            default=None,
            help=text,
        )
    group.addoption(
        "--benchmark-compare-fail",
        dest="benchmark_compare_fail",
        nargs="+",
        action="append",
        type=parse_compare_fail,
        default=None,
        metavar="EXPR",
        help="fail on a regression past FIELD:N%% or FIELD:SECONDS (min, max, mean, "
        "median, stddev, iqr), judged as xetrack's --xetrack-fail function_time:N",
    )
    for flag, text in _APPENDED.items():
        group.addoption(
            flag,
            dest=_dest(flag),
            action="append",
            nargs="?",
            const="",
            default=None,
            help=text,
        )


@dataclass(frozen=True)
class BenchmarkOptions:
    """The ``--benchmark-*`` settings, read once per session."""

    #: TimingConfig settings the options give (only those given)
    timing: Mapping[str, object]
    warmup: bool | None
    skip: bool
    only: bool
    disabled: bool
    save: str | None
    autosave: bool
    save_data: bool
    json: Path | None
    #: None: no comparison; "": the latest saved run; else the reference
    compare: str | None
    compare_fail: tuple[CompareFail, ...]
    sort: str
    group_by: str
    columns: tuple[str, ...]
    name: str
    time_unit: str
    storage: str
    quiet: bool
    #: the options given that mean nothing here, for the one line that says so
    ignored: tuple[str, ...] = field(default_factory=tuple)


def read_options(config: pytest.Config) -> BenchmarkOptions:
    """The options as given; raises :class:`pytest.UsageError` for a combination
    that cannot work."""

    def get(flag: str) -> Any:
        return config.getoption(_dest(flag))

    timing: dict[str, object] = {}
    for flag, name in (
        ("--benchmark-max-time", "max_time"),
        ("--benchmark-min-time", "min_time"),
        ("--benchmark-min-rounds", "min_rounds"),
        ("--benchmark-timer", "timer"),
        ("--benchmark-calibration-precision", "calibration_precision"),
        ("--benchmark-warmup-iterations", "warmup_iterations"),
    ):
        if get(flag) is not None:
            timing[name] = get(flag)
    if get("--benchmark-disable-gc"):
        timing["disable_gc"] = True
    if get("--benchmark-warmup") is not None:
        timing["warmup"] = get("--benchmark-warmup")
    disabled = bool(get("--benchmark-disable")) and not get("--benchmark-enable")
    only = bool(get("--benchmark-only"))
    if disabled and only:
        raise pytest.UsageError(
            "--benchmark-only and --benchmark-disable cannot go together: nothing "
            "would be measured; drop one (or add --benchmark-enable)"
        )
    storage = str(get("--benchmark-storage") or "file://./.benchmarks")
    ignored = [f for f in _NO_MEANING if get(f) not in (None, False, [])]
    if not storage.startswith("file://") and "://" in storage:
        ignored.append(f"--benchmark-storage={storage} (only folders)")
    failing = tuple(c for given in get("--benchmark-compare-fail") or [] for c in given)
    return BenchmarkOptions(
        timing=timing,
        warmup=get("--benchmark-warmup"),
        skip=bool(get("--benchmark-skip")) and not only,
        only=only,
        disabled=disabled,
        save=get("--benchmark-save"),
        autosave=bool(get("--benchmark-autosave")),
        save_data=bool(get("--benchmark-save-data")),
        json=get("--benchmark-json"),
        compare=get("--benchmark-compare"),
        compare_fail=failing,
        sort=get("--benchmark-sort") or "min",
        group_by=get("--benchmark-group-by") or "group",
        columns=get("--benchmark-columns") or COLUMNS,
        name=get("--benchmark-name") or "normal",
        time_unit=get("--benchmark-time-unit") or "auto",
        storage=str(
            Path(config.invocation_params.dir, storage.removeprefix("file://"))
        ),
        quiet=bool(get("--benchmark-quiet")),
        ignored=tuple(ignored),
    )


# -- onto the timing engine ---------------------------------------------------------------
def timing_settings(
    session_defaults: Mapping[str, object],
    given: Mapping[str, object],
    mark: Mapping[str, Any],
) -> dict[str, object]:
    """TimingConfig settings for ``benchmark(...)``: the engine's defaults without a
    cap, then the ``--xetrack-*`` timing options, the ``--benchmark-*`` ones and the
    marker's arguments, in pytest-benchmark's meaning (see the module's doc)."""
    from xetrack.timing import TimingConfig

    chosen: dict[str, object] = {"max_time": NO_CAP, **session_defaults}
    merged = {**given, **{k: v for k, v in mark.items() if k != "group"}}
    for name in _IGNORED_MARK_ARGS:
        merged.pop(name, None)
    if "max_time" in merged:
        budget = float(merged.pop("max_time"))
        chosen["min_time"] = budget
        chosen["max_time"] = max(float(chosen["max_time"]), budget)  # type: ignore[arg-type]
    if "min_time" in merged:
        chosen["min_round_time"] = merged.pop("min_time")
    if "timer" in merged:
        chosen["timer"] = _timer_name(merged.pop("timer"))
    warmup = merged.pop("warmup", None)
    iterations = merged.pop("warmup_iterations", None)
    if warmup is False or warmup == "off":
        chosen["warmup_time"] = 0.0
    elif warmup is True or warmup == "on":
        chosen["warmup_time"] = chosen.get("min_time", TimingConfig.min_time)
        chosen["warmup_iterations"] = 100_000 if iterations is None else iterations
    if iterations is not None:
        chosen["warmup_iterations"] = iterations
    for name in ("min_rounds", "calibration_precision", "disable_gc"):
        if name in merged:
            chosen[name] = merged.pop(name)
    return chosen


def _timer_name(timer: object) -> str:
    if isinstance(timer, str):
        try:
            return parse_timer(timer)
        except argparse.ArgumentTypeError as exc:
            from xetrack.errors import InvalidArgumentError

            raise InvalidArgumentError(str(exc)) from None
    name = getattr(timer, "__name__", repr(timer))
    return _timer_name(name)


def mark_problem(
    nodeid: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> str | None:
    """What is wrong with a test's ``@pytest.mark.benchmark(...)``, or None."""
    if args:
        return f"{nodeid}: @pytest.mark.benchmark takes keyword arguments only, got {args!r}"
    for name in kwargs:
        if name not in MARK_ARGS:
            return (
                f"{nodeid}: @pytest.mark.benchmark got an unknown argument {name!r}; "
                f"allowed: {', '.join(MARK_ARGS)}"
            )
    group = kwargs.get("group")
    if group is not None and not isinstance(group, str):
        return f"{nodeid}: @pytest.mark.benchmark(group={group!r}) must be a str"
    from xetrack.errors import XetrackError
    from xetrack.timing import TimingConfig

    try:
        TimingConfig(**timing_settings({}, {}, kwargs))  # type: ignore[arg-type]
    except (XetrackError, TypeError, ValueError) as exc:
        return f"{nodeid}: @pytest.mark.benchmark: {exc}"
    return None


def ignored_mark_args(kwargs: Mapping[str, Any]) -> list[str]:
    """The marker's arguments that mean nothing here."""
    return [
        f"@pytest.mark.benchmark({k}=...)" for k in _IGNORED_MARK_ARGS if k in kwargs
    ]
