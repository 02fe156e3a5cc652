"""pytest-xetrack hooks: options, the ``track`` marker, the ``tracker`` fixture.

Importing this module imports neither xetrack nor pandas: the plugin costs nothing
until a session records (``--xetrack-db``) or a test asks for ``tracker``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from pytest_xetrack.options import (
    Options,
    add_options,
    check_mark,
    check_options,
    read_options,
)
from pytest_xetrack.session import (
    STATE,
    Session,
    TestState,
    run_tracked,
    timing_notes,
)

SESSION = pytest.StashKey[Session]()


def pytest_addoption(
    parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager
) -> None:
    add_options(parser)
    # pytest-benchmark's fixture, marker and options, unless it is active itself
    from pytest_xetrack.benchmark import register

    register(pluginmanager)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "track(rounds=None, warmup=None, table=None, cache=False, params=None, "
        "metrics=None, depends=None, iterations=None, min_rounds=None, "
        "min_time=None, max_time=None, warmup_time=None, timer=None, "
        "disable_gc=None, setup=None, teardown=None): record this test as a "
        "benchmark or experiment with pytest-xetrack (rounds and warmup fix the "
        "counts; by default a time budget)",
    )
    options = read_options(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        info = workerinput.get("xetrack")
        session = Session(
            options,
            run_id=info["track_id"] if info else None,
            context=dict(info["context"]) if info else {},
            worker=True,
        )
        if info:
            from xetrack.compare import Expected

            session.expected = {
                str(k): Expected(float(v[0]), bool(v[1]))
                for k, v in dict(info.get("expected") or {}).items()
            }
        if info:
            from pytest_xetrack.xdist import WorkerOutbox

            session.outbox = WorkerOutbox(info["spool"])
        config.stash[SESSION] = session
        return
    options = _benchmark_baseline(config, options)
    check_options(options)
    session = Session(options, context={})
    config.stash[SESSION] = session
    if options.disabled or options.db is None:
        return
    if options.compare not in (None, "auto"):
        from pytest_xetrack.report import check_reference

        check_reference(options, str(config.rootpath))
    session.context = _context(config)
    from xetrack.store import display

    try:
        session.open_root()
    except Exception as exc:  # every failure to open is a usage error, before tests
        shown = display(options.db)
        raise pytest.UsageError(
            f"--xetrack-db={shown}: {exc}" if shown not in str(exc) else str(exc)
        ) from None
    from pytest_xetrack.xdist import recover_spools

    recover_spools(session, options.db)
    # after recovery: a recovered session's rows may be the baseline
    session.load_expected(str(config.rootpath))
    if config.pluginmanager.hasplugin("xdist"):
        from pytest_xetrack.xdist import Controller

        session.controller = Controller(session, options.db)
        config.pluginmanager.register(session.controller, "xetrack-xdist-controller")


def _benchmark_baseline(config: pytest.Config, options: Options) -> Options:
    """--benchmark-compare[-fail] of the drop-in as --xetrack-compare/--xetrack-fail."""
    from pytest_xetrack.benchmark.plugin import compat_of

    compat = compat_of(config)
    if compat is None or options.disabled:
        return options
    from pytest_xetrack.benchmark.baseline import resolve, with_baseline

    compat.baseline = resolve(compat.options, options)
    if compat.baseline is None:
        return options
    return with_baseline(options, compat.baseline, compat.options)


def _context(config: pytest.Config) -> dict[str, object]:
    from pytest_xetrack.session import run_context, xdist_workers

    return run_context(str(config.rootpath), xdist_workers(config))


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    problems = []
    for item in items:
        for mark in item.iter_markers("track"):
            problem = check_mark(item.nodeid, dict(mark.kwargs), tuple(mark.args))
            if problem:
                problems.append(problem)
    if problems:
        raise pytest.UsageError("\n".join(problems))


def pytest_deselected(items: list[pytest.Item]) -> None:
    if not items:
        return
    session = items[0].config.stash.get(SESSION, None)
    if session is not None and not session.options.disabled:
        from pytest_xetrack.selection import note_deselected

        note_deselected(session, items)


def _state(item: pytest.Item) -> TestState:
    state = item.stash.get(STATE, None)
    if state is None:
        state = item.stash[STATE] = TestState()
    return state


@pytest.fixture
def tracker(request: pytest.FixtureRequest) -> Any:
    """An xetrack Tracker for this test: rows carry the session's run id, git state,
    environment, the test's id, its parametrize values and, after it ran, its outcome."""
    session = request.config.stash[SESSION]
    if not session.context and not session.options.disabled:
        session.context = _context(request.config)
    item = request.node
    return session.tracker_for(item, _state(item))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    mark = pyfuncitem.get_closest_marker("track")
    session = pyfuncitem.config.stash[SESSION]
    if mark is None:
        return None
    if session.options.disabled:
        # Called once, as pytest would, without its warning about a returned dict:
        # returning metrics is how a @track test reports them.
        pyfuncitem.obj(**{a: pyfuncitem.funcargs[a] for a in _argnames(pyfuncitem)})
        return True
    if not session.context:
        session.context = _context(pyfuncitem.config)
    run_tracked(session, pyfuncitem, _state(pyfuncitem), dict(mark.kwargs))
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    state = _state(item)
    state.duration += report.duration
    if report.failed:
        state.outcome = "failed" if report.when == "call" else "error"
        if not state.error and report.longrepr is not None:
            state.error = _first_line(report)
    elif report.skipped and state.outcome == "passed":
        state.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    elif report.when == "call" and hasattr(report, "wasxfail"):
        state.outcome = "xpassed"
    if report.when == "teardown":
        session = item.config.stash[SESSION]
        foreign = item.config.pluginmanager.has_plugin("benchmark")
        if foreign and (session.recording or session.outbox is not None):
            from pytest_xetrack.benchmark.rows import record_foreign

            record_foreign(session, item, state)
        if not session.options.disabled:
            payload = session.finish_test(item, state)
            if payload is not None:  # a worker's: xdist carries it to the controller
                from pytest_xetrack.xdist import PAYLOAD_ATTR

                setattr(report, PAYLOAD_ATTR, payload)
    return report


