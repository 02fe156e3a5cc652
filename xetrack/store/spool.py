"""Local spools: rows a lost server connection could not write, kept on this machine.

A spool is an SQLite file, so anything that reads a store reads it, and ``copy()``
(``xt copy SPOOL URL``) pushes it, recognising rows the server already has. Each
writing process has its own file in a folder per server target (host, port,
database, schema: never a user or password), under ``$XETRACK_SPOOL_DIR`` or
``~/.cache/xetrack/spool``. While its process lives, a spool's ``.lock`` file is
locked (``flock``); the kernel drops that lock when the process ends, however it
ends, so a spool whose lock can be taken belongs to nobody and may be pushed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from xetrack.store.schema import FIXED_COLUMNS, Schema

if TYPE_CHECKING:
    from xetrack.store.sqlite import SQLiteStore

#: Set it to keep spools elsewhere (a folder CI keeps between steps, a test's tmp).
SPOOL_ENV: Final = "XETRACK_SPOOL_DIR"
SUFFIX: Final = ".db"


def spool_root() -> Path:
    """Where spools of every server target are kept."""
    chosen = os.environ.get(SPOOL_ENV)
    if chosen:
        return Path(chosen)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "xetrack" / "spool"


def target_folder(host: str, port: str, dbname: str, schema: str) -> Path:
    """The folder of one server target's spools, named so a person can tell it."""
    where = f"{host}:{port}/{dbname}/{schema}"
    digest = hashlib.blake2b(where.encode(), digest_size=6).hexdigest()
    readable = "".join(c if c.isalnum() or c in "-_." else "_" for c in where)
    return spool_root() / f"{readable[:80]}-{digest}"


def _lock_path(spool: Path) -> Path:
    return spool.with_name(spool.name + ".lock")


def _try_lock(path: Path) -> IO[bytes] | None:
    """``path`` opened and locked for us, or None when another process holds it."""
    handle = open(path, "ab")  # kept open: the lock lives as long as it does
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


class Spool:
    """This process's spool for one server target, made on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = (
            folder
            / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        )
        self._lock: IO[bytes] | None = None
        self._store: SQLiteStore | None = None

    @property
    def store(self) -> SQLiteStore:
        if self._store is None:
            from xetrack.store.sqlite import SQLiteStore

            self.folder.mkdir(parents=True, exist_ok=True)
            # The lock first: a spool file never exists without a live owner.
            self._lock = _try_lock(_lock_path(self.path))
            self._store = SQLiteStore(str(self.path))
        return self._store

    @property
    def used(self) -> bool:
        return self._store is not None

    def keep(
        self,
        table: str,
        rows: Sequence[Mapping[str, object]],
        hints: Mapping[str, str] | None,
        server: Schema | None,
    ) -> None:
        """Write ``rows`` here, in columns typed as the server's ``schema`` (as far
        as it is known), so that the rows fit them when they are pushed."""
        columns = {
            name: logical
            for name, logical in (server.types.items() if server is not None else ())
            if logical is not None and name not in FIXED_COLUMNS
        }
        self.store.ensure_table(table, columns)
        self.store.insert(table, rows, hints)

    def close(self) -> None:
        """Close the file and let it go: the next pusher may take it."""
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None


@contextlib.contextmanager
def orphans(folder: Path) -> Iterator[list[Path]]:
    """The spools in ``folder`` that no live process owns, locked for the caller
    (who pushes them and calls :func:`remove`); live spools are left alone."""
    held: list[tuple[Path, IO[bytes]]] = []
    try:
        for spool in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
            handle = _try_lock(_lock_path(spool))
            if handle is None:
                continue
            if spool.exists():  # another pusher may have finished it meanwhile
                held.append((spool, handle))
            else:
                handle.close()
        yield [spool for spool, _ in held]
    finally:
        for _, handle in held:
            handle.close()


def remove(spool: Path) -> None:
    """Delete a pushed spool (its SQLite side files and lock file too)."""
    for path in (
        spool,
        spool.with_name(spool.name + "-wal"),
        spool.with_name(spool.name + "-shm"),
        _lock_path(spool),
    ):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    with contextlib.suppress(OSError):
        spool.parent.rmdir()  # only when it was the last one
