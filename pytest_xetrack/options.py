"""Command-line options and ini keys, each validated when it is parsed."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Final

import pytest

from pytest_xetrack.timing import TIMING_ARGS

ENGINES: Final = ("sqlite", "duckdb", "postgres")
MARK_ARGS: Final = (
    "rounds",
    "warmup",
    "table",
    "cache",
    "params",
    "metrics",
    "spread",
    *TIMING_ARGS,  # how the timing engine measures
)
#: What else a cached result depends on: files (by content) and version strings.
CACHE_MARK_ARGS: Final = ("depends",)
DIRECTIONS: Final = ("max", "min")
#: the timing engine's clocks (xetrack.timing.TIMERS; not imported at start-up)
TIMERS: Final = ("perf_counter", "process_time", "thread_time")
_UNITS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_engine(value: str) -> str:
    if value.strip().lower() not in ENGINES:
        raise argparse.ArgumentTypeError(
            f"unknown engine {value!r}; use one of: {', '.join(ENGINES)}"
        )
    return value.strip().lower()


def parse_table(value: str) -> str:
    text = value.strip()
    if not text or any(ord(c) < 32 for c in text):
        raise argparse.ArgumentTypeError(
            f"table name {value!r} must be printable and non-empty, like 'default'"
        )
    return text


def parse_path(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a file path, like bench.db")
    return value


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def _compare_parser(name: str, value: str) -> Any:
    """``xetrack.compare``'s parser ``name`` (the one ``xt compare`` uses too), its
    ValueError an argparse error; imported when an option is given, not at start-up."""
    from xetrack import compare

    try:
        return getattr(compare, name)(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_fraction(value: str) -> float:
    """``5%`` or ``0.05``, as ``xt compare --min-effect`` reads it."""
    return float(_compare_parser("parse_min_effect", value))


def parse_duration(value: str) -> float:
    """Seconds: ``0.5``, ``500ms``, ``20us``, ``100ns`` or ``2s``."""
    text = value.strip().lower()
    scale = 1.0
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            text, scale = text[: -len(unit)].strip(), _UNITS[unit]
            break
    try:
        seconds = float(text) * scale
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 1e6:  # NaN and inf fail this too
        raise argparse.ArgumentTypeError(
            f"expected a duration like 0.5, 500ms, 20us or 2s, got {value!r}"
        )
    return seconds


def parse_seconds(value: str) -> float:
    try:
        seconds = float(value.strip().removesuffix("s"))
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(
            f"expected seconds >= 0 like 30 or 2.5, got {value!r}"
        )
    return seconds


def parse_count(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 1, like 5, got {value!r}"
        )
    return number


def parse_timer(value: str) -> str:
    name = value.strip().removeprefix("time.")
    if name not in TIMERS:
        raise argparse.ArgumentTypeError(
            f"unknown timer {value!r}; use one of: {', '.join(TIMERS)}"
        )
    return name


def parse_remeasure(value: str) -> str:
    from pytest_xetrack.remeasure import MODES

    if value not in MODES:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(MODES)}, got {value!r}"
        )
    return value


def parse_threshold(value: str) -> str:
    _compare_parser("parse_threshold", value)
    return value


@dataclass(frozen=True)
class Options:
    """The plugin's settings after command line and ini are merged."""

    db: str | None
    engine: str | None
    table: str
    cache: str | None
    cache_force: bool
    record_all: bool
    disabled: bool
    compare: str | None = None
    fail: tuple[str, ...] = ()
    any_env: bool = False
    min_effect: float = 0.05
    #: the timing engine's defaults for @track (None: the engine's own)
    timing: Mapping[str, object] = field(default_factory=dict)
    #: how long a write waits for another process's lock (None: the store's 120 s)
    timeout: float | None = None
    #: where to write the comparison as Markdown, and the HTML report
    markdown: str | None = None
    report: str | None = None
    #: how a suspected regression is measured again (pytest_xetrack.remeasure)
    remeasure: str = "process"
    #: spread benchmarks' batches over the session (pytest_xetrack.spread)
    spread: bool = True
    #: how many processes share each spread benchmark's budget
    #: (pytest_xetrack.processes)
    processes: int = 2


