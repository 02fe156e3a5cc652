"""The drop-in's hooks: pytest-benchmark's options and marker, the ``benchmark``
fixture, skipping, the results table, JSON and saved runs.

Registered by :func:`pytest_xetrack.benchmark.register` only when pytest-benchmark
is not active. Each use of the fixture becomes a row like an ``@track`` row (when
the session records) and an entry of pytest-benchmark's JSON; entries reach the
controller on the teardown report, so the table and files are whole under xdist.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pytest

from pytest_xetrack.benchmark.options import (
    BenchmarkOptions,
    add_options,
    ignored_mark_args,
    mark_problem,
    read_options,
    timing_settings,
)

if TYPE_CHECKING:
    from pytest_xetrack.benchmark.baseline import Baseline
    from pytest_xetrack.benchmark.fixture import BenchmarkFixture
    from pytest_xetrack.session import Session, TestState

#: The attribute of a teardown report that carries the test's benchmark entry.
REPORT_ATTR: Final = "xetrack_benchmark"
_COLLECTOR: Final = "xetrack-benchmark-collector"
_PROVIDER: Final = "xetrack-benchmark-fixture"


@dataclass
class Compat:
    """The drop-in's state for one session."""

    options: BenchmarkOptions
    #: pytest-benchmark entries of this session's benchmarks, as reports brought them
    entries: list[dict[str, Any]] = field(default_factory=list)
    #: what was given that means nothing here (said once)
    ignored: set[str] = field(default_factory=set)
    baseline: Baseline | None = None
    written: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


COMPAT = pytest.StashKey[Compat]()
ENTRY = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# first: xetrack's own configure maps --benchmark-compare onto its options (and ours
# registers in the middle of its plugin's registration, so would come after it)
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "benchmark(max_time=None, min_rounds=None, min_time=None, timer=None, "
        "group=None, disable_gc=None, warmup=None, warmup_iterations=None, "
        "calibration_precision=None): pytest-benchmark's settings for this test's "
        "benchmark fixture (xetrack stands in for pytest-benchmark)",
    )
    options = read_options(config)
    compat = config.stash[COMPAT] = Compat(options, ignored=set(options.ignored))
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Collector(compat), _COLLECTOR)
    if not _codspeed_measuring(config):
        config.pluginmanager.register(_Provider(), _PROVIDER)


def compat_of(config: pytest.Config) -> Compat | None:
    return config.stash.get(COMPAT, None)


def pytest_report_header(config: pytest.Config) -> str:
    options = config.stash[COMPAT].options
    state = "disabled" if options.disabled else "xetrack's timing engine"
    return f"benchmark: xetrack stands in for pytest-benchmark ({state})"


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    compat = config.stash[COMPAT]
    problems = []
    skip = pytest.mark.skip(reason="Skipping benchmark (--benchmark-skip active).")
    other = pytest.mark.skip(reason="Skipping non-benchmark (--benchmark-only active).")
    for item in items:
        for mark in item.iter_markers("benchmark"):
            problem = mark_problem(item.nodeid, tuple(mark.args), mark.kwargs)
            if problem:
                problems.append(problem)
        uses = "benchmark" in getattr(item, "fixturenames", ())
        if uses and compat.options.skip:
            item.add_marker(skip)
        elif not uses and compat.options.only:
            item.add_marker(other)
    if problems:
        raise pytest.UsageError("\n".join(problems))


class _Provider:
    """Holds the ``benchmark`` fixture. Registered at configure time, after every
    plugin loaded from an entry point, so among plugins' fixtures it is the one
    tests get: pytest-codspeed, when not measuring (no ``--codspeed``), offers a
    ``benchmark`` of its own that runs the function once untimed."""

    @pytest.fixture
    def benchmark(
        self, request: pytest.FixtureRequest
    ) -> Generator[BenchmarkFixture, None, None]:
        """pytest-benchmark's ``benchmark`` fixture, measured by xetrack's timing
        engine: ``benchmark(fn, *args)``, ``@benchmark``, ``benchmark.pedantic(...)``."""
        yield from _benchmark(request)


def _codspeed_measuring(config: pytest.Config) -> bool:
    """pytest-codspeed is measuring this session: its fixture is the one to use."""
    if not config.pluginmanager.has_plugin("codspeed"):
        return False
    try:
        enabled = bool(config.getoption("codspeed"))
    except ValueError:
        enabled = False
    return enabled or os.environ.get("CODSPEED_ENV") is not None


def _benchmark(
    request: pytest.FixtureRequest,
) -> Generator[BenchmarkFixture, None, None]:
    # here, not at the top: the fixture's module imports xetrack, which a session
    # that benchmarks nothing never needs
    from pytest_xetrack.benchmark.fixture import BenchmarkFixture
    from pytest_xetrack.plugin import SESSION

    config = request.config
    compat = config.stash[COMPAT]
    if compat.options.skip:
        pytest.skip("Benchmarks are skipped (--benchmark-skip was used).")
    item = request.node
    marker = item.get_closest_marker("benchmark")
    kwargs = dict(marker.kwargs) if marker else {}
    compat.ignored.update(ignored_mark_args(kwargs))
    session = config.stash[SESSION]
    callspec = getattr(item, "callspec", None)
    fixture = BenchmarkFixture(
        item.name,
        item.nodeid,
        callspec.id if callspec is not None else None,
        callspec.params if callspec is not None else None,
        timing_settings(session.options.timing, compat.options.timing, kwargs),
        disabled=compat.options.disabled,
        group=kwargs.get("group"),
        confirm=_confirming(session, item),
    )
    yield fixture
    _finish(item, session, fixture)


