"""One event table of a store: the queries Tracker and Reader share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xetrack.errors import InvalidArgumentError, UnknownColumnError
from xetrack.store.base import SqlStore, where_clause
from xetrack.store.schema import (
    BOOLEAN,
    FIXED_COLUMNS,
    JSON,
    TEXT,
    decode_json_cell,
    quote_ident,
)
from xetrack.values import to_storable

if TYPE_CHECKING:
    import pandas as pd


class EventTable:
    """Rows of one table, optionally narrowed to one ``track_id``."""

    __slots__ = ("_q", "_rowid", "name", "store")

    def __init__(self, store: SqlStore, name: str) -> None:
        self.store = store
        self.name = name
        self._q = quote_ident(name)
        self._rowid: bool | None = None

    @property
    def ordered(self) -> bool:
        """Whether rows have a ``rowid`` to keep insertion order by: not in a SQLite
        WITHOUT ROWID table or a DuckDB view (foreign tables, read as they come)."""
        if self._rowid is None:
            self._rowid = self.store.has_row_order(self.name)
        return self._rowid

    def require_run_columns(self) -> None:
        """Runs need ``track_id`` and ``timestamp``; a foreign table may lack them."""
        types = self.store.schema(self.name).types
        if "track_id" not in types or "timestamp" not in types:
            types = self.store.schema(self.name, refresh=True).types  # added since?
        for column in ("track_id", "timestamp"):
            if column not in types:
                raise UnknownColumnError(
                    f"table {self.name!r} of {self.store.path} has no {column!r} "
                    f"column, so it has no runs (it was not written by xetrack); "
                    f"read it with xt head or xt sql"
                )

    # -- schema ----------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return list(self.store.schema(self.name, refresh=True).types)

    @property
    def dtypes(self) -> dict[str, str]:
        return self.store.sql_types(self.name)

    def require_column(self, column: str) -> None:
        if column not in self.store.schema(self.name).types:
            columns = self.columns
            if column not in columns:
                raise UnknownColumnError(
                    f"no column {column!r} in table {self.name!r} of {self.store.path}; "
                    f"columns: {', '.join(map(repr, columns))}"
                )

    # -- reading -----------------------------------------------------------------------
    def count(self, track_id: str | None = None) -> int:
        clause, params = self._where(track_id)
        _, rows = self.store.query(f"SELECT COUNT(*) FROM {self._q}{clause}", params)
        return int(rows[0][0])

    def _where(self, track_id: str | None) -> tuple[str, list[object]]:
        return where_clause({} if track_id is None else {"track_id": track_id})

    def _filter(
        self, track_id: str | None, where: Mapping[str, object] | None
    ) -> tuple[str, list[object]]:
        """The WHERE of a read: ``track_id`` and each ``column: value`` of ``where``
        (values bound, stored as logged values are; a list means any of them)."""
        wanted = self.storable_where(where or {})
        if track_id is not None:
            wanted["track_id"] = track_id
        return where_clause(wanted)

    def storable_where(self, where: Mapping[str, object]) -> dict[str, object]:
        """``where`` with its columns checked and its values as stored."""
        wanted: dict[str, object] = {}
        for name, value in where.items():
            self.require_column(name)
            if isinstance(value, (list, tuple, set, frozenset)):
                wanted[name] = [to_storable(name, v) for v in value]
            else:
                wanted[name] = to_storable(name, value)
        return wanted

    def _select(self, columns: Sequence[str] | None) -> str:
        if not columns:
            return self._star()
        if isinstance(columns, str):
            raise InvalidArgumentError(
                f"columns={columns!r} must be a list of column names, like [{columns!r}]"
            )
        for name in columns:
            self.require_column(name)
        return ", ".join(map(quote_ident, dict.fromkeys(columns)))

    def _star(self) -> str:
        """Every column of the table: ``*``, or their names where ``*`` would show
        the engine's ``rowid`` column too (read fresh: others may add columns)."""
        if not self.store.EXPLICIT_COLUMNS:
            return "*"
        names = self.store.schema(self.name, refresh=True).types
        return ", ".join(map(quote_ident, names)) or "*"

    def to_df(
        self,
        track_id: str | None = None,
        head: int | None = None,
        tail: int | None = None,
        columns: Sequence[str] | None = None,
        where: Mapping[str, object] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Rows (of ``track_id``, matching ``where``), the first ``head`` or the last
        ``tail`` of them, in the order they were written; all in one query.

        With both, the last ``tail`` of the first ``head`` rows. ``limit`` caps the
        rows like ``head``; ``columns`` picks the columns.
        """
        if limit is not None:
            head = _count(limit) if head is None else min(_count(head), _count(limit))
        if track_id is not None:
            self.require_run_columns()
        clause, params = self._filter(track_id, where)
        sql = f"SELECT {self._select(columns)} FROM {self._q}{clause}"
        if not self.ordered:  # no order to page by: the rows as the engine gives them
            frame = self.store.query_df(sql, params)
            if head is not None:
                frame = frame.head(_count(head))
            if tail is not None:
                frame = frame.tail(_count(tail)) if _count(tail) else frame.head(0)
            return self._restore_types(frame.reset_index(drop=True))
        if head is not None:
            sql += " ORDER BY rowid LIMIT ?"
            params.append(_count(head))
        elif tail is not None:
            # The rowid of the tail-th row from the end; rows from there on, in order.
            _, found = self.store.query(
                f"SELECT rowid FROM {self._q}{clause} ORDER BY rowid DESC "
                f"LIMIT 1 OFFSET ?",
                [*params, max(_count(tail) - 1, 0)],
            )
            if found and _count(tail) > 0:
                sql += (" AND" if clause else " WHERE") + " rowid >= ?"
                params.append(found[0][0])
            sql += " ORDER BY rowid"
            if _count(tail) == 0:
                sql += " LIMIT 0"
        elif clause and not self.store.NATURAL_ORDER:
            sql += " ORDER BY rowid"  # an index may have been read in its own order
        frame = self.store.query_df(sql, params)
        if head is not None and tail is not None:
            frame = frame.tail(_count(tail)).reset_index(drop=True)
        return self._restore_types(frame)

    def batches(
        self,
        size: int,
        track_id: str | None = None,
        columns: Sequence[str] | None = None,
        where: Mapping[str, object] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """The rows of :meth:`to_df` as DataFrames of at most ``size`` rows each."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidArgumentError(
                f"size={size!r} must be a whole number of rows, at least 1"
            )
        clause, params = self._filter(track_id, where)
        sql = f"SELECT {self._select(columns)} FROM {self._q}{clause}"
        if clause and self.ordered and not self.store.NATURAL_ORDER:
            sql += " ORDER BY rowid"
        for frame in self.store.iter_df(sql, params, size):
            yield self._restore_types(frame)

    def column(self, column: str, track_id: str | None = None) -> pd.Series[Any]:
        self.require_column(column)
        clause, params = self._where(track_id)
        frame = self.store.query_df(
            f"SELECT {quote_ident(column)} FROM {self._q}{clause}", params
        )
        return self._restore_types(frame)[column]

    def row(self, index: int, track_id: str | None = None) -> dict[str, object]:
        """Row at ``index`` (0-based, negative from the end) as a dict.

        The :class:`IndexError` speaks of rows numbered from 1, as ``tracker[i]`` does.
        """
        size = self.count(track_id)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            shown = index + 1 if index >= 0 else index
            if size == 0:
                raise IndexError(
                    f"row {shown} is out of range: this run has no rows yet in "
                    f"table {self.name!r}"
                )
            raise IndexError(
                f"row {shown} is out of range: this run has {size} rows in table "
                f"{self.name!r}; use 1..{size} (tracker[1] is the first row) or "
                f"-{size}..-1 (tracker[-1] is the last)"
            )
        clause, params = self._where(track_id)
        order = " ORDER BY rowid" if self.ordered else ""
        names, rows = self.store.query(
            f"SELECT {self._star()} FROM {self._q}{clause}{order} LIMIT 1 OFFSET ?",
            [*params, position],
        )
        record = dict(zip(names, rows[0], strict=True))
        types = self.store.schema(self.name).types
        for name, value in record.items():
            logical = types.get(name)
            if value is not None and logical in (BOOLEAN, JSON):
                record[name] = _restored(str(logical), value)
        return record

    def has_run(self, track_id: str) -> bool:
        """Whether ``track_id`` has a row here (through the index: one lookup)."""
        self.require_run_columns()
        _, rows = self.store.query(
            f"SELECT 1 FROM {self._q} WHERE track_id = ? LIMIT 1", [track_id]
        )
        return bool(rows)

    def values(
        self, column: str, track_id: str | None = None, unique: bool = False
    ) -> list[object]:
        """The values of ``column`` in row order (distinct ones, first seen first)."""
        self.require_column(column)
        name = quote_ident(column)
        clause, params = self._where(track_id)
        if not self.ordered:
            _, rows = self.store.query(f"SELECT {name} FROM {self._q}{clause}", params)
            found = [self._restore(column, r[0]) for r in rows]
            return list(dict.fromkeys(found)) if unique else found
        if unique:
            sql = (
                f"SELECT {name} FROM {self._q}{clause} GROUP BY {name} "
                f"ORDER BY MIN(rowid)"
            )
        else:
            sql = f"SELECT {name} FROM {self._q}{clause} ORDER BY rowid"
        _, rows = self.store.query(sql, params)
        return [self._restore(column, r[0]) for r in rows]

    def extreme(
        self,
        column: str,
        highest: bool,
        by: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Rows holding the max (or min) of ``column``, one per ``by`` group; the
        first such row on ties. ``columns`` picks what to show (``column`` and
        ``by`` first)."""
        self.require_column(column)
        if by is not None:
            self.require_column(by)
        shown = None
        if columns:
            for name in columns:
                self.require_column(name)
            lead = [column] if by is None else [column, by]
            shown = list(dict.fromkeys([*lead, *columns]))
        picked = self._star() if shown is None else ", ".join(map(quote_ident, shown))
        name = quote_ident(column)
        order = "DESC" if highest else "ASC"
        tie = ", rowid" if self.ordered else ""
        if by is None:
            # An ordered LIMIT: one pass keeping the best row, no sort of the table.
            frame = self.store.query_df(
                f"SELECT {picked} FROM {self._q} WHERE {name} IS NOT NULL "
                f"ORDER BY {name} {order}{tie} LIMIT 1"
            )
            return self._restore_types(frame)
        # The window ranks rows inside the database: no full table in memory.
        sql = (
            f"SELECT {picked} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
            f"{quote_ident(by)} ORDER BY {name} {order}{tie}) AS __rank "
            f"FROM {self._q} WHERE {name} IS NOT NULL) AS ranked WHERE __rank = 1"
        )
        frame = self.store.query_df(sql)
        frame = frame.drop(columns=["__rank"], errors="ignore")
        frame = frame.sort_values(column, ascending=not highest, kind="stable")
        return self._restore_types(frame.reset_index(drop=True))

    def rows(self) -> tuple[list[str], list[tuple[object, ...]]]:
        """Every row as stored, booleans and JSON cells restored, in insertion order."""
        order = " ORDER BY rowid" if self.ordered else ""
        names, rows = self.store.query(f"SELECT {self._star()} FROM {self._q}{order}")
        types = self.store.schema(self.name).types
        restore = [
            (i, str(types[n]))
            for i, n in enumerate(names)
            if types.get(n) in (BOOLEAN, JSON)
        ]
        if restore:
            fixed = []
            for row in rows:
                items = list(row)
                for i, kind in restore:
                    if items[i] is not None:
                        items[i] = _restored(kind, items[i])
                fixed.append(tuple(items))
            rows = fixed
        return names, rows

    def _restore(self, column: str, value: object) -> object:
        logical = self.store.schema(self.name).types.get(column)
        if value is not None and logical in (BOOLEAN, JSON):
            return _restored(logical, value)
        return value

    # -- writing -------------------------------------------------------------------------
    def set_values(
        self, values: Mapping[str, object], where: Mapping[str, object]
    ) -> int:
        return self.store.update(self.name, values, where)

    def delete(self, where: Mapping[str, object]) -> int:
        return self.store.delete(self.name, where)

    def clear_cells(self, value: str, column: str | None = None) -> None:
        """Set to NULL the cells holding ``value`` (an asset's hash): in ``column``, or
        in every text column but the fixed ones."""
        if column is not None:
            self.require_column(column)
            columns = [column]
        else:
            types = self.store.schema(self.name, refresh=True).types
            columns = [
                c for c, t in types.items() if t == TEXT and c not in FIXED_COLUMNS
            ]
        for name in columns:
            self.store.execute(
                f"UPDATE {self._q} SET {quote_ident(name)} = NULL "
                f"WHERE {quote_ident(name)} = ?",
                [value],
            )

    def _restore_types(self, frame: pd.DataFrame) -> pd.DataFrame:
        """SQLite keeps booleans as 0/1: give BOOLEAN columns back their type; decode
        the cells of JSON columns (each keeps the type of its own value)."""
        types = self.store.schema(self.name).types
        for name in frame.columns:
            logical = types.get(name)
            if logical == JSON:
                frame[name] = _objects(frame[name].map(decode_json_cell))
            elif (
                logical == BOOLEAN
                and self.store.engine == "sqlite"
                and frame[name].dtype != bool
            ):
                if frame[name].isna().any():
                    frame[name] = frame[name].astype("boolean")
                else:
                    frame[name] = frame[name].astype(bool)
        return frame


def _restored(logical: str, value: object) -> object:
    return bool(value) if logical == BOOLEAN else decode_json_cell(value)


def _objects(series: pd.Series[Any]) -> pd.Series[Any]:
    """``series`` as object dtype with None for missing cells: mixed types as they are."""
    out = series.astype(object)
    return out.where(out.notna(), None)


def _count(n: int) -> int:
    return max(int(n), 0)
