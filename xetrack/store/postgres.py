"""PostgreSQL engine (psycopg 3): one shared store for many writers on many hosts.

Chosen by a ``postgresql://`` (or ``postgres://``) URL; credentials come from the
URL or from libpq itself (``PGPASSWORD``, ``~/.pgpass``, ``PGSERVICE``), since the
URL is handed to libpq as it is. ``?schema=NAME`` (xetrack's own parameter) keeps
the tables in that schema, created on first write.

What differs from the file engines, and why:

- Writers are many processes on many hosts, so nothing serialises them but the
  server: a change of tables or columns takes a transaction-scoped advisory lock
  (one per schema), then looks at the catalog again, so two sessions adding the
  same column never both ALTER. Rows themselves need no lock.
- Event tables get a ``rowid`` identity column, PostgreSQL having no implicit one
  to keep insertion order by; reads name their columns so it never shows.
- A connection lost mid-write is made again and the write retried for ``timeout``
  seconds; rows it still cannot write go to a local spool (see ``spool.py``).
- A run's connection holds an advisory lock while the run is open, so any reader on
  any host can tell a live run from one whose process died.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

from xetrack.errors import (
    ConnectionLostError,
    DiskFullError,
    InvalidKeyError,
    QueryError,
    ServerUnavailableError,
    StoreLockedError,
    StorePermissionError,
    XetrackError,
)
from xetrack.frames import CHUNK_ROWS, frame_from_chunks
from xetrack.store.base import SqlStore, fork_generation, read_only_refusal
from xetrack.store.location import parse_server_url, scrub
from xetrack.store.pg_connect import (
    DDL_LOCK,
    RUN_LOCK,
    TRANSIENT_STATES,
    first_lines,
    import_psycopg,
    is_lost,
    lock_key,
    open_connection,
)
from xetrack.store.pg_sql import (
    BINARY,
    COMMANDS,
    DECLARED,
    DOMAINS,
    MAX_IDENTIFIER_BYTES,
    SQL_TYPES,
    first_keyword,
    logical_of,
    nul_error,
    to_psycopg,
    within_limit,
)
from xetrack.store.prepare import Prepared
from xetrack.store.schema import (
    BLOB,
    BOOLEAN,
    FLOAT,
    JSON,
    NULL,
    Schema,
    is_internal,
)
from xetrack.store.spool import Spool, target_folder

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

#: How long a write waits for a lock another session holds (as SQLite's busy timeout).
LOCK_TIMEOUT_S: Final = 120.0
#: How long a lost connection is tried again before rows go to the local spool.
RETRY_S: Final = 30.0
#: While spooling, how often a write tries the server again first.
PROBE_S: Final = 5.0
#: Rows from which a batch is sent with COPY rather than one INSERT per row.
COPY_ROWS: Final = 16
# Connections a forked child must not close: closing sends the server a goodbye on
# the socket the parent still uses.
_inherited: list[Any] = []


class PostgresStore(SqlStore):
    """One PostgreSQL database (and schema), reached through one connection."""

    engine = "postgres"
    SQL_TYPES: ClassVar[Mapping[str, str]] = SQL_TYPES
    ROW_ID_COLUMN: ClassVar[str] = '"rowid" BIGINT GENERATED ALWAYS AS IDENTITY'
    EXPLICIT_COLUMNS: ClassVar[bool] = True

    def __init__(
        self, url: str, read_only: bool = False, timeout: float | None = None
    ) -> None:
        target = parse_server_url(url)
        super().__init__(target.shown, read_only)
        self._url = url
        self._conninfo = target.conninfo
        self._wanted_schema = target.schema
        self._lock_timeout = LOCK_TIMEOUT_S if timeout is None else float(timeout)
        self._retry_s = RETRY_S if timeout is None else float(timeout)
        self._conn: Any = None
        self._cursor: Any = None
        #: column -> type as PostgreSQL names it (format_type), per table
        self._declared: dict[str, dict[str, str]] = {}
        self._generation = -1
        self._closed = False
        #: per thread: the nesting of our transactions (a broken one cannot be
        #: retried from inside) and whether a retry loop runs
        self._thread = threading.local()
        #: runs whose advisory lock this connection holds (taken again on reconnect)
        self._held: set[str] = set()
        #: the server did not come back within the retry window: writes go to the
        #: spool, trying the server once first every PROBE_S seconds
        self._down = False
        self._probe_at = 0.0
        self.schema_name = ""
        self._spool: Spool | None = None
        self._spooled = 0
        psycopg = self._psycopg = import_psycopg()
        try:
            self._connect(psycopg)
        except psycopg.Error as exc:
            raise ServerUnavailableError(
                f"cannot connect to {self.path}: {self._scrub(first_lines(exc))}; "
                f"check that the server runs and the URL (host, port, database) and "
                f"credentials (in the URL, PGPASSWORD, ~/.pgpass or PGSERVICE)"
            ) from None
        self._ddl_key = lock_key("ddl", self.schema_name)
        info = self.conn.info  # where it really is (PGHOST, a service, ...)
        self.spool_folder = target_folder(
            str(info.host), str(info.port), str(info.dbname), self.schema_name
        )

    # -- the connection ------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return scrub(text, self._url)

    def _connect(self, psycopg: Any) -> Any:
        conn, self.schema_name = open_connection(
            psycopg,
            self._conninfo,
            self.path,
            self.read_only,
            self._lock_timeout,
            self._wanted_schema,
        )
        self._conn = conn
        self._cursor = conn.cursor()
        self._generation = fork_generation()
        for track_id in self._held:
            self._lock_run(conn, track_id)
        return conn

    @property
    def conn(self) -> Any:
        conn = self._conn
        if self._closed:
            raise XetrackError(f"the store of {self.path} is closed")
        if self._generation != fork_generation():
            _inherited.append(conn)  # the parent's: never closed from here
            self._schemas.clear()
            self._held.clear()  # the parent's locks, not ours
            conn = self._reconnect()
        elif conn.closed or conn.broken:
            conn = self._reconnect()
        return conn

    def _reconnect(self) -> Any:
        psycopg = import_psycopg()
        try:
            return self._connect(psycopg)
        except psycopg.Error as exc:
            raise ConnectionLostError(
                f"the connection to {self.path} is lost and cannot be made again: "
                f"{self._scrub(first_lines(exc))}"
            ) from None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._conn is not None and self._generation == fork_generation():
                self._conn.close()
            _close_spool(self)

    @property
    def _depth(self) -> int:
        return int(getattr(self._thread, "depth", 0))

    @_depth.setter
    def _depth(self, value: int) -> None:
        self._thread.depth = value

    def _lost(self, exc: BaseException) -> bool:
        return is_lost(self._psycopg, exc, self._conn)

    def _again(self, what: str, action: Callable[[], T]) -> T:
        """Run ``action``; when the connection is lost (and no transaction of ours
        was open), make it again and run ``action`` again, until the retry window
        ends (one try while the server is known to be down)."""
        if getattr(self._thread, "retrying", False) or self._depth:
            return action()  # the outer call retries; a transaction cannot be
        deadline = time.monotonic() + (0.0 if self._down else self._retry_s)
        delay = 0.05
        self._thread.retrying = True
        try:
            while True:
                try:
                    found = action()
                    self._down = False
                    return found
                except ConnectionLostError:
                    if self._depth:
                        raise
                    if time.monotonic() >= deadline:
                        # known down from now on: one try per PROBE_S, no waiting
                        self._down = True
                        self._probe_at = time.monotonic() + PROBE_S
                        raise
                except Exception as exc:
                    # a deadlock's victim (the other transaction went ahead) or a
                    # serialisation failure: the same statement succeeds next time
                    state = getattr(exc, "sqlstate", None)
                    if state not in TRANSIENT_STATES or self._depth:
                        raise
                    if time.monotonic() >= deadline:
                        raise
                time.sleep(max(min(delay, deadline - time.monotonic()), 0.0))
                delay = min(delay * 2, 1.0)
        finally:
            self._thread.retrying = False

    # -- primitives ----------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        return self.conn.execute(to_psycopg(sql), list(params))

    def _run(self, statement: Any, params: Sequence[object] | None = None) -> Any:
        """A statement of this module (``%s`` placeholders, or composed SQL)."""
        return self.conn.execute(statement, params)

    def _executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(to_psycopg(sql), rows)

    def _insert_fast(self, sql: str, row: tuple[object, ...]) -> None:
        # The hot path of log(): one cursor kept for it (a new one per row costs
        # 15 us), no state checks: a broken connection raises here, and insert()
        # makes it again.
        cursor = self._cursor
        if cursor is None or self._generation != fork_generation():
            cursor = self._cursor = self.conn.cursor()
        cursor.execute(to_psycopg(sql), row)

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[None]:
        conn = self.conn
        self._depth += 1
        try:
            with conn.transaction():
                yield
        finally:
            self._depth -= 1

    @contextlib.contextmanager
    def _schema_transaction(self) -> Iterator[None]:
        # Every writer of this schema takes the same lock before it changes a
        # table: the second one then sees the first one's columns and adds none.
        with self._write_transaction():
            self._run("SELECT pg_advisory_xact_lock(%s, %s)", [DDL_LOCK, self._ddl_key])
            yield

    def _write(self, table: str, prepared: Prepared, count: int) -> None:
        if len(prepared.tuples) < COPY_ROWS or not prepared.columns:
            super()._write(table, prepared, count)
            return
        sql = import_psycopg().sql
        declared = self._declared.get(table, {})
        # Binary COPY (a sixth faster than text) where every column is one of the
        # types we create; a column another tool made, or one not seen yet, is sent
        # as text, which the server converts to whatever the column is.
        binary = [BINARY.get(declared.get(c, "")) for c in prepared.columns]
        form = "" if None in binary else " (FORMAT BINARY)"
        statement = sql.SQL("COPY {} ({}) FROM STDIN" + form).format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, prepared.columns)),
        )
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            if form:
                copy.set_types(binary)
            for row in prepared.tuples:
                copy.write_row(row)

    @staticmethod
    def index_name(table: str, columns: Sequence[str]) -> str:
        return within_limit(SqlStore.index_name(table, columns))

    def _check_identifier(self, name: str, what: str) -> None:
        if len(name.encode()) > MAX_IDENTIFIER_BYTES:
            raise InvalidKeyError(
                f"{what} {name!r} is {len(name.encode())} bytes long; PostgreSQL "
                f"keeps {MAX_IDENTIFIER_BYTES} and would cut it (two long names "
                f"could become one), so {self.path} refuses it: use a shorter name"
            )

    def _ensure_domain(self, logical: str) -> None:
        domain = DOMAINS.get(logical)
        if domain is None:
            return
        found = self._run(
            "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE t.typname = %s AND n.nspname = %s",
            [domain, self.schema_name],
        ).fetchone()
        if found is None:  # under the schema lock: no other session makes it now
            sql = import_psycopg().sql
            self._run(
                sql.SQL('CREATE DOMAIN {}.{} AS TEXT COLLATE "C"').format(
                    sql.Identifier(self.schema_name), sql.Identifier(domain)
                )
            )

    def _add_column(self, table: str, name: str, logical: str) -> None:
        self._check_identifier(name, "column name")
        self._ensure_domain(logical)
        super()._add_column(table, name, logical)
        self._declared.setdefault(table, {})[name] = DECLARED[logical]

    def _widen_to_float(self, table: str, column: str) -> None:
        self._declared.setdefault(table, {})[column] = DECLARED[FLOAT]
        sql = import_psycopg().sql
        self._run(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE DOUBLE PRECISION").format(
                sql.Identifier(table), sql.Identifier(column)
            )
        )

    def _retype(self, table: str, column: str, old: str | None, new: str) -> None:
        """ALTER COLUMN ... TYPE, the values converted by the server: an untyped
        column's NULLs stay NULL, any other value becomes its JSON text."""
        sql = import_psycopg().sql
        self._ensure_domain(new)
        name = sql.Identifier(column)
        if old == NULL:
            using = sql.SQL("NULL")
        elif new == JSON and old == BLOB:  # bytes as the {"$bytes": base64} cells
            using = sql.SQL(
                "CASE WHEN {0} IS NULL THEN NULL ELSE json_build_object('$bytes', "
                "translate(encode({0}, 'base64'), E'\\n', ''))::text END"
            ).format(name)
        elif new == JSON:
            using = sql.SQL("to_json({})::text").format(name)
        else:
            using = sql.SQL("{}::{}").format(name, sql.SQL(self.SQL_TYPES[new]))
        self._run(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}").format(
                sql.Identifier(table), name, sql.SQL(self.SQL_TYPES[new]), using
            )
        )
        self._declared.setdefault(table, {})[column] = DECLARED[new]

    # -- the catalog ---------------------------------------------------------------------
    def tables(self) -> list[str]:
        def read() -> list[str]:
            with self._lock, self._driver("reading"):
                rows = self._run(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON "
                    "n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN "
                    "('r', 'p') ORDER BY c.oid",
                    [self.schema_name],
                ).fetchall()
            return [r[0] for r in rows]

        return self._again("reading", read)

    def _read_schema(self, table: str) -> list[tuple[str, str]]:
        # The identity rowid is the engine's, as SQLite's rowid is: not a column.
        with self._driver("reading the schema of"):
            rows = self._run(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON "
                "n.oid = c.relnamespace WHERE c.relname = %s AND n.nspname = %s AND "
                "a.attnum > 0 AND NOT a.attisdropped AND NOT (a.attname = 'rowid' AND "
                "a.attidentity <> '') ORDER BY a.attnum",
                [table, self.schema_name],
            ).fetchall()
        self._declared[table] = dict(rows)
        return [(name, sql_type) for name, sql_type in rows]

    def schema(self, table: str, refresh: bool = False) -> Schema:
        if not refresh and table in self._schemas:
            return self._schemas[table]
        return self._again(
            "reading the schema of", lambda: SqlStore.schema(self, table, refresh)
        )

    def _logical(self, sql_type: str) -> str | None:
        return logical_of(sql_type)

    def _schema_token(self, table: str) -> object:
        # Adding, dropping or retyping a column writes the table's pg_class row
        # (relnatts, relfilenode), so its row version moves; statistics do not (they
        # are updated in place). One row to read, however wide the table.
        with self._driver("reading the schema of"):
            found = self._run(
                "SELECT c.xmin::text, c.relnatts FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE c.relname = %s AND n.nspname = %s",
                [table, self.schema_name],
            ).fetchone()
        return None if found is None else tuple(found)

    def _index_exists(self, name: str) -> bool:
        with self._driver("reading the schema of"):
            found = self._run(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON "
                "n.oid = c.relnamespace WHERE c.relkind = 'i' AND c.relname = %s "
                "AND n.nspname = %s",
                [name, self.schema_name],
            ).fetchone()
        return found is not None

    def has_row_order(self, table: str) -> bool:
        def read() -> bool:
            with self._lock, self._driver("reading"):
                found = self._run(
                    "SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
                    "c.relname = %s AND n.nspname = %s AND a.attname = 'rowid' AND "
                    "NOT a.attisdropped",
                    [table, self.schema_name],
                ).fetchone()
            return found is not None

        return self._again("reading", read)

    def ensure_table(
        self, table: str, columns: Mapping[str, str] | None = None
    ) -> None:
        self._check_identifier(table, "table name")
        self._again(
            "creating a table in",
            lambda: SqlStore.ensure_table(self, table, columns),
        )

    def create_table(self, table: str, columns: Mapping[str, str]) -> None:
        self._check_identifier(table, "table name")
        self._again(
            "creating a table in", lambda: SqlStore.create_table(self, table, columns)
        )

    def create_index(self, table: str, columns: Sequence[str]) -> None:
        self._again("indexing", lambda: SqlStore.create_index(self, table, columns))

    def has_index(self, table: str, columns: Sequence[str]) -> bool:
        return self._again("reading", lambda: SqlStore.has_index(self, table, columns))

    def drop_table(self, table: str) -> None:
        self._again("dropping a table of", lambda: SqlStore.drop_table(self, table))

    # -- dialect -------------------------------------------------------------------------
    def max_sql(self, expr: str, logical: str | None) -> str:
        if logical == BOOLEAN:
            return f"bool_or({expr})"  # PostgreSQL has no MAX(boolean)
        return f"MAX({expr})"

    def min_sql(self, expr: str, logical: str | None) -> str:
        if logical == BOOLEAN:
            return f"bool_and({expr})"
        return f"MIN({expr})"

    def float_sql(self, expr: str, logical: str | None) -> str:
        if logical == BOOLEAN:  # no cast from boolean to double, only to integer
            return f"CAST(CAST({expr} AS INTEGER) AS DOUBLE PRECISION)"
        return f"CAST({expr} AS DOUBLE PRECISION)"

    # -- errors --------------------------------------------------------------------------
    def _is_schema_error(self, exc: BaseException) -> bool:
        # no such table or column; or a binary COPY of a column another session
        # retyped meanwhile: read the schema again and write once more
        return getattr(exc, "sqlstate", None) in ("42P01", "42703", "22P03")

    def _translate(self, exc: Exception, what: str) -> XetrackError | None:
        psycopg = import_psycopg()
        if not isinstance(exc, psycopg.Error):
            return None
        message = self._scrub(first_lines(exc))
        if self._lost(exc):
            return ConnectionLostError(
                f"the connection to {self.path} was lost while {what} it: {message}"
            )
        state = getattr(exc, "sqlstate", None) or ""
        if state == "53100":
            return DiskFullError(
                f"the server of {self.path} has no disk space left while {what} it "
                f"({message}); nothing of this write was kept: ask its admin for room"
            )
        if state == "42501":
            return StorePermissionError(
                f"{self.path}: {message} (while {what} it); ask the database's owner "
                f"to GRANT it, or use a schema of your own (?schema=NAME)"
            )
        if state == "25006":
            return StorePermissionError(
                f"cannot write {self.path}: it is open read-only here; write with a "
                f"Tracker (or Reader.set_value)"
            )
        if state == "55P03":
            return StoreLockedError(
                f"{self.path}: another session held a lock for {self._lock_timeout:g} s "
                f"while {what} it ({message}); end long transactions there, or wait "
                f"longer (Tracker(timeout=...), --xetrack-timeout)"
            )
        if state == "54011":
            return InvalidKeyError(
                f"a table of {self.path} would have more than 1600 columns, "
                f"PostgreSQL's limit; log fewer distinct keys per table (table=...)"
            )
        return None

    # -- writing, with retries and the spool ---------------------------------------------
    def _spooling(self) -> bool:
        """True while the server is known to be down and it is not time to try it."""
        return self._down and time.monotonic() < self._probe_at

    def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, object]],
        hints: Mapping[str, str] | None = None,
    ) -> None:
        if not rows:
            return
        if not self._spooling():
            try:
                with self._nul_named(rows):
                    self._again(
                        "writing rows to",
                        lambda: SqlStore.insert(self, table, rows, hints),
                    )
                return
            except ConnectionLostError:
                if self._depth:
                    raise  # a caller's transaction: it decides what to keep
        self._to_spool(table, rows, hints)

    def insert_row(self, table: str, row: Mapping[str, object]) -> bool:
        if self._down:
            return False  # insert() decides: the spool, or the server again
        try:  # no context manager here: this is every log()'s path
            return SqlStore.insert_row(self, table, row)
        except ConnectionLostError:
            return False  # insert() retries it
        except self._psycopg.DataError as exc:
            found = nul_error(exc, [row])
            if found is exc:
                raise
            raise found from None

    @contextlib.contextmanager
    def _nul_named(self, rows: Sequence[Mapping[str, object]]) -> Iterator[None]:
        try:
            yield
        except self._psycopg.DataError as exc:
            found = nul_error(exc, rows)
            if found is exc:
                raise
            raise found from None

    def _to_spool(
        self,
        table: str,
        rows: Sequence[Mapping[str, object]],
        hints: Mapping[str, str] | None,
    ) -> None:
        with self._lock:
            if self._spool is None:
                assert self.spool_folder is not None
                self._spool = Spool(self.spool_folder)
            spool = self._spool
            first = not spool.used
            # the server's column types as far as they are known, so the rows
            # pushed later fit them
            spool.keep(table, rows, hints, self._schemas.get(table))
            if not is_internal(table):  # rows, not the assets they name
                self._spooled += len(rows)
        if first:
            warnings.warn(
                f"the server of {self.path} cannot be reached; rows are kept in "
                f"{spool.path} until it can: the next Tracker or pytest session on "
                f"this URL pushes them, or `xt copy {spool.path} URL`",
                stacklevel=4,
            )

    @property
    def spooled(self) -> int:
        """Rows this store kept in its local spool (not on the server yet)."""
        return self._spooled

    def end_spool(self) -> None:
        with self._lock:
            _close_spool(self)
            self._spool = None

    def update(
        self, table: str, values: Mapping[str, object], where: Mapping[str, object]
    ) -> int:
        try:
            with self._nul_named([values]):
                return self._again(
                    "updating rows of",
                    lambda: SqlStore.update(self, table, values, where),
                )
        except ConnectionLostError:
            spool = self._spool
            if spool is not None and spool.used and spool.store.schema(table).types:
                spool.store.update(table, values, where)  # the rows kept there
            raise

    def delete(self, table: str, where: Mapping[str, object]) -> int:
        return self._again(
            "deleting rows of", lambda: SqlStore.delete(self, table, where)
        )

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._again("writing to", lambda: SqlStore.execute(self, sql, params))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if not self._depth:  # a broken connection is made again before, not inside
            self._again("writing to", lambda: self.conn)
        with SqlStore.transaction(self):
            yield

    # -- run liveness --------------------------------------------------------------------
    def _run_key(self, track_id: str) -> int:
        return lock_key("run", self.schema_name, track_id)

    def _lock_run(self, conn: Any, track_id: str) -> None:
        conn.execute(
            "SELECT pg_advisory_lock_shared(%s, %s)",
            [RUN_LOCK, self._run_key(track_id)],
        )

    def hold_run(self, track_id: str) -> None:
        if self.read_only or track_id in self._held:
            return

        def hold() -> None:
            with self._lock, self._driver("recording a run in"):
                self._lock_run(self.conn, track_id)

        self._again("recording a run in", hold)
        self._held.add(track_id)

    def release_run(self, track_id: str) -> None:
        if track_id not in self._held:
            return
        self._held.discard(track_id)
        try:
            with self._lock, self._driver("recording a run in"):
                self._run(
                    "SELECT pg_advisory_unlock_shared(%s, %s)",
                    [RUN_LOCK, self._run_key(track_id)],
                )
        except ConnectionLostError:
            pass  # the server dropped the lock with the lost connection

    def run_alive(self, track_id: str) -> bool | None:
        def ask() -> bool:
            with self._lock, self._driver("reading"):
                found = self._run(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = "
                    "current_database()) AND classid = CAST(%s AS integer)::oid "
                    "AND objid = CAST(%s AS integer)::oid AND objsubid = 2",
                    [RUN_LOCK, self._run_key(track_id)],
                ).fetchone()
            return found is not None

        return self._again("reading", ask)

    # -- reading -------------------------------------------------------------------------
    def query(
        self, sql: str, params: Sequence[object] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        return self._again("reading", lambda: SqlStore.query(self, sql, params))

    def query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        def read() -> pd.DataFrame:
            with self._lock, self._driver("reading"):
                cursor = self._execute(sql, params)
                names = [d.name for d in cursor.description or ()]
                chunks = iter(lambda: cursor.fetchmany(CHUNK_ROWS), [])
                return frame_from_chunks(names, chunks)

        return self._again("reading", read)

    def read_query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """User SQL: one query, in a read-only transaction that is rolled back.

        One statement (the extended protocol takes no more), which must be a query:
        COPY and other commands are refused, and the transaction is read-only
        whatever the statement does, so nothing it runs is kept.
        """
        self.refused = None
        keyword = first_keyword(sql)
        if keyword in COMMANDS or not keyword:
            self.refused = f"the {keyword or 'empty'} statement"
            raise QueryError(read_only_refusal(self.refused, self.path))
        text = to_psycopg(sql, marks=bool(params))

        def read() -> pd.DataFrame:
            with self._lock, self._driver("reading"):
                conn = self.conn
                self._depth += 1
                try:
                    with conn.transaction(force_rollback=True):
                        conn.execute("SET TRANSACTION READ ONLY")
                        cursor = conn.execute(text, list(params))
                        names = [d.name for d in cursor.description or ()]
                        return frame_from_chunks(names, [cursor.fetchall()])
                finally:
                    self._depth -= 1

        return self._again("reading", read)

    def iter_df(
        self, sql: str, params: Sequence[object] = (), size: int = CHUNK_ROWS
    ) -> Iterator[pd.DataFrame]:
        # A connection of its own, with a server-side cursor: the rows come a
        # batch at a time, and this store's connection stays free between batches.
        psycopg = self._psycopg
        try:
            conn, _ = open_connection(
                psycopg,
                self._conninfo,
                self.path,
                True,  # reads only
                self._lock_timeout,
                self._wanted_schema,
            )
        except psycopg.Error as exc:
            raise ServerUnavailableError(
                f"cannot connect to {self.path}: {self._scrub(first_lines(exc))}"
            ) from None
        try:
            with self._driver("reading"), conn.transaction():
                cursor = conn.cursor(name="xetrack_batches")
                cursor.execute(to_psycopg(sql), list(params))
                names = [d.name for d in cursor.description or ()]
                while True:
                    rows = cursor.fetchmany(size)
                    if not rows:
                        return
                    yield frame_from_chunks(names, [rows])
        finally:
            conn.close()


def _close_spool(store: PostgresStore) -> None:
    if store._spool is not None:
        store._spool.close()