def _confirming(session: Session, item: pytest.Function) -> Any:
    from pytest_xetrack import remeasure

    def confirm(measured: Any, again: Any) -> Any:
        remeasure.write_out(item.nodeid, measured)  # for the session that asked
        kept, first, _ = remeasure.confirmed(session, item.nodeid, measured, again)
        return kept, first

    return confirm


def _finish(item: pytest.Item, session: Session, fixture: BenchmarkFixture) -> None:
    """After the test: its row (outcome known by now, extra_info final) and entry."""
    from pytest_xetrack.plugin import _context, _state

    state: TestState = _state(item)
    if fixture.mode is None:
        if state.outcome not in ("skipped", "xfailed"):
            item.warn(
                pytest.PytestWarning(
                    f"{item.nodeid}: the benchmark fixture was not used in this test"
                )
            )
        return
    measured = fixture.measured
    if measured is None or isinstance(measured.error, pytest.skip.Exception):
        return
    from pytest_xetrack.benchmark.rows import fixture_row

    row = fixture_row(fixture, measured, state.outcome)
    if not session.options.disabled:
        if not session.context:
            session.context = _context(item.config)
        target = session.tracker_for(item, state)
        target.log(row)
        if not session.worker:
            session.note_timing({**row, "test_nodeid": item.nodeid}, target.table_name)
    if measured.error is None and not fixture.has_error:  # as there: no misuse
        from xetrack.interop.history import entry_of_row

        item.stash[ENTRY] = entry_of_row({**row, "test_nodeid": item.nodeid})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "teardown":
        entry = item.stash.get(ENTRY, None)
        if entry is not None:
            setattr(report, REPORT_ATTR, entry)
    return report


class _Collector:
    """On the controller (or a plain session): the entries the teardown reports
    bring, from this process or from xdist workers."""

    def __init__(self, compat: Compat) -> None:
        self.compat = compat

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = getattr(report, REPORT_ATTR, None)
        if isinstance(entry, dict):
            self.compat.entries.append(entry)


@pytest.hookimpl(trylast=True)  # after the session's suspects were measured again
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    compat = config.stash.get(COMPAT, None)
    if compat is None or hasattr(config, "workerinput"):
        return
    _with_second_measurements(config, compat.entries)
    options = compat.options
    if not (options.json or options.save or options.autosave):
        return
    if not compat.entries:
        if not options.disabled:
            compat.problems.append("not saving anything: no benchmark ran")
        return
    from pytest_xetrack.benchmark.baseline import write_files
    from pytest_xetrack.plugin import SESSION, _context
    from xetrack.errors import XetrackError

    state = config.stash[SESSION]
    context = state.context or _context(config)
    try:
        compat.written = write_files(
            options,
            compat.entries,
            context,
            str(config.rootpath),
            state.track_id if state.recording else None,
        )
    except XetrackError as exc:  # a file asked for and not written fails the run
        compat.problems.append(str(exc))
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _with_second_measurements(
    config: pytest.Config, entries: list[dict[str, Any]]
) -> None:
    """A suspect measured again in a fresh process, whose second measurement stands
    in the store, reads the same in pytest-benchmark's JSON and table: its entry's
    statistics (and data) become the fresh process's."""
    from pytest_xetrack.plugin import SESSION

    state = config.stash.get(SESSION, None)
    if state is None or not state.kept_again:
        return
    from xetrack.interop.pytest_benchmark import stats_of

    for entry in entries:
        fresh = state.kept_again.get(str(entry.get("fullname")))
        if fresh is None or not fresh.samples:
            continue
        old = entry.get("stats") or {}
        figures = stats_of(fresh.samples, fresh.iterations)
        if "data" in old:
            figures["data"] = list(fresh.samples)
        figures["iterations"] = fresh.iterations
        entry["stats"] = figures


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    compat = config.stash.get(COMPAT, None)
    if compat is None or hasattr(config, "workerinput"):
        return
    options = compat.options
    if compat.entries and not options.quiet:
        from pytest_xetrack.benchmark.table import Layout, draw

        layout = Layout(
            options.sort,
            options.group_by,
            options.columns,
            options.name,
            options.time_unit,
        )
        draw(terminalreporter, compat.entries, layout)
    for path in compat.written:
        terminalreporter.write_line(f"xetrack: wrote pytest-benchmark's JSON to {path}")
    if compat.baseline is not None and compat.baseline.saved is not None:
        terminalreporter.write_line(
            f"xetrack: compared with the saved run {compat.baseline.saved}"
        )
    for problem in compat.problems:
        terminalreporter.write_line(f"xetrack: {problem}", red=True, bold=True)
    if compat.ignored:
        terminalreporter.write_line(
            f"xetrack: accepted with no meaning here (xetrack has its own timing "
            f"engine, reports and store): {', '.join(sorted(compat.ignored))}",
            yellow=True,
        )


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    compat = config.stash.get(COMPAT, None)
    if compat is not None and compat.baseline is not None and compat.baseline.temporary:
        shutil.rmtree(compat.baseline.temporary, ignore_errors=True)
    for name in (_COLLECTOR, _PROVIDER):
        helper = config.pluginmanager.get_plugin(name)
        if helper is not None:
            config.pluginmanager.unregister(helper)
