"""One tracked call: timing, arguments, config unpacking, cache lineage, the row.

``Tracker.track`` and ``Tracker.wrap`` (sync and async) all go through :class:`Call`,
so a call's row looks the same however it was tracked.
"""

from __future__ import annotations

import contextlib
import inspect
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from xetrack.cache import RECEIVERS, Unhashable, bind, function_id, key_for, signature
from xetrack.timing.engine import TIMING_COLUMNS
from xetrack.values import (
    flatten,
    is_config,
    json_default,
    json_writer,
    now,
    to_storable,
)

if TYPE_CHECKING:
    from xetrack.system import SystemSampler
    from xetrack.timing import TimingConfig
    from xetrack.tracker import Tracker

#: Columns a tracked call writes itself; a returned dict's key of the same name is
#: stored as ``result_<key>`` instead of overwriting it.
CALL_COLUMNS: Final = (
    frozenset(
        {
            "function_name",
            "function_time",
            "args",
            "kwargs",
            "error",
            "cache",
            "function_result",
            # set by xetrack on every row (and the engines' row ids)
            "timestamp",
            "track_id",
            "rowid",
            "oid",
            "_rowid_",
        }
    )
    | TIMING_COLUMNS
)  # a call timed by the engine (track(..., timing=...)) has these
_REPR_LIMIT: Final = 200


def _lenient(value: object) -> object:
    """JSON for the args/kwargs columns: what cannot be JSON is shown by its repr."""
    try:
        return json_default(value)
    except TypeError:
        return _shown(value)


def _shown(value: object) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


_write_json: Final = json_writer(_lenient)


def _describe(value: tuple[object, ...] | dict[str, object]) -> str:
    if not value:
        return "[]" if type(value) is tuple else "{}"
    try:
        return _write_json(value)
    except (ValueError, RecursionError):  # circular or deep: shown, never a failure
        return _shown(list(value) if type(value) is tuple else value)


