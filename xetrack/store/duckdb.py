"""DuckDB engine: a native DuckDB file, shared by the threads of one process.

DuckDB lets one process write a file; inside the process every connection to the
same file must share one configuration, so connections are kept in a registry and
handed out as cursors. No connection installs or loads an extension by itself, so
nothing reaches the network; a read-only one cannot touch any file but its own.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from xetrack.errors import (
    EngineUnavailableError,
    NotADatabaseError,
    QueryError,
    StoreLockedError,
    XetrackError,
)
from xetrack.store.base import SqlStore, fork_generation, read_only_refusal
from xetrack.store.diagnose import disk_full, explain
from xetrack.store.schema import (
    BLOB,
    BOOLEAN,
    FLOAT,
    INTEGER,
    JSON,
    NULL,
    TEXT,
    quote_ident,
)

if TYPE_CHECKING:
    import pandas as pd

_LOGICAL: Final = {
    "BIGINT": INTEGER,
    "INTEGER": INTEGER,
    "SMALLINT": INTEGER,
    "TINYINT": INTEGER,
    "HUGEINT": INTEGER,
    "UBIGINT": INTEGER,
    "UINTEGER": INTEGER,
    "DOUBLE": FLOAT,
    "FLOAT": FLOAT,
    "REAL": FLOAT,
    "VARCHAR": TEXT,
    "BOOLEAN": BOOLEAN,
    "BLOB": BLOB,
    "JSON": JSON,
    '"NULL"': NULL,
}
#: Rows above which a batch goes through a DataFrame scan instead of executemany,
#: which DuckDB runs one statement at a time.
_FRAME_BATCH: Final = 64

#: Every connection: extensions are never installed or loaded behind the user's back.
_CONFIG: Final = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
#: A read-only connection also reaches no file but its database (no COPY TO, no
#: ATTACH, no read_csv of /etc/passwd); the setting cannot be turned back on.
_READ_ONLY_CONFIG: Final = {**_CONFIG, "enable_external_access": False}
#: Statement types user SQL (Reader.sql, xt sql) may run.
_READING_STATEMENTS: Final = frozenset({"SELECT", "EXPLAIN"})

_registry_lock = threading.Lock()
#: resolved path -> (connection, opened read-only, number of stores using it)
_registry: dict[str, tuple[Any, bool, int]] = {}
#: resolved path -> a number that moves whenever a statement that may change tables
#: or columns runs or commits through any store of this process, the one process
#: that can write the file (the schema version a catalog query would cost 0.5 ms for)
_versions: dict[str, int] = {}
_version_numbers = itertools.count(1)
#: first words of statements that change no table or column
_DATA_STATEMENTS: Final = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "ROLLBACK"}
)


def _import_duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise EngineUnavailableError(
            "engine='duckdb' needs the duckdb package; install it with "
            "pip install 'xetrack[duckdb]', or use engine='sqlite'"
        ) from exc
    return duckdb


def _open(path: str, read_only: bool) -> Any:
    """A connection to ``path`` from the registry, opening the file if needed."""
    duckdb = _import_duckdb()
    if path == ":memory:":
        return duckdb.connect(":memory:", config=dict(_CONFIG))
    key = str(Path(path).resolve())
    with _registry_lock:
        entry = _registry.get(key)
        if entry is not None:
            conn, opened_read_only, users = entry
            if opened_read_only and not read_only:
                raise StoreLockedError(
                    f"{path} is open read-only in this process (a DuckDB Reader); "
                    f"close it before opening a Tracker, or open the Tracker first"
                )
            _registry[key] = (conn, opened_read_only, users + 1)
            return conn
        try:
            conn = duckdb.connect(
                path,
                read_only=read_only,
                config=dict(_READ_ONLY_CONFIG if read_only else _CONFIG),
            )
        except duckdb.Error as exc:
            raise _open_failure(path, read_only, exc) from exc
        _registry[key] = (conn, read_only, 1)
        return conn


#: How DuckDB names the process holding a file's lock (the only words we match).
_LOCK_HOLDER: Final = re.compile(r"Conflicting lock is held in (.*) \(PID (\d+)\)")


def _open_failure(path: str, read_only: bool, exc: Exception) -> XetrackError:
    """Why DuckDB could not open ``path``: the file system's reason first (no
    permission, read-only mount, truncated), then the lock and who holds it."""
    found = explain(path, write=not read_only)
    if found is not None:
        return found
    text = str(exc)
    holder = _LOCK_HOLDER.search(text)
    if holder is not None:
        return StoreLockedError(
            f"{path} is locked by another process (PID {holder.group(2)}, "
            f"{holder.group(1)}): DuckDB lets one process open a file for writing. "
            f"Use engine='sqlite' for several writing processes, or let one process "
            f"write"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return NotADatabaseError(f"DuckDB cannot open {path}: {first}")


def _release(path: str) -> None:
    if path == ":memory:":
        return
    key = str(Path(path).resolve())
    with _registry_lock:
        entry = _registry.get(key)
        if entry is None:
            return
        conn, read_only, users = entry
        if users <= 1:
            del _registry[key]
            conn.close()
        else:
            _registry[key] = (conn, read_only, users - 1)


class DuckDBStore(SqlStore):
    """One DuckDB file (or ``:memory:``)."""

    engine = "duckdb"
    #: DuckDB filters a run's rows with a vectorised scan (about 2 ms per million
    #: rows) and does not use an ART index for a bound parameter anyway; an index
    #: would also forbid ALTER COLUMN TYPE, which widening int -> float needs.
    INDEXES = False
    NATURAL_ORDER = True
    ONE_WRITING_PROCESS = True
    SQL_TYPES: ClassVar[Mapping[str, str]] = {
        INTEGER: "BIGINT",
        FLOAT: "DOUBLE",
        TEXT: "VARCHAR",
        BOOLEAN: "BOOLEAN",
        BLOB: "BLOB",
        # DuckDB's own JSON type (its json extension is built into the package) and
        # its NULL type, which holds nothing until the column is given a type
        JSON: "JSON",
        NULL: '"NULL"',
    }

    def __init__(self, path: str, read_only: bool = False) -> None:
        super().__init__(path, read_only)
        self._root = _open(path, read_only)
        self._generation = fork_generation()
        self._cursor: Any = self._root.cursor()
        self._closed = False
        self._depth = 0
        self._key = (
            str(Path(path).resolve()) if path != ":memory:" else f":memory:{id(self)}"
        )
        #: a statement of the open transaction may have changed the schema
        self._changed_schema = False

    @property
    def conn(self) -> Any:
        if self._closed:
            raise XetrackError(f"the store of {self.path} is closed")
        if self._generation != fork_generation():
            raise StoreLockedError(
                f"{self.path} was opened with DuckDB before this process forked; "
                f"DuckDB connections cannot cross fork(): open the Tracker in the child, "
                f"or use engine='sqlite'"
            )
        return self._cursor

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cursor.close()
            if self.path == ":memory:":
                self._root.close()
            else:
                _release(self.path)

    def tables(self) -> list[str]:
        _, rows = self.query(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = "
            "current_database() AND schema_name = current_schema() ORDER BY table_oid"
        )
        return [r[0] for r in rows]

    def _read_schema(self, table: str) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
            "AND database_name = current_database() AND schema_name = current_schema() "
            "ORDER BY column_index",
            [table],
        ).fetchall()
        return [(name, sql_type) for name, sql_type in rows]

    def _logical(self, sql_type: str) -> str | None:
        return _LOGICAL.get(sql_type.upper())

    def _schema_token(self, table: str) -> object:
        # Only this process writes the file, and its stores move the version when
        # they change a schema. A change through a connection of the user's own is
        # not seen here: the statement it breaks fails with a schema error, and the
        # write is retried once on a schema read again.
        return _versions.get(self._key, 0)

    def _schema_moved(self, carry: bool = False) -> None:
        with _registry_lock:
            before = _versions.get(self._key, 0)
            after = _versions[self._key] = next(_version_numbers)
        if carry:  # what this store knew at the last version it knows at this one
            for known in (self._tokens, self._base_tables):
                for table, token in known.items():
                    if token == before:
                        known[table] = after

    def _index_exists(self, name: str) -> bool:
        rows = self.conn.execute(
            "SELECT 1 FROM duckdb_indexes() WHERE index_name = ?", [name]
        ).fetchall()
        return bool(rows)

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[None]:
        conn = self.conn
        if self._depth:  # nested: the outer transaction commits or rolls back
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        conn.execute("BEGIN TRANSACTION")
        self._depth = 1
        committed = False
        try:
            yield
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except _import_duckdb().Error:
                pass  # the error that aborted the transaction is the one to see
            raise
        else:
            conn.execute("COMMIT")
            committed = True
        finally:
            self._depth = 0
            if self._changed_schema:  # other cursors see the change (or its undoing)
                self._changed_schema = False
                self._schema_moved(carry=committed)

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        cursor = self.conn.execute(sql, list(params))
        first = sql.lstrip()[:9].split(None, 1)
        if not first or first[0].upper() not in _DATA_STATEMENTS:
            self._schema_moved()
            if self._depth:
                self._changed_schema = True
        return cursor

    def _executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        if len(rows) < _FRAME_BATCH:
            self.conn.executemany(sql, rows)
            return
        # Long batches: let DuckDB scan a DataFrame, orders of magnitude faster than
        # binding row by row. The statement's column list stays the same.
        import pandas as pd

        head, _, _ = sql.partition(" VALUES ")
        width = len(rows[0])
        frame = pd.DataFrame.from_records(
            rows, columns=[f"c{i}" for i in range(width)], coerce_float=False
        )
        # A fresh name each time: a user's table cannot be shadowed by (or shadow) it.
        view = f"__xetrack_batch_{secrets.token_hex(8)}"
        conn = self.conn
        conn.register(view, frame)
        try:
            select = ", ".join(f"c{i}" for i in range(width))
            conn.execute(f"{head} SELECT {select} FROM {quote_ident(view)}")
        finally:
            try:
                conn.unregister(view)
            except _import_duckdb().Error:
                pass  # an aborted transaction refuses even this; keep the real error

    def _insert_fast(self, sql: str, row: tuple[object, ...]) -> None:
        self.conn.execute(sql, list(row))

    def _is_schema_error(self, exc: BaseException) -> bool:
        duckdb = _import_duckdb()
        return isinstance(exc, (duckdb.CatalogException, duckdb.BinderException))

    def _translate(self, exc: Exception, what: str) -> XetrackError | None:
        duckdb = _import_duckdb()
        if not isinstance(exc, duckdb.Error):
            return None
        if "No space left on device" in str(exc):  # ENOSPC, as DuckDB words it
            return disk_full(self.path, what)
        if isinstance(exc, (duckdb.IOException, duckdb.PermissionException)):
            return explain(self.path, write=not self.read_only)
        return None

    def _widen_to_float(self, table: str, column: str) -> None:
        self._execute(
            f"ALTER TABLE {quote_ident(table)} ALTER COLUMN {quote_ident(column)} "
            f"TYPE DOUBLE"
        )

    def _retype(self, table: str, column: str, old: str | None, new: str) -> None:
        name = quote_ident(column)
        using = ""
        if new == JSON:
            if old == BLOB:  # bytes as the {"$bytes": base64} of encode_json_cell
                using = (
                    f" USING CASE WHEN {name} IS NULL THEN NULL "
                    f"ELSE json_object('$bytes', to_base64({name})) END"
                )
            else:
                using = f" USING to_json({name})"
        self._execute(
            f"ALTER TABLE {quote_ident(table)} ALTER COLUMN {name} "
            f"TYPE {self.SQL_TYPES[new]}{using}"
        )

    def query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._lock, self._driver("reading"):
            return _frame(self.conn.execute(sql, list(params)))

    def read_query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """User SQL: queries only, and rolled back, even on a writable connection.

        A Reader shares the process's connection to a file (DuckDB allows one
        configuration per file), which is writable when a Tracker or an explicit
        ``set_value`` opened it so; the statement types are checked first.
        """
        with self._lock:
            self.refused = None
            conn = self.conn
            for statement in conn.extract_statements(sql):
                kind = str(statement.type).rsplit(".", 1)[-1]
                if kind not in _READING_STATEMENTS:
                    self.refused = f"the {kind} statement"
                    raise QueryError(read_only_refusal(self.refused, self.path))
            if self._depth:
                return _frame(conn.execute(sql, list(params)))
            conn.execute("BEGIN TRANSACTION")
            try:
                return _frame(conn.execute(sql, list(params)))
            finally:
                conn.execute("ROLLBACK")

    def iter_df(
        self, sql: str, params: Sequence[object] = (), size: int = 20_000
    ) -> Iterator[pd.DataFrame]:
        # A connection of its own: a query on the store's would end this result.
        # DuckDB hands out whole vectors of 2,048 rows; batches are cut to size.
        import pandas as pd

        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, list(params))
            blobs = [d[0] for d in cursor.description or () if str(d[1]) == "BLOB"]
            vectors = max(1, -(-size // 2048))
            pending: pd.DataFrame | None = None
            while True:
                chunk = _bytes(cursor.fetch_df_chunk(vectors), blobs)
                if len(chunk):
                    pending = (
                        chunk
                        if pending is None
                        else pd.concat([pending, chunk], ignore_index=True)
                    )
                while pending is not None and len(pending) >= size:
                    yield pending.iloc[:size].reset_index(drop=True)
                    pending = pending.iloc[size:].reset_index(drop=True)
                if not len(chunk):
                    if pending is not None and len(pending):
                        yield pending
                    return
        finally:
            cursor.close()


def _frame(cursor: Any) -> pd.DataFrame:
    """A result as a DataFrame, BLOBs as ``bytes`` (pandas gets ``bytearray``)."""
    blobs = [d[0] for d in cursor.description or () if str(d[1]) == "BLOB"]
    return _bytes(cursor.df(), blobs)


def _bytes(frame: pd.DataFrame, blobs: Sequence[str]) -> pd.DataFrame:
    for name in blobs:
        frame[name] = frame[name].map(
            lambda v: bytes(v) if isinstance(v, (bytearray, memoryview)) else v
        )
    return frame
