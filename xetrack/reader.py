"""Reader: read-only analysis of a store, plus the few explicit writes it offers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xetrack.assets import AssetStore
from xetrack.cache import CacheEntry, ResultCache, scan_metadata
from xetrack.errors import QueryError, StorePermissionError, XetrackError
from xetrack.logs import read_jsonl, read_logs
from xetrack.runs import RunRecord, forget, records, since_text
from xetrack.runs import frame as runs_frame
from xetrack.store import open_store
from xetrack.store.base import read_only_refusal
from xetrack.store.location import display
from xetrack.store.schema import (
    JSON,
    NULL,
    check_table_name,
    is_internal,
)
from xetrack.table import EventTable
from xetrack.values import flatten, parse_text, to_storable

if TYPE_CHECKING:
    import pandas as pd

    from xetrack.store.base import SqlStore


class Reader:
    """Read the rows of one table; works while another process writes (SQLite,
    PostgreSQL).

    A Reader never creates a file: a missing path raises
    :class:`~xetrack.errors.DatabaseNotFoundError`, a file that is not a database
    :class:`~xetrack.errors.NotADatabaseError`, an unknown table
    :class:`~xetrack.errors.UnknownTableError`.

    >>> from xetrack import Tracker
    >>> import tempfile, os
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "exp.db")
    >>> _ = Tracker(path, track_id="run-1").log({"accuracy": 0.9})
    >>> Reader(path).to_df()[["track_id", "accuracy"]].values.tolist()
    [['run-1', 0.9]]
    >>> folder.cleanup()
    """

    def __init__(
        self, db: str | Path, engine: str | None = None, table: str = "default"
    ) -> None:
        self._db = str(db)
        self._engine = engine
        self._table_name = check_table_name(table)
        self._store: SqlStore = open_store(self._db, engine, read_only=True)
        self._writable: SqlStore | None = None
        try:
            self._store.require_table(self._table_name)
        except BaseException:
            self._store.close()
            raise
        self._events = EventTable(self._store, self._table_name)
        self._assets = AssetStore(lambda: self._store, writer=self._writer_store)

    # -- properties --------------------------------------------------------------------
    @property
    def db(self) -> str:
        return self._db

    @property
    def engine(self) -> str:
        return self._store.engine

    @property
    def conn(self) -> Any:
        return self._store.conn

    @property
    def table_name(self) -> str:
        return self._table_name

    @property
    def columns(self) -> list[str]:
        return self._events.columns

    @property
    def dtypes(self) -> dict[str, str]:
        return self._events.dtypes

    def tables(self) -> list[str]:
        """The event tables of the database."""
        return [t for t in self._store.tables() if not is_internal(t)]

    # -- queries -------------------------------------------------------------------------
    def to_df(
        self,
        track_id: str | None = None,
        head: int | None = None,
        tail: int | None = None,
        columns: Sequence[str] | None = None,
        where: Mapping[str, object] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Rows of every run (or of ``track_id``) in the order they were written.

        The selection runs in the database: ``columns`` picks columns, ``where``
        keeps rows whose column equals a value (``{"model": "bert"}``; None matches
        NULL, a list any of its values; values are bound, never pasted into SQL),
        ``head``/``limit`` the first rows, ``tail`` the last. A run's rows are found
        through the index.
        """
        return self._events.to_df(
            track_id, head=head, tail=tail, columns=columns, where=where, limit=limit
        )

    def iter_batches(
        self,
        size: int = 10_000,
        track_id: str | None = None,
        columns: Sequence[str] | None = None,
        where: Mapping[str, object] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """The rows of :meth:`to_df` as DataFrames of at most ``size`` rows, read
        from the database as they are consumed: a table larger than memory can be
        processed. Other calls on this Reader may run between batches.
        """
        return self._events.batches(size, track_id, columns=columns, where=where)

    def latest(self) -> pd.DataFrame:
        """The rows of the run with the most recent row (empty if none)."""
        found = self.run_records()
        if not found:
            return self._events.to_df(head=0)
        newest = max(found, key=lambda r: (r.last or "", r.started or ""))
        return self._events.to_df(newest.track_id)

    def values(
        self, column: str, track_id: str | None = None, unique: bool = False
    ) -> list[object]:
        """The values of ``column`` (of ``track_id``); ``unique`` keeps the distinct ones."""
        return self._events.values(column, track_id, unique)

    def runs(
        self,
        status: str | None = None,
        commit: str | None = None,
        branch: str | None = None,
        since: str | None = None,
    ) -> pd.DataFrame:
        """One row per run of the table, oldest first: status (``running``,
        ``finished``, ``failed``, ``interrupted``), start, end, rows, error, host,
        pid, git commit/branch/dirty and environment fingerprint.

        Filters: ``status``; ``commit`` (a prefix of the sha); ``branch``; ``since``
        (an ISO date or time in UTC, or an age such as ``2d``, ``12h``).
        """
        return runs_frame(self.run_records(status, commit, branch, since))

    def run_records(
        self,
        status: str | None = None,
        commit: str | None = None,
        branch: str | None = None,
        since: str | None = None,
    ) -> list[RunRecord]:
        """:meth:`runs` as records, for code that wants attributes, not a frame."""
        return records(
            self._store,
            self._table_name,
            status=status,
            commit=commit,
            branch=branch,
            since=since_text(since) if since else None,
        )

    def sql(self, query: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run a read-only query in the store's own SQL dialect (tables by their names).

        Nothing it runs changes or creates a file: no writes, ATTACH, VACUUM INTO or
        COPY TO, also after :meth:`set_value`. Raises
        :class:`~xetrack.errors.QueryError` with the engine's message.
        """
        try:
            return self._store.read_query_df(query, params)
        except StorePermissionError as exc:  # the connection is open: a write
            raise QueryError(read_only_refusal("writing", display(self._db))) from exc
        except Exception as exc:
            if isinstance(exc, XetrackError):
                raise
            if self._store.refused is not None:
                raise QueryError(
                    read_only_refusal(self._store.refused, display(self._db))
                ) from exc
            first = (
                str(exc).strip().splitlines()[0]
                if str(exc).strip()
                else type(exc).__name__
            )
            raise QueryError(f"the {self.engine} query failed: {first}") from exc

    def describe(
        self, columns: Sequence[str] | None = None, quartiles: bool | None = None
    ) -> pd.DataFrame:
        """count, nulls, mean, std, min, quartiles and max of columns (by default
        the numeric ones), computed by the engine in one pass, in constant memory.

        Quartiles are exact; DuckDB computes them by default, SQLite (which has no
        quantile function, so each column is sorted) only with ``quartiles=True``;
        ``attrs["note"]`` of the result says when they were left out.
        """
        from xetrack.aggregate import default_columns
        from xetrack.aggregate import describe as summarize

        chosen = list(columns) if columns else None
        for column in chosen or ():
            self._events.require_column(column)
        if chosen is None:
            chosen = default_columns(self._store, self._table_name)
        return summarize(self._store, self._table_name, chosen, quartiles)

    def top(
        self,
        column: str,
        by: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The row with the highest ``column`` (one per ``by`` group); ``columns``
        narrows what is shown (the ranked and grouping columns come first)."""
        return self._events.extreme(column, highest=True, by=by, columns=columns)

    def bottom(
        self,
        column: str,
        by: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The row with the lowest ``column`` (one per ``by`` group)."""
        return self._events.extreme(column, highest=False, by=by, columns=columns)

    def parse(self, column: str, text: str) -> object:
        """``text`` typed as ``column`` holds its values (inferred for a new column, one
        without a type yet, or one whose cells keep their own types)."""
        logical = self._store.schema(self._table_name, refresh=True).types.get(column)
        return parse_text(column, text, None if logical in (NULL, JSON) else logical)

    def track_ids(self) -> list[str]:
        """Run ids in the table (runs with rows), oldest first."""
        return [r.track_id for r in self.run_records() if r.rows]

    def has_run(self, track_id: str) -> bool:
        """Whether ``track_id`` has rows in the table."""
        return self._events.has_run(track_id)

    def __len__(self) -> int:
        return self._events.count()

    @classmethod
    def read_db(
        cls,
        db: str | Path,
        engine: str | None = None,
        table: str = "default",
        track_id: str | None = None,
        head: int | None = None,
        tail: int | None = None,
    ) -> pd.DataFrame:
        """Open, read one DataFrame, close."""
        reader = cls(db, engine=engine, table=table)
        try:
            return reader.to_df(track_id=track_id, head=head, tail=tail)
        finally:
            reader.close()

    # -- logs ------------------------------------------------------------------------------
    @staticmethod
    def read_logs(path: str | Path, limit: int | None = None) -> pd.DataFrame:
        """Records of the log files of ``Tracker(logs_path=...)`` (a file or the folder).

        Columns keep their types; ``level`` tells TRACKING, MONITOR and EXPERIMENT
        records apart; ``limit`` keeps the most recent records.
        """
        return read_logs(path, limit)

    @staticmethod
    def read_jsonl(path: str | Path) -> pd.DataFrame:
        """Records of a ``Tracker(jsonl=...)`` file, with their types."""
        return read_jsonl(path)

    # -- the result cache ----------------------------------------------------------------
    @staticmethod
    def read_cache(cache_path: str | Path, key: str) -> dict[str, Any] | None:
        """The cache entry ``{"result", "cache", "function"}`` under ``key``, or None."""
        cache = ResultCache(cache_path, create=False)
        try:
            return cache.get(key)
        finally:
            cache.close()

    @staticmethod
    def scan_cache(cache_path: str | Path) -> Iterator[tuple[str, CacheEntry]]:
        """Every ``(key, entry)`` of a cache directory, without unpickling anything.

        ``entry["cache"]``, ``["function"]``, ``["size"]``, ``["time"]`` and
        ``["parts"]`` are metadata; only ``entry["result"]`` loads the value (a
        pickle: it runs code, so read results only from caches you trust).
        """
        for entry in scan_metadata(cache_path):
            yield entry.key, entry

    @staticmethod
    def delete_cache_by_track_id(cache_path: str | Path, track_id: str) -> int:
        """Delete the entries computed by ``track_id``; return how many.

        Entries are chosen by their metadata alone; one written before metadata
        existed is left alone (see :meth:`scan_cache`).
        """
        scan_metadata(cache_path)  # a missing or foreign folder: the error, no file
        cache = ResultCache(cache_path, create=False)
        try:
            return cache.delete_by_track_id(track_id)
        finally:
            cache.close()

    # -- explicit writes -----------------------------------------------------------------
    @property
    def assets(self) -> AssetStore:
        """The objects stored beside the rows: ``list()``, ``get``, ``export``, ``remove``."""
        return self._assets

    def _writer(self) -> EventTable:
        return EventTable(self._writer_store(), self._table_name)

    def _writer_store(self) -> SqlStore:
        """A writable store on the same file, opened on first use."""
        if self._writable is None:
            if self._store.engine == "duckdb":
                # DuckDB allows one configuration per file and process: trade the
                # read-only connection for a writable one.
                self._store.close()
                self._store = open_store(self._db, "duckdb", read_only=False)
                self._events = EventTable(self._store, self._table_name)
                self._writable = self._store
            else:
                self._writable = open_store(self._db, self._store.engine)
        return self._writable

    @contextlib.contextmanager
    def _writing(self) -> Iterator[EventTable]:
        """An explicit write; afterwards a DuckDB Reader is read-only again (its
        connection restricted as before), so ``sql`` after a write reads only."""
        try:
            yield self._writer()
        finally:
            if self._store.engine == "duckdb" and self._writable is self._store:
                self._store.close()
                self._writable = None
                self._store = open_store(self._db, "duckdb", read_only=True)
                self._events = EventTable(self._store, self._table_name)

    def delete_run(self, track_id: str) -> int:
        """Delete every row of ``track_id``, its run record and the assets only it
        named; return the row count. All of it or nothing: one transaction."""
        with self._writing() as writer, writer.store.transaction():
            deleted = writer.delete({"track_id": track_id})
            forget(writer.store, self._table_name, track_id)
            self._assets.remove_orphans()
        return deleted

    def remove_asset(
        self, hashed: str, column: str | None = None, remove_keys: bool = True
    ) -> bool:
        """Delete an asset; with ``remove_keys``, set the cells naming it to NULL.

        ``column`` limits that to one column; by default every text column of the
        table is cleared where it holds ``hashed``.
        """
        with self._writing() as writer:
            return self._remove_asset(writer, hashed, column, remove_keys)

    def _remove_asset(
        self, writer: EventTable, hashed: str, column: str | None, remove_keys: bool
    ) -> bool:
        removed = self._assets.remove(hashed)
        if remove_keys:
            writer.clear_cells(hashed, column)
        return removed

    def set_value(self, key: str, value: object, track_id: str | None = None) -> int:
        """Set ``key`` on every row (of ``track_id``); return the row count."""
        where = {} if track_id is None else {"track_id": track_id}
        with self._writing() as writer:
            return writer.set_values(flatten({key: value}), where)

    def set_where(
        self,
        key: str,
        value: object,
        where_key: str,
        where_value: object,
        track_id: str | None = None,
    ) -> int:
        """Set ``key`` where ``where_key`` equals ``where_value`` (and ``track_id``)."""
        where: dict[str, object] = {where_key: to_storable(where_key, where_value)}
        if track_id is not None:
            where["track_id"] = track_id
        with self._writing() as writer:
            return writer.set_values(flatten({key: value}), where)

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        self._store.close()
        if self._writable is not None and self._writable is not self._store:
            self._writable.close()
        self._writable = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Reader({display(self._db)!r}, engine={self.engine!r}, "
            f"table={self._table_name!r})"
        )


__all__ = ["Reader"]