class Shape:
    """What a tracked function's signature says, worked out once per function.

    ``names`` is None unless every parameter is positional-or-keyword or
    keyword-only; only those signatures take the fast path of :meth:`configs`.
    """

    __slots__ = (
        "allowed",
        "coroutine",
        "defaults",
        "kinds",
        "name",
        "names",
        "positional",
        "receiver",
    )

    def __init__(self, func: Callable[..., Any], bound: bool = False) -> None:
        """``bound``: ``func`` is the function of a bound method, its receiver given."""
        self.name: str = getattr(func, "__name__", None) or function_id(func)
        self.coroutine = inspect.iscoroutinefunction(func)
        sig = signature(func)
        params = list(sig.parameters.values()) if sig is not None else []
        positional = (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
        if bound:  # the receiver takes the first parameter, which must be positional
            if not params or params[0].kind not in positional:
                sig = None
            params = params[1:]
        #: parameter -> kind, as the signature of the call (a bound method's) has them
        self.kinds = {p.name: p.kind for p in params}
        # A plain function whose first parameter is self/cls is a method decorated in
        # its class body: that argument is the receiver, not an input.
        self.receiver = not bound and bool(params) and params[0].name in RECEIVERS
        plain = (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
        self.names: tuple[str, ...] | None = None
        self.positional = 0
        self.allowed: frozenset[str] = frozenset()
        self.defaults: dict[str, object] = {}
        if sig is not None and all(p.kind in plain for p in params):
            self.names = tuple(p.name for p in params)
            self.positional = sum(p.kind in positional for p in params)
            self.allowed = frozenset(self.names)
            self.defaults = {
                p.name: p.default for p in params if p.default is not p.empty
            }

    def configs(
        self, args: tuple[object, ...], kwargs: Mapping[str, object]
    ) -> dict[str, object] | None:
        """Config arguments by parameter name, in signature order; None: bind instead.

        The same answer as binding the call (defaults applied) and picking the
        configs, without building the bound arguments: the common case of a call
        without a cache. None when the call would not bind (it is going to fail).
        """
        names = self.names
        if names is None or len(args) > self.positional:
            return None
        if kwargs and (
            not kwargs.keys() <= self.allowed
            or not kwargs.keys().isdisjoint(names[: len(args)])
        ):
            return None
        found: dict[str, object] = {}
        for name, value in zip(names, args, strict=False):
            if is_config(value) and name not in RECEIVERS:
                found[name] = value
        for name in names[len(args) :]:
            if name in kwargs:
                value = kwargs[name]
            elif name in self.defaults:
                value = self.defaults[name]
            else:
                return None  # a required argument is missing
            if is_config(value) and name not in RECEIVERS:
                found[name] = value
        return found


#: Shapes by function (by its function, for a bound method): (func, bound) -> Shape.
_SHAPES: dict[tuple[Callable[..., Any], bool], Shape] = {}


def shape_of(func: Callable[..., Any]) -> Shape:
    """The :class:`Shape` of ``func``; of a bound method, its function's (keyed on the
    function: a bound method is a new object at every attribute access)."""
    bound = inspect.ismethod(func)
    key: Callable[..., Any] = func.__func__ if bound else func  # type: ignore[attr-defined]
    try:
        shape = _SHAPES.get((key, bound))
    except TypeError:  # an unhashable callable
        return Shape(key, bound)
    if shape is None:
        if len(_SHAPES) > 4096:  # functions made on the fly: do not keep them all
            _SHAPES.clear()
        shape = _SHAPES[(key, bound)] = Shape(key, bound)
    return shape


def _bound_configs(arguments: Mapping[str, object] | None) -> dict[str, object]:
    if arguments is None:
        return {}
    return {
        name: value
        for name, value in arguments.items()
        if name not in RECEIVERS and is_config(value)
    }


class Call:
    """A call about to be made: its identity, arguments and cache key."""

    __slots__ = (
        "args",
        "configs",
        "described",
        "error",
        "func",
        "key",
        "kwargs",
        "params",
        "shape",
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
        self.args = args = tuple(args) if args else ()
        self.kwargs = kwargs = dict(kwargs) if kwargs else {}
        self.params = params or {}
        self.shape = shape = shape_of(func)
        self.error = ""
        self.key: str | None = None
        # Described before the call: what was passed, even if the function mutates it.
        shown = args[1:] if shape.receiver and args else args
        self.described = (_describe(shown), _describe(kwargs) if kwargs else "{}")
        if tracker.cache_enabled:
            arguments = bind(func, args, kwargs)
            self.key = self._key(arguments)
            self.configs = _bound_configs(arguments)
        else:
            configs = shape.configs(args, kwargs)
            if configs is None:
                configs = _bound_configs(bind(func, args, kwargs))
            self.configs = configs

    def _key(self, arguments: dict[str, object] | None) -> str | None:
        params = self.tracker.flat_params
        if self.params:
            params = {**params, **self.tracker.flatten(self.params)}
        try:
            return key_for(
                self.func, arguments, self.args, self.kwargs, params, self.shape.kinds
            )
        except Unhashable as exc:
            self.tracker.warn_unhashable(exc.kind, exc.where)
            return None

    def cached(self) -> tuple[bool, Any]:
        """(True, result) when the cache holds this call; the hit is logged."""
        if self.key is None:
            return False, None
        cache = self.tracker.usable_cache()
        if cache is None:
            self.key = None
            return False, None
        entry = cache.get(self.key)
        if entry is None:
            return False, None
        self.log(entry.get("result"), 0.0, lineage=str(entry.get("cache", "")))
        return True, entry.get("result")

    def succeeded(
        self,
        result: Any,
        elapsed: float,
        system: Mapping[str, object] | None,
        timing: Mapping[str, object] | None = None,
    ) -> None:
        if self.key is not None:
            try:
                self.tracker.result_cache.set(
                    self.key,
                    {
                        "result": result,
                        "cache": self.tracker.track_id,
                        "function": function_id(self.func),
                    },
                    {"function": function_id(self.func)},
                )
            except Exception as exc:  # an unpicklable result: computed, just not cached
                warnings.warn(
                    f"the result of {function_id(self.func)} cannot be cached ({exc}); "
                    f"the call is tracked but will run again next time",
                    stacklevel=4,
                )
        self.log(result, elapsed, "", system, timing=timing)

    def failed(
        self,
        exc: BaseException,
        elapsed: float,
        system: Mapping[str, object],
        timing: Mapping[str, object] | None = None,
    ) -> None:
        self.error = f"{type(exc).__name__}: {exc}"
        self.log(
            None, elapsed, lineage="", system=system, returned=False, timing=timing
        )

    def log(
        self,
        result: Any,
        elapsed: float,
        lineage: str,
        system: Mapping[str, object] | None = None,
        returned: bool = True,
        timing: Mapping[str, object] | None = None,
    ) -> None:
        tracker = self.tracker
        sink = tracker._asset_sink
        hints: dict[str, str] = {}
        row: dict[str, object] = {
            "timestamp": now(),
            "track_id": tracker.track_id,
            "function_name": self.shape.name,
            "function_time": elapsed,
            "args": self.described[0],
            "kwargs": self.described[1],
            "error": self.error,
        }
        if timing:
            flatten(timing, sink, into=row)
        if self.key is not None or tracker.cache_enabled:
            row["cache"] = lineage
        # The call has run: a value that contains itself is shown, not a reason to
        # lose the row (cycles=True).
        if self.configs:
            flatten(self.configs, sink, into=row, hints=hints, cycles=True)
        if self.params:
            flatten(self.params, sink, into=row, hints=hints, cycles=True)
        if system:
            flatten(system, sink, into=row)
        if returned:
            if type(result) is dict or isinstance(result, Mapping):
                if not CALL_COLUMNS.isdisjoint(result):
                    result = {
                        f"result_{name}" if name in CALL_COLUMNS else name: value
                        for name, value in result.items()
                    }
                flatten(result, sink, into=row, hints=hints, cycles=True)
            else:
                row["function_result"] = _result_value(result)
        # function_result takes any type (ANY_TYPE_COLUMNS): functions tracked into
        # one table may return different ones.
        tracker._log_row(row, hints)


def _result_value(result: Any) -> object:
    """A non-dict return value as stored: scalars and JSON as usual, else its str."""
    try:
        return to_storable("function_result", result)
    except Exception:
        return str(result)


#: Stands in for the system sampler when none is asked for (reusable, stateless).
_NO_SAMPLER: Final = contextlib.nullcontext()


def run(call: Call, tracker: Tracker, force: bool = False) -> Any:
    """Make the call (or serve it from the cache unless ``force``); log its row."""
    if call.key is not None and not force:
        hit, value = call.cached()
        if hit:
            return value
    sampler = tracker.sampler()
    if sampler is None:  # the common case, without a context manager around the call
        start = time.perf_counter()
        try:
            result = call.func(*call.args, **call.kwargs)
        except Exception as exc:
            return _raised(call, tracker, exc, start, None)
        call.succeeded(result, time.perf_counter() - start, None)
        return result
    start = time.perf_counter()
    try:
        with sampler:
            result = call.func(*call.args, **call.kwargs)
    except Exception as exc:
        return _raised(call, tracker, exc, start, sampler)
    call.succeeded(result, time.perf_counter() - start, sampler.results())
    return result


async def run_async(call: Call, tracker: Tracker, force: bool = False) -> Any:
    """:func:`run` for a coroutine function: awaited, and timed while awaited."""
    if call.key is not None and not force:
        hit, value = call.cached()
        if hit:
            return value
    sampler = tracker.sampler()
    start = time.perf_counter()
    try:
        with sampler or _NO_SAMPLER:
            result = await call.func(*call.args, **call.kwargs)
    except Exception as exc:
        return _raised(call, tracker, exc, start, sampler)
    call.succeeded(result, time.perf_counter() - start, _system(sampler))
    return result


def run_timed(
    call: Call, tracker: Tracker, config: TimingConfig, force: bool = False
) -> Any:
    """Time the call with the timing engine (many calls, see
    :mod:`xetrack.timing`) and log one row with its statistics; the result of the
    last call is returned. A cached result is served without timing."""
    from xetrack.timing import measure

    if call.key is not None and not force:
        hit, value = call.cached()
        if hit:
            return value
    sampler = tracker.sampler()
    with sampler or _NO_SAMPLER:
        measured = measure(call.func, call.args, call.kwargs, config)
    system = _system(sampler)
    columns = measured.columns()
    stats = measured.stats()
    elapsed = stats.median if stats is not None else 0.0
    error = measured.error
    if error is None:
        call.succeeded(measured.result, elapsed, system, columns)
        return measured.result
    call.failed(error, elapsed, system, columns)
    if tracker.raise_on_error or not isinstance(error, Exception):
        raise error
    return None


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
