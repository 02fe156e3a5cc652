"""Checking rows against a table's schema before a write: pure, no I/O.

Work is done column by column with C-level helpers (``zip``, ``map``, ``set``) so a
50,000-row batch costs a few passes over tuples, not a Python call per cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Final

from xetrack.errors import InvalidKeyError, TypeConflictError
from xetrack.store.schema import (
    ANY_TYPE_COLUMNS,
    FLOAT,
    INTEGER,
    JSON,
    LOGICAL_OF_PYTHON,
    NULL,
    PYTHON_OF_LOGICAL,
    Schema,
    fit_value,
    fold,
)

_NONE: Final = type(None)


@dataclass
class Prepared:
    """What a write needs: columns, value tuples, and the schema changes it implies."""

    columns: tuple[str, ...]
    tuples: list[tuple[object, ...]]
    #: keys whose values are all None and that have no column: nothing to write yet
    deferred: tuple[str, ...] = ()
    #: new columns -> logical type
    new: dict[str, str] = field(default_factory=dict)
    #: integer columns that must take floats
    widen: list[str] = field(default_factory=list)
    #: existing columns -> the logical type they change to: an untyped (NULL-only)
    #: column taking its first value's type, or a column of ANY_TYPE_COLUMNS
    #: becoming JSON
    retype: dict[str, str] = field(default_factory=dict)
    #: logical type per written column (None: the column takes anything)
    types: tuple[str | None, ...] = ()

    @property
    def changes_schema(self) -> bool:
        return bool(self.new or self.widen or self.retype)


def _keys(rows: Sequence[Mapping[str, object]]) -> tuple[tuple[str, ...], bool]:
    """Keys of all rows in order of first appearance, and whether every row has them all."""
    first = rows[0].keys()
    if all(row.keys() == first for row in rows):
        return tuple(first), True
    return tuple(dict.fromkeys(key for row in rows for key in row)), False


def _values(
    rows: Sequence[Mapping[str, object]], names: Sequence[str], uniform: bool
) -> list[tuple[object, ...]]:
    """One tuple per row of the values of ``names`` (None where a row lacks one)."""
    if not names:
        return [() for _ in rows]
    if uniform:
        pick = itemgetter(*names)
        if len(names) == 1:
            return [(value,) for value in map(pick, rows)]
        return list(map(pick, rows))
    return [tuple(map(row.get, names)) for row in rows]


def prepare(
    schema: Schema,
    rows: Sequence[Mapping[str, object]],
    hints: Mapping[str, str] | None = None,
    retype: bool = True,
) -> Prepared:
    """Check ``rows`` (storable values) against ``schema``; convert what widens.

    A key with only None values gets an untyped (:data:`NULL`) column, whose first
    value later gives it its type; a value that does not fit a column of
    :data:`ANY_TYPE_COLUMNS` turns that column into :data:`JSON`. ``retype=False``
    (an engine that cannot change a column's type) leaves None-only keys without a
    column instead. Raises :class:`InvalidKeyError` for keys that clash by letter
    case and :class:`~xetrack.errors.TypeConflictError` for values that do not fit.
    """
    names, uniform = _keys(rows)
    check_case(schema, names)
    prepared = Prepared((), [])
    kept: list[str] = []
    converted: dict[str, tuple[object, ...]] = {}
    types: list[str | None] = []
    deferred: list[str] = []
    for name in names:
        column = (
            list(map(itemgetter(name), rows))
            if uniform
            else [row.get(name) for row in rows]
        )
        present = set(map(type, column))
        present.discard(_NONE)
        known = name in schema.types
        hinted = hints.get(name) if hints else None
        if not present and (not known or len(rows) > 1):
            # Only NULLs: nothing to write, since NULL is every row's default (a
            # batch is inserted faster without the column). A new key still gets
            # its column, typed by its hint or, untyped, by its first value later,
            # unless the engine cannot retype (then it waits for that value).
            if not known and (hinted is not None or retype):
                prepared.new[name] = hinted or NULL
            deferred.append(name)
            continue
        if known:
            logical = schema.types[name]
        else:
            first = next(v for v in column if v is not None)
            logical = LOGICAL_OF_PYTHON[type(first)]
        if logical == NULL and present:  # an untyped column's first value
            first = next(v for v in column if v is not None)
            logical = prepared.retype[name] = LOGICAL_OF_PYTHON[type(first)]
        if logical == INTEGER and float in present:
            if known and name not in prepared.retype:
                prepared.widen.append(name)
            elif name in prepared.retype:
                prepared.retype[name] = FLOAT
            logical = FLOAT
        expected = PYTHON_OF_LOGICAL.get(logical)  # type: ignore[arg-type]
        if logical is not None and present and present != {expected}:
            try:
                converted[name] = tuple([fit_value(name, logical, v) for v in column])
            except TypeConflictError:
                if name not in ANY_TYPE_COLUMNS or not retype:
                    raise
                logical = JSON
                if known:
                    prepared.retype[name] = JSON
                    if name in prepared.widen:
                        prepared.widen.remove(name)
                converted[name] = tuple([fit_value(name, JSON, v) for v in column])
        if not known:
            prepared.new[name] = logical  # type: ignore[assignment]
        kept.append(name)
        types.append(logical)
    prepared.columns = tuple(kept)
    prepared.types = tuple(types)
    prepared.deferred = tuple(deferred)
    if converted:
        columns = [
            converted[name] if name in converted else _column(rows, name, uniform)
            for name in kept
        ]
        prepared.tuples = list(zip(*columns, strict=True))
    else:
        prepared.tuples = _values(rows, kept, uniform)
    return prepared


def _column(
    rows: Sequence[Mapping[str, object]], name: str, uniform: bool
) -> list[object]:
    if uniform:
        return list(map(itemgetter(name), rows))
    return [row.get(name) for row in rows]


def check_case(schema: Schema, names: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if name in schema.types:
            continue
        folded = fold(name)
        other = seen.setdefault(folded, name)
        if other != name:
            raise InvalidKeyError(
                f"keys {other!r} and {name!r} differ only in letter case, and column "
                f"names ignore case; rename one of them"
            )
        existing = schema.by_fold.get(folded)
        if existing is not None:
            raise InvalidKeyError(
                f"key {name!r} differs only in letter case from the existing column "
                f"{existing!r}, and column names ignore case; log it as {existing!r}"
            )