_STRING_OPTIONS: Final = {
    # flag: (dest, parser, help)
    "--xetrack-db": (
        "xetrack_db",
        parse_path,
        "database file to record rows into (SQLite unless --xetrack-engine), or a "
        "postgresql:// URL",
    ),
    "--xetrack-engine": (
        "xetrack_engine",
        parse_engine,
        "engine of a new database: sqlite (default) or duckdb (a postgresql:// URL "
        "is PostgreSQL)",
    ),
    "--xetrack-table": (
        "xetrack_table",
        parse_table,
        "table for rows of tests without their own (default: default)",
    ),
    "--xetrack-cache": (
        "xetrack_cache",
        parse_path,
        "directory of the shared result cache for @track(cache=True)",
    ),
    "--xetrack-markdown": (
        "xetrack_markdown",
        parse_path,
        "write the comparison as Markdown to this file (for a pull request "
        "comment); implies --xetrack-compare",
    ),
    "--xetrack-report": (
        "xetrack_report",
        parse_path,
        "write a self-contained HTML report (comparison, history charts) to this "
        "file; needs the report extra; implies --xetrack-compare",
    ),
    "--xetrack-remeasure": (
        "xetrack_remeasure",
        parse_remeasure,
        "how a benchmark slower than its baseline is measured again before its "
        "verdict: process (default: in a fresh process after the last test, the "
        "faster stands), inline (in its own test after a pause) or off",
    ),
    "--xetrack-processes": (
        "xetrack_processes",
        parse_count,
        "how many processes share the time budget of each benchmark whose batches "
        "are spread: this session and, after its last test, fresh ones (default 2; "
        "1: this session alone)",
    ),
    "--xetrack-timeout": (
        "xetrack_timeout",
        parse_seconds,
        "seconds a write waits for another process's lock on the database "
        "(default 120); on a server also how long a lost connection is tried again "
        "(default 30)",
    ),
}
_TIMING_OPTIONS: Final = {
    # flag: (dest, parser, the TimingConfig field, help)
    "--xetrack-min-rounds": (
        "xetrack_min_rounds",
        parse_count,
        "min_rounds",
        "timed rounds a benchmark runs at least (default 5)",
    ),
    "--xetrack-min-time": (
        "xetrack_min_time",
        parse_duration,
        "min_time",
        "timed seconds a benchmark runs at least, e.g. 0.2 or 200ms (default 0.2)",
    ),
    "--xetrack-max-time": (
        "xetrack_max_time",
        parse_duration,
        "max_time",
        "most seconds one benchmark may take, warmup included (default 1.0)",
    ),
    "--xetrack-warmup": (
        "xetrack_warmup",
        parse_duration,
        "warmup_time",
        "seconds of untimed warmup before timing, 0 for none (default 0.02)",
    ),
    "--xetrack-timer": (
        "xetrack_timer",
        parse_timer,
        "timer",
        f"the clock benchmarks are timed with: {', '.join(TIMERS)} (default "
        f"perf_counter)",
    ),
}
_FLAG_OPTIONS: Final = {
    "--xetrack-cache-force": (
        "xetrack_cache_force",
        "run cached @track tests again and overwrite their cache entries",
    ),
    "--xetrack-all": (
        "xetrack_all",
        "record every test's outcome and duration, not only tracked tests",
    ),
    "--xetrack-disable": (
        "xetrack_disable",
        "record nothing; the tracker fixture still works, in memory",
    ),
    "--xetrack-disable-gc": (
        "xetrack_disable_gc",
        "turn the garbage collector off while a benchmark's rounds run",
    ),
    "--xetrack-no-spread": (
        "xetrack_no_spread",
        "time each benchmark's batches in its own test, back to back, instead of "
        "one batch of each benchmark in turn after the last test",
    ),
}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("xetrack", "recording tests into an xetrack database")
    group.addoption(
        "--xetrack-compare",
        dest="xetrack_compare",
        nargs="?",
        const="auto",
        default=None,
        metavar="REF",
        help="after the session, compare it with a baseline: REF (commit, branch, tag, "
        "track_id) or, without it, the newest run on an ancestor commit",
    )
    parser.addini(
        "xetrack_compare",
        help="baseline REF for --xetrack-compare ('auto' for the default)",
        default=None,
    )
    group.addoption(
        "--xetrack-fail",
        dest="xetrack_fail",
        action="append",
        type=parse_threshold,
        default=None,
        metavar="METRIC:THRESHOLD",
        help="exit non-zero when a regression of METRIC passes THRESHOLD (N%% relative, "
        "N absolute), e.g. function_time:5%%; repeatable; implies --xetrack-compare",
    )
    parser.addini(
        "xetrack_fail",
        help="thresholds for --xetrack-fail",
        type="linelist",
        default=[],
    )
    group.addoption(
        "--xetrack-min-effect",
        dest="xetrack_min_effect",
        type=parse_fraction,
        default=None,
        metavar="FRACTION",
        help="smallest relative change --xetrack-compare calls a regression or an "
        "improvement (default 0.05 = 5%%)",
    )
    parser.addini("xetrack_min_effect", help="see --xetrack-min-effect", default=None)
    group.addoption(
        "--xetrack-any-env",
        dest="xetrack_any_env",
        action="store_true",
        default=None,
        help="let --xetrack-compare use a baseline measured on another environment",
    )
    parser.addini("xetrack_any_env", help="see --xetrack-any-env", default=None)
    for flag, (dest, parse, text) in _STRING_OPTIONS.items():
        group.addoption(
            flag, dest=dest, type=parse, default=None, metavar="VALUE", help=text
        )
        parser.addini(dest, help=text, default=None)
    for flag, (dest, timing_parse, _, text) in _TIMING_OPTIONS.items():
        group.addoption(
            flag, dest=dest, type=timing_parse, default=None, metavar="VALUE", help=text
        )
        parser.addini(dest, help=text, default=None)
    for flag, (dest, text) in _FLAG_OPTIONS.items():
        group.addoption(flag, dest=dest, action="store_true", default=None, help=text)
        parser.addini(dest, help=text, default=None)


