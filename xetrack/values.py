"""Turning what users log into storable values: the one flattening function.

Storable values are ``bool``, ``int``, ``float``, ``str``, ``bytes`` and ``None``.
Everything else is converted here, once, for ``log()``, ``track()`` and the plugin:

- numpy scalars become Python scalars, NaN becomes ``None`` (both engines alike);
- ``datetime``/``date``/``time`` become ISO 8601 text, enums their value;
- lists, tuples and dicts become JSON text (never a Python repr);
- dataclass and Pydantic values are unpacked into ``{key}_{field}`` columns;
- any other object is handed to the asset store, and the cell holds its hash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import time
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any, Final

from xetrack.errors import InvalidKeyError, InvalidValueError
from xetrack.store.schema import (
    BLOB,
    BOOLEAN,
    FLOAT,
    INT64_MAX,
    INT64_MIN,
    INTEGER,
    LOGICAL_OF_PYTHON,
    TEXT,
    VALID_KEYS,
    check_key,
    check_text,
)

#: Called with (key, object) for a value that is stored as an asset; returns its hash.
AssetSink = Callable[[str, object], str]

_PRIMITIVES: Final = (bool, bytes, type(None))


#: (second, its text): formatting the date once per second, not once per row.
#: One tuple, swapped whole, so threads never pair a second with another's text.
_SECOND: tuple[int, str] = (0, "")


def now() -> str:
    """The current time as stored: ISO 8601 (``2026-01-02T03:04:05.123456+00:00``,
    as ``datetime.isoformat`` writes it), UTC, microseconds, sortable as text.

    The JSONL and log sinks write the same text."""
    global _SECOND
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached = _SECOND
    if cached[0] != second:
        cached = _SECOND = (
            second,
            time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)),
        )
    return f"{cached[1]}{nanos // 1000:06d}+00:00"


def is_config(value: object) -> bool:
    """True for dataclass instances and Pydantic models, the values we unpack."""
    kind = type(value)
    known = _CONFIG_TYPES.get(kind)
    if known is None:
        known = _CONFIG_TYPES[kind] = _is_config_type(kind)
    return known


# Per-class facts, looked up for every logged config: computed once per class.
_CONFIG_TYPES: dict[type, bool] = {}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_FIELD_TYPES: dict[type, dict[str, object]] = {}


def _is_config_type(kind: type) -> bool:
    if dataclasses.is_dataclass(kind):
        return True
    return callable(getattr(kind, "model_dump", None)) and isinstance(
        getattr(kind, "model_fields", None), dict
    )


def field_names(kind: type) -> tuple[str, ...]:
    """Field names of a dataclass or Pydantic model class, in declaration order."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if dataclasses.is_dataclass(kind):
            names = tuple(f.name for f in dataclasses.fields(kind))
        else:
            names = tuple(getattr(kind, "model_fields", ()))
        _FIELD_NAMES[kind] = names
    return names


#: (config class, key) -> (field, column, logical type its annotation implies) per
#: field: the columns of a config logged under a key, worked out once.
_LAYOUTS: dict[tuple[type, str], tuple[tuple[str, str, str | None], ...]] = {}


def _config_layout(kind: type, key: str) -> tuple[tuple[str, str, str | None], ...]:
    layout = _LAYOUTS.get((kind, key))
    if layout is None:
        annotations = field_types(kind)
        layout = tuple(
            (
                name,
                check_key(f"{key}_{name}"),
                logical_of_annotation(annotations.get(name)),
            )
            for name in field_names(kind)
        )
        if len(_LAYOUTS) > 10_000:  # keys made up on the fly: do not grow forever
            _LAYOUTS.clear()
        _LAYOUTS[(kind, key)] = layout
    return layout


def flatten(
    data: Mapping[str, object],
    assets: AssetSink | None = None,
    into: dict[str, object] | None = None,
    hints: dict[str, str] | None = None,
    cycles: bool = False,
) -> dict[str, object]:
    """Return ``data`` as a flat dict of storable values, keys checked.

    With ``into``, the values are added to that dict (and it is returned). With
    ``hints``, a config field that is None but annotated with a simple type adds
    ``{column: logical type}`` there, so its column can exist before any value.
    Raises :class:`~xetrack.errors.InvalidKeyError` for a key that cannot be a
    column and :class:`~xetrack.errors.InvalidValueError` for a value that cannot be
    stored; nothing is returned (so nothing is written) in either case. A value that
    contains itself (a config whose field leads back to it, a list inside itself) is
    such an error, unless ``cycles``: then its cell shows the cycle (for a tracked
    call, which has already run when its row is written).
    """
    out: dict[str, object] = {} if into is None else into
    valid = VALID_KEYS
    value: Any  # narrowed by the type() checks below, which mypy does not follow
    renamed: dict[str, object] | None = None
    # The common scalar cases are inlined: this loop runs for every cell of log()
    # and log_batch(), and a function call per cell would double its cost.
    for key, value in data.items():
        if key not in valid:
            if not isinstance(key, str):  # 0, 1.5, numpy ints from pandas columns
                renamed = {} if renamed is None else renamed
                key = _str_key(key, data, renamed)
            check_key(key)
        kind = type(value)
        if kind is float:
            out[key] = None if value != value else value  # NaN -> NULL
        elif kind is str:
            out[key] = value if value.isascii() else check_text(key, value)
        elif kind is int:
            out[key] = (
                value if INT64_MIN <= value <= INT64_MAX else _check_int(key, value)
            )
        elif kind in _PRIMITIVES:
            out[key] = value
        else:
            _flatten_into(out, key, value, assets, hints, data, cycles)
    return out


