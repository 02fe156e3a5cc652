"""The result cache: stable keys for function calls, and the diskcache it lives in.

A key must be the same in every process and Python session for equal arguments, and
never the same for unequal ones. So no built-in ``hash()`` (randomised for str per
process, and it collides): each argument becomes a canonical token that spells out
its type and value, and the key is a digest of the tokens.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import inspect
import pickle
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, Final

from xetrack.errors import (
    DatabaseNotFoundError,
    EngineUnavailableError,
    NotADatabaseError,
)

#: Parameters that are the receiver of a method, not an input to cache on by name.
RECEIVERS: Final = ("self", "cls")


class Unhashable(Exception):
    """An argument whose value cannot be part of a stable key (internal)."""

    def __init__(self, kind: type, where: str | None = None) -> None:
        super().__init__(kind.__name__)
        self.kind = kind
        #: what holds the value, when it is not an argument ("closure variable 'x' of f")
        self.where = where


def _qualname(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


#: Per config class: the start of its token and its field names, in order.
_CONFIG_TOKENS: dict[type, tuple[str, tuple[str, ...]]] = {}


def token(value: object) -> str:
    """A canonical text for ``value``: equal values, equal text, in any process.

    Raises :class:`Unhashable` for values with no stable identity (lists, dicts,
    sets, mutable dataclasses, objects hashed by identity).
    """
    kind = type(value)
    known = _CONFIG_TOKENS.get(kind)
    if known is not None:  # a frozen dataclass or Pydantic model seen before
        prefix, names = known
        return (
            prefix + ",".join([f"{n}={token(getattr(value, n))}" for n in names]) + ")"
        )
    if value is None:
        return "N"
    if kind is bool:
        return "b1" if value else "b0"
    if kind is int:
        return f"i{value}"
    if kind is float:
        return f"f{value!r}"
    if kind is str:
        return f"s{len(value)}:{value}"  # type: ignore[arg-type]
    if kind is bytes:
        return f"y{value.hex()}"  # type: ignore[attr-defined]
    if isinstance(value, enum.Enum):
        return f"e{_qualname(kind)}:{token(value.value)}"
    if isinstance(value, tuple):
        return "t(" + ",".join(map(token, value)) + ")"
    if isinstance(value, frozenset):
        return "F(" + ",".join(sorted(map(token, value))) + ")"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return f"T{_qualname(kind)}:{value.isoformat()}"
    if isinstance(value, PurePath):
        return f"P{_qualname(kind)}:{value}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not kind.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise Unhashable(kind)  # its fields may change after the call
        names = tuple(f.name for f in dataclasses.fields(value))
        _CONFIG_TOKENS[kind] = (f"d{_qualname(kind)}(", names)
        return token(value)
    if hasattr(kind, "model_fields") and callable(getattr(value, "model_dump", None)):
        _CONFIG_TOKENS[kind] = (f"p{_qualname(kind)}(", tuple(kind.model_fields))
        return token(value)
    item = getattr(value, "item", None)
    if kind.__module__ == "numpy" and callable(item) and getattr(value, "ndim", 1) == 0:
        return token(item())
    if kind.__hash__ is None or kind.__hash__ is object.__hash__:
        raise Unhashable(kind)
    # An object with its own __hash__: its state, not hash(), which may differ
    # between processes and may collide between unequal values.
    return _object_token(value, kind)


def _object_token(value: object, kind: type) -> str:
    """What pickle would save of an object (constructor, arguments, state), spelled
    out as tokens without pickling it: a class defined inside a function works too.

    When the state holds something with no stable value, a digest of the pickle
    (which such state may still have); Unhashable when there is neither.
    """
    try:
        reduced = value.__reduce_ex__(4)
        if isinstance(reduced, str):  # a module-level singleton, saved by name
            return f"o{_qualname(kind)}:{reduced}"
        parts = [_state_token(part) for part in reduced[1:3]]
        parts += [_state_token(list(extra)) for extra in reduced[3:5] if extra]
        return f"o{_qualname(kind)}:{function_id(reduced[0])}(" + ",".join(parts) + ")"
    except (Unhashable, TypeError, ValueError, RecursionError):
        pass
    try:
        state = pickle.dumps(value, protocol=4)
    except Exception as exc:
        raise Unhashable(kind) from exc
    return f"o{_qualname(kind)}:{hashlib.blake2b(state, digest_size=16).hexdigest()}"


def _state_token(value: object) -> str:
    """:func:`token`, plus what an object's saved state holds: classes, dicts, lists
    and sets (their current contents: the key is made before the call)."""
    if isinstance(value, type):
        return f"c{_qualname(value)}"
    if isinstance(value, dict):
        items = sorted(f"{_state_token(k)}={_state_token(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(_state_token, value)) + "]"
    if isinstance(value, tuple):
        return "t(" + ",".join(map(_state_token, value)) + ")"
    if isinstance(value, (set, frozenset)):
        return "S(" + ",".join(sorted(map(_state_token, value))) + ")"
    return token(value)


@functools.lru_cache(maxsize=2048)
def signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have none
        return None


def function_id(func: Callable[..., Any]) -> str:
    """``module.qualname``: two functions both named ``run`` never share keys."""
    target = getattr(func, "__func__", func)
    module = getattr(target, "__module__", None) or "?"
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    if not isinstance(name, str):  # a callable object: its class (never an address)
        kind = type(target)
        module, name = kind.__module__, kind.__qualname__
    return f"{module}.{name}"


#: code object -> its token; code objects compare (and hash) by value
_CODE_TOKENS: dict[types.CodeType, str] = {}


def _const_token(value: object) -> str:
    """A constant of compiled code: literals, tuples and frozensets of them, code."""
    if isinstance(value, types.CodeType):
        return _code_token(value)
    if isinstance(value, tuple):
        return "t(" + ",".join(map(_const_token, value)) + ")"
    if isinstance(value, frozenset):
        return "F(" + ",".join(sorted(map(_const_token, value))) + ")"
    # Literals only (int, float, complex, str, bytes, bool, None, Ellipsis): their
    # repr is the same in every process.
    return f"{type(value).__name__}:{value!r}"


def _code_token(code: types.CodeType) -> str:
    """What a code object does: bytecode, constants (nested code too) and names.

    Line numbers and file names are left out: moving a function does not change
    what it computes. Bytecode differs between Python versions, and so do keys.
    """
    found = _CODE_TOKENS.get(code)
    if found is None:
        text = "|".join(
            [
                code.co_code.hex(),
                ",".join(map(_const_token, code.co_consts)),
                ",".join(code.co_names),
                ",".join(code.co_varnames),
                ",".join(code.co_freevars),
                str(code.co_argcount),
                str(code.co_kwonlyargcount),
                str(code.co_flags),
            ]
        )
        found = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        if len(_CODE_TOKENS) > 4096:  # code made on the fly: do not keep it all
            _CODE_TOKENS.clear()
        _CODE_TOKENS[code] = found
    return found


def code_token(func: object, _seen: frozenset[int] = frozenset()) -> str:
    """What ``func`` is, beyond its name: code, defaults and closure values.

    ``lambda x: x + 1`` and ``lambda x: x * 100`` differ, and so do ``scale(2)``
    and ``scale(3)`` of one closure factory. Functions inside closures and
    partials are followed (each once: a recursive closure ends). Raises
    :class:`Unhashable` for a closure value with no stable identity.
    """
    target = getattr(func, "__func__", func)
    if id(target) in _seen:  # only to stop recursion: never part of the token
        return "R"
    seen = _seen | {id(target)}
    if isinstance(target, functools.partial):
        return (
            "P("
            + code_token(target.func, seen)
            + ";"
            + ",".join(_value_token(a, seen) for a in target.args)
            + ";"
            + ",".join(
                f"{k}={_value_token(v, seen)}"
                for k, v in sorted(target.keywords.items())
            )
            + ")"
        )
    code = getattr(target, "__code__", None)
    if not isinstance(code, types.CodeType):
        if isinstance(target, (types.BuiltinFunctionType, type)):
            return "B"  # builtins and classes: their name says what they are
        return "O" + token(target)  # a callable object: by its (hashable) state
    parts = [_code_token(code)]
    defaults = getattr(target, "__defaults__", None)
    if defaults:
        parts.append(",".join(_value_token(v, seen) for v in defaults))
    kwdefaults = getattr(target, "__kwdefaults__", None)
    if kwdefaults:
        parts.append(
            ",".join(
                f"{k}={_value_token(v, seen)}" for k, v in sorted(kwdefaults.items())
            )
        )
    names = code.co_freevars
    for name, cell in zip(
        names, getattr(target, "__closure__", None) or (), strict=False
    ):
        try:
            contents = cell.cell_contents
        except ValueError:  # a cell not filled yet
            parts.append("empty")
            continue
        try:
            parts.append(_value_token(contents, seen))
        except Unhashable as exc:
            if exc.where is not None:
                raise
            owner = function_id(target)  # type: ignore[arg-type]
            raise Unhashable(exc.kind, f"closure variable {name!r} of {owner}") from exc
    return ";".join(parts)


def _value_token(value: object, seen: frozenset[int]) -> str:
    if isinstance(value, (types.FunctionType, types.MethodType, functools.partial)):
        return "f" + function_id(value) + ":" + code_token(value, seen)
    if isinstance(value, types.ModuleType):
        return f"m{value.__name__}"
    if isinstance(value, type):
        return f"c{_qualname(value)}"
    return token(value)


@functools.lru_cache(maxsize=2048)
def _layout(
    func: Callable[..., Any],
) -> tuple[tuple[str, ...], frozenset[str], dict[str, object], int] | None:
    """Parameter names in order, their defaults and how many may be given by
    position, for plain signatures only."""
    sig = signature(func)
    if sig is None:
        return None
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if any(p.kind not in plain for p in sig.parameters.values()):
        return None
    names = tuple(sig.parameters)
    defaults = {
        n: p.default for n, p in sig.parameters.items() if p.default is not p.empty
    }
    positional = sum(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        for p in sig.parameters.values()
    )
    return names, frozenset(names), defaults, positional


def bind(
    func: Callable[..., Any], args: Sequence[object], kwargs: Mapping[str, object]
) -> dict[str, object] | None:
    """Arguments by parameter name, defaults applied; None if they do not bind."""
    layout = None if inspect.ismethod(func) else _layout(func)
    if layout is not None:
        # The common case without Signature.bind (several times slower): same
        # result, in signature order, so keys match however the call was spelled.
        names, allowed, defaults, positional = layout
        given = dict(zip(names, args, strict=False))  # fewer args than names is fine
        if len(args) <= positional and not (kwargs and given.keys() & kwargs.keys()):
            given.update(kwargs)
            if given.keys() <= allowed:
                if len(given) == len(names):
                    return {n: given[n] for n in names}
                if all(n in given or n in defaults for n in names):
                    return {n: given[n] if n in given else defaults[n] for n in names}
    sig = signature(func)
    if sig is None:
        return None
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return dict(bound.arguments)


def key_for(
    func: Callable[..., Any],
    arguments: Mapping[str, object] | None,
    args: Sequence[object],
    kwargs: Mapping[str, object],
    params: Mapping[str, object],
    kinds: Mapping[str, inspect._ParameterKind] | None = None,
) -> str:
    """The cache key of a call. Raises :class:`Unhashable` naming the argument's type."""
    try:
        return _key(func, arguments, args, kwargs, params, kinds)
    except RecursionError as exc:  # a value nested thousands deep: no key, no crash
        raise Unhashable(tuple, "an argument nested too deeply") from exc


