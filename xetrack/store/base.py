"""The store interface and the engine-independent half of every SQL engine.

Every engine module (``sqlite.py``, ``duckdb.py``) subclasses :class:`SqlStore` and
implements a handful of primitives; schema evolution and type checks live here once,
so both engines behave alike.
"""

from __future__ import annotations

import contextlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from xetrack.errors import (
    InvalidArgumentError,
    UnknownColumnError,
    UnknownTableError,
    XetrackError,
)
from xetrack.store.prepare import Prepared, check_case, prepare
from xetrack.store.schema import (
    FIXED_COLUMNS,
    FLOAT,
    INTERNAL_PREFIX,
    JSON,
    PYTHON_OF_LOGICAL,
    TEXT,
    Schema,
    fit_value,
    is_internal,
    quote_ident,
)

if TYPE_CHECKING:
    import pandas as pd


_forks = 0


def _after_fork() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):  # POSIX; where there is no fork, nothing to track
    os.register_at_fork(after_in_child=_after_fork)


def fork_generation() -> int:
    """How many times this process's ancestry forked since import: a connection made
    under another number belongs to a parent process. (Not ``os.getpid()``, which is
    a system call on every row.)"""
    return _forks


class Store(Protocol):
    """What Tracker and Reader need of an engine; a new engine implements this."""

    engine: str
    path: str
    read_only: bool
    prepared: set[str]

    @property
    def conn(self) -> Any: ...

    def tables(self) -> list[str]: ...

    def schema(self, table: str, refresh: bool = False) -> Schema: ...

    def sql_types(self, table: str) -> dict[str, str]: ...

    def ensure_table(
        self, table: str, columns: Mapping[str, str] | None = None
    ) -> None: ...

    def drop_table(self, table: str) -> None: ...

    def add_column(self, table: str, name: str, logical: str) -> None: ...

    def create_table(self, table: str, columns: Mapping[str, str]) -> None: ...

    def has_index(self, table: str, columns: Sequence[str]) -> bool: ...

    def create_index(self, table: str, columns: Sequence[str]) -> None: ...

    def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, object]],
        hints: Mapping[str, str] | None = None,
    ) -> None: ...

    def insert_row(self, table: str, row: Mapping[str, object]) -> bool: ...

    def update(
        self, table: str, values: Mapping[str, object], where: Mapping[str, object]
    ) -> int: ...

    def delete(self, table: str, where: Mapping[str, object]) -> int: ...

    def query(
        self, sql: str, params: Sequence[object] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame: ...

    def iter_df(
        self, sql: str, params: Sequence[object] = (), size: int = 20_000
    ) -> Iterator[pd.DataFrame]: ...

    def read_query_df(
        self, sql: str, params: Sequence[object] = ()
    ) -> pd.DataFrame: ...

    def close(self) -> None: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> int: ...

    def has_row_order(self, table: str) -> bool: ...

    def hold_run(self, track_id: str) -> None: ...

    def release_run(self, track_id: str) -> None: ...

    def run_alive(self, track_id: str) -> bool | None: ...


class _Plan(NamedTuple):
    """How rows of one shape (the same keys in the same order) are inserted."""

    sql: str
    columns: tuple[str, ...]
    deferred: tuple[str, ...]
    kinds: tuple[type | None, ...]
    #: the exact value types of the row the plan was made from: a row with the same
    #: ones needs no per-value check
    seen: tuple[type, ...]
    #: the columns are the row's keys in order: its values are the insert's as they are
    whole: bool


class SqlStore(ABC):
    """Schema evolution, type checks and locking shared by the SQL engines.

    Subclasses provide the engine's type names and a few primitives; every public
    method here takes the store's lock, so threads of one process may share a store.
    """

    engine: str = ""
    #: logical type -> SQL type of this engine
    SQL_TYPES: ClassVar[Mapping[str, str]] = {}
    #: whether this engine answers per-run queries faster with an index
    INDEXES: ClassVar[bool] = True
    #: the logical type a column reads as once widened to take floats
    WIDENED: ClassVar[str] = FLOAT
    #: whether a filtered scan returns rows in insertion order without ORDER BY
    #: (SQLite's may follow an index instead)
    NATURAL_ORDER: ClassVar[bool] = False
    #: the definition of a ``rowid`` column an event table needs to keep insertion
    #: order, for an engine that has no implicit one ("" where the engine has it)
    ROW_ID_COLUMN: ClassVar[str] = ""
    #: whether ``SELECT *`` would show that column: reads then name their columns
    EXPLICIT_COLUMNS: ClassVar[bool] = False
    #: whether only this process writes the file (DuckDB's lock): a statement that
    #: changes no schema then runs on its own, with no transaction around its check
    ONE_WRITING_PROCESS: ClassVar[bool] = False

    def __init__(self, path: str, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._schemas: dict[str, Schema] = {}
        #: the engine's schema version when a cached schema was last known current
        self._tokens: dict[str, object] = {}
        #: the schema version when a table was last seen to be a table, not a view
        self._base_tables: dict[str, object] = {}
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        #: event tables a writer has indexed and given run records (see runs.prepare)
        self.prepared: set[str] = set()
        #: what a read-only connection last refused to run, to name it in the error
        self.refused: str | None = None
        #: where rows a lost server connection could not write wait (a server's)
        self.spool_folder: Path | None = None

    @property
    def spooled(self) -> int:
        """Rows this store kept locally because its server could not take them."""
        return 0

    def end_spool(self) -> None:
        """Stop writing the local spool and let it go: a push may take it now."""
        return None

    # -- primitives for subclasses -------------------------------------------------
    @property
    @abstractmethod
    def conn(self) -> Any: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run a query and return its result as a DataFrame."""

    @abstractmethod
    def iter_df(
        self, sql: str, params: Sequence[object] = (), size: int = 20_000
    ) -> Iterator[pd.DataFrame]:
        """Run a query and yield its result as DataFrames of ``size`` rows."""

    @abstractmethod
    def tables(self) -> list[str]: ...

    @abstractmethod
    def _read_schema(self, table: str) -> list[tuple[str, str]]:
        """Column names and declared SQL types, in order; empty if no such table."""

    @abstractmethod
    def _logical(self, sql_type: str) -> str | None:
        """The logical type of a declared SQL type, or None if we do not know it."""

    @abstractmethod
    def _index_exists(self, name: str) -> bool: ...

    @abstractmethod
    def _schema_token(self, table: str) -> object:
        """A cheap value that changes whenever the table's columns may have changed
        (None: unknown, read the schema again)."""

    @abstractmethod
    def _write_transaction(self) -> Any:
        """A context manager holding the write lock of the file for its duration."""

    @abstractmethod
    def _executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None: ...

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any: ...

    @abstractmethod
    def _insert_fast(self, sql: str, row: tuple[object, ...]) -> None:
        """Insert one row as its own transaction."""

    @abstractmethod
    def _widen_to_float(self, table: str, column: str) -> None:
        """Let an integer column take floats from now on."""

    @abstractmethod
    def _is_schema_error(self, exc: BaseException) -> bool:
        """True when ``exc`` says the table or a column is not what we cached."""

    @abstractmethod
    def _translate(self, exc: Exception, what: str) -> XetrackError | None:
        """The error a user should see for a driver error (disk full, permission,
        a damaged file), or None to let the driver's error through."""

    @contextlib.contextmanager
    def _driver(self, what: str) -> Iterator[None]:
        """Driver errors that have a real cause (see :meth:`_translate`) as ours."""
        try:
            yield
        except XetrackError:
            raise
        except Exception as exc:
            found = self._translate(exc, what)
            if found is None:
                raise
            raise found from exc

    #: whether :meth:`_retype` works on this engine (SQLite needs DROP COLUMN)
    can_retype: ClassVar[bool] = True

    @abstractmethod
    def _retype(self, table: str, column: str, old: str | None, new: str) -> None:
        """Change ``column`` from logical type ``old`` to ``new``, keeping its values
        (as JSON text when ``new`` is JSON), inside the caller's write lock."""

    def _schema_transaction(self) -> contextlib.AbstractContextManager[None]:
        """The write lock for a change of tables, columns or indexes; an engine whose
        writers do not serialise on the file (a server) adds a lock of its own, so
        two writers never both add the same column."""
        return self._write_transaction()  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store's lock and the file's write lock; writes inside commit together."""
        with self._lock, self._driver("writing to"), self._write_transaction():
            yield

    # -- schema ----------------------------------------------------------------------
    def schema(self, table: str, refresh: bool = False) -> Schema:
        with self._lock:
            cached = self._schemas.get(table)
            if cached is not None and not refresh:
                return cached
            found = Schema(
                (name, self._logical(sql_type))
                for name, sql_type in self._read_schema(table)
            )
            if refresh:
                self._forget(table)  # plans may hold types that changed
            if found.types:
                self._schemas[table] = found
            return found

    def sql_types(self, table: str) -> dict[str, str]:
        with self._lock:
            return dict(self._read_schema(table))

    def require_table(self, table: str) -> Schema:
        found = self.schema(table)
        if not found.types:
            found = self.schema(table, refresh=True)
        if not found.types:
            tables = [t for t in self.tables() if not is_internal(t)]
            raise UnknownTableError(
                f"no table {table!r} in {self.path}; "
                f"tables there: {', '.join(map(repr, tables)) or 'none'}"
            )
        return found

    def ensure_table(
        self, table: str, columns: Mapping[str, str] | None = None
    ) -> None:
        """Create ``table`` if needed, and the typed ``columns`` it should have.

        ``columns`` (name -> logical type) is for columns that must exist before any
        value arrives, such as ``git_commit`` when it may be NULL on every row.
        """
        # The fixed columns too: a table made by another tool may lack them.
        wanted = {**dict.fromkeys(FIXED_COLUMNS, TEXT), **(columns or {})}
        known = self.schema(table).types
        if known and all(name in known for name in wanted):
            return
        fixed = ", ".join(
            [self.ROW_ID_COLUMN] * bool(self.ROW_ID_COLUMN)
            + [f"{quote_ident(c)} {self.SQL_TYPES[TEXT]}" for c in FIXED_COLUMNS]
        )
        with (
            self._lock,
            self._driver("creating a table in"),
            self._schema_transaction(),
        ):
            self._execute(f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} ({fixed})")
            # a copy: the cached schema must not name columns a failure rolls back
            existing = Schema(self.schema(table, refresh=True).types.items())
            for name, logical in wanted.items():
                if name not in existing.types:
                    check_case(existing, [name])  # an engine may tell case apart
                    self._add_column(table, name, logical)
                    existing.add(name, logical)
        self.schema(table, refresh=True)

    def add_column(self, table: str, name: str, logical: str) -> None:
        """Add the column ``name`` (of type ``logical``) to ``table``, one of
        xetrack's own tables, unless it has it: a later version's field on records
        an older one wrote."""
        if name in self.schema(table).types:
            return
        with (
            self._lock,
            self._driver("changing a table in"),
            self._schema_transaction(),
        ):
            # asked again under the write lock: another writer may have added it
            if name not in self.schema(table, refresh=True).types:
                self._add_column(table, name, logical)
        self.schema(table, refresh=True)

    def create_table(self, table: str, columns: Mapping[str, str]) -> None:
        """Create ``table`` with exactly ``columns`` (name -> logical type) unless it
        exists; for xetrack's own tables, which have no ``timestamp``/``track_id``."""
        if self.schema(table).types:
            return
        body = ", ".join(
            f"{quote_ident(name)} {self.SQL_TYPES[logical]}"
            for name, logical in columns.items()
        )
        with (
            self._lock,
            self._driver("creating a table in"),
            self._schema_transaction(),
        ):
            self._execute(f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} ({body})")
        self.schema(table, refresh=True)

    @staticmethod
    def index_name(table: str, columns: Sequence[str]) -> str:
        return f"{INTERNAL_PREFIX}idx_{table}__{'_'.join(columns)}"

    def has_index(self, table: str, columns: Sequence[str]) -> bool:
        """Whether ``table`` has xetrack's index on ``columns`` (or needs none)."""
        if not self.INDEXES:
            return True
        with self._lock:
            return self._index_exists(self.index_name(table, columns))

    def create_index(self, table: str, columns: Sequence[str]) -> None:
        """Index ``table`` on ``columns`` unless it is; safe while others write (it
        takes the file's write lock like any write, and waits for it)."""
        if not self.INDEXES:
            return
        name = quote_ident(self.index_name(table, columns))
        listed = ", ".join(map(quote_ident, columns))
        with self._lock, self._driver("indexing"), self._schema_transaction():
            self._execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {quote_ident(table)} ({listed})"
            )

    def drop_table(self, table: str) -> None:
        with (
            self._lock,
            self._driver("dropping a table of"),
            self._schema_transaction(),
        ):
            self._execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        self._forget(table)
        self.prepared.discard(table)

    def _forget(self, table: str) -> None:
        self._schemas.pop(table, None)
        self._tokens.pop(table, None)
        self._base_tables.pop(table, None)
        self._forget_plans(table)

    def _forget_plans(self, table: str) -> None:
        for key in [k for k in self._plans if k[0] == table]:
            del self._plans[key]

    # -- writing -----------------------------------------------------------------------
    def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, object]],
        hints: Mapping[str, str] | None = None,
    ) -> None:
        """Insert rows of storable values, adding missing columns, all or nothing.

        ``hints`` (column -> logical type) types columns whose values are all None.
        """
        if not rows:
            return
        with self._lock, self._driver("writing rows to"):
            if hints:
                known = self._schemas.get(table)
                if known is not None:  # a hint matters only until its column exists
                    hints = {k: v for k, v in hints.items() if k not in known.types}
            try:
                if (
                    not hints
                    and len(rows) == 1
                    and self._insert_planned(table, rows[0])
                ):
                    return
                self._insert_prepared(table, rows, hints)
            except Exception as exc:
                if not self._is_schema_error(exc):
                    raise
                # Another connection dropped and recreated the table (a Tracker with
                # reset=True) since we read its schema: read it again, retry once.
                self._forget(table)
                self.ensure_table(table)
                self._insert_prepared(table, rows, hints)

    def insert_row(self, table: str, row: Mapping[str, object]) -> bool:
        """Insert one row shaped exactly like an earlier one (same keys, same order,
        same value types) as its own transaction; False, writing nothing, otherwise.

        The hot path of ``log()`` and tracked calls: every column exists and every
        value has its column's type, so there is nothing to check or add.
        """
        plan = self._plans.get((table, tuple(row)))
        if plan is None or not plan.whole:
            return False
        values = tuple(row.values())
        if tuple(map(type, values)) != plan.seen:
            return False
        with self._lock:
            try:
                self._insert_fast(plan.sql, values)
            except Exception as exc:
                if not self._is_schema_error(exc):
                    found = self._translate(exc, "writing a row to")
                    if found is None:
                        raise
                    raise found from exc
                self._forget(table)  # the table changed under us: insert() retries
                return False
        return True

    def _insert_planned(self, table: str, row: Mapping[str, object]) -> bool:
        """The hot path of log(): a row shaped like one written before. False: no plan."""
        plan = self._plans.get((table, tuple(row)))
        if plan is None:
            return False
        if plan.whole:
            whole = tuple(row.values())
            if tuple(map(type, whole)) == plan.seen:
                self._insert_fast(plan.sql, whole)
                return True
            values = list(whole)
        else:
            for key in plan.deferred:
                if row[key] is not None:
                    return False
            values = [row[c] for c in plan.columns]
            if tuple(map(type, values)) == plan.seen:
                self._insert_fast(plan.sql, tuple(values))
                return True
        for index, (value, kind) in enumerate(zip(values, plan.kinds, strict=True)):
            if value is not None and kind is not None and type(value) is not kind:
                if kind is not float or type(value) is not int:
                    return False  # widening or a conflict: the full path decides
                values[index] = fit_value(plan.columns[index], "float", value)
        self._insert_fast(plan.sql, tuple(values))
        return True

    def _insert_prepared(
        self,
        table: str,
        rows: Sequence[Mapping[str, object]],
        hints: Mapping[str, str] | None = None,
    ) -> None:
        prepared = prepare(self.schema(table), rows, hints, self.can_retype)
        if not prepared.changes_schema:
            with self._write_transaction():
                self._write(table, prepared, len(rows))
            if not hints:
                self._remember_plan(table, rows, prepared)
            return
        # Schema change: take the file's write lock first, then look again, so two
        # writers adding the same column never both try to ALTER. Looking again
        # costs one version check unless another writer did change the schema:
        # the cost of an event must not grow with the width of the table.
        before = self.schema(table)
        with self._schema_transaction():
            schema = self._current(table)
            if not schema.types:
                raise UnknownTableError(f"table {table!r} was dropped from {self.path}")
            if schema is not before:  # another writer changed it: check again
                prepared = prepare(schema, rows, hints, self.can_retype)
            try:
                self._apply(table, schema, prepared)
                self._write(table, prepared, len(rows))
            except BaseException:
                self._forget(table)  # rolled back: the cached columns may not exist
                raise
        self._after_change(table, prepared)

    def _after_change(self, table: str, prepared: Prepared) -> None:
        if prepared.retype:  # a retyped column may have moved: read the schema again
            self.schema(table, refresh=True)
        elif prepared.widen:
            self._forget_plans(table)  # plans hold the old types

    def _current(self, table: str) -> Schema:
        """The table's schema under the write lock: the cached one while the
        engine's schema version says nobody changed it, else read again."""
        token = self._schema_token(table)
        cached = self._schemas.get(table)
        if (
            cached is not None
            and token is not None
            and self._tokens.get(table) == token
        ):
            return cached
        found = self.schema(table, refresh=True)
        if cached is not None and found.types == cached.types:
            # unchanged after all: keep the object the caller prepared rows against,
            # so they are not checked a second time
            self._schemas[table] = found = cached
        self._tokens[table] = token
        return found

    def _apply(self, table: str, schema: Schema, prepared: Prepared) -> None:
        """The schema changes ``prepared`` needs, inside the caller's write lock,
        keeping the cached ``schema`` and its version current (the caller forgets
        both if the transaction fails)."""
        if not prepared.changes_schema:
            return
        for name, logical in prepared.new.items():
            self._add_column(table, name, logical)
            schema.add(name, logical)
        for name in prepared.widen:
            self._widen_to_float(table, name)
            schema.add(name, self.WIDENED)
        for name, logical in prepared.retype.items():
            self._retype(table, name, schema.types[name], logical)
        if prepared.retype:
            self._tokens.pop(table, None)  # read again after the transaction
        else:
            self._tokens[table] = self._schema_token(table)

    def _remember_plan(
        self, table: str, rows: Sequence[Mapping[str, object]], prepared: Prepared
    ) -> None:
        if len(rows) != 1 or len(self._plans) > 10_000:
            return
        if JSON in prepared.types:  # its cells are encoded: never inserted as they are
            return
        kinds = tuple(PYTHON_OF_LOGICAL.get(t) if t else None for t in prepared.types)
        shape = tuple(rows[0])
        self._plans[(table, shape)] = _Plan(
            self._insert_statement(table, prepared.columns),
            prepared.columns,
            prepared.deferred,
            kinds,
            tuple(map(type, prepared.tuples[0])),
            whole=prepared.columns == shape,
        )

    def _add_column(self, table: str, name: str, logical: str) -> None:
        self._execute(
            f"ALTER TABLE {quote_ident(table)} "
            f"ADD COLUMN {quote_ident(name)} {self.SQL_TYPES[logical]}"
        )

    def _write(self, table: str, prepared: Prepared, count: int) -> None:
        if prepared.columns:
            sql = self._insert_statement(table, prepared.columns)
            self._executemany(sql, prepared.tuples)
        else:
            for _ in range(count):
                self._execute(f"INSERT INTO {quote_ident(table)} DEFAULT VALUES")

    def _insert_statement(self, table: str, columns: tuple[str, ...]) -> str:
        names = ", ".join(map(quote_ident, columns))
        marks = ", ".join("?" * len(columns))
        return f"INSERT INTO {quote_ident(table)} ({names}) VALUES ({marks})"

    def update(
        self, table: str, values: Mapping[str, object], where: Mapping[str, object]
    ) -> int:
        """Set ``values`` on the rows matching every ``column = value`` in ``where``
        (see :func:`where_clause`); columns are added or widened as by ``insert``."""
        with self._lock, self._driver("updating rows of"):
            try:
                return self._update_once(table, values, where)
            except Exception as exc:
                if not self._is_schema_error(exc):
                    raise
                # The table changed since we cached its schema (a column dropped, a
                # view in its place, by another connection): read it again, retry once.
                self._forget(table)
                return self._update_once(table, values, where)

    def _update_once(
        self, table: str, values: Mapping[str, object], where: Mapping[str, object]
    ) -> int:
        schema = self.require_table(table)
        self._check_where(table, schema, where)
        self._check_base_table(table, "set values")
        clause, params = where_clause(where)
        if self.ONE_WRITING_PROCESS:
            # No other process can change the table between the check and the
            # statement, and one UPDATE commits or fails whole on its own.
            prepared = prepare(self._current(table), [values], retype=self.can_retype)
            if prepared.columns and not prepared.changes_schema:
                return self._update_rows(table, prepared, clause, params)
        with self._schema_transaction():
            schema = self._current(table)
            prepared = prepare(schema, [values], retype=self.can_retype)
            try:
                self._apply(table, schema, prepared)
                if prepared.columns:
                    count = self._update_rows(table, prepared, clause, params)
                else:  # only NULLs for columns that do not exist: already true
                    cursor = self._execute(
                        f"SELECT COUNT(*) FROM {quote_ident(table)}{clause}", params
                    )
                    count = int(cursor.fetchall()[0][0])
            except BaseException:
                self._forget(table)  # rolled back: the cached columns may not exist
                raise
        self._after_change(table, prepared)
        return count

    def _update_rows(
        self, table: str, prepared: Prepared, clause: str, params: Sequence[object]
    ) -> int:
        sets = ", ".join(f"{quote_ident(c)} = ?" for c in prepared.columns)
        cursor = self._execute(
            f"UPDATE {quote_ident(table)} SET {sets}{clause}",
            [*prepared.tuples[0], *params],
        )
        return _rowcount(cursor)

    def delete(self, table: str, where: Mapping[str, object]) -> int:
        with self._lock, self._driver("deleting rows of"):
            schema = self.require_table(table)
            self._check_where(table, schema, where)
            self._check_base_table(table, "delete rows")
            clause, params = where_clause(where)
            with self._write_transaction():
                cursor = self._execute(
                    f"DELETE FROM {quote_ident(table)}{clause}", params
                )
                return _rowcount(cursor)

    def _check_base_table(self, table: str, action: str) -> None:
        token = self._schema_token(table)
        if token is not None and self._base_tables.get(table) == token:
            return  # seen to be a table at this schema version
        if table not in self.tables():
            raise InvalidArgumentError(
                f"{table!r} in {self.path} is a view, not a table: cannot {action} "
                f"there; change the table it selects from"
            )
        if token is not None:
            self._base_tables[table] = token

    def _check_where(
        self, table: str, schema: Schema, where: Mapping[str, object]
    ) -> None:
        for name in where:
            if name not in schema.types and name not in self.schema(table, True).types:
                raise UnknownColumnError(
                    f"no column {name!r} in table {table!r} of {self.path}; "
                    f"columns: {', '.join(map(repr, schema.types))}"
                )

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement (identifiers quoted, values bound); return rows changed."""
        with self._lock, self._driver("writing to"), self._write_transaction():
            return _rowcount(self._execute(sql, params))

    # -- what differs between dialects ----------------------------------------------------
    def max_sql(self, expr: str, logical: str | None) -> str:
        """SQL for the largest value of ``expr`` (a column of type ``logical``)."""
        return f"MAX({expr})"

    def min_sql(self, expr: str, logical: str | None) -> str:
        return f"MIN({expr})"

    def float_sql(self, expr: str, logical: str | None) -> str:
        """SQL for ``expr`` (numeric or boolean) as a double."""
        return f"CAST({expr} AS DOUBLE)"

    def has_row_order(self, table: str) -> bool:
        """Whether ``table`` has a ``rowid`` to keep insertion order by: not a SQLite
        WITHOUT ROWID table or a DuckDB view (foreign tables, read as they come)."""
        try:
            self.query(f"SELECT rowid FROM {quote_ident(table)} LIMIT 0")
        except Exception:  # the engine's "no such column": there is none
            return False
        return True

    # -- run liveness ----------------------------------------------------------------------
    def hold_run(self, track_id: str) -> None:
        """Mark ``track_id`` as running on this connection, for :meth:`run_alive`
        (nothing to do where a run's host and pid say it)."""
        return None

    def release_run(self, track_id: str) -> None:
        """The run ``track_id`` ended here (see :meth:`hold_run`)."""
        return None

    def run_alive(self, track_id: str) -> bool | None:
        """Whether some connection still holds ``track_id`` as running; None when
        the engine cannot tell (then the run's host and pid decide)."""
        return None

    # -- reading -------------------------------------------------------------------------
    def read_query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run SQL a user typed, which must not change or create anything.

        Engines refuse writes on their read-only connections; an engine whose
        connection may be writable here checks the statements first.
        """
        self.refused = None
        return self.query_df(sql, params)

    def query(
        self, sql: str, params: Sequence[object] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._lock, self._driver("reading"):
            cursor = self._execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return names, cursor.fetchall()


def read_only_refusal(what: str, path: str) -> str:
    """The error for user SQL that would change or create something."""
    return (
        f"read-only SQL: {what} is refused on {path}; run queries only "
        f"(write rows with a Tracker, values with xt set)"
    )


def where_clause(where: Mapping[str, object]) -> tuple[str, list[object]]:
    """`` WHERE "a" = ? AND "b" IS NULL`` and its parameters, or ``""`` for no filter.

    A list, tuple or set value means any of its values (``IN``; None: ``IS NULL``).
    """
    if not where:
        return "", []
    parts: list[str] = []
    params: list[object] = []
    for name, value in where.items():
        if value is None:
            parts.append(f"{quote_ident(name)} IS NULL")
        elif isinstance(value, (list, tuple, set, frozenset)):
            listed = [v for v in value if v is not None]
            anyof = []
            if listed:
                anyof.append(f"{quote_ident(name)} IN ({', '.join('?' * len(listed))})")
                params.extend(listed)
            if len(listed) != len(value):
                anyof.append(f"{quote_ident(name)} IS NULL")
            parts.append(f"({' OR '.join(anyof)})" if anyof else "1 = 0")
        else:
            parts.append(f"{quote_ident(name)} = ?")
            params.append(value)
    return " WHERE " + " AND ".join(parts), params


def _rowcount(cursor: Any) -> int:
    count = getattr(cursor, "rowcount", -1)
    if count is None or count < 0:  # DuckDB reports the count as a result row
        rows = cursor.fetchall()  # all: a half-read result blocks the next statement
        return int(rows[0][0]) if rows else 0
    return int(count)