def _str_key(
    key: object, data: Mapping[Any, object], renamed: dict[str, object]
) -> str:
    """The column name of a non-str key: ``str(key)``, unless another key of the same
    mapping is stored under that name too (then an error naming both)."""
    name = str(key)
    other: object = renamed.get(name, name if name in data else None)
    if other is not None:
        order = list(data)
        first, second = sorted((other, key), key=order.index)
        raise InvalidKeyError(
            f"keys {first!r} and {second!r} are both stored as {name!r}; column names "
            f"are str, so rename one of them"
        )
    renamed[name] = key
    return name


def _flatten_into(
    out: dict[str, object],
    key: str,
    value: Any,
    assets: AssetSink | None,
    hints: dict[str, str] | None = None,
    given: Mapping[str, object] | None = None,
    cycles: bool = False,
    outer: tuple[tuple[int, str], ...] = (),
) -> None:
    """``value`` under ``key``; ``outer`` holds (id, key) of the configs it is a field
    of, so a field leading back to one of them is seen as a cycle, not followed."""
    if is_config(value):
        for seen, owner in outer:
            if seen == id(value):
                if not cycles:
                    raise InvalidValueError(
                        f"value of {key!r} refers back to {owner!r}, which contains it "
                        f"(a cycle); log a config whose fields do not lead back to it"
                    )
                out[key] = f"<cycle: {owner}>"
                return
        inside = (*outer, (id(value), key))
        for name, column, logical in _config_layout(type(value), key):
            if given is not None and column in given:
                raise InvalidKeyError(
                    f"column {column!r} would hold both field {name!r} of the config "
                    f"under {key!r} and the value logged as {column!r}; rename the "
                    f"key (for example {column + '_2'!r}) or drop one of them"
                )
            field = getattr(value, name)
            kind = type(field)  # the scalar cases of flatten(), inlined for speed
            if kind is float:
                out[column] = None if field != field else field
            elif kind is str:
                out[column] = field if field.isascii() else check_text(column, field)
            elif kind is int:
                out[column] = _check_int(column, field)
            elif field is None:
                out[column] = None
                if logical is not None and hints is not None:
                    hints[column] = logical
            elif kind in _PRIMITIVES:
                out[column] = field
            else:
                _flatten_into(out, column, field, assets, hints, given, cycles, inside)
    elif cycles:
        try:
            out[key] = to_storable(key, value, assets)
        except CycleError:
            out[key] = repr(value)  # list/dict reprs show a cycle as [...] / {...}
    else:
        out[key] = to_storable(key, value, assets)


def field_types(kind: type) -> dict[str, object]:
    """Resolved annotations of a dataclass or Pydantic model's fields."""
    found = _FIELD_TYPES.get(kind)
    if found is None:
        model_fields = getattr(kind, "model_fields", None)
        if isinstance(model_fields, dict):
            found = {n: getattr(f, "annotation", None) for n, f in model_fields.items()}
        else:
            try:
                found = dict(typing.get_type_hints(kind))
            except Exception:  # unresolvable forward references: no hints, no harm
                found = {}
        _FIELD_TYPES[kind] = found
    return found


