"""Names and types: identifier quoting, key rules, the Python <-> logical type map.

Both engines share these rules; each engine maps the logical types to its SQL names.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Final

from xetrack.errors import InvalidKeyError, InvalidValueError, TypeConflictError

#: Columns every event table has; xetrack fills them, users cannot log them.
FIXED_COLUMNS: Final = ("timestamp", "track_id")
#: Names the engines use for their own row identity; a column of that name would
#: shadow it and break ordering, so they are refused as keys.
_ROW_ID_NAMES: Final = frozenset({"rowid", "oid", "_rowid_"})
#: The content-addressed asset table lives beside the event tables.
ASSETS_TABLE: Final = "_xetrack_assets"
#: One record per run and event table (status, start, end, git, row count).
RUNS_TABLE: Final = "_xetrack_runs"
#: Tables and indexes xetrack keeps for itself start with this; no event table may.
INTERNAL_PREFIX: Final = "_xetrack_"

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
#: A column that has only held NULLs: its first value gives it its type.
NULL: Final = "null"
#: A column whose cells keep types of their own, each cell the JSON text of its value.
JSON: Final = "json"

#: Columns that take a value of any type: one that does not fit their type turns the
#: column into JSON text (rows written so far keep their values). A tracked function's
#: result has already been computed when its type turns out to differ.
ANY_TYPE_COLUMNS: Final = frozenset({"function_result"})

LOGICAL_OF_PYTHON: Final[dict[type, str]] = {
    bool: BOOLEAN,
    int: INTEGER,
    float: FLOAT,
    str: TEXT,
    bytes: BLOB,
}
PYTHON_OF_LOGICAL: Final[dict[str, type]] = {
    **{v: k for k, v in LOGICAL_OF_PYTHON.items()},
    NULL: type(None),  # only None fits as it is; a value gives the column its type
}


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL: ``order`` -> ``"order"``, ``a"b`` -> ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def fold(name: str) -> str:
    """The form under which both engines compare identifiers (ASCII case only)."""
    return name.translate(_ASCII_FOLD)


#: Keys already found valid; log() checks each key once per process, not per row.
VALID_KEYS: set[str] = set()
VALID_KEYS_MAX: Final = 100_000


def check_key(key: object) -> str:
    """Return ``key`` if it can be a column name, else raise :class:`InvalidKeyError`."""
    if key in VALID_KEYS:
        return key
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
    if len(VALID_KEYS) < VALID_KEYS_MAX and type(key) is str:
        VALID_KEYS.add(key)
    return key


def check_table_name(name: object) -> str:
    """Return ``name`` if it can be an event table, else raise :class:`InvalidKeyError`."""
    if not isinstance(name, str):
        raise InvalidKeyError(f"table name {name!r} must be a str, like 'default'")
    _check_name(name, "table name")
    folded = fold(name)
    if folded.startswith(("sqlite_", INTERNAL_PREFIX)):
        raise InvalidKeyError(
            f"table name {name!r} is reserved for the engine or xetrack; "
            f"pick another, for example {'t_' + name!r}"
        )
    return name


def is_internal(table: str) -> bool:
    """True for the tables xetrack keeps beside the event tables (assets, runs)."""
    return fold(table).startswith(INTERNAL_PREFIX)


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


def encode_json_cell(value: object) -> str:
    """A storable value as the JSON text a :data:`JSON` column holds (bytes as
    ``{"$bytes": base64}``, the convention of the JSONL sink)."""
    if isinstance(value, bytes):
        value = {"$bytes": base64.b64encode(value).decode("ascii")}
    return json.dumps(value, ensure_ascii=False)


def decode_json_cell(cell: object) -> object:
    """The value a :data:`JSON` column's cell holds; text that is not JSON (written
    by something else) is returned as it is."""
    if not isinstance(cell, str):
        return cell
    try:
        value = json.loads(cell)
    except ValueError:
        return cell
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
    return value


def fit_value(column: str, column_type: str | None, value: object) -> object:
    """Return ``value`` as it will be stored in a column of logical ``column_type``.

    ``None`` fits every column and a column of unknown type takes anything; a JSON
    column takes any value as its JSON text. An int goes into a float column when a
    float holds it exactly; anything else that does not match raises
    :class:`TypeConflictError` naming the column and both types.
    """
    if value is None or column_type is None:
        return value
    if column_type == JSON:
        return encode_json_cell(value)
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
        f"{_example_for(column_type)}) or log it under another key",
        column=column,
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

    __slots__ = ("by_fold", "types")

    def __init__(self, columns: Iterable[tuple[str, str | None]] = ()) -> None:
        self.types: dict[str, str | None] = dict(columns)
        self.by_fold: dict[str, str] = {fold(name): name for name in self.types}

    def add(self, name: str, logical: str | None) -> None:
        self.types[name] = logical
        self.by_fold[fold(name)] = name
