"""The store interface, identifier quoting, key rules and the Python <-> SQL type map.

Every engine module (``sqlite.py``, ``duckdb.py``) subclasses :class:`SqlStore` and
implements a handful of primitives; the schema evolution, type checking and key rules
live here once, so both engines behave alike.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from xetrack.errors import (
    InvalidKeyError,
    InvalidValueError,
    TypeConflictError,
    UnknownColumnError,
    UnknownTableError,
)

if TYPE_CHECKING:
    import pandas as pd

#: Columns every event table has; xetrack fills them, users cannot log them.
FIXED_COLUMNS: Final = ("timestamp", "track_id")
#: Names the engines use for their own row identity; a column of that name would
#: shadow it and break ordering, so they are refused as keys.
_ROW_ID_NAMES: Final = frozenset({"rowid", "oid", "_rowid_"})
#: The content-addressed asset table lives beside the event tables.
ASSETS_TABLE: Final = "_xetrack_assets"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ASCII_FOLD: Final = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
)

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
_FLOAT_EXACT_INT: Final = 2**53

# Logical types, shared by both engines; each engine maps them to its own SQL names.
INTEGER: Final = "integer"
FLOAT: Final = "float"
TEXT: Final = "text"
BOOLEAN: Final = "boolean"
BLOB: Final = "blob"

LOGICAL_OF_PYTHON: Final[dict[type, str]] = {
    bool: BOOLEAN,
    int: INTEGER,
    float: FLOAT,
    str: TEXT,
    bytes: BLOB,
}


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL: ``order`` -> ``"order"``, ``a"b`` -> ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def fold(name: str) -> str:
    """The form under which both engines compare identifiers (ASCII case only)."""
    return name.translate(_ASCII_FOLD)


#: Keys already found valid; log() checks each key once per process, not per row.
_VALID_KEYS: set[str] = set()
_VALID_KEYS_MAX: Final = 100_000


def check_key(key: object) -> str:
    """Return ``key`` if it can be a column name, else raise :class:`InvalidKeyError`."""
    if key in _VALID_KEYS:
        return key  # type: ignore[return-value]
    if not isinstance(key, str):
        raise InvalidKeyError(
            f"key {key!r} is a {type(key).__name__}; column names must be str "
            f"(for example {str(key)!r})"
        )
    _check_name(key, "key")
    folded = fold(key)
    if folded in FIXED_COLUMNS:
        raise InvalidKeyError(
            f"key {key!r} is set by xetrack on every row; log it under another name "
            f"(for example {'my_' + key!r}), or pass track_id= to Tracker"
        )
    if folded in _ROW_ID_NAMES:
        raise InvalidKeyError(
            f"key {key!r} would hide the engine's own row id; "
            f"use another name (for example {key + '_'!r})"
        )
    if len(_VALID_KEYS) < _VALID_KEYS_MAX and type(key) is str:
        _VALID_KEYS.add(key)
    return key


def check_table_name(name: object) -> str:
    """Return ``name`` if it can be an event table, else raise :class:`InvalidKeyError`."""
    if not isinstance(name, str):
        raise InvalidKeyError(f"table name {name!r} must be a str, like 'default'")
    _check_name(name, "table name")
    folded = fold(name)
    if folded.startswith("sqlite_") or folded == fold(ASSETS_TABLE):
        raise InvalidKeyError(
            f"table name {name!r} is reserved for the engine or xetrack; "
            f"pick another, for example {'t_' + name!r}"
        )
    return name


def check_text(key: str, text: str) -> str:
    """Return ``text`` if both engines can store it (valid UTF-8), else raise."""
    if not text.isascii() and _SURROGATE.search(text):
        raise InvalidValueError(
            f"value of {key!r} contains a lone surrogate and is not valid text; "
            f"encode it first, for example value.encode('utf-8', 'surrogatepass')"
        )
    return text


def _check_name(name: str, what: str) -> None:
    if name == "" or name.strip() == "":
        raise InvalidKeyError(
            f"{what} {name!r} is empty or blank; use letters, digits and '_'"
        )
    bad = _CONTROL.search(name) or _SURROGATE.search(name)
    if bad is not None:
        suggestion = _SURROGATE.sub("", _CONTROL.sub("_", name)) or "name"
        raise InvalidKeyError(
            f"{what} {name!r} contains the character {bad.group()!r} at position "
            f"{bad.start()}, which cannot be part of a column name; "
            f"use printable characters (for example {suggestion!r})"
        )


def _type_name(value: object) -> str:
    return type(value).__name__


def fit_value(column: str, column_type: str | None, value: object) -> object:
    """Return ``value`` as it will be stored in a column of logical ``column_type``.

    ``None`` fits every column and a column of unknown type takes anything. An int
    goes into a float column when a float holds it exactly; anything else that does
    not match raises :class:`TypeConflictError` naming the column and both types.
    """
    if value is None or column_type is None:
        return value
    kind = LOGICAL_OF_PYTHON.get(type(value))
    if kind == column_type:
        return value
    if column_type == FLOAT and kind == INTEGER:
        if -_FLOAT_EXACT_INT <= value <= _FLOAT_EXACT_INT:  # type: ignore[operator]
            return float(value)  # type: ignore[arg-type]
        raise InvalidValueError(
            f"column {column!r} holds floats and {value!r} cannot be a float without "
            f"losing digits; log it as str(value) under another key"
        )
    raise TypeConflictError(
        f"column {column!r} holds {column_type} values but got {value!r} "
        f"({_type_name(value)}); convert it (for example to "
        f"{_example_for(column_type)}) or log it under another key"
    )


def _example_for(column_type: str) -> str:
    return {
        INTEGER: "int(value)",
        FLOAT: "float(value)",
        TEXT: "str(value)",
        BOOLEAN: "bool(value)",
        BLOB: "bytes",
    }.get(column_type, column_type)


class Schema:
    """A table's columns in order, with their logical types, found by exact or folded name."""

    __slots__ = ("types", "by_fold")

    def __init__(self, columns: Iterable[tuple[str, str | None]] = ()) -> None:
        self.types: dict[str, str | None] = dict(columns)
        self.by_fold: dict[str, str] = {fold(name): name for name in self.types}

    def add(self, name: str, logical: str | None) -> None:
        self.types[name] = logical
        self.by_fold[fold(name)] = name