def _argnames(item: pytest.Function) -> tuple[str, ...]:
    return tuple(item._fixtureinfo.argnames)


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or str(report.longrepr)
    return message.splitlines()[0] if message else ""


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is None:
        return
    if state.worker:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            from pytest_xetrack.selection import WORKER_KEY

            workeroutput[WORKER_KEY] = sorted(state.deselected)
        if state.outbox is not None:
            from pytest_xetrack.xdist import SENT_KEY

            state.outbox.close()
            if workeroutput is not None:
                workeroutput[SENT_KEY] = state.outbox.sent
        return
    if state.deferred:
        from pytest_xetrack.spread import finish

        interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
        if finish(state, interrupted, session.config):
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            state.suspects.clear()  # measuring again is not what Ctrl-C asked for
    if state.recording and state.suspects and state.options.compare is not None:
        from pytest_xetrack.remeasure import remeasure_suspects

        remeasure_suspects(state, session.config)
    if state.recording:
        from pytest_xetrack.selection import record

        record(state, session.config)
    if state.recording and state.options.compare is not None:
        # Every row is written (xdist workers are down): judge the run, and let a
        # regression past --xetrack-fail fail the session.
        from pytest_xetrack.report import exit_status, judge_session

        state.verdict = judge_session(state, str(session.config.rootpath))
        from pytest_xetrack.outputs import write_outputs

        # an output asked for and not written must not read as green
        state.verdict.unapplied += write_outputs(state, str(session.config.rootpath))
        session.exitstatus = exit_status(state.verdict, int(session.exitstatus))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:  # -p no:terminal: pytest's own count is all there is
        failed, errors = session.testsfailed, 0
    else:
        stats = reporter.stats
        failed, errors = len(stats.get("failed", [])), len(stats.get("error", []))
    state.end(int(session.exitstatus), failed, errors)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is None or session.worker or not session.recording:
        return
    from xetrack.store import display

    line = (
        f"xetrack: {session.rows_written} rows written to "
        f"{display(session.options.db)} as run {session.track_id}"
    )
    from pytest_xetrack.benchmark.plugin import compat_of

    compat = compat_of(config)
    if compat is not None and compat.baseline and compat.baseline.temporary:
        line = (
            "xetrack: compared this session through a temporary store (add "
            "--xetrack-db=bench.db to keep the history)"
        )
    kept = session.spooled()
    if kept:
        line += (
            f"; {kept} of them kept in a local spool while the server was out of "
            f"reach (the next session on this URL pushes them, or xt copy)"
        )
    if session.served_from_cache:
        line += (
            f"; {session.served_from_cache} results served from cache (each matched "
            f"its test's source, parameters, the source of the project modules its "
            f"test module imports and its depends=; `xt cache ls "
            f"{session.options.cache}` shows the parts)"
        )
    terminalreporter.write_sep("-", "xetrack")
    terminalreporter.write_line(line)
    for note in session.notes + timing_notes(session):
        terminalreporter.write_line(f"xetrack: {note}")
    if session.verdict is not None:
        from pytest_xetrack.report import write

        write(terminalreporter, session.verdict)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.close()