def _key(
    func: Callable[..., Any],
    arguments: Mapping[str, object] | None,
    args: Sequence[object],
    kwargs: Mapping[str, object],
    params: Mapping[str, object],
    kinds: Mapping[str, inspect._ParameterKind] | None,
) -> str:
    parts = [function_id(func), code_token(func)]
    if arguments is None:
        parts.append(token(tuple(args)))
        parts.append(token(tuple(sorted((k, token(v)) for k, v in kwargs.items()))))
    else:
        for name, value in arguments.items():
            kind = kinds.get(name) if kinds else None
            if kind is inspect.Parameter.VAR_KEYWORD:
                value = tuple(sorted((k, token(v)) for k, v in value.items()))  # type: ignore[attr-defined]
            parts.append(f"{name}={token(value)}")
    parts.append(token(tuple(sorted((k, token(v)) for k, v in params.items()))))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


#: The version of the metadata kept in each entry's diskcache tag.
_META_VERSION: Final = 1


class CacheEntry(Mapping[str, Any]):
    """One entry as listed: its metadata, read without unpickling anything.

    ``entry["cache"]`` (the track_id that computed it), ``["function"]``,
    ``["size"]`` (bytes), ``["time"]`` (when stored, ISO 8601 UTC) and ``["parts"]``
    (what the key was made of) come from metadata stored beside the value. Only
    ``entry["result"]`` unpickles the value, which runs code if the cache came
    from someone else: read it only from caches you trust. An entry written before
    metadata existed has None for ``cache`` and ``function``.
    """

    _FIELDS: Final = ("result", "cache", "function", "size", "time", "parts")

    def __init__(self, directory: Path, key: str, meta: Mapping[str, Any]) -> None:
        self._directory = directory
        self.key = key
        self._meta = dict(meta)

    @property
    def labelled(self) -> bool:
        """False for an entry without metadata (written by an older xetrack)."""
        return bool(self._meta.get("labelled"))

    def __getitem__(self, name: str) -> Any:
        if name == "result":
            return _load_result(self._directory, self.key)
        if name not in self._FIELDS:
            raise KeyError(name)
        return self._meta.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._FIELDS)

    def __len__(self) -> int:
        return len(self._FIELDS)

    def __repr__(self) -> str:
        shown = {k: self._meta.get(k) for k in self._FIELDS[1:]}
        return f"CacheEntry({self.key!r}, {shown})"


