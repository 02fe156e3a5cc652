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
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, Final

from xetrack.errors import DatabaseNotFoundError, EngineUnavailableError

#: Parameters that are the receiver of a method, not an input to cache on by name.
RECEIVERS: Final = ("self", "cls")


class Unhashable(Exception):
    """An argument whose value cannot be part of a stable key (internal)."""

    def __init__(self, kind: type) -> None:
        super().__init__(kind.__name__)
        self.kind = kind


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
    name = getattr(target, "__qualname__", None) or getattr(
        target, "__name__", repr(target)
    )
    return f"{module}.{name}"


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
    parts = [function_id(func)]
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


class ResultCache:
    """Results of tracked calls in a diskcache directory, with their lineage.

    Each entry is ``{"result": ..., "cache": <track_id that computed it>,
    "function": "module.qualname"}``.
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

    def set(self, key: str, entry: Mapping[str, Any]) -> None:
        self._cache.set(key, dict(entry))

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for key in self._cache.iterkeys():
            entry = self.get(key)
            if entry is not None:
                yield key, entry

    def delete_by_track_id(self, track_id: str) -> int:
        doomed = [key for key, entry in self.scan() if entry.get("cache") == track_id]
        for key in doomed:
            self._cache.delete(key)
        return len(doomed)

    def close(self) -> None:
        self._cache.close()