def read_options(config: pytest.Config) -> Options:
    """Command line wins over ini; an ini value is validated like the flag's."""

    def value(dest: str, parse: Any) -> Any:
        given = config.getoption(dest)
        if given is not None:
            return given
        raw = config.getini(dest)
        if raw in (None, "", []):
            return None
        try:
            return parse(str(raw))
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"ini key {dest} = {raw!r}: {exc}") from None

    strings = {dest: value(dest, parse) for dest, parse, _ in _STRING_OPTIONS.values()}
    flags = {dest: bool(value(dest, parse_bool)) for dest, _ in _FLAG_OPTIONS.values()}
    db = strings["xetrack_db"]
    if db is not None:
        from xetrack.store.location import is_server_url  # recording: xetrack loads

        if not is_server_url(db):
            db = str(Path(config.invocation_params.dir, db))
    cache = strings["xetrack_cache"]
    if cache is not None:
        cache = str(Path(config.invocation_params.dir, cache))
    fail = config.getoption("xetrack_fail") or []
    if not fail:
        for raw in config.getini("xetrack_fail") or []:
            try:
                fail.append(parse_threshold(str(raw)))
            except argparse.ArgumentTypeError as exc:
                raise pytest.UsageError(f"ini key xetrack_fail: {exc}") from None
    timing: dict[str, object] = {}
    for dest, parse, name, _ in _TIMING_OPTIONS.values():
        given = value(dest, parse)
        if given is not None:
            timing[name] = given
    if flags["xetrack_disable_gc"]:
        timing["disable_gc"] = True
    low, high = timing.get("min_time"), timing.get("max_time")
    if isinstance(low, float) and isinstance(high, float) and low > high:
        raise pytest.UsageError(
            f"--xetrack-min-time={low:g} is above --xetrack-max-time={high:g}; a "
            f"benchmark cannot run longer than its maximum"
        )
    outputs = {}
    for name in ("markdown", "report"):
        given = strings[f"xetrack_{name}"]
        outputs[name] = (
            None if given is None else str(Path(config.invocation_params.dir, given))
        )
    reference = value("xetrack_compare", str)
    if (fail or outputs["markdown"] or outputs["report"]) and reference is None:
        reference = "auto"
    from pytest_xetrack.remeasure import OUT_ENV

    if os.environ.get(OUT_ENV):
        # a fresh process measuring one suspect for another session: that session
        # compares and reports; this one only measures
        reference, fail = None, []
        outputs = {"markdown": None, "report": None}
    return Options(
        remeasure=strings["xetrack_remeasure"] or "process",
        compare=reference,
        fail=tuple(fail),
        any_env=bool(value("xetrack_any_env", parse_bool)),
        min_effect=_or(value("xetrack_min_effect", parse_fraction), 0.05),
        db=db,
        engine=strings["xetrack_engine"],
        table=strings["xetrack_table"] or "default",
        cache=cache,
        timeout=strings["xetrack_timeout"],
        cache_force=flags["xetrack_cache_force"],
        record_all=flags["xetrack_all"],
        disabled=flags["xetrack_disable"],
        timing=timing,
        markdown=outputs["markdown"],
        report=outputs["report"],
        spread=not flags["xetrack_no_spread"],
        processes=_or(strings["xetrack_processes"], 2),
    )