def _load_result(directory: Path, key: str) -> Any:
    cache = ResultCache(directory, create=False)
    try:
        entry = cache.get(key)
    finally:
        cache.close()
    return None if entry is None else entry.get("result")


def scan_metadata(directory: str | Path) -> list[CacheEntry]:
    """Every entry of a cache directory, from diskcache's index alone.

    The index (``cache.db``) is opened read-only (``immutable`` when no process has
    it open, so not even SQLite's WAL files appear), no value and no key that
    diskcache pickled is ever loaded: listing a cache from anywhere runs no code
    and creates no file. Raises DatabaseNotFoundError without a cache there.
    """
    import json
    import sqlite3
    from urllib.parse import quote

    folder = Path(directory)
    index = folder / "cache.db"
    if not index.is_file():
        raise DatabaseNotFoundError(
            f"no cache directory at {folder} (no cache.db in it); pass the folder "
            f"given to Tracker(cache=...) or --xetrack-cache"
        )
    busy = index.with_name("cache.db-wal").exists()
    mode = "mode=ro" if busy else "immutable=1"
    uri = f"file:{quote(str(index.resolve()))}?{mode}"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            conn.execute("PRAGMA query_only = 1")
            rows = conn.execute(
                "SELECT key, raw, tag, store_time, COALESCE(NULLIF(size, 0), "
                "length(value), 0) FROM Cache ORDER BY rowid"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise NotADatabaseError(
            f"{index} is not a readable diskcache index ({exc}); is {folder} a "
            f"result cache?"
        ) from exc
    entries = []
    for key, raw, tag, stored, size in rows:
        if not raw or not isinstance(key, str):
            continue  # a key diskcache pickled: not one of ours, and never loaded
        meta: dict[str, Any] = {}
        if isinstance(tag, str):
            try:
                found = json.loads(tag)
            except ValueError:
                found = None
            if isinstance(found, dict) and found.get("xetrack") == _META_VERSION:
                meta = {k: found.get(k) for k in ("cache", "function", "parts")}
                meta["labelled"] = True
        meta["size"] = int(size or 0)
        meta["time"] = _iso(stored)
        entries.append(CacheEntry(folder, key, meta))
    return entries


def _iso(stamp: object) -> str | None:
    if not isinstance(stamp, (int, float)):
        return None
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat()


class ResultCache:
    """Results of tracked calls in a diskcache directory, with their lineage.

    Each value is ``{"result": ..., "cache": <track_id that computed it>,
    "function": "module.qualname"}``; its metadata (lineage, function, the key's
    parts) is also kept as JSON in the entry's diskcache tag, so listing and
    deleting never unpickle a value.
    """

    def __init__(self, directory: str | Path, create: bool = True) -> None:
        try:
            import diskcache
        except ImportError as exc:
            raise EngineUnavailableError(
                "cache= needs the diskcache package; pip install 'xetrack[cache]'"
            ) from exc
        self.directory = Path(directory)
        if not create and not self.directory.is_dir():
            raise DatabaseNotFoundError(
                f"no cache directory at {self.directory}; pass the folder given to "
                f"Tracker(cache=...)"
            )
        self._cache = diskcache.Cache(str(self.directory))

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self._cache.get(key)
        return entry if isinstance(entry, dict) else None

    def set(
        self,
        key: str,
        entry: Mapping[str, Any],
        parts: Mapping[str, object] | None = None,
    ) -> None:
        """Store ``entry``; its lineage, function and ``parts`` go to the tag too."""
        import json

        meta = {
            "xetrack": _META_VERSION,
            "cache": entry.get("cache"),
            "function": entry.get("function"),
            "parts": dict(parts or {}),
        }
        self._cache.set(key, dict(entry), tag=json.dumps(meta, default=str))

    def delete_by_track_id(self, track_id: str) -> int:
        """Delete the entries ``track_id`` computed, found by metadata alone."""
        doomed = [
            e.key for e in scan_metadata(self.directory) if e["cache"] == track_id
        ]
        for key in doomed:
            self._cache.delete(key)
        return len(doomed)

    def close(self) -> None:
        self._cache.close()
