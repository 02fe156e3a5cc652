"""Opening a store: a database file with the engine that wrote it, or a server URL."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from xetrack.errors import (
    DatabaseNotFoundError,
    EngineMismatchError,
    InvalidArgumentError,
    NotADatabaseError,
    StorePermissionError,
)
from xetrack.store.base import SqlStore, Store
from xetrack.store.location import display, is_server_url

Engine = Literal["sqlite", "duckdb", "postgres"]
ENGINES: Final = ("sqlite", "duckdb", "postgres")
#: The engines that keep a store in a file.
FILE_ENGINES: Final = ("sqlite", "duckdb")
MEMORY: Final = ":memory:"

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_DUCKDB_MAGIC: Final = b"DUCK"  # bytes 8..12 of a DuckDB file

__all__ = [
    "ENGINES",
    "Engine",
    "SqlStore",
    "Store",
    "detect_engine",
    "display",
    "is_server_url",
    "open_store",
]


def detect_engine(path: str | Path) -> Engine | None:
    """The engine that wrote ``path``; None for a missing or empty file;
    ``"postgres"`` for a server URL (without connecting).

    Raises :class:`NotADatabaseError` for a file of any other kind.
    """
    if is_server_url(path):
        return "postgres"
    try:
        with open(path, "rb") as handle:
            header = handle.read(16)
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        from xetrack.store.diagnose import explain

        raise (
            explain(str(path), write=False)
            or StorePermissionError(f"cannot read {path}: permission denied")
        ) from exc
    except IsADirectoryError as exc:
        raise NotADatabaseError(
            f"{path} is a directory, not a database file; pass a file path such as "
            f"{str(Path(path) / 'track.db')!r}"
        ) from exc
    if not header:
        return None
    if header.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if header[8:12] == _DUCKDB_MAGIC:
        return "duckdb"
    raise NotADatabaseError(
        f"{path} is neither an SQLite nor a DuckDB database (it starts with "
        f"{header[:8]!r}); point xetrack at a .db file it wrote, or a new path"
    )


def check_engine(engine: object) -> Engine | None:
    """``engine`` as one of :data:`ENGINES` (any letter case), or None."""
    if engine is None:
        return None
    if isinstance(engine, str) and engine.lower() in ENGINES:
        return engine.lower()  # type: ignore[return-value]
    raise InvalidArgumentError(
        f"engine {engine!r} is not known; use one of {', '.join(map(repr, ENGINES))}"
    )


def open_store(
    path: str | Path,
    engine: str | None = None,
    read_only: bool = False,
    timeout: float | None = None,
) -> SqlStore:
    """Open (or, unless ``read_only``, create) the database at ``path``.

    ``engine=None`` uses the engine that wrote the file, SQLite for a new file; a
    ``postgresql://`` URL is a PostgreSQL server. Raises
    :class:`DatabaseNotFoundError` when ``read_only`` and nothing is there,
    :class:`NotADatabaseError` for other files and :class:`EngineMismatchError`
    when ``engine`` names the other engine than the file's. ``timeout``: how long
    a writer waits for another's lock (default 120 s); on a server also how long
    a lost connection is tried again.
    """
    requested = check_engine(engine)
    text = str(path)
    if is_server_url(path) or requested == "postgres":
        return _open_server(text, requested, read_only, timeout)
    if text == MEMORY:
        found: Engine | None = None
    else:
        found = detect_engine(text)
        if found is None and read_only:
            if not Path(text).exists():
                raise DatabaseNotFoundError(
                    f"no database at {text}; check the path (a Reader never creates "
                    f"files: log with a Tracker first)"
                )
            raise NotADatabaseError(f"{text} is an empty file, not a database yet")
        if found is not None and requested is not None and found != requested:
            raise EngineMismatchError(
                f"{text} is a {found} database but engine={requested!r} was asked for; "
                f"open it with engine={found!r} (or engine=None to detect it), or use "
                f"xetrack.copy to convert it"
            )
        if found is None and not read_only:
            parent = Path(text).parent
            if not parent.is_dir():
                raise DatabaseNotFoundError(
                    f"cannot create {text}: the folder {str(parent)!r} does not exist"
                )
    chosen: Engine = found or requested or "sqlite"
    if chosen == "duckdb":
        from xetrack.store.duckdb import DuckDBStore

        if found is None and not read_only and text != MEMORY:
            _remove_if_empty(Path(text))

        return DuckDBStore(text, read_only=read_only)
    from xetrack.store.sqlite import BUSY_TIMEOUT_S, SQLiteStore

    try:
        return SQLiteStore(
            text,
            read_only=read_only,
            timeout=BUSY_TIMEOUT_S if timeout is None else timeout,
        )
    except Exception as exc:
        import sqlite3

        if isinstance(exc, sqlite3.DatabaseError):
            from xetrack.store.diagnose import explain

            # The file system's reason (permission, read-only mount, truncation)
            # before SQLite's "unable to open database file".
            raise (
                explain(text, write=not read_only)
                or NotADatabaseError(f"{text} cannot be opened as SQLite: {exc}")
            ) from exc
        raise


def _open_server(
    text: str, requested: Engine | None, read_only: bool, timeout: float | None
) -> SqlStore:
    if not is_server_url(text):
        raise InvalidArgumentError(
            f"engine='postgres' needs a server URL such as "
            f"postgresql://user@host:5432/dbname, not {display(text)!r}"
        )
    if requested not in (None, "postgres"):
        raise EngineMismatchError(
            f"{display(text)} is a PostgreSQL server but engine={requested!r} was "
            f"asked for; leave engine=None (the URL says the engine), or use "
            f"xetrack.copy to copy it into a {requested} file"
        )
    from xetrack.store.postgres import PostgresStore

    return PostgresStore(text, read_only=read_only, timeout=timeout)


def _remove_if_empty(path: Path) -> None:
    """DuckDB refuses an existing empty file (``touch``, ``NamedTemporaryFile``) that
    SQLite takes as a new database: remove it so DuckDB creates the file, alike."""
    try:
        if path.stat().st_size == 0:
            path.unlink()
    except OSError:  # gone already, or not ours to remove: DuckDB reports the rest
        pass