def logical_of_annotation(annotation: object) -> str | None:
    """The column type a None field's annotation implies (``str | None`` -> text)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return logical_of_annotation(args[0])
    if origin in (list, dict, tuple) or annotation in (list, dict, tuple):
        return TEXT
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return LOGICAL_OF_PYTHON[bool]
        for base in (int, float, str, bytes):
            if issubclass(annotation, base) and not issubclass(annotation, enum.Enum):
                return LOGICAL_OF_PYTHON[base]
        if issubclass(annotation, (dt.date, dt.time, PurePath)):
            return TEXT
    return None


def to_storable(key: str, value: object, assets: AssetSink | None = None) -> object:
    """One value as it is stored (configs are not unpacked here: see :func:`flatten`)."""
    if value is None or type(value) in _PRIMITIVES:
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, enum.Enum):
        return to_storable(key, value.value, assets)
    if isinstance(value, int):
        return _check_int(key, int(value))
    if isinstance(value, str):
        return check_text(key, str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return check_text(key, str(value))
    scalar = _numpy_scalar(value)
    if scalar is not _NOT_NUMPY:
        return to_storable(key, scalar, assets)
    if isinstance(value, (list, tuple, dict)):
        return to_json(key, value)
    if is_config(value):
        return to_json(key, value)
    if assets is None:
        raise InvalidValueError(
            f"value of {key!r} is a {type(value).__name__}, which this store cannot "
            f"hold; log a str, number, bool, bytes, list or dict instead"
        )
    return assets(key, value)


_NOT_NUMPY: Final = object()


def _numpy_scalar(value: object) -> object:
    """A numpy scalar (or 0-d array) as a Python scalar; ``_NOT_NUMPY`` otherwise."""
    module = type(value).__module__
    if module != "numpy" and not module.startswith("numpy."):
        return _NOT_NUMPY
    if getattr(value, "ndim", None) == 0 or not hasattr(value, "ndim"):
        item = getattr(value, "item", None)
        if callable(item):
            return item()
    return _NOT_NUMPY


def parse_text(key: str, text: str, logical: str | None) -> object:
    """A value typed in a terminal, as the column ``key`` of type ``logical`` holds it.

    Without a type (a new column), the narrowest of int, float, bool, str that
    reads ``text`` exactly. Raises :class:`InvalidValueError` naming the column.
    """
    if logical is None:
        for kind in (INTEGER, FLOAT, BOOLEAN):
            try:
                return parse_text(key, text, kind)
            except InvalidValueError:
                continue
        return text
    try:
        if logical == INTEGER:
            return _check_int(key, int(text))
        if logical == FLOAT:
            return float(text)
        if logical == BOOLEAN:
            lowered = text.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(text)
        if logical == BLOB:
            return text.encode("utf-8")
    except ValueError as exc:
        raise InvalidValueError(
            f"value {text!r} does not fit column {key!r}, which holds {logical} values"
        ) from exc
    return text


def _check_int(key: str, value: int) -> int:
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise InvalidValueError(
        f"value of {key!r} is {value}, outside the 64-bit integer range the engines "
        f"store; log it as str({value}) or float({value})"
    )


def json_writer(default: Callable[[Any], Any]) -> Callable[[object], str]:
    """A compact JSON writer (non-ASCII kept) that calls ``default`` for unknown values.

    Where CPython has its C encoder, the writer calls it directly: ``JSONEncoder.encode``
    builds that encoder, a closure and a dict anew on every call, which is most of the
    cost of the small documents written per row. Circular structures raise ValueError,
    as with ``json.dumps``.
    """
    encoder = json.JSONEncoder(default=default, ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    # No circular-reference bookkeeping (markers=None); a cycle ends in RecursionError
    # and is encoded again the checked way, which names it.
    try:
        fast = make(
            None,
            default,
            json.encoder.encode_basestring,
            None,
            ": ",
            ", ",
            False,
            False,
            True,
        )
        sample = {"a": [1, 2.5, "é\n", None, True], "b": {}}
        if "".join(fast(sample, 0)) != encoder.encode(sample):
            return encoder.encode  # another Python's encoder: keep the public way
    except TypeError:
        return encoder.encode

    def write(value: object) -> str:
        try:
            return "".join(fast(value, 0))
        except RecursionError:
            return encoder.encode(value)

    return write


_write_json: Final = json_writer(lambda value: json_default(value))


class CycleError(InvalidValueError):
    """A list, dict or config that contains itself: it has no JSON text."""


def to_json(key: str, value: object) -> str:
    """JSON text of a list/dict/config; nested values follow the same rules."""
    try:
        return check_text(key, _write_json(value))
    except InvalidValueError:
        raise
    except RecursionError as exc:
        raise InvalidValueError(
            f"value of {key!r} is nested too deeply to be written as JSON; flatten "
            f"it, or log the object under its own key to store it as an asset"
        ) from exc
    except ValueError as exc:  # the checked encoder's "Circular reference detected"
        raise CycleError(
            f"value of {key!r} cannot be written as JSON: it contains itself "
            f"({exc}); log a value without a cycle, or its repr()"
        ) from exc
    except TypeError as exc:
        raise InvalidValueError(
            f"value of {key!r} cannot be written as JSON ({exc}); keep lists and dicts "
            f"to str, numbers, bool, None and nested lists/dicts, or log the object "
            f"under its own key to store it as an asset"
        ) from exc


def json_default(value: object) -> Any:
    """What ``json.dumps`` should write for a value it does not know; TypeError if none."""
    if is_config(value):
        return {name: getattr(value, name) for name in field_names(type(value))}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, PurePath):
        return str(value)
    scalar = _numpy_scalar(value)
    if scalar is not _NOT_NUMPY:
        return scalar
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
