"""Tracker: one run writing rows into one table of an embedded database."""

from __future__ import annotations

import copy
import functools
import operator
import secrets
import sqlite3
import warnings as _warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from xetrack.assets import AssetStore, UnknownAssetError
from xetrack.cache import ResultCache, Unhashable, bind, key_for
from xetrack.errors import (
    ConnectionLostError,
    EngineUnavailableError,
    InvalidArgumentError,
)
from xetrack.git import GitInfo, git_info
from xetrack.logs import Sinks, TrackerLogger
from xetrack.runs import RunHandle, adopt, check_ending, forget, outcome_of
from xetrack.store import MEMORY, open_store
from xetrack.store.schema import LOGICAL_OF_PYTHON, TEXT, check_key, check_table_name
from xetrack.system import SystemSampler
from xetrack.table import EventTable
from xetrack.tracking import Call, run, run_async, run_timed, shape_of
from xetrack.values import flatten, now, to_storable

if TYPE_CHECKING:
    import pandas as pd

    from xetrack.selection import Selection
    from xetrack.store.base import SqlStore
    from xetrack.timing import TimingConfig


_REPR_ROWS: Final = 60  # pandas' own max_rows: longer runs print head and tail


class Tracker:
    """A run that writes rows (events) into one table of a database file.

    Every row gets ``timestamp`` and ``track_id``, the tracker's params and, with
    ``git_root``, ``git_commit``; columns are created on first use.

    >>> tracker = Tracker(Tracker.IN_MEMORY, params={"model": "resnet18"})
    >>> row = tracker.log({"accuracy": 0.9, "epoch": 1})
    >>> row["accuracy"], row["model"], tracker.count_run()
    (0.9, 'resnet18', 1)
    """

    IN_MEMORY: Final = MEMORY
    SKIP_INSERT: Final = "SKIP_INSERT"

    def __init__(
        self,
        db: str | Path = "track.db",
        params: Mapping[str, object] | None = None,
        reset: bool = False,
        log_system_params: bool = False,
        log_network_params: bool = False,
        raise_on_error: bool = True,
        measurement_interval: float = 1,
        track_id: str | None = None,
        logs_path: str | Path | None = None,
        logs_file_format: str | None = None,
        logs_stdout: bool = False,
        jsonl: str | Path | None = None,
        cache: str | Path | None = None,
        compress: bool = False,
        warnings: bool = True,
        git_root: str | Path | None = None,
        engine: str | None = None,
        table: str = "default",
        timeout: float | None = None,
    ) -> None:
        self._table_name = check_table_name(table)
        self._insert = str(db) != self.SKIP_INSERT
        self._db = str(db)
        self.warnings = warnings
        self.raise_on_error = raise_on_error
        self.log_system_params = log_system_params
        self.log_network_params = log_network_params
        self.measurement_interval = float(measurement_interval)
        self.compress = compress
        self._track_id = (
            self.generate_track_id() if track_id is None else _check_track_id(track_id)
        )
        self._params: dict[str, object] = {}
        self._flat_params: dict[str, object] = {}
        self._param_hints: dict[str, str] = {}
        self._latest: dict[str, object] = {}
        self._git_commit: str | None = None
        self._owns_store = True
        self._observers: list[Callable[[str, dict[str, object]], None]] = []
        self._cache_dir = None if cache is None else str(cache)
        self._result_cache: ResultCache | None = None
        self._warned: set[type] = set()
        self._use_git = git_root is not None
        git = GitInfo()
        if git_root is not None:
            git = git_info(git_root)
            self._git_commit = git.commit
            if self._git_commit is None and warnings:
                _warnings.warn(
                    f"git_root={str(git_root)!r} is not inside a git repository (or git "
                    f"is missing); rows get git_commit = NULL",
                    stacklevel=2,
                )
        # SKIP_INSERT keeps an in-memory store so queries answer (empty) and no
        # file is ever created.
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not timeout >= 0
        ):
            raise InvalidArgumentError(
                f"timeout={timeout!r} must be seconds >= 0 (how long a write waits "
                f"for another process's lock), like timeout=30"
            )
        store = open_store(
            self._db if self._insert else MEMORY, engine, timeout=timeout
        )
        self._store: SqlStore = store
        if store.spool_folder is not None:
            # rows earlier runs could not write to this server: push them now
            from xetrack.copy import push_spools

            push_spools(self._db, store.spool_folder)
        self._events = EventTable(store, self._table_name)
        self._assets = AssetStore(lambda: self._store, compress=compress)
        if params:  # after the asset store: a param may be an object stored there
            try:
                self.set_params(params)
            except BaseException:
                store.close()
                raise
        self._sinks = Sinks(logs_path, logs_file_format, logs_stdout, jsonl)
        self._logging = self._sinks.active
        self.logger = TrackerLogger(self)
        if reset:
            store.drop_table(self._table_name)
            forget(store, self._table_name)
        store.ensure_table(
            self._table_name, {"git_commit": TEXT} if self._use_git else None
        )
        self._run: RunHandle | None = None
        if self._insert:
            # Where the run ran, as its rows will say it: git_root's state, or the
            # git/environment params a caller (the pytest plugin) passes.
            info: dict[str, object] = {
                "git_commit": git.commit,
                "git_branch": git.branch,
                "git_dirty": git.dirty,
            }
            info.update(
                (k, v)
                for k, v in self._flat_params.items()
                if k in ("git_commit", "git_branch", "git_dirty", "env_fingerprint")
            )
            self._run = RunHandle(store, self._track_id, info)
            self._run.add(self._table_name)

    # -- identity --------------------------------------------------------------------
    @staticmethod
    def generate_track_id() -> str:
        """A readable run id such as ``'brave-otter-4821'``."""
        from coolname import generate_slug

        return f"{generate_slug(2)}-{1000 + secrets.randbelow(9000)}"

    @property
    def track_id(self) -> str:
        """The run id on every row; assign a new one to start a new run for later rows."""
        return self._track_id

    @track_id.setter
    def track_id(self, value: str) -> None:
        checked = _check_track_id(value)
        if self._run is not None and checked != self._track_id:
            self._run.switch(checked)  # the old run ends here, the new one starts
        self._track_id = checked

    @property
    def db(self) -> str:
        return self._db

    @property
    def engine(self) -> str:
        return self._store.engine

    @property
    def conn(self) -> Any:
        """The engine's own connection (``sqlite3.Connection``, a DuckDB cursor or a
        psycopg connection)."""
        return self._store.conn

    @property
    def table_name(self) -> str:
        return self._table_name

    @property
    def spooled(self) -> int:
        """Rows kept on this machine because the server could not take them (a
        lost connection that did not come back in time); 0 for a file. The next
        Tracker or pytest session on the same URL pushes them, or ``xt copy``."""
        return self._store.spooled

    @property
    def columns(self) -> list[str]:
        return self._events.columns

    @property
    def dtypes(self) -> dict[str, str]:
        """Column name -> SQL type declared in the database."""
        return self._events.dtypes

    @property
    def latest(self) -> dict[str, object]:
        """The last row this tracker logged, as stored."""
        return dict(self._latest)

    # -- params ----------------------------------------------------------------------
    @property
    def params(self) -> dict[str, object]:
        return dict(self._params)

    def set_param(self, key: str, value: object) -> None:
        """Add ``key`` to every future row of this tracker."""
        self.set_params({key: value})

    def set_params(self, params: Mapping[str, object]) -> None:
        hints: dict[str, str] = {}
        flat = flatten(params, self._asset_sink, hints=hints)  # checks before changing
        self._params.update(params)
        self._flat_params.update(flat)
        self._param_hints.update(hints)

    # -- writing ---------------------------------------------------------------------
    def _asset_sink(self, key: str, value: object) -> str:
        return self._assets.put(value, key=key, track_id=self._track_id)

    @property
    def assets(self) -> AssetStore:
        """The objects stored beside the rows: ``list()``, ``get``, ``export``, ``remove``."""
        return self._assets

    def get(self, hashed: str) -> Any:
        """The object logged under the hash ``hashed`` (the value its cell holds), or
        None when no asset has that hash (never stored, or removed)."""
        try:
            return self._assets.get(hashed)
        except UnknownAssetError:
            return None

    def remove_asset(
        self, hashed: str, column: str | None = None, remove_keys: bool = True
    ) -> bool:
        """Delete an asset; with ``remove_keys``, set the cells of this table naming it
        to NULL (only in ``column`` if given). As :meth:`Reader.remove_asset`.

        Raises :class:`~xetrack.assets.UnknownAssetError` for a hash that names no asset.
        """
        removed = self._assets.remove(hashed)
        if remove_keys:
            self._events.clear_cells(hashed, column)
        return removed

    def _compose(
        self,
        data: Mapping[str, object],
        timestamp: str,
        hints: dict[str, str] | None = None,
    ) -> dict[str, object]:
        row = flatten(
            data,
            self._asset_sink,
            into={"timestamp": timestamp, "track_id": self._track_id},
            hints=hints,
        )
        if self._flat_params or self._use_git:  # once per row of a batch: skip it
            return self._add_run_columns(row, hints)
        return row

    def _add_run_columns(
        self, row: dict[str, object], hints: dict[str, str] | None
    ) -> dict[str, object]:
        """The run's params (where the row has no such key) and git commit."""
        for key, value in self._flat_params.items():
            if key not in row:
                row[key] = value
        if self._param_hints and hints is not None:
            hints.update(self._param_hints)
        if self._use_git:
            row["git_commit"] = self._git_commit
        return row

    def log(self, data: Mapping[str, object]) -> dict[str, object]:
        """Write one row; return it as stored (flattened, with track_id and timestamp).

        Raises :class:`~xetrack.errors.InvalidKeyError`,
        :class:`~xetrack.errors.InvalidValueError` or
        :class:`~xetrack.errors.TypeConflictError`; nothing is written then.
        """
        return dict(self._log(data))

    def _log(self, data: Mapping[str, object]) -> dict[str, object]:
        """:meth:`log` without the defensive copy (for tracked calls, which drop it)."""
        hints: dict[str, str] = {}
        return self._write(self._compose(data, now(), hints), hints)

    def _log_row(
        self, row: dict[str, object], hints: dict[str, str]
    ) -> dict[str, object]:
        """Write a row made of storable values (see :func:`flatten`), beginning with its
        timestamp and track_id: tracked calls build theirs without a second pass."""
        if self._flat_params or self._use_git:
            self._add_run_columns(row, hints)
        return self._write(row, hints)

    def _write(
        self, row: dict[str, object], hints: dict[str, str]
    ) -> dict[str, object]:
        if self._insert and not self._store.insert_row(self._table_name, row):
            self._store.insert(self._table_name, [row], hints)
        self._latest = row
        if self._logging:
            self._sinks.emit(row)
        if self._observers:
            self._notify([row])
        return row

    def log_batch(self, data: Iterable[Mapping[str, object]]) -> dict[str, object]:
        """Write many rows in one transaction (all or nothing); return the last one."""
        stamp = now()
        hints: dict[str, str] = {}
        rows = [self._compose(item, stamp, hints) for item in data]
        if not rows:
            return {}
        if self._insert:
            self._store.insert(self._table_name, rows, hints)
        self._latest = rows[-1]
        if self._logging:
            for row in rows:
                self._sinks.emit(row)
        if self._observers:
            self._notify(rows)
        return dict(rows[-1])

    def set_value(self, key: str, value: object) -> int:
        """Set ``key`` on every row of this run ("back in time"); return the row count."""
        return self._events.set_values(
            flatten({key: value}, self._asset_sink), {"track_id": self._track_id}
        )

    def set_where(
        self, key: str, value: object, where_key: str, where_value: object
    ) -> int:
        """Set ``key`` on this run's rows whose ``where_key`` equals ``where_value``."""
        where = {
            where_key: to_storable(where_key, where_value),
            "track_id": self._track_id,
        }
        return self._events.set_values(flatten({key: value}, self._asset_sink), where)

    def update(self, values: Mapping[str, object], where: Mapping[str, object]) -> int:
        """Set ``values`` on this run's rows that match ``where``; return how many.

        ``where`` is as in :meth:`to_df`: ``{column: value}`` pairs that must all
        hold, None matching NULL and a list any of its values. Unlike
        :meth:`set_where` it takes several conditions, so an index can narrow the
        rows (``{"timestamp": [...]}`` finds rows through ``(track_id, timestamp)``).
        """
        wanted = self._events.storable_where(where)
        wanted["track_id"] = self._track_id
        return self._events.set_values(flatten(values, self._asset_sink), wanted)

    def on_write(self, callback: Callable[[str, dict[str, object]], None]) -> None:
        """Call ``callback(table_name, row)`` after each row this tracker writes.

        ``row`` is the stored dict itself (from :meth:`log`, :meth:`log_batch` and
        tracked calls). Trackers made by :meth:`derive` afterwards inherit it.
        """
        self._observers.append(callback)

    def _notify(self, rows: Iterable[dict[str, object]]) -> None:
        for row in rows:
            for observer in self._observers:
                observer(self._table_name, row)

    def write_rows(
        self, rows: Iterable[Mapping[str, object]], fill: bool = True
    ) -> int:
        """Write rows that carry their own ``timestamp`` and ``track_id``, all or nothing.

        For rows as stored elsewhere (another database, a pytest-xdist worker): the
        tracker's params are not added; a row without ``timestamp`` or ``track_id``
        gets this run's (with ``fill=False`` it keeps NULL, as ``copy`` does). Keys
        and values are checked as in :meth:`log`.
        """
        stamp = now() if fill else None
        track_id = self._track_id if fill else None
        batch: list[dict[str, object]] = []
        hints: dict[str, str] = {}
        for row in rows:
            fixed = {
                "timestamp": row.get("timestamp") or stamp,
                "track_id": row.get("track_id") or track_id,
            }
            rest = {k: v for k, v in row.items() if k not in fixed}
            batch.append(flatten(rest, self._asset_sink, into=fixed, hints=hints))
        if batch and self._insert:
            self._store.insert(self._table_name, batch, hints)
            others = {r["track_id"] for r in batch} - {self._track_id}
            if others:  # rows of other runs (copied, imported): give them records
                adopt(self._store, self._table_name, map(str, others))
        return len(batch)

    def declare(self, columns: Mapping[str, type]) -> None:
        """Create columns before any value arrives, typed by a Python type.

        For columns that may be NULL on every row, such as a git branch outside a
        repository, so queries can name them anyway.

        >>> tracker = Tracker(Tracker.IN_MEMORY)
        >>> tracker.declare({"git_branch": str, "git_dirty": bool})
        >>> tracker.columns
        ['timestamp', 'track_id', 'git_branch', 'git_dirty']
        """
        logical: dict[str, str] = {}
        for name, kind in columns.items():
            check_key(name)
            found = LOGICAL_OF_PYTHON.get(kind)
            if found is None:
                raise InvalidArgumentError(
                    f"column {name!r}: type {kind!r} is not one of bool, int, float, "
                    f"str, bytes"
                )
            logical[name] = found
        self._store.ensure_table(self._table_name, logical)

    def derive(
        self, params: Mapping[str, object] | None = None, table: str | None = None
    ) -> Tracker:
        """A tracker for part of this run: same database, track_id, cache and assets.

        It adds ``params`` to this tracker's and may write to another ``table``.
        Closing it leaves this tracker's connection open.

        >>> run = Tracker(Tracker.IN_MEMORY, params={"model": "a"})
        >>> epoch = run.derive(params={"epoch": 1})
        >>> row = epoch.log({"loss": 0.5})
        >>> (row["model"], row["epoch"], row["track_id"] == run.track_id)
        ('a', 1, True)
        """
        child = copy.copy(self)
        child._params = dict(self._params)
        child._flat_params = dict(self._flat_params)
        child._param_hints = dict(self._param_hints)
        child._latest = {}
        child._owns_store = False
        child._observers = list(self._observers)
        if table is not None and table != self._table_name:
            child._table_name = check_table_name(table)
            child._events = EventTable(self._store, child._table_name)
            self._store.ensure_table(
                child._table_name, {"git_commit": TEXT} if self._use_git else None
            )
            if self._run is not None:
                self._run.add(child._table_name)
        if params:
            child.set_params(params)
        return child

    # -- tracking functions ----------------------------------------------------------
    def track(
        self,
        func: Callable[..., Any],
        args: Sequence[object] | None = None,
        kwargs: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
        cache_force: bool = False,
        timing: TimingConfig | bool | None = None,
    ) -> Any:
        """Call ``func(*args, **kwargs)``, write one row about the call, return its result.

        The row holds ``function_name``, ``function_time`` (seconds), ``args``,
        ``kwargs``, ``error`` ("" on success), dataclass/Pydantic arguments unpacked as
        ``{argument}_{field}``, ``params`` and a returned dict's keys (any other return
        value goes to ``function_result``). With ``cache=``, an equal call is served from
        the cache (its row's ``cache`` names the run that computed it); ``cache_force``
        computes again and overwrites. A coroutine function returns an awaitable.

        ``timing=True`` (or a :class:`xetrack.timing.TimingConfig`) benchmarks the
        call instead of timing it once: the timing engine calls it many times
        (calibrated rounds within a time budget, as ``@track`` does) and the row
        gets ``function_time`` (the median call), ``time_min`` and the other
        statistics, ``rounds``, ``iterations`` and ``time_samples``.

        >>> tracker = Tracker(Tracker.IN_MEMORY)
        >>> tracker.track(lambda a, b: {"sum": a + b}, args=[1, 2])
        {'sum': 3}
        >>> tracker.latest["sum"], tracker.latest["error"]
        (3, '')
        >>> from xetrack.timing import TimingConfig
        >>> tracker.track(sorted, args=[[3, 1, 2]], timing=TimingConfig(rounds=5))
        [1, 2, 3]
        >>> tracker.latest["rounds"], tracker.latest["iterations"]
        (5, 1)
        >>> tracker.track(sorted, args=[[3, 1, 2]], timing=True)  # a budget: calibrated
        [1, 2, 3]
        >>> tracker.latest["rounds"] >= 5 and tracker.latest["iterations"] > 1
        True
        """
        call = Call(self, func, args, kwargs, params)
        if timing is not None and timing is not False:
            from xetrack.timing import TimingConfig

            if call.shape.coroutine:
                raise InvalidArgumentError(
                    f"timing= benchmarks a plain function; {call.shape.name} is a "
                    f"coroutine function (track it without timing= to time one await)"
                )
            config = TimingConfig() if timing is True else timing
            if not isinstance(config, TimingConfig):
                raise InvalidArgumentError(
                    f"timing={timing!r}: pass True or a xetrack.timing.TimingConfig"
                )
            return run_timed(call, self, config, cache_force)
        if call.shape.coroutine:
            return run_async(call, self, cache_force)
        return run(call, self, cache_force)

    def wrap(
        self, params: Mapping[str, object] | Callable[..., Any] | None = None
    ) -> Any:
        """Decorator: every call of the function is tracked as by :meth:`track`.

        Use ``@tracker.wrap()``, ``@tracker.wrap(params={...})`` or bare
        ``@tracker.wrap``; the function keeps its name, docstring and signature.
        """
        if callable(params):
            return self.wrap()(params)
        extra = dict(params or {})

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            if shape_of(func).coroutine:

                @functools.wraps(func)
                async def awaited(*args: Any, **kwargs: Any) -> Any:
                    return await run_async(Call(self, func, args, kwargs, extra), self)

                return awaited

            @functools.wraps(func)
            def tracked(*args: Any, **kwargs: Any) -> Any:
                return run(Call(self, func, args, kwargs, extra), self)

            return tracked

        return decorate

    def cache_key(
        self,
        func: Callable[..., Any],
        args: Sequence[object] | None = None,
        kwargs: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
    ) -> str | None:
        """The result-cache key of a call, or None when an argument is unhashable."""
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        kinds = shape_of(func).kinds
        merged = {**self._flat_params, **self.flatten(params or {})}
        try:
            return key_for(func, bind(func, args, kwargs), args, kwargs, merged, kinds)
        except Unhashable as exc:
            self.warn_unhashable(exc.kind, exc.where)
            return None

    _generate_cache_key = cache_key

    @property
    def cache_enabled(self) -> bool:
        return self._cache_dir is not None

    @property
    def result_cache(self) -> ResultCache:
        """The diskcache behind ``cache=`` (opened on first use)."""
        if self._result_cache is None:
            if self._cache_dir is None:
                raise InvalidArgumentError(
                    "this Tracker has no cache; pass cache='dir'"
                )
            self._result_cache = ResultCache(self._cache_dir)
        return self._result_cache

    def usable_cache(self) -> ResultCache | None:
        """The result cache, or None (warned once) when its directory cannot be
        opened for writing (read-only, no permission): calls run uncached then."""
        try:
            return self.result_cache
        except (OSError, sqlite3.Error) as exc:
            _warnings.warn(
                f"the cache directory {self._cache_dir} cannot be used ({exc}); "
                f"tracked calls run without the cache",
                stacklevel=4,
            )
            self._cache_dir = None
            return None

    @property
    def flat_params(self) -> dict[str, object]:
        return self._flat_params

    def flatten(self, data: Mapping[str, object]) -> dict[str, object]:
        """``data`` as it would be stored by this tracker (configs unpacked, assets stored)."""
        return flatten(data, self._asset_sink)

    def emit(
        self, data: Mapping[str, object], level: str = "TRACKING"
    ) -> dict[str, object]:
        """Write a record to this tracker's logs only (not the database); return it."""
        row = {"timestamp": now(), "track_id": self._track_id, **data}
        if self._logging:
            self._sinks.emit(row, level)
        return row

    def warn_unhashable(self, kind: type, where: str | None = None) -> None:
        if kind in self._warned or not self.warnings:
            return
        self._warned.add(kind)
        name = f"{kind.__module__}.{kind.__qualname__}"
        if where is not None:
            _warnings.warn(
                f"the {where} is a {name}, which has no stable value to key the cache "
                f"on, so calls of it are not cached; make it a tuple, a frozen "
                f"dataclass or a module-level name",
                stacklevel=4,
            )
            return
        _warnings.warn(
            f"an argument of type {name} has no stable "
            f"value to key the cache on, so calls with it are not cached; pass a tuple, "
            f"a frozen dataclass or a Pydantic model instead",
            stacklevel=4,
        )

    def sampler(self) -> SystemSampler | None:
        if not (self.log_system_params or self.log_network_params):
            return None
        return SystemSampler(
            self.measurement_interval, self.log_system_params, self.log_network_params
        )

    # -- reading ---------------------------------------------------------------------
    def to_df(
        self,
        all: bool = False,
        columns: Sequence[str] | None = None,
        where: Mapping[str, object] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """This run's rows as a DataFrame; ``all=True`` for every run in the table.

        ``columns``, ``where`` and ``limit`` select in the database, as in
        :meth:`Reader.to_df <xetrack.Reader.to_df>`.
        """
        return self._events.to_df(
            None if all else self._track_id, columns=columns, where=where, limit=limit
        )

    def head(self, n: int = 5) -> pd.DataFrame:
        return self._events.to_df(self._track_id, head=n)

    def tail(self, n: int = 5) -> pd.DataFrame:
        return self._events.to_df(self._track_id, tail=n)

    def count_all(self) -> int:
        return self._events.count()

    def count_run(self) -> int:
        return self._events.count(self._track_id)

    def __len__(self) -> int:
        return self.count_run()

    def __getitem__(self, item: str | int) -> Any:
        """``tracker["col"]``: the column of this run; ``tracker[i]``: row i as a dict.

        Rows are numbered from 1, as in the reference API: ``tracker[1]`` is the
        first row of this run and ``tracker[-1]`` the last. ``tracker[0]`` and
        numbers past the run's length raise :class:`IndexError`.
        """
        if isinstance(item, str):
            return self._events.column(item, self._track_id)
        if hasattr(item, "__index__") and not isinstance(item, bool):
            item = operator.index(item)  # numpy ints too
            if item == 0:
                raise IndexError(
                    "tracker[0]: rows are numbered from 1 as in the reference API; "
                    "tracker[1] is the first row of this run, tracker[-1] the last"
                )
            return self._events.row(item - 1 if item > 0 else item, self._track_id)
        raise TypeError(
            f"tracker[{item!r}]: index with a column name (str) or a row number (int)"
        )

    def to_csv(self, path: str | Path, all: bool = False) -> None:
        self.to_df(all=all).to_csv(path, index=False)

    def to_parquet(self, path: str | Path, all: bool = False) -> None:
        write_parquet(self.to_df(all=all), path)

    # -- lifetime --------------------------------------------------------------------
    def record_selection(self, selection: Selection) -> None:
        """Record what this run meant to run (a pytest session's ``-k``, ``-m`` and
        paths), so a comparison does not call benchmarks it left out ``missing``."""
        from xetrack.runs import record_selection

        if self._store is not None and self._run is not None:
            record_selection(self._store, self.track_id, selection.to_json())

    def close(self, status: str = "finished", error: str | None = None) -> None:
        """Record the run as ``status`` (with ``error``), then release the database
        connection and the cache; the tracker cannot log afterwards.

        ``status`` is one of ``finished``, ``failed``, ``interrupted`` (``with
        Tracker(...)`` chooses by the exception that ended the block). Closing a
        tracker made by :meth:`derive` does nothing: the run is its parent's.
        """
        check_ending(status)  # a status it refuses closes nothing
        if not self._owns_store:
            return
        if self._store.spooled and self._store.spool_folder is not None:
            # Rows the server could not take: in before the run's record counts
            # them, if the server is back (else they wait for the next run).
            from xetrack.copy import push_spools

            self._store.end_spool()
            push_spools(self._db, self._store.spool_folder)
        try:
            if self._run is not None:
                self._run.close(status, error)
        except ConnectionLostError as exc:
            # The server is gone: its record stays "running", which readers show
            # as interrupted (the lost connection took the run's lock along).
            _warnings.warn(f"the run's end was not recorded: {exc}", stacklevel=2)
        finally:  # the connection is released even if the record cannot be written
            self._sinks.close()
            self._store.close()
            if self._result_cache is not None:
                self._result_cache.close()
                self._result_cache = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self, kind: object, exc: BaseException | None, traceback: object
    ) -> None:
        self.close(*outcome_of(exc))

    def __repr__(self) -> str:
        """This run's rows as pandas prints them; a long run shows its first and last
        rows only, without reading the rows in between."""
        size = self.count_run()
        if size <= _REPR_ROWS:
            return repr(self.to_df())
        import pandas as pd

        half = _REPR_ROWS // 12
        frame = pd.concat([self.head(half), self.tail(half)], ignore_index=True)
        frame.index = pd.Index([*range(half), *range(size - half, size)])
        body = frame.to_string(max_rows=2 * half, min_rows=2 * half).splitlines()
        dots = "..."
        return "\n".join([*body[: half + 1], dots, *body[half + 1 :]]) + (
            f"\n\n[{size} rows x {len(frame.columns)} columns]"
        )


def _check_track_id(track_id: object) -> str:
    if not isinstance(track_id, str) or not track_id:
        raise InvalidArgumentError(
            f"track_id {track_id!r} must be a non-empty str, like 'brave-otter-4821'"
        )
    return track_id


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as Parquet with pyarrow, or DuckDB's built-in writer."""
    try:
        frame.to_parquet(path, index=False)
        return
    except ImportError:
        pass
    try:
        import duckdb
    except ImportError as exc:
        raise EngineUnavailableError(
            f"writing {path} as Parquet needs pyarrow or duckdb; "
            f"pip install 'xetrack[duckdb]'"
        ) from exc
    conn = duckdb.connect()
    try:
        conn.from_df(frame).write_parquet(str(path))
    finally:
        conn.close()
