"""One tracked call: timing, arguments, config unpacking, cache lineage, the row.

``Tracker.track`` and ``Tracker.wrap`` (sync and async) all go through :class:`Call`,
so a call's row looks the same however it was tracked.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from xetrack.cache import RECEIVERS, Unhashable, bind, function_id, key_for, signature
from xetrack.errors import TypeConflictError
from xetrack.values import is_config, json_default, to_storable

if TYPE_CHECKING:
    from xetrack.system import SystemSampler
    from xetrack.tracker import Tracker

#: Columns a tracked call writes itself; a returned dict's key of the same name is
#: stored as ``result_<key>`` instead of overwriting it.
CALL_COLUMNS: Final = frozenset(
    {
        "function_name",
        "function_time",
        "args",
        "kwargs",
        "error",
        "cache",
        "function_result",
    }
)
_REPR_LIMIT: Final = 200


def _lenient(value: object) -> object:
    """JSON for the args/kwargs columns: what cannot be JSON is shown by its repr."""
    try:
        return json_default(value)
    except TypeError:
        text = repr(value)
        return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


_ENCODER: Final = json.JSONEncoder(default=_lenient, ensure_ascii=False)


def _describe(value: list[object] | dict[str, object]) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}"
    return _ENCODER.encode(value)


class Call:
    """A call about to be made: its identity, arguments and cache key."""

    __slots__ = (
        "_data",
        "args",
        "configs",
        "func",
        "key",
        "kwargs",
        "params",
        "tracker",
    )

    def __init__(
        self,
        tracker: Tracker,
        func: Callable[..., Any],
        args: Sequence[object] | None,
        kwargs: Mapping[str, object] | None,
        params: Mapping[str, object] | None,
    ) -> None:
        self.tracker = tracker
        self.func = func
        self.args = list(args or ())
        self.kwargs = dict(kwargs or {})
        self.params = dict(params or {})
        arguments = bind(func, self.args, self.kwargs)
        shown_args = self.args
        if arguments is not None:
            first = next(iter(arguments), None)
            if first in RECEIVERS and self.args:
                shown_args = self.args[1:]  # the method's receiver is not an input
            self.configs = {
                name: value
                for name, value in arguments.items()
                if name not in RECEIVERS and is_config(value)
            }
        else:
            self.configs = {}
        self.key = self._key(arguments) if tracker.cache_enabled else None
        self._data: dict[str, object] = {
            "function_name": getattr(func, "__name__", None) or function_id(func),
            "function_time": 0.0,
            "args": _describe(shown_args),
            "kwargs": _describe(self.kwargs),
            "error": "",
        }

    def _key(self, arguments: dict[str, object] | None) -> str | None:
        sig = signature(self.func)
        kinds = {n: p.kind for n, p in sig.parameters.items()} if sig else None
        params = {**self.tracker.flat_params, **self.tracker.flatten(self.params)}
        try:
            return key_for(self.func, arguments, self.args, self.kwargs, params, kinds)
        except Unhashable as exc:
            self.tracker.warn_unhashable(exc.kind)
            return None

    def cached(self) -> tuple[bool, Any]:
        """(True, result) when the cache holds this call; the hit is logged."""
        if self.key is None:
            return False, None
        entry = self.tracker.result_cache.get(self.key)
        if entry is None:
            return False, None
        self.log(entry.get("result"), 0.0, lineage=str(entry.get("cache", "")))
        return True, entry.get("result")

    def succeeded(self, result: Any, elapsed: float, system: dict[str, object]) -> None:
        if self.key is not None:
            try:
                self.tracker.result_cache.set(
                    self.key,
                    {
                        "result": result,
                        "cache": self.tracker.track_id,
                        "function": function_id(self.func),
                    },
                )
            except Exception as exc:  # an unpicklable result: computed, just not cached
                warnings.warn(
                    f"the result of {function_id(self.func)} cannot be cached ({exc}); "
                    f"the call is tracked but will run again next time",
                    stacklevel=4,
                )
        self.log(result, elapsed, lineage="", system=system)

    def failed(
        self, exc: BaseException, elapsed: float, system: dict[str, object]
    ) -> None:
        self._data["error"] = f"{type(exc).__name__}: {exc}"
        self.log(None, elapsed, lineage="", system=system, returned=False)

    def log(
        self,
        result: Any,
        elapsed: float,
        lineage: str,
        system: Mapping[str, object] | None = None,
        returned: bool = True,
    ) -> None:
        data = self._data  # a Call is logged once: no copy
        data["function_time"] = elapsed
        if self.tracker.cache_enabled:
            data["cache"] = lineage
        data.update(self.configs)
        data.update(self.params)
        if system:
            data.update(system)
        if returned:
            if isinstance(result, Mapping):
                for name, value in result.items():
                    data[f"result_{name}" if name in CALL_COLUMNS else name] = value
            else:
                data["function_result"] = _result_value(result)
        try:
            self.tracker._log(data)
        except TypeConflictError as exc:
            if exc.column != "function_result":
                raise
            # Functions tracked into one table may return different types; the call
            # already ran, so its result goes to a column named for its type.
            value = data.pop("function_result")
            data[f"function_result_{type(value).__name__}"] = value
            self.tracker._log(data)


def _result_value(result: Any) -> object:
    """A non-dict return value as stored: scalars and JSON as usual, else its str."""
    try:
        return to_storable("function_result", result)
    except Exception:
        return str(result)


def run(call: Call, tracker: Tracker, force: bool = False) -> Any:
    """Make the call (or serve it from the cache unless ``force``); log its row."""
    hit, value = (False, None) if force else call.cached()
    if hit:
        return value
    sampler = tracker.sampler()
    start = time.perf_counter()
    try:
        with sampler or contextlib.nullcontext():
            result = call.func(*call.args, **call.kwargs)
    except Exception as exc:
        return _raised(call, tracker, exc, start, sampler)
    call.succeeded(result, time.perf_counter() - start, _system(sampler))
    return result


async def run_async(call: Call, tracker: Tracker, force: bool = False) -> Any:
    """:func:`run` for a coroutine function: awaited, and timed while awaited."""
    hit, value = (False, None) if force else call.cached()
    if hit:
        return value
    sampler = tracker.sampler()
    start = time.perf_counter()
    try:
        with sampler or contextlib.nullcontext():
            result = await call.func(*call.args, **call.kwargs)
    except Exception as exc:
        return _raised(call, tracker, exc, start, sampler)
    call.succeeded(result, time.perf_counter() - start, _system(sampler))
    return result


def _system(sampler: SystemSampler | None) -> dict[str, object]:
    return sampler.results() if sampler is not None else {}


def _raised(
    call: Call,
    tracker: Tracker,
    exc: Exception,
    start: float,
    sampler: SystemSampler | None,
) -> None:
    """Log the failed call; raise it again (still being handled) unless told not to."""
    call.failed(exc, time.perf_counter() - start, _system(sampler))
    if tracker.raise_on_error:
        raise exc
    return None


def is_async(func: Callable[..., Any]) -> bool:
    target = getattr(func, "__func__", func)
    try:
        return _is_async(target)
    except TypeError:  # unhashable callables
        return inspect.iscoroutinefunction(target)


@functools.lru_cache(maxsize=2048)
def _is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func)
