"""Copying rows (and assets) between two stores, of any engine, without duplicates."""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xetrack.errors import UnknownTableError
from xetrack.runs import copy_records
from xetrack.store import FILE_ENGINES, detect_engine, open_store
from xetrack.store.base import where_clause
from xetrack.store.location import display
from xetrack.store.schema import FIXED_COLUMNS, is_internal, quote_ident
from xetrack.table import EventTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from xetrack import Tracker
    from xetrack.store.base import SqlStore


#: set while a copy or a push runs in this thread: the trackers it opens push nothing
_pushing = threading.local()


#: Rows written between two progress reports.
_PART = 50_000


def _identity(names: Sequence[str], row: Sequence[object]) -> tuple[object, object]:
    """A row's identity: its run and timestamp, which nothing changes after the row
    is written (``xt set`` refuses both), NULL ones included. Rows that share them
    (one log_batch) are told apart by their order, which copying keeps."""
    record = dict(zip(names, row, strict=True))
    return record.get("track_id"), record.get("timestamp")


def copy(
    source: str | Path,
    target: str | Path,
    assets: bool = True,
    tables: Sequence[str] | None = None,
    engine: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Copy the rows of ``source`` into ``target``; return how many rows were added.

    Any engine on either side, a file or a ``postgresql://`` URL; ``engine`` chooses
    the engine of a new target file (by default the source's, SQLite when the source
    is a server). Missing tables and columns are created with their types.
    A row already in the target (the same run, timestamp and place among the rows
    sharing them) is recognised, even after ``xt set`` changed it there, so copying
    twice adds nothing. With ``assets``, objects come along once. ``progress(done,
    total)`` is told the source rows looked at so far (``xt copy`` draws it at a
    terminal); each table's new rows still commit together.

    >>> import os, tempfile
    >>> from xetrack import Tracker
    >>> folder = tempfile.TemporaryDirectory()
    >>> src, dst = (os.path.join(folder.name, n) for n in ("a.db", "b.db"))
    >>> Tracker(src).log({"x": 1})["x"]
    1
    >>> copy(src, dst), copy(src, dst)
    (1, 0)
    >>> folder.cleanup()
    """
    # The trackers opened here push no spools: the source may be one (xt copy
    # SPOOL URL), and a push meanwhile would copy it under our feet.
    pushing, _pushing.active = getattr(_pushing, "active", False), True
    try:
        return _copy(source, target, assets, tables, engine, progress)
    finally:
        _pushing.active = pushing


def _copy(
    source: str | Path,
    target: str | Path,
    assets: bool,
    tables: Sequence[str] | None,
    engine: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    from xetrack import Tracker

    reader = open_store(source, read_only=True)
    # A new target takes ``engine`` or the source's; an existing one keeps its own.
    target_engine = engine or (
        None
        if detect_engine(target) or reader.engine not in FILE_ENGINES
        else reader.engine
    )
    try:
        chosen = (
            list(tables)
            if tables
            else [t for t in reader.tables() if not is_internal(t)]
        )
        for table in chosen:
            if not reader.schema(table, refresh=True).types:
                raise UnknownTableError(
                    f"no table {table!r} in {display(source)}; tables there: "
                    f"{', '.join(repr(t) for t in reader.tables() if not is_internal(t))}"
                )
        added = seen = 0
        total = sum(EventTable(reader, t).count() for t in chosen) if progress else 0
        for index, table in enumerate(chosen):
            names, rows = EventTable(reader, table).rows()
            types = reader.schema(table).types
            writer = Tracker(target, engine=target_engine, table=table)
            try:
                if index == 0 and assets:
                    _copy_assets(reader, writer)
                # the source's logical types, JSON and untyped columns included
                writer._store.ensure_table(
                    table,
                    {
                        n: t
                        for n, t in types.items()
                        if t is not None and n not in FIXED_COLUMNS
                    },
                )
                # the source's records first: rows alone cannot say how a run ended
                copy_records(reader, writer._store, table)
                existing = _identities(writer._store, table, names, rows)
                fresh = []
                for row in rows:
                    key = _identity(names, row)
                    if existing[key]:
                        existing[key] -= 1
                        continue
                    fresh.append(dict(zip(names, row, strict=True)))
                # in parts, so progress moves; one transaction: all or nothing
                with writer._store.transaction():
                    for start in range(0, max(len(fresh), 1), _PART):
                        added += writer.write_rows(
                            fresh[start : start + _PART], fill=False
                        )
                        if progress is not None:
                            progress(seen + min(start + _PART, len(rows)), total)
                seen += len(rows)
                if progress is not None:
                    progress(seen, total)
            finally:
                writer.close()
        if assets and not chosen:
            writer = Tracker(target, engine=target_engine)
            try:
                _copy_assets(reader, writer)
            finally:
                writer.close()
        return added
    finally:
        reader.close()


def _identities(
    store: SqlStore,
    table: str,
    names: Sequence[str],
    rows: Sequence[Sequence[object]],
) -> Counter[tuple[object, object]]:
    """How many rows of each identity the target holds, among the runs the source
    has: read through the track_id index, never the whole of a shared table."""
    runs = sorted({_identity(names, r)[0] for r in rows}, key=str)
    found: Counter[tuple[object, object]] = Counter()
    for start in range(0, len(runs), 500):
        clause, params = where_clause({"track_id": runs[start : start + 500]})
        _, rows_there = store.query(
            f"SELECT track_id, timestamp FROM {quote_ident(table)}{clause}", params
        )
        found.update((r[0], r[1]) for r in rows_there)
    return found


def _copy_assets(reader: SqlStore, writer: Tracker) -> None:
    from xetrack.assets import AssetStore

    source = AssetStore(lambda: reader)
    target = writer.assets
    known = set(target.hashes())
    for hashed in source.hashes():
        if hashed not in known:
            target.put_pickled(hashed, source.pickled(hashed))


def push_spools(db: str, folder: Path | None) -> int:
    """Copy into the server ``db`` the spools in ``folder`` that no live process
    owns (rows an earlier run could not write), and remove each once it is in;
    return how many rows were added. A spool that cannot be pushed stays, with a
    warning that says how to push it by hand."""
    if folder is None or getattr(_pushing, "active", False):
        return 0  # the trackers a push or a copy opens do not push again
    from xetrack.errors import XetrackError
    from xetrack.store.spool import orphans, remove

    added = 0
    with orphans(folder) as spools:
        for spool in spools:
            try:
                added += copy(str(spool), db)
            except XetrackError as exc:
                warnings.warn(
                    f"rows kept in {spool} could not be pushed to {display(db)}: "
                    f"{exc}; push them with `xt copy {spool} URL`",
                    stacklevel=2,
                )
                continue
            remove(spool)
    return added
