"""Content-addressed object store in the same database file as the rows.

A value that is not a primitive, list or dict is pickled with cloudpickle; its
digest is the asset's hash and the row's cell holds that hash. The same object
logged 1,000 times is pickled 1,000 times but stored once.
"""

from __future__ import annotations

import builtins
import hashlib
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from xetrack.errors import ConnectionLostError, InvalidValueError, XetrackError
from xetrack.store.schema import (
    ASSETS_TABLE,
    BLOB,
    BOOLEAN,
    INTEGER,
    TEXT,
    quote_ident,
)
from xetrack.values import now

if TYPE_CHECKING:
    import pandas as pd

    from xetrack.store.base import SqlStore

_COLUMNS: Final = {"hash": TEXT, "data": BLOB, "compressed": BOOLEAN, "size": INTEGER}
_Q: Final = quote_ident(ASSETS_TABLE)


class UnknownAssetError(XetrackError, LookupError):
    """A hash that names no asset in the database."""


def digest(data: bytes) -> str:
    """The hash of pickled bytes: 128-bit BLAKE2b, 32 hex characters."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class AssetStore:
    """Assets of one database: put, get, list, export, remove.

    >>> from xetrack import Tracker
    >>> tracker = Tracker(Tracker.IN_MEMORY)
    >>> row = tracker.log({"model": {1, 2, 3}})   # a set is not JSON: an asset
    >>> tracker.get(row["model"])
    {1, 2, 3}
    """

    def __init__(
        self,
        store: Callable[[], SqlStore],
        compress: bool = False,
        writer: Callable[[], SqlStore] | None = None,
    ) -> None:
        # Callables, because a Reader opens its writable store only when asked to write.
        self._reader = store
        self._writer = writer or store
        self._compress = compress
        self._known: set[str] = set()
        self._ready = False

    @property
    def _store(self) -> SqlStore:
        return self._reader()

    def _ensure(self) -> None:
        if not self._ready:
            self._writer().ensure_table(ASSETS_TABLE, _COLUMNS)
            self._ready = True

    def _exists_table(self) -> bool:
        return bool(self._store.schema(ASSETS_TABLE).types) or bool(
            self._store.schema(ASSETS_TABLE, refresh=True).types
        )

    def put(
        self, value: object, key: str = "value", track_id: str | None = None
    ) -> str:
        """Store ``value`` once; return its hash. ``key`` names it in errors."""
        import cloudpickle

        try:
            data = cloudpickle.dumps(value)
        except Exception as exc:
            raise InvalidValueError(
                f"value of {key!r} ({type(value).__name__}) cannot be pickled to be "
                f"stored as an asset: {exc}; log something picklable, or a str of it"
            ) from exc
        return self._store_bytes(digest(data), data, track_id)

    def put_pickled(self, hashed: str, data: bytes, track_id: str | None = None) -> str:
        """Store cloudpickle bytes read from another store under their hash."""
        if digest(data) != hashed:
            raise InvalidValueError(
                f"asset bytes do not match their hash {hashed!r}; they were changed "
                f"or truncated on the way"
            )
        return self._store_bytes(hashed, data, track_id)

    def _store_bytes(self, hashed: str, data: bytes, track_id: str | None) -> str:
        if hashed in self._known:
            return hashed
        store = self._writer()
        stored = zlib.compress(data) if self._compress else data
        row = {
            "timestamp": now(),
            "track_id": track_id,
            "hash": hashed,
            "data": stored,
            "compressed": self._compress,
            "size": len(data),
        }
        try:
            self._ensure()
            # Look and insert under the write lock, so two processes storing the
            # same object at once still store it once.
            with store.transaction():
                _, found = store.query(
                    f"SELECT 1 FROM {_Q} WHERE hash = ? LIMIT 1", [hashed]
                )
                if not found:
                    store.insert(ASSETS_TABLE, [row])
        except ConnectionLostError:
            # A server that went away: the store keeps the asset with the rows it
            # spools, and copying them in later stores it once, by its hash.
            store.insert(ASSETS_TABLE, [row])
        self._known.add(hashed)
        return hashed

    def pickled(self, hashed: str) -> bytes:
        """The plain cloudpickle bytes of an asset (uncompressed)."""
        if not self._exists_table():
            raise UnknownAssetError(
                f"no asset {hashed!r}: {self._store.path} has no assets"
            )
        _, rows = self._store.query(
            f"SELECT data, compressed FROM {_Q} WHERE hash = ? LIMIT 1", [hashed]
        )
        if not rows:
            raise UnknownAssetError(
                f"no asset {hashed!r} in {self._store.path}; list them with "
                f"`xt assets ls {self._store.path}`"
            )
        data, compressed = rows[0]
        data = bytes(data)
        return zlib.decompress(data) if compressed else data

    def get(self, hashed: str) -> Any:
        """The object stored under ``hashed``."""
        import cloudpickle

        return cloudpickle.loads(self.pickled(hashed))

    def export(self, hashed: str, path: str | Path) -> Path:
        """Write the asset's plain cloudpickle bytes to ``path``."""
        target = Path(path)
        target.write_bytes(self.pickled(hashed))
        return target

    def list(self) -> pd.DataFrame:
        """One row per asset: hash, size (pickled bytes), compressed, first track_id."""
        import pandas as pd

        if not self._exists_table():
            return pd.DataFrame(
                columns=["hash", "size", "compressed", "track_id", "timestamp"]
            )
        return self._store.query_df(
            f"SELECT hash, size, compressed, track_id, timestamp FROM {_Q} ORDER BY rowid"
        )

    def hashes(self) -> builtins.list[str]:
        if not self._exists_table():
            return []
        _, rows = self._store.query(f"SELECT hash FROM {_Q} ORDER BY rowid")
        return [r[0] for r in rows]

    def __len__(self) -> int:
        """How many objects are stored."""
        if not self._exists_table():
            return 0
        _, rows = self._store.query(f"SELECT COUNT(*) FROM {_Q}")
        return int(rows[0][0])

    def __contains__(self, hashed: object) -> bool:
        if not isinstance(hashed, str) or not self._exists_table():
            return False
        _, rows = self._store.query(
            f"SELECT 1 FROM {_Q} WHERE hash = ? LIMIT 1", [hashed]
        )
        return bool(rows)

    def remove(self, hashed: str) -> bool:
        """Delete one asset; True if it existed. Rows that name it keep the hash."""
        if hashed not in self:
            raise UnknownAssetError(f"no asset {hashed!r} in {self._store.path}")
        self._writer().delete(ASSETS_TABLE, {"hash": hashed})
        self._known.discard(hashed)
        return True

    def remove_orphans(self) -> int:
        """Delete assets that no text cell of any event table names; return how many.

        One query per text column, so a table of any width works (SQLite allows 500
        terms in one compound SELECT); run it inside a transaction to make it part
        of a larger change.
        """
        if not self._exists_table():
            return 0
        # The writer's connection sees the rows a surrounding transaction deleted.
        store = self._writer()
        _, found = store.query(f"SELECT hash FROM {_Q}")
        unnamed = {r[0] for r in found}
        for table in store.tables():
            if table == ASSETS_TABLE or not unnamed:
                continue
            types = store.schema(table, refresh=True).types
            for column, logical in types.items():
                if (
                    logical != TEXT
                    or column in ("timestamp", "track_id")
                    or not unnamed
                ):
                    continue
                name = quote_ident(column)
                _, rows = store.query(
                    f"SELECT DISTINCT {name} FROM {quote_ident(table)} WHERE {name} IN "
                    f"(SELECT hash FROM {_Q})"
                )
                unnamed.difference_update(r[0] for r in rows)
        with store.transaction():
            for hashed in unnamed:
                store.delete(ASSETS_TABLE, {"hash": hashed})
        self._known.clear()
        return len(unnamed)
