"""SQLite engine (stdlib ``sqlite3``): WAL, a busy timeout, retries on lock races.

The connection runs in autocommit mode (``isolation_level=None``) and every write
that is more than one statement opens ``BEGIN IMMEDIATE`` itself: taking the write
lock up front means a reader never has to upgrade to a writer, which is the one
case where SQLite gives up with "database is locked" without waiting.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final, TypeVar
from urllib.parse import quote

from xetrack.errors import (
    CorruptDatabaseError,
    InvalidKeyError,
    StoreLockedError,
    StorePermissionError,
    XetrackError,
)
from xetrack.frames import CHUNK_ROWS, frame_from_chunks
from xetrack.store.base import SqlStore, fork_generation
from xetrack.store.diagnose import disk_full, explain, truncation
from xetrack.store.schema import (
    BLOB,
    BOOLEAN,
    FLOAT,
    INTEGER,
    JSON,
    NULL,
    TEXT,
    encode_json_cell,
    quote_ident,
)

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

#: How long a writer waits for the file's lock before it gives up.
BUSY_TIMEOUT_S: Final = 120.0
#: SQLITE_BUSY and SQLITE_LOCKED (the sqlite3 module names them from Python 3.11 on)
_BUSY_CODES: Final = {
    getattr(sqlite3, "SQLITE_BUSY", 5),
    getattr(sqlite3, "SQLITE_LOCKED", 6),
}

#: PRAGMAs a read-only connection may run with an argument: they name a table or an
#: index to describe. Any other PRAGMA with a value is a setting, and is refused.
_DESCRIBING_PRAGMAS: Final = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "integrity_check",
        "quick_check",
    }
)
#: What a read-only connection refuses even though ``mode=ro`` would let it through:
#: ATTACH (and VACUUM INTO, which attaches its output) creates files anywhere.
_REFUSED_ACTIONS: Final = {
    sqlite3.SQLITE_ATTACH: "ATTACH (and VACUUM INTO)",
    sqlite3.SQLITE_DETACH: "DETACH",
}

# SQLite's primary result codes (the sqlite3 module names them from Python 3.11 on).
_FULL: Final = 13
_READONLY: Final = 8
_CANTOPEN: Final = 14
_IOERR: Final = 10
_PERM: Final = 3
_CORRUPT: Final = 11
_NOTADB: Final = 26
_MESSAGES: Final = {
    "database or disk is full": _FULL,
    "readonly database": _READONLY,
    "unable to open database file": _CANTOPEN,
    "disk I/O error": _IOERR,
    "malformed": _CORRUPT,
    "file is not a database": _NOTADB,
}
#: SQLite's SQLITE_MAX_COLUMN as compiled by default (and by every Python we know).
MAX_COLUMNS: Final = 2000

_LOGICAL: Final = {
    "INTEGER": INTEGER,
    "INT": INTEGER,
    "BIGINT": INTEGER,
    "REAL": FLOAT,
    "DOUBLE": FLOAT,
    "FLOAT": FLOAT,
    "TEXT": TEXT,
    "VARCHAR": TEXT,
    "BOOLEAN": BOOLEAN,
    "BLOB": BLOB,
    "JSON TEXT": JSON,
    "NULL": NULL,
}


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code in _BUSY_CODES
    # Python 3.10 has no error codes on exceptions; its messages are stable.
    return "locked" in str(exc) or "busy" in str(exc)


def retry_busy(
    action: Callable[[], T], what: str, path: str, timeout: float = BUSY_TIMEOUT_S
) -> T:
    """Run ``action``, retrying while another connection holds the lock.

    The busy timeout covers most waits; a few operations (switching to WAL, the
    first read of a file being created) return SQLITE_BUSY at once, so we retry
    those with jittered backoff up to the same deadline.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            if time.monotonic() > deadline:
                raise StoreLockedError(
                    f"{path} stayed locked by another connection for {timeout:g} s "
                    f"while {what}; close long transactions in other processes, or "
                    f"wait longer (Tracker(timeout=...), --xetrack-timeout)"
                ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF  # extended codes carry the primary one in the low byte
    # Python 3.10 has no codes on exceptions; SQLite's messages for these are stable.
    text = str(exc)
    for fragment, found in _MESSAGES.items():
        if fragment in text:
            return found
    return None


class SQLiteStore(SqlStore):
    """One SQLite file (or ``:memory:``); reopened in a forked child."""

    engine = "sqlite"
    SQL_TYPES: ClassVar[Mapping[str, str]] = {
        INTEGER: "INTEGER",
        FLOAT: "REAL",
        TEXT: "TEXT",
        BOOLEAN: "BOOLEAN",
        BLOB: "BLOB",
        # "JSON TEXT" has TEXT affinity, so SQLite never turns a cell's JSON text
        # into a number; the name marks the column as JSON when it is read back
        JSON: "JSON TEXT",
        NULL: '"NULL"',  # quoted: a bare NULL would be read as a constraint
    }
    #: widening changes no declaration: the column still reads as INTEGER
    WIDENED = INTEGER
    #: changing a column's type means replacing it: DROP COLUMN came in 3.35
    can_retype: ClassVar[bool] = sqlite3.sqlite_version_info >= (3, 35, 0)

    def __init__(
        self, path: str, read_only: bool = False, timeout: float = BUSY_TIMEOUT_S
    ) -> None:
        super().__init__(path, read_only)
        self.timeout = float(timeout)
        self._memory = path == ":memory:"
        self._conn: sqlite3.Connection | None = None
        self._generation = -1
        self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self._memory:
            conn = sqlite3.connect(
                ":memory:", isolation_level=None, check_same_thread=False
            )
        elif self.read_only:
            conn = self._connect_read_only()
        else:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.timeout,
            )
        if not self._memory and not self.read_only:
            retry_busy(
                lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone(),
                "switching to WAL",
                self.path,
                self.timeout,
            )
            # WAL + NORMAL: a commit is durable against a crash of the process, and
            # does not fsync on every row (the OS can lose the last rows on power loss).
            conn.execute("PRAGMA synchronous=NORMAL")
        self._conn = conn
        self._generation = fork_generation()
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that cannot change or create any file.

        ``mode=ro`` refuses writes to this database; ``query_only`` and an authorizer
        refuse what ``mode=ro`` lets through (ATTACH, VACUUM INTO, settings). In a
        read-only directory, where SQLite cannot make the WAL's shared-memory file,
        the file is opened ``immutable``: nobody can be writing it there.
        """
        path = Path(self.path).resolve()
        base = "file:" + quote(str(path))
        conn = None
        try:
            conn = sqlite3.connect(
                base + "?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.timeout,
            )
            retry_busy(
                lambda: conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall(),  # type: ignore[union-attr]
                "opening",
                self.path,
                self.timeout,
            )
        except sqlite3.OperationalError as exc:
            if conn is not None:
                conn.close()
            # SQLite says CANTOPEN or READONLY when it cannot make the -shm file.
            wal = path.with_name(path.name + "-wal")
            if _primary_code(exc) not in (_CANTOPEN, _READONLY) or wal.exists():
                raise
            conn = sqlite3.connect(
                base + "?immutable=1",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        conn.execute("PRAGMA query_only = 1")
        conn.set_authorizer(self._authorize)
        return conn

    def _authorize(
        self,
        action: int,
        first: str | None,
        second: str | None,
        _database: str | None,
        _trigger: str | None,
    ) -> int:
        refused = _REFUSED_ACTIONS.get(action)
        if refused is None and action == sqlite3.SQLITE_PRAGMA and second is not None:
            if (first or "").lower() not in _DESCRIBING_PRAGMAS:
                refused = f"PRAGMA {first} = ..."
        if refused is None:
            return sqlite3.SQLITE_OK
        self.refused = refused
        return sqlite3.SQLITE_DENY

    @property
    def conn(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None or self._generation != fork_generation():
            # A connection must not cross fork(); the parent keeps using its own.
            self._schemas.clear()
            conn = self._connect()
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._generation == fork_generation():
                self._conn.close()
            self._conn = None

    def tables(self) -> list[str]:
        _, rows = self.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
        )
        return [r[0] for r in rows]

    def _read_schema(self, table: str) -> list[tuple[str, str]]:
        rows = retry_busy(
            lambda: self.conn.execute(
                "SELECT name, type FROM pragma_table_info(?)", (table,)
            ).fetchall(),
            "reading the schema",
            self.path,
            self.timeout,
        )
        return [(name, sql_type) for name, sql_type in rows]

    def _logical(self, sql_type: str) -> str | None:
        return _LOGICAL.get(sql_type.upper())

    def _schema_token(self, table: str) -> object:
        # bumped by every schema change of the file, by any connection
        return self.conn.execute("PRAGMA schema_version").fetchone()[0]

    def _index_exists(self, name: str) -> bool:
        found = retry_busy(
            lambda: self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                (name,),
            ).fetchone(),
            "reading the schema",
            self.path,
        )
        return found is not None

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[None]:
        conn = self.conn
        if conn.in_transaction:  # nested: the outer transaction owns the lock
            yield
            return
        retry_busy(
            lambda: conn.execute("BEGIN IMMEDIATE"),
            "starting a write",
            self.path,
            self.timeout,
        )
        try:
            yield
        except BaseException:
            # SQLite may have rolled back already (a full disk does): a failing
            # ROLLBACK must not hide the error that says what happened.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        retry_busy(
            lambda: conn.execute("COMMIT"), "committing", self.path, self.timeout
        )

    def _execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        conn = self.conn
        return retry_busy(
            lambda: conn.execute(sql, params), "running SQL", self.path, self.timeout
        )

    def _executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        self.conn.executemany(sql, rows)

    def _insert_fast(self, sql: str, row: tuple[object, ...]) -> None:
        conn = self.conn
        try:  # the hot path of log(): no closure, no retry loop unless it is needed
            conn.execute(sql, row)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            retry_busy(
                lambda: conn.execute(sql, row),
                "inserting a row",
                self.path,
                self.timeout,
            )

    def _is_schema_error(self, exc: BaseException) -> bool:
        # sqlite3 has one exception class for these; the messages are SQLite's own
        # and stable across versions.
        if not isinstance(exc, sqlite3.OperationalError):
            return False
        text = str(exc)
        return text.startswith("no such table") or "has no column named" in text

    def _translate(self, exc: Exception, what: str) -> XetrackError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        code = _primary_code(exc)
        if code == _FULL:
            return disk_full(self.path, what)
        if code in (_READONLY, _CANTOPEN, _IOERR, _PERM):
            found = explain(self.path, write=code != _CANTOPEN or not self.read_only)
            if found is not None:
                return found
            if code == _READONLY:
                return StorePermissionError(
                    f"cannot write {self.path}: it is open read-only here; write "
                    f"with a Tracker (or Reader.set_value)"
                )
            return None
        if code in (_CORRUPT, _NOTADB):
            return CorruptDatabaseError(
                truncation(Path(self.path))
                or f"{self.path} is damaged ({exc}) while {what} it; restore it "
                f"from a copy"
            )
        if "too many columns" in str(exc):
            return InvalidKeyError(
                f"a table of {self.path} would have more than {MAX_COLUMNS} columns, "
                f"SQLite's limit; log fewer distinct keys per table (table=...) or "
                f"use engine='duckdb'"
            )
        return None

    def _widen_to_float(self, table: str, column: str) -> None:
        """Nothing to do: SQLite stores a float exactly in an INTEGER column (a float
        with no fraction reads back as an int of the same value)."""

    def _retype(self, table: str, column: str, old: str | None, new: str) -> None:
        """SQLite cannot change a declared type: a new column takes the values (as
        JSON text, for JSON), the old one is dropped and the new one renamed. The
        column moves to the end of the table."""
        q, name = quote_ident(table), quote_ident(column)
        temp = quote_ident(f"{column} (retyped {secrets.token_hex(4)})")
        self._execute(f"ALTER TABLE {q} ADD COLUMN {temp} {self.SQL_TYPES[new]}")
        if new == JSON:
            _, rows = self.query(
                f"SELECT rowid, {name} FROM {q} WHERE {name} IS NOT NULL"
            )
            flag = old == BOOLEAN  # SQLite keeps booleans as 0/1
            self._executemany(
                f"UPDATE {q} SET {temp} = ? WHERE rowid = ?",
                [
                    (encode_json_cell(bool(v) if flag else v), rowid)
                    for rowid, v in rows
                ],
            )
        else:
            self._execute(f"UPDATE {q} SET {temp} = {name} WHERE {name} IS NOT NULL")
        self._execute(f"ALTER TABLE {q} DROP COLUMN {name}")
        self._execute(f"ALTER TABLE {q} RENAME COLUMN {temp} TO {name}")

    def query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._lock, self._driver("reading"):
            cursor = self._execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            chunks = iter(lambda: cursor.fetchmany(CHUNK_ROWS), [])
            return frame_from_chunks(names, chunks)

    def iter_df(
        self, sql: str, params: Sequence[object] = (), size: int = CHUNK_ROWS
    ) -> Iterator[pd.DataFrame]:
        # A cursor of its own, read under the lock a batch at a time: other calls
        # on this connection may run between batches (WAL keeps the snapshot).
        with self._lock, self._driver("reading"):
            cursor = self._execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        try:
            while True:
                with self._lock, self._driver("reading"):
                    rows = cursor.fetchmany(size)
                if not rows:
                    return
                yield frame_from_chunks(names, [rows])
        finally:
            cursor.close()
