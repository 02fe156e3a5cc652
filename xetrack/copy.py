"""Copying rows (and assets) between two stores, of either engine, without duplicates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xetrack.errors import UnknownTableError
from xetrack.runs import copy_records
from xetrack.store import detect_engine, open_store
from xetrack.store.schema import FIXED_COLUMNS, is_internal
from xetrack.table import EventTable

if TYPE_CHECKING:
    from xetrack import Tracker
    from xetrack.store.base import SqlStore


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
) -> int:
    """Copy the rows of ``source`` into ``target``; return how many rows were added.

    Either engine on either side; ``engine`` chooses the engine of a new target (by
    default the source's). Missing tables and columns are created with their types.
    A row already in the target (the same run, timestamp and place among the rows
    sharing them) is recognised, even after ``xt set`` changed it there, so copying
    twice adds nothing. With ``assets``, objects come along once.

    >>> import os, tempfile
    >>> from xetrack import Tracker
    >>> folder = tempfile.mkdtemp()
    >>> src, dst = os.path.join(folder, "a.db"), os.path.join(folder, "b.db")
    >>> Tracker(src).log({"x": 1})["x"]
    1
    >>> copy(src, dst), copy(src, dst)
    (1, 0)
    """
    from xetrack import Tracker

    reader = open_store(source, read_only=True)
    # A new target takes ``engine`` or the source's; an existing one keeps its own.
    target_engine = engine or (None if detect_engine(target) else reader.engine)
    try:
        chosen = (
            list(tables)
            if tables
            else [t for t in reader.tables() if not is_internal(t)]
        )
        for table in chosen:
            if not reader.schema(table, refresh=True).types:
                raise UnknownTableError(
                    f"no table {table!r} in {source}; tables there: "
                    f"{', '.join(repr(t) for t in reader.tables() if not is_internal(t))}"
                )
        added = 0
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
                target_names, target_rows = EventTable(writer._store, table).rows()
                existing = Counter(_identity(target_names, r) for r in target_rows)
                fresh = []
                for row in rows:
                    key = _identity(names, row)
                    if existing[key]:
                        existing[key] -= 1
                        continue
                    fresh.append(dict(zip(names, row, strict=True)))
                added += writer.write_rows(fresh, fill=False)
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


def _copy_assets(reader: SqlStore, writer: Tracker) -> None:
    from xetrack.assets import AssetStore

    source = AssetStore(lambda: reader)
    target = writer.assets
    known = set(target.hashes())
    for hashed in source.hashes():
        if hashed not in known:
            target.put_pickled(hashed, source.pickled(hashed))
