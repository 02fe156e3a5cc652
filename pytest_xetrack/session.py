"""One pytest session = one xetrack run: its track_id, context columns and rows."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from pytest_xetrack import remeasure, spread
from pytest_xetrack.options import Options

if TYPE_CHECKING:
    from xetrack import Tracker
    from xetrack.compare import Expected
    from xetrack.timing import Measurement

# platform, hashlib, inspect and the timing statistics are imported where they are
# used: a session that records nothing should not pay for them at start-up.

#: Columns a tracked test's row gets from the plugin, besides the timing engine's
#: (xetrack.timing.TIMING_COLUMNS); a returned dict's key of the same name as either
#: is stored as ``result_<key>``.
_TEST_COLUMNS = frozenset(
    {
        "test_nodeid",
        "test_name",
        "outcome",
        "error",
        "remeasured",
        "first_function_time",
        "function_result",
        "cache",
        "metrics",
        "duration",
        # set by xetrack on every row (and the engines' row ids): never a metric name
        "timestamp",
        "track_id",
        "rowid",
        "oid",
        "_rowid_",
    }
)


CONTEXT_COLUMNS: dict[str, type] = {
    "git_commit": str,
    "git_branch": str,
    "git_dirty": bool,
    "test_nodeid": str,
    "outcome": str,
}


def environment(workers: int = 0) -> dict[str, object]:
    """Where the numbers were measured (see :func:`xetrack.environment.environment`)."""
    from xetrack.environment import environment as measured

    return measured(workers)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def xdist_workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers this session runs (0: serial)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput.get("workercount") or 0)
    if not config.pluginmanager.hasplugin("xdist"):
        return 0
    count = getattr(config.option, "numprocesses", None)
    if not isinstance(count, int) or getattr(config.option, "dist", "no") == "no":
        return 0
    return max(count, 0)


def run_context(rootdir: str, workers: int = 0) -> dict[str, object]:
    """The columns every row of the session carries: git state and environment."""
    from xetrack.git import git_info

    git = git_info(rootdir)
    return {
        "git_commit": git.commit,
        "git_branch": git.branch,
        "git_dirty": git.dirty,
        **environment(workers),
    }


@dataclass
class TestState:
    """What the plugin knows of one test while it runs."""

    #: (table, row) of every row the test's trackers wrote, as stored
    rows: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    outcome: str = "passed"
    duration: float = 0.0
    error: str = ""
    served: int = 0


@dataclass
class Session:
    """The plugin's state for one pytest session (controller, worker or plain)."""

    options: Options
    context: dict[str, object]
    #: the run's track_id; made on first use, so an unused plugin imports nothing
    run_id: str | None = None
    worker: bool = False
    root: Tracker | None = None
    rows_written: int = 0
    served_from_cache: int = 0
    #: the most project modules a served test's key covered, for the summary
    cache_modules: int = 0
    shipped_assets: set[str] = field(default_factory=set)
    outbox: Any = None
    controller: Any = None
    #: lines for the terminal summary (recovered workers, rows that could not be stored)
    notes: list[str] = field(default_factory=list)
    #: the comparison with the baseline, when --xetrack-compare asked for one
    verdict: Any = None
    #: (test_nodeid, why) of benchmarks whose timings were unstable
    unstable: list[tuple[str, str]] = field(default_factory=list)
    #: benchmarks timed in this session (rows with a function_time)
    timed: int = 0
    #: test_nodeid -> what the verdict will compare it with, when comparing: a
    #: benchmark slower than that by the minimum effect is measured again
    expected: dict[str, Expected] = field(default_factory=dict)
    #: benchmarks measured again as suspected regressions
    remeasured: int = 0
    #: benchmarks to measure again in a fresh process, by node id
    suspects: dict[str, remeasure.Suspect] = field(default_factory=dict)
    #: node id -> the fresh process's measurement, where it stands (faster)
    kept_again: dict[str, Measurement] = field(default_factory=dict)
    #: node id -> a measurement several processes took (pytest_xetrack.processes)
    joined: dict[str, Measurement] = field(default_factory=dict)
    #: benchmarks with batches still to take after the last test (spread.py)
    deferred: list[spread.Deferred] = field(default_factory=list)
    #: how the run ends in the store's runs table: status and error
    ending: tuple[str, str | None] = ("finished", None)
    #: node ids of recording tests that -k, -m, --lf... deselected (xdist: from
    #: the workers)
    deselected: set[str] = field(default_factory=set)

    @property
    def track_id(self) -> str:
        if self.run_id is None:
            from xetrack import Tracker

            self.run_id = Tracker.generate_track_id()
        return self.run_id

    @property
    def recording(self) -> bool:
        return self.options.db is not None and not self.options.disabled

    def open_root(self) -> Tracker:
        """The session's tracker: the database, or memory (workers, no --xetrack-db)."""
        if self.root is None:
            from xetrack import Tracker as cls

            db: str = cls.IN_MEMORY
            if self.recording and not self.worker and self.options.db:
                db = self.options.db
            engine = self.options.engine if db != cls.IN_MEMORY else None
            self.root = cls(
                db,
                # the run record takes its git state and environment from these
                params=self.context or None,
                track_id=self.track_id,
                engine=engine,
                table=self.options.table,
                cache=self.options.cache,
                warnings=True,
                timeout=self.options.timeout,
            )
            if self.recording and not self.worker:
                # NULL outside a repository, yet always there to query
                self.root.declare(CONTEXT_COLUMNS)
        return self.root

    def tracker_for(
        self,
        item: pytest.Item,
        state: TestState,
        table: str | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> Tracker:
        """A tracker whose rows carry the session's and this test's columns; the
        rows it writes are kept in ``state`` (for the outcome and the xdist hand-off)."""
        params = {**self.context, **test_columns(item), **(extra or {})}
        child = self.open_root().derive(params=params, table=table)
        if table is not None and self.recording and not self.worker:
            child.declare(CONTEXT_COLUMNS)
        child.on_write(lambda name, row: state.rows.append((name, row)))
        return child

    def worker_info(self) -> dict[str, object]:
        """What a worker needs to tag rows like the controller (execnet-safe values)."""
        return {
            "track_id": self.track_id,
            "context": dict(self.context),
            "expected": {
                k: [float(v.value), bool(v.over_probe)]
                for k, v in self.expected.items()
            },
        }

    def load_expected(self, rootdir: str) -> None:
        """Before tests run, when comparing: each benchmark's reference value."""
        from xetrack.compare import Run, expectations

        options = self.options
        if options.compare is None or options.db is None:
            return
        context = self.context
        head = Run(
            self.track_id,
            _text(context.get("git_commit")),
            _text(context.get("git_branch")),
            _text(context.get("env_fingerprint")),
            "\uffff",  # later than every recorded run
        )
        self.expected = expectations(
            options.db,
            head,
            table=options.table,
            repo=rootdir,
            base=None if options.compare == "auto" else options.compare,
            min_effect=options.min_effect,
            any_env=options.any_env,
        )

    def finish_test(self, item: pytest.Item, state: TestState) -> str | None:
        """After a test's teardown: its outcome on its rows, then write or ship them.

        On an xdist worker, returns the payload to attach to the teardown report
        (its JSON line, see :mod:`pytest_xetrack.xdist`).
        """
        rows = state.rows
        if rows:
            stale: dict[str, set[str]] = {}
            for table, row in rows:
                if row.get("outcome") != state.outcome:
                    stale.setdefault(table, set()).add(str(row["timestamp"]))
                    row["outcome"] = state.outcome
            if self.recording and not self.worker:
                # Only rows whose stored outcome is not the final one (a @track row
                # already has it), found by their timestamps through the index.
                from xetrack.errors import ConnectionLostError

                for table, stamps in stale.items():
                    target = self.open_root().derive(table=table)
                    try:
                        target.update(
                            {"outcome": state.outcome},
                            where={
                                "test_nodeid": item.nodeid,
                                "timestamp": sorted(stamps),
                            },
                        )
                    except ConnectionLostError as exc:
                        self.notes.append(
                            f"the outcome of {item.nodeid} ({state.outcome}) could not "
                            f"be set on its rows: {exc}"
                        )
        elif self.options.record_all and (self.recording or self.outbox is not None):
            if not self.context and not self.worker:
                self.context = run_context(
                    str(item.config.rootpath), xdist_workers(item.config)
                )
            summary = self.tracker_for(item, state)
            summary.log(
                {
                    "outcome": state.outcome,
                    "duration": state.duration,
                    "error": state.error,
                }
            )
            rows = state.rows
        if self.worker and self.outbox is not None and (rows or state.served):
            sent: str = self.outbox.send(
                {
                    "rows": [{"table": t, "row": dict(r)} for t, r in rows],
                    "assets": self._new_assets(),
                    "served": state.served,
                }
            )
            return sent
        if self.recording:
            self.rows_written += len(rows)
        return None

    def _new_assets(self) -> dict[str, bytes]:
        store = self.open_root().assets
        fresh = [h for h in store.hashes() if h not in self.shipped_assets]
        self.shipped_assets.update(fresh)
        return {h: store.pickled(h) for h in fresh}

    def receive(self, payloads: list[dict[str, Any]]) -> None:
        """On the controller: write the rows and assets workers sent, in one go each."""
        from xetrack.errors import XetrackError

        root = self.open_root()
        for payload in payloads:
            for hashed, data in payload["assets"].items():
                root.assets.put_pickled(hashed, data)
            by_table: dict[str, list[dict[str, object]]] = {}
            for entry in payload["rows"]:
                by_table.setdefault(entry["table"], []).append(entry["row"])
                if entry["row"].get("track_id") == self.track_id:  # not recovered
                    self.note_timing(entry["row"], entry["table"])
            for table, rows in by_table.items():
                target = root if table == root.table_name else root.derive(table=table)
                try:
                    self.rows_written += target.write_rows(rows)
                except XetrackError:
                    for row in rows:  # keep every row that can be kept
                        try:
                            self.rows_written += target.write_rows([row])
                        except XetrackError as exc:
                            self.notes.append(
                                f"a row of {row.get('test_nodeid')} could not be "
                                f"stored: {exc}"
                            )
            self.served_from_cache += int(payload.get("served", 0))

    def note_timing(self, row: Mapping[str, object], table: str) -> None:
        """Count a benchmark's row for the summary; remember it if it was unstable
        or is a suspect to measure again (``table``: where the row is)."""
        if row.get("time_samples") is None:
            return
        remeasure.note(self, table, row)
        self.timed += 1
        if row.get("remeasured"):
            self.remeasured += 1
        if row.get("unstable"):
            self.unstable.append(
                (str(row.get("test_nodeid")), str(row.get("unstable_reason") or ""))
            )

    def end(self, exitstatus: int, failed: int, errors: int) -> None:
        """The run's status from pytest's exit status (2: interrupted) and counts."""
        if exitstatus in (0, 5):  # 5: no tests collected, nothing went wrong
            self.ending = ("finished", None)
        elif exitstatus == 2:
            self.ending = ("interrupted", "pytest was interrupted")
        elif exitstatus == 1 and (failed or errors):
            counts = [f"{failed} failed"] if failed else []
            counts += [f"{errors} error{'s' * (errors != 1)}"] if errors else []
            self.ending = ("failed", ", ".join(counts))
        elif exitstatus == 1:
            self.ending = ("failed", "a regression passed --xetrack-fail")
        else:
            self.ending = ("failed", f"pytest exit status {exitstatus}")

    def spooled(self) -> int:
        """Rows kept in a local spool because the server was out of reach."""
        return 0 if self.root is None else self.root.spooled

    def close(self) -> None:
        if self.root is not None:
            self.root.close(*self.ending)
        if self.controller is not None:
            self.controller.close()


def timing_notes(session: Session) -> list[str]:
    """Summary lines about how this session's timings were taken."""
    notes = []
    workers = session.context.get("xdist_workers") or 0
    if session.timed and isinstance(workers, int) and workers > 0:
        notes.append(
            f"{session.timed} benchmarks were timed under pytest-xdist with {workers} "
            f"workers sharing the CPU: their timings are slower and noisier than a "
            f"serial run's, and are compared only with runs of as many workers "
            f"(run benchmarks with -n 0 for numbers you can compare)"
        )
    if session.remeasured:
        notes.append(
            f"{session.remeasured} benchmarks looked slower than their baseline by more "
            f"than the minimum effect and were measured again "
            f"({_remeasure_how(session.options.remeasure)}; the first median is in "
            f"first_function_time)"
        )
    if session.unstable:
        shown = "; ".join(f"{n}: {why}" for n, why in session.unstable[:5])
        more = len(session.unstable) - 5
        notes.append(
            f"{len(session.unstable)} of {session.timed} benchmarks are unstable "
            f"(unstable=1 on their rows; their verdicts are not to be trusted): "
            f"{shown}" + (f"; and {more} more" if more > 0 else "")
        )
    return notes


def test_columns(item: pytest.Item) -> dict[str, object]:
    """test_nodeid, test_name and the parametrize values (configs unpacked later)."""
    from xetrack.errors import XetrackError
    from xetrack.values import is_config, to_storable

    columns: dict[str, object] = {
        "test_nodeid": item.nodeid,
        "test_name": getattr(item, "originalname", item.name),
    }
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for name, value in callspec.params.items():
            # a name the plugin or xetrack writes itself keeps its value beside it
            key = f"param_{name}" if name in _PLUGIN_COLUMNS else name
            if is_config(value):
                columns[key] = value
                continue
            try:
                to_storable(name, value)
                columns[key] = value
            except XetrackError:  # an object: recorded by its parametrize id
                columns[key] = _param_id(callspec, name)
    return columns


#: Columns of the plugin's rows that a parametrize name must not overwrite.
_PLUGIN_COLUMNS = frozenset(
    {
        *_TEST_COLUMNS,
        *CONTEXT_COLUMNS,
        # xetrack.environment's columns (not imported: this module loads at start-up)
        "python_version",
        "platform",
        "cpu_model",
        "cpu_count",
        "xdist_workers",
        "env_fingerprint",
    }
)


def _param_id(callspec: Any, name: str) -> str:
    ids = getattr(callspec, "_idlist", None)
    names = list(callspec.params)
    if isinstance(ids, list) and len(ids) == len(names):
        return str(ids[names.index(name)])
    return f"{name}{callspec.indices.get(name, 0)}"


def cache_key(
    item: pytest.Function, mark_kwargs: Mapping[str, Any]
) -> tuple[str, dict[str, object]] | None:
    """The shared cache's key of a test and the parts it is made of, or None.

    Parts: the test function's source, its parameter values, the marker settings,
    the source of every project module its test module imports (transitively,
    within the rootdir) and what ``@track(depends=[...])`` names.
    """
    import hashlib
    import inspect

    from pytest_xetrack.depends import declared, project_modules
    from xetrack.cache import Unhashable, token

    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError):
        return None
    callspec = getattr(item, "callspec", None)
    params = dict(callspec.params) if callspec is not None else {}
    settings = {k: mark_kwargs.get(k) for k in ("rounds", "warmup", "params")}
    rootdir = item.config.rootpath
    try:
        parts: dict[str, object] = {
            "test": hashlib.blake2b(source.encode(), digest_size=16).hexdigest(),
            "params": token(tuple(sorted((k, token(v)) for k, v in params.items()))),
            "settings": token(
                tuple(sorted((k, token(_freeze(v))) for k, v in settings.items()))
            ),
            "modules": project_modules(item.module, rootdir),
            "depends": declared(mark_kwargs.get("depends") or (), rootdir),
        }
    except FileNotFoundError as exc:  # a declared dependency is missing: say so
        pytest.fail(f"{item.nodeid}: {exc}", pytrace=False)
    except Unhashable as exc:
        warnings.warn(
            f"{item.nodeid}: parameter of type {exc.kind.__qualname__} has no stable "
            f"value to key the cache on; the test runs every time",
            stacklevel=2,
        )
        return None
    text = json.dumps(parts, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest(), parts


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def run_tracked(
    session: Session, item: pytest.Function, state: TestState, kwargs: Mapping[str, Any]
) -> None:
    """Run a @track test: rounds, statistics, metrics, cache; write its row."""
    from pytest_xetrack.timing import timing_config
    from xetrack.errors import XetrackError
    from xetrack.timing import Spread, measure

    testargs = {arg: item.funcargs[arg] for arg in item._fixtureinfo.argnames}
    metrics = dict(kwargs.get("metrics") or {})
    extra = dict(kwargs.get("params") or {})
    use_cache = bool(kwargs.get("cache")) and session.options.cache is not None
    tracker = session.tracker_for(item, state, table=kwargs.get("table"), extra=extra)

    keyed = cache_key(item, kwargs) if use_cache else None
    key, parts = keyed if keyed is not None else (None, {})
    directory = session.options.cache
    cache = _open_cache(directory) if key is not None and directory else None
    try:
        if cache is not None and key is not None and not session.options.cache_force:
            entry = cache.get(key)
            if entry is not None:
                row = dict(entry["result"])
                row["cache"] = str(entry.get("cache", ""))
                tracker.log(row)
                state.served += 1
                if not session.worker:
                    session.served_from_cache += 1
                    session.cache_modules = max(
                        session.cache_modules,
                        len(parts["modules"]),  # type: ignore[arg-type]
                    )
                return
        try:
            config = timing_config(kwargs, session.options.timing, testargs)
        except XetrackError as exc:  # the marker against the session's options
            pytest.fail(f"{item.nodeid}: @track: {exc}", pytrace=False)
        given = {} if config.setup is not None else testargs

        def again() -> Measurement:
            return measure(item.obj, (), given, config)

        spreading = None
        if spread.eligible(session, item, kwargs, config, cache is not None):
            from pytest_xetrack.processes import divided, fresh, share

            # this process's share of the budget; fresh ones take the rest
            config = divided(config, share(session), first=not fresh())
            spreading = Spread(item.obj, (), given, config)
            measured = spreading.start()  # the first batch; the others later
            if spreading.done or measured.error is not None:
                spreading = None
        else:
            measured = again()
        first, more = None, 0
        if spreading is None:
            remeasure.write_out(item.nodeid, measured)  # for the session that asked
            measured, first, more = remeasure.confirmed(
                session, item.nodeid, measured, again
            )
        row = _row(measured, metrics)
        if first is not None:
            row["remeasured"], row["first_function_time"] = more, first
        if measured.error is None:
            _warn_missing_metrics(item, metrics, row)
        if cache is not None:
            row["cache"] = ""
        failed = measured.error is not None and not isinstance(
            measured.error, pytest.skip.Exception
        )
        if measured.error is None or failed:
            stored = tracker.log(row)
            if spreading is not None:
                session.deferred.append(
                    spread.Deferred(
                        item.nodeid, tracker.table_name, stored, spreading, again
                    )
                )
            elif not session.worker:
                session.note_timing(
                    {**row, "test_nodeid": item.nodeid}, tracker.table_name
                )
        if measured.error is not None:
            raise measured.error
        if cache is not None and key is not None:
            stored = {k: v for k, v in row.items() if k != "cache"}
            cache.set(
                key,
                {"result": stored, "cache": session.track_id, "function": item.nodeid},
                parts,
            )
    finally:
        if cache is not None:
            cache.close()


def _open_cache(directory: str) -> Any:
    """The shared cache, or None (warned) when its directory cannot be written."""
    import sqlite3

    from xetrack.cache import ResultCache

    try:
        return ResultCache(directory)
    except (OSError, sqlite3.Error) as exc:
        warnings.warn(
            f"--xetrack-cache={directory} cannot be used ({exc}); cached tests run "
            f"every time",
            stacklevel=2,
        )
        return None


def _remeasure_how(mode: str) -> str:
    if mode == "process":
        return "in a fresh process after the last test, the faster stands"
    return "after a pause, the second measurement stands"


def _row(measured: Measurement, metrics: Mapping[str, str]) -> dict[str, object]:
    from xetrack.timing import TIMING_COLUMNS

    taken = _TEST_COLUMNS | TIMING_COLUMNS
    row = measured.columns()
    row["outcome"] = "passed" if measured.error is None else "failed"
    row["error"] = (
        ""
        if measured.error is None
        else f"{type(measured.error).__name__}: {measured.error}"
    )
    if metrics:
        row["metrics"] = metrics
    result = measured.result
    if isinstance(result, Mapping):
        for name, value in result.items():
            row[f"result_{name}" if name in taken else name] = value
    elif result is not None:
        row["function_result"] = _storable_result(result)
    return row


def _warn_missing_metrics(
    item: pytest.Function, metrics: Mapping[str, str], row: Mapping[str, object]
) -> None:
    """A metric declared in ``metrics={...}`` that the row lacks is never compared:
    say so, naming it, instead of leaving a --xetrack-fail on it to pass silently."""
    for metric in metrics:
        if metric not in row:
            item.warn(
                pytest.PytestWarning(
                    f"{item.nodeid}: @track(metrics=...) declares metric {metric!r} "
                    f"but the test returned no such key, so it is not compared; "
                    f"return it in a dict, e.g. return {{{metric!r}: value}}"
                )
            )


def _storable_result(result: object) -> object:
    from xetrack.values import to_storable

    try:
        return to_storable("function_result", result)
    except Exception:
        return str(result)


STATE = pytest.StashKey[TestState]()
