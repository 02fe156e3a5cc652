"""@track's settings resolved into the timing engine's config.

The plugin times nothing itself: the marker's arguments and the session's
``--xetrack-*`` timing options become one :class:`xetrack.timing.TimingConfig`,
and :func:`xetrack.timing.measure` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from xetrack.timing import TimingConfig

#: marker argument -> TimingConfig field, where the names differ
_RENAMED: Final = {"warmup": "warmup_rounds"}
#: the marker's arguments for the timing engine, besides rounds and warmup
TIMING_ARGS: Final = (
    "iterations",
    "min_rounds",
    "min_time",
    "max_time",
    "warmup_time",
    "timer",
    "disable_gc",
    "setup",
    "teardown",
)
_FIELDS: Final = ("rounds", "warmup", *TIMING_ARGS)


def timing_config(
    mark: Mapping[str, Any],
    defaults: Mapping[str, object] | None = None,
    fixtures: Mapping[str, Any] | None = None,
) -> TimingConfig:
    """The engine's config for a test: its marker's arguments over the session's
    ``defaults`` (the --xetrack-* timing options) over the engine's own.

    A marker's ``setup`` feeds the test function: what it returns is passed next to
    the test's ``fixtures``; its ``teardown`` gets only what the setup returned.
    Raises :class:`xetrack.errors.InvalidArgumentError` for a bad value.
    """
    from xetrack.timing import TimingConfig

    chosen: dict[str, Any] = dict(defaults or {})
    for name in _FIELDS:
        if mark.get(name) is not None:
            chosen[_RENAMED.get(name, name)] = mark[name]
    if "max_time" not in chosen and "min_time" in chosen:
        # asking for more time than the default cap raises the cap with it
        chosen["max_time"] = max(TimingConfig.max_time, float(chosen["min_time"]))
    setup, teardown = chosen.pop("setup", None), chosen.pop("teardown", None)
    if setup is not None and callable(setup):
        chosen["setup"], chosen["teardown"] = _feeding(setup, teardown, fixtures or {})
    elif setup is not None:
        chosen["setup"] = setup  # not callable: the config names it
    elif teardown is not None:
        chosen["teardown"] = _without(teardown, fixtures or {})
    return TimingConfig(**chosen)


def timing_problem(mark: Mapping[str, Any]) -> str | None:
    """What is wrong with a marker's timing arguments, or None."""
    from xetrack.errors import InvalidArgumentError

    try:
        timing_config(mark)
    except InvalidArgumentError as exc:
        return f"@track: {exc}"
    return None


def _feeding(
    setup: Callable[[], Any],
    teardown: Callable[..., Any] | None,
    fixtures: Mapping[str, Any],
) -> tuple[Callable[[], Any], Callable[..., Any] | None]:
    from xetrack.timing.engine import setup_arguments

    def with_fixtures() -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwargs = setup_arguments(setup())
        return args, {**fixtures, **kwargs}

    return with_fixtures, (_without(teardown, fixtures) if teardown else None)


def _without(
    teardown: Callable[..., Any], fixtures: Mapping[str, Any]
) -> Callable[..., Any]:
    def given(*args: Any, **kwargs: Any) -> Any:
        return teardown(*args, **{k: v for k, v in kwargs.items() if k not in fixtures})

    return given