def timing_flags(config: pytest.Config) -> list[str]:
    """The timing options this session's command line gave, as flags (a fresh
    process reads the ini file itself)."""
    flags = []
    for flag, (dest, *_rest) in _TIMING_OPTIONS.items():
        given = config.getoption(dest)
        if given is not None:
            flags.append(
                f"{flag}={given!r}" if isinstance(given, float) else f"{flag}={given}"
            )
    if config.getoption("xetrack_disable_gc"):
        flags.append("--xetrack-disable-gc")
    if config.getoption("xetrack_no_spread"):
        flags.append("--xetrack-no-spread")
    return flags


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def check_options(options: Options) -> None:
    """Settings that cannot work together or cannot work at all, before any test runs.

    Raises :class:`pytest.UsageError`: a gate or a comparison without a database
    (nothing would be recorded, so nothing judged), a cache path that cannot be a
    directory.
    """
    if options.db is None and not options.disabled:
        if options.fail:
            raise pytest.UsageError(
                f"--xetrack-fail needs --xetrack-db: without a database nothing is "
                f"recorded and {', '.join(options.fail)} cannot be checked; "
                f"add --xetrack-db=bench.db"
            )
        for flag, given in (
            ("--xetrack-markdown", options.markdown),
            ("--xetrack-report", options.report),
        ):
            if given is not None:
                raise pytest.UsageError(
                    f"{flag}={given} needs --xetrack-db: without a database nothing "
                    f"is recorded to compare; add --xetrack-db=bench.db"
                )
        if options.compare is not None:
            raise pytest.UsageError(
                "--xetrack-compare needs --xetrack-db: without a database nothing is "
                "recorded to compare; add --xetrack-db=bench.db"
            )
    for flag, given in (
        ("--xetrack-markdown", options.markdown),
        ("--xetrack-report", options.report),
    ):
        if given is not None:
            _check_output(flag, Path(given))
    if options.report is not None:
        _check_report_extra()
    if options.cache is not None:
        path = Path(options.cache)
        for folder in (path, *path.parents):
            if folder.exists():
                if not folder.is_dir():
                    raise pytest.UsageError(
                        f"--xetrack-cache={options.cache}: {folder} is a file, so the "
                        f"cache cannot be a directory there; pass a folder path, "
                        f"like .xetrack-cache"
                    )
                break


def _check_output(flag: str, path: Path) -> None:
    """An output file's place must be a writable folder, or its file is lost only
    after every test ran."""
    if path.is_dir():
        raise pytest.UsageError(
            f"{flag}={path} is a folder; give a file path, like {path / 'out'}"
        )
    folder = path.parent
    if not folder.is_dir():
        raise pytest.UsageError(
            f"{flag}={path}: folder {folder} does not exist; create it or choose "
            f"another path"
        )


def _check_report_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("plotly") is None:
        raise pytest.UsageError(
            "--xetrack-report needs plotly, which draws the charts: "
            "pip install 'xetrack[report]'"
        )


def check_mark(
    nodeid: str, kwargs: dict[str, Any], args: tuple[Any, ...]
) -> str | None:
    """The problem with a test's ``track`` marker, or None if it is fine."""
    if args:
        return f"{nodeid}: @track takes keyword arguments only, got {args!r}"
    for name in kwargs:
        if name not in MARK_ARGS and name not in CACHE_MARK_ARGS:
            return (
                f"{nodeid}: @track got an unknown argument {name!r}; "
                f"allowed: {', '.join((*MARK_ARGS, *CACHE_MARK_ARGS))}"
            )
    rounds, warmup = kwargs.get("rounds"), kwargs.get("warmup")
    if rounds is not None and (
        not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1
    ):
        return f"{nodeid}: @track(rounds={rounds!r}) must be an int >= 1"
    if warmup is not None and (
        not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0
    ):
        return f"{nodeid}: @track(warmup={warmup!r}) must be an int >= 0"
    spread = kwargs.get("spread")
    if spread is not None and not isinstance(spread, bool):
        return f"{nodeid}: @track(spread={spread!r}) must be True or False"
    from pytest_xetrack.timing import timing_problem

    problem = timing_problem(kwargs)
    if problem:
        return f"{nodeid}: {problem}"
    metrics = kwargs.get("metrics") or {}
    if not isinstance(metrics, dict):
        return (
            f"{nodeid}: @track(metrics=...) must be a dict like {{'accuracy': 'max'}}"
        )
    for metric, direction in metrics.items():
        if direction not in DIRECTIONS:
            return (
                f"{nodeid}: @track(metrics={{{metric!r}: {direction!r}}}): "
                f"the direction must be 'max' or 'min'"
            )
    params = kwargs.get("params")
    if params is not None and not isinstance(params, dict):
        return f"{nodeid}: @track(params=...) must be a dict"
    return _check_depends(nodeid, kwargs.get("depends"))


def _check_depends(nodeid: str, depends: object) -> str | None:
    if depends is None:
        return None
    if not isinstance(depends, (list, tuple)) or not all(
        isinstance(d, (str, PurePath)) for d in depends
    ):
        return (
            f"{nodeid}: @track(depends={depends!r}) must be a list of file paths and "
            f"version strings, like ['data/train.csv', 'v2']"
        )
    return None