class Store(Protocol):
    """What Tracker and Reader need of an engine; a new engine implements this."""

    engine: str
    path: str
    read_only: bool

    @property
    def conn(self) -> Any: ...

    def tables(self) -> list[str]: ...

    def schema(self, table: str, refresh: bool = False) -> Schema: ...

    def sql_types(self, table: str) -> dict[str, str]: ...

    def ensure_table(
        self, table: str, columns: Mapping[str, str] | None = None
    ) -> None: ...

    def drop_table(self, table: str) -> None: ...

    def insert(self, table: str, rows: Sequence[Mapping[str, object]]) -> None: ...

    def update(
        self, table: str, values: Mapping[str, object], where: Mapping[str, object]
    ) -> int: ...

    def delete(self, table: str, where: Mapping[str, object]) -> int: ...

    def query(
        self, sql: str, params: Sequence[object] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame: ...

    def close(self) -> None: ...


class SqlStore(ABC):
    """Schema evolution, type checks and locking shared by the SQL engines.

    Subclasses provide the engine's type names and a few primitives; every public
    method here takes the store's lock, so threads of one process may share a store.
    """

    engine: str = ""
    #: logical type -> SQL type of this engine
    SQL_TYPES: dict[str, str] = {}

    def __init__(self, path: str, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._schemas: dict[str, Schema] = {}
        self._insert_sql: dict[tuple[str, tuple[str, ...]], str] = {}

    # -- primitives for subclasses -------------------------------------------------
    @property
    @abstractmethod
    def conn(self) -> Any: ...

    @abstractmethod
    def tables(self) -> list[str]: ...

    @abstractmethod
    def _read_schema(self, table: str) -> list[tuple[str, str]]:
        """Column names and declared SQL types, in order; empty if no such table."""

    @abstractmethod
    def _logical(self, sql_type: str) -> str | None:
        """The logical type of a declared SQL type, or None if we do not know it."""

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

    def _widen_to_float(self, table: str, column: str) -> None:
        """Let an integer column take floats; engines with static types override."""

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
            tables = [t for t in self.tables() if t != ASSETS_TABLE]
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
        wanted = dict(columns or {})
        known = self.schema(table).types
        if known and all(name in known for name in wanted):
            return
        fixed = ", ".join(f"{quote_ident(c)} {self.SQL_TYPES[TEXT]}" for c in FIXED_COLUMNS)
        with self._lock, self._write_transaction():
            self._execute(f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} ({fixed})")
            existing = self.schema(table, refresh=True)
            for name, logical in wanted.items():
                if name not in existing.types:
                    self._execute(
                        f"ALTER TABLE {quote_ident(table)} "
                        f"ADD COLUMN {quote_ident(name)} {self.SQL_TYPES[logical]}"
                    )
        self.schema(table, refresh=True)

    def drop_table(self, table: str) -> None:
        with self._lock, self._write_transaction():
            self._execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        self._forget(table)

    def _forget(self, table: str) -> None:
        self._schemas.pop(table, None)
        for key in [k for k in self._insert_sql if k[0] == table]:
            del self._insert_sql[key]

    # -- writing -----------------------------------------------------------------------
    def insert(self, table: str, rows: Sequence[Mapping[str, object]]) -> None:
        """Insert rows of storable values, adding missing columns, all or nothing."""
        if not rows:
            return
        with self._lock:
            if len(rows) == 1:
                row = rows[0]
                keys = tuple(row)
                sql = self._insert_sql.get((table, keys))
                if sql is not None:
                    types = self._schemas[table].types
                    try:
                        values = tuple(
                            [fit_value(k, types[k], v) for k, v in row.items()]
                        )
                    except TypeConflictError:
                        pass  # maybe an int column widening: the slow path decides
                    else:
                        self._insert_fast(sql, values)
                        return
            self._insert_slow(table, rows)

    def _insert_slow(self, table: str, rows: Sequence[Mapping[str, object]]) -> None:
        schema = self.schema(table)
        wanted = _column_types(rows)
        if not _covers(schema, wanted):
            schema = self.schema(table, refresh=True)
        if _covers(schema, wanted):
            columns, tuples = self._prepare(table, schema, wanted, rows)
            with self._write_transaction():
                self._write_rows(table, columns, tuples)
            return
        # Schema change: take the file's write lock first, then look again, so two
        # writers adding the same column never both try to ALTER.
        with self._write_transaction():
            schema = self.schema(table, refresh=True)
            if not schema.types:
                raise UnknownTableError(f"table {table!r} was dropped from {self.path}")
            columns, tuples = self._prepare(table, schema, wanted, rows)
            for name in columns:
                if name not in schema.types:
                    logical = wanted[name]
                    sql_type = self.SQL_TYPES.get(logical or TEXT, self.SQL_TYPES[TEXT])
                    self._execute(
                        f"ALTER TABLE {quote_ident(table)} "
                        f"ADD COLUMN {quote_ident(name)} {sql_type}"
                    )
            self._write_rows(table, columns, tuples)
        self.schema(table, refresh=True)

    def _prepare(
        self,
        table: str,
        schema: Schema,
        wanted: Mapping[str, str | None],
        rows: Sequence[Mapping[str, object]],
    ) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
        """Check names and types against ``schema``; return columns and value tuples."""
        types: dict[str, str | None] = {}
        seen: dict[str, str] = {}
        for name, logical in wanted.items():
            other = seen.setdefault(fold(name), name)
            if other != name:
                raise InvalidKeyError(
                    f"keys {other!r} and {name!r} differ only in letter case, and "
                    f"column names ignore case; rename one of them"
                )
            existing = schema.by_fold.get(fold(name))
            if existing is not None and existing != name:
                raise InvalidKeyError(
                    f"key {name!r} differs only in letter case from the existing column "
                    f"{existing!r}, and column names ignore case; log it as {existing!r}"
                )
            if name not in schema.types and logical is None:
                # Only NULLs so far: the column waits for a value to take its type
                # from; until then the row reads back NULL there anyway.
                continue
            column_type = schema.types.get(name, logical)
            if column_type == INTEGER and logical == FLOAT:
                self._widen_to_float(table, name)
                schema.types[name] = column_type = FLOAT
            types[name] = column_type
        columns = tuple(types)
        tuples = [
            tuple([fit_value(c, types[c], row.get(c)) for c in columns]) for row in rows
        ]
        return columns, tuples

    def _write_rows(
        self, table: str, columns: tuple[str, ...], tuples: list[tuple[object, ...]]
    ) -> None:
        self._executemany(self._insert_statement(table, columns), tuples)

    def _insert_statement(self, table: str, columns: tuple[str, ...]) -> str:
        sql = self._insert_sql.get((table, columns))
        if sql is None:
            names = ", ".join(map(quote_ident, columns))
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {quote_ident(table)} ({names}) VALUES ({marks})"
            self._insert_sql[(table, columns)] = sql
        return sql

    def update(
        self, table: str, values: Mapping[str, object], where: Mapping[str, object]
    ) -> int:
        """Set ``values`` on the rows matching every ``column = value`` in ``where``."""
        with self._lock:
            schema = self.require_table(table)
            self._check_where(table, schema, where)
            wanted = _column_types([values])
            with self._write_transaction():
                schema = self.schema(table, refresh=True)
                columns, (fitted,) = self._prepare(table, schema, wanted, [values])
                for name in columns:
                    if name not in schema.types:
                        sql_type = self.SQL_TYPES.get(wanted[name] or TEXT)
                        self._execute(
                            f"ALTER TABLE {quote_ident(table)} "
                            f"ADD COLUMN {quote_ident(name)} {sql_type}"
                        )
                clause, params = where_clause(where)
                if columns:
                    assignments = ", ".join(f"{quote_ident(c)} = ?" for c in columns)
                    cursor = self._execute(
                        f"UPDATE {quote_ident(table)} SET {assignments}{clause}",
                        [*fitted, *params],
                    )
                    count = _rowcount(cursor)
                else:  # only NULLs for columns that do not exist: already true
                    cursor = self._execute(
                        f"SELECT COUNT(*) FROM {quote_ident(table)}{clause}", params
                    )
                    count = int(cursor.fetchone()[0])
            self.schema(table, refresh=True)
            return count

    def delete(self, table: str, where: Mapping[str, object]) -> int:
        with self._lock:
            schema = self.require_table(table)
            self._check_where(table, schema, where)
            clause, params = where_clause(where)
            with self._write_transaction():
                cursor = self._execute(
                    f"DELETE FROM {quote_ident(table)}{clause}", params
                )
                return _rowcount(cursor)

    def _check_where(
        self, table: str, schema: Schema, where: Mapping[str, object]
    ) -> None:
        for name in where:
            if name not in schema.types and name not in self.schema(table, True).types:
                raise UnknownColumnError(
                    f"no column {name!r} in table {table!r} of {self.path}; "
                    f"columns: {', '.join(map(repr, schema.types))}"
                )

    # -- reading -------------------------------------------------------------------------
    def query(
        self, sql: str, params: Sequence[object] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._lock:
            cursor = self._execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return names, cursor.fetchall()


def where_clause(where: Mapping[str, object]) -> tuple[str, list[object]]:
    """`` WHERE "a" = ? AND "b" IS NULL`` and its parameters, or ``""`` for no filter."""
    if not where:
        return "", []
    parts: list[str] = []
    params: list[object] = []
    for name, value in where.items():
        if value is None:
            parts.append(f"{quote_ident(name)} IS NULL")
        else:
            parts.append(f"{quote_ident(name)} = ?")
            params.append(value)
    return " WHERE " + " AND ".join(parts), params


def _rowcount(cursor: Any) -> int:
    count = getattr(cursor, "rowcount", -1)
    if count is None or count < 0:  # DuckDB reports the count as a result row
        row = cursor.fetchone()
        return int(row[0]) if row else 0
    return int(count)


def _column_types(rows: Sequence[Mapping[str, object]]) -> dict[str, str | None]:
    """Each key of ``rows`` with the logical type of its first non-None value."""
    types: dict[str, str | None] = {}
    for row in rows:
        for key, value in row.items():
            if types.get(key) is None:
                types[key] = None if value is None else LOGICAL_OF_PYTHON[type(value)]
    return types


def _covers(schema: Schema, wanted: Mapping[str, str | None]) -> bool:
    types = schema.types
    for name, logical in wanted.items():
        if name not in types:
            if logical is None:
                continue
            return False
        if types[name] == INTEGER and logical == FLOAT:
            return False
    return True
