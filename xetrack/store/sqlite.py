"""SQLite engine (stdlib ``sqlite3``): WAL, a busy timeout, retries on lock races.

The connection runs in autocommit mode (``isolation_level=None``) and every write
that is more than one statement opens ``BEGIN IMMEDIATE`` itself: taking the write
lock up front means a reader never has to upgrade to a writer, which is the one
case where SQLite gives up with "database is locked" without waiting.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final, TypeVar
from urllib.parse import quote

from xetrack.errors import StoreLockedError
from xetrack.store.base import SqlStore, fork_generation
from xetrack.store.frames import CHUNK_ROWS, frame_from_chunks
from xetrack.store.schema import (
    BLOB,
    BOOLEAN,
    FLOAT,
    INTEGER,
    TEXT,
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
}


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code in _BUSY_CODES
    # Python 3.10 has no error codes on exceptions; its messages are stable.
    return "locked" in str(exc) or "busy" in str(exc)


def retry_busy(action: Callable[[], T], what: str, path: str) -> T:
    """Run ``action``, retrying while another connection holds the lock.

    The busy timeout covers most waits; a few operations (switching to WAL, the
    first read of a file being created) return SQLITE_BUSY at once, so we retry
    those with jittered backoff up to the same deadline.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.001
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            if time.monotonic() > deadline:
                raise StoreLockedError(
                    f"{path} stayed locked by another connection for "
                    f"{BUSY_TIMEOUT_S:.0f} s while {what}; close long transactions "
                    f"in other processes"
                ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)


class SQLiteStore(SqlStore):
    """One SQLite file (or ``:memory:``); reopened in a forked child."""

    engine = "sqlite"
    SQL_TYPES: ClassVar[Mapping[str, str]] = {
        INTEGER: "INTEGER",
        FLOAT: "REAL",
        TEXT: "TEXT",
        BOOLEAN: "BOOLEAN",
        BLOB: "BLOB",
    }
    #: widening changes no declaration: the column still reads as INTEGER
    WIDENED = INTEGER

    def __init__(self, path: str, read_only: bool = False) -> None:
        super().__init__(path, read_only)
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
            uri = "file:" + quote(str(Path(self.path).resolve())) + "?mode=ro"
            conn = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_S,
            )
        else:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_S,
            )
        if not self._memory and not self.read_only:
            retry_busy(
                lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone(),
                "switching to WAL",
                self.path,
            )
            # WAL + NORMAL: a commit is durable against a crash of the process, and
            # does not fsync on every row (the OS can lose the last rows on power loss).
            conn.execute("PRAGMA synchronous=NORMAL")
        self._conn = conn
        self._generation = fork_generation()
        return conn

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
            lambda: conn.execute("BEGIN IMMEDIATE"), "starting a write", self.path
        )
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        retry_busy(lambda: conn.execute("COMMIT"), "committing", self.path)

    def _execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        conn = self.conn
        return retry_busy(lambda: conn.execute(sql, params), "running SQL", self.path)

    def _executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        self.conn.executemany(sql, rows)

    def _insert_fast(self, sql: str, row: tuple[object, ...]) -> None:
        conn = self.conn
        try:  # the hot path of log(): no closure, no retry loop unless it is needed
            conn.execute(sql, row)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            retry_busy(lambda: conn.execute(sql, row), "inserting a row", self.path)

    def _widen_to_float(self, table: str, column: str) -> None:
        """Nothing to do: SQLite stores a float exactly in an INTEGER column (a float
        with no fraction reads back as an int of the same value)."""

    def query_df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._lock:
            cursor = self._execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            chunks = iter(lambda: cursor.fetchmany(CHUNK_ROWS), [])
            return frame_from_chunks(names, chunks)

    def iter_df(
        self, sql: str, params: Sequence[object] = (), size: int = CHUNK_ROWS
    ) -> Iterator[pd.DataFrame]:
        # A cursor of its own, read under the lock a batch at a time: other calls
        # on this connection may run between batches (WAL keeps the snapshot).
        with self._lock:
            cursor = self._execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        try:
            while True:
                with self._lock:
                    rows = cursor.fetchmany(size)
                if not rows:
                    return
                yield frame_from_chunks(names, [rows])
        finally:
            cursor.close()
