"""The ``benchmark`` fixture object, as pytest-benchmark documents it, measuring with
xetrack's timing engine (it times nothing itself).

``benchmark(fn, *args, **kwargs)`` calibrates and spends the time budget, then
returns ``fn``'s result; ``@benchmark`` on a function does the same at once;
``benchmark.pedantic(...)`` runs exactly the rounds it is given. One use per test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xetrack.errors import InvalidArgumentError, XetrackError

if TYPE_CHECKING:
    from xetrack.timing import Measurement

    #: (measurement, measure again) -> (the one to keep, the first median if again)
    Confirm = Callable[
        [Measurement, Callable[[], Measurement]], tuple[Measurement, float | None]
    ]


class FixtureAlreadyUsed(XetrackError, RuntimeError):
    """The ``benchmark`` fixture was used a second time in one test."""


class SetupArgumentsError(XetrackError, TypeError):
    """A pedantic ``setup`` returned arguments while ``args``/``kwargs`` were given,
    or returned something that is not ``(args, kwargs)``."""


class Figures:
    """The statistics of a finished benchmark (``benchmark.stats.stats``): min, max,
    mean, stddev, median, iqr, q1, q3, ops, rounds, total, outliers and ``data``."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(
                f"benchmark stats have no {name!r}; they have: "
                f"{', '.join(self.__dict__['_values'])}"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if k != "data"}

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={v!r}" for k, v in self._values.items() if k not in ("data",)
        )
        return f"Figures({shown})"


class BenchmarkStats:
    """``benchmark.stats`` after the run: ``.stats`` (the :class:`Figures`), the
    benchmark's name, fullname, group, param, params, extra_info and iterations;
    ``stats["mean"]`` and ``stats.get("mean")`` read a figure, then an attribute."""

    def __init__(self, fixture: BenchmarkFixture, figures: Mapping[str, Any]) -> None:
        self.name = fixture.name
        self.fullname = fixture.fullname
        self.group = fixture.group
        self.param = fixture.param
        self.params = fixture.params
        self.extra_info = fixture.extra_info
        self.iterations = int(figures.get("iterations", 1))
        self.stats = Figures(figures)

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self.stats, key)
        except AttributeError:
            return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except AttributeError:
            return default

    def __bool__(self) -> bool:
        return bool(self.stats.rounds)


class BenchmarkFixture:
    """What a test's ``benchmark`` argument is (see the module's doc)."""

    def __init__(
        self,
        name: str,
        fullname: str,
        param: str | None,
        params: Mapping[str, Any] | None,
        settings: Mapping[str, object],
        disabled: bool = False,
        group: str | None = None,
        confirm: Confirm | None = None,
    ) -> None:
        self.name = name
        self.fullname = fullname
        self.param = param
        self.params = dict(params) if params is not None else None
        self.group = group
        self.extra_info: dict[str, Any] = {}
        self.disabled = disabled
        self.has_error = False
        self.skipped = False
        #: set after the run: see :class:`BenchmarkStats`
        self.stats: BenchmarkStats | None = None
        #: the engine's measurement, for the row
        self.measured: Measurement | None = None
        #: the first median, when a suspected regression was measured again
        self.first: float | None = None
        self._settings = dict(settings)
        self._confirm = confirm
        self._mode: str | None = None

    @property
    def enabled(self) -> bool:
        return not self.disabled

    @property
    def mode(self) -> str | None:
        """How the fixture was used: ``benchmark(...)``, ``benchmark.pedantic(...)``."""
        return self._mode

    def _use(self, mode: str) -> None:
        __tracebackhide__ = True
        if self._mode:
            self.has_error = True
            raise FixtureAlreadyUsed(
                f"the benchmark fixture can be used once per test; it was used in "
                f"{self._mode} mode already: write one test per measured function"
            )
        self._mode = mode

    def __call__(
        self, function_to_benchmark: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Measure ``function_to_benchmark(*args, **kwargs)``; return its result.
        As a decorator (``@benchmark``) it measures the function at once."""
        __tracebackhide__ = True
        self._use("benchmark(...)")
        if self.disabled:
            return function_to_benchmark(*args, **kwargs)
        from xetrack.timing import TimingConfig

        try:
            config = TimingConfig(**self._settings)  # type: ignore[arg-type]
        except XetrackError:
            self.has_error = True
            raise
        return self._run(function_to_benchmark, args, kwargs, config)

    def pedantic(
        self,
        target: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        setup: Callable[[], Any] | None = None,
        teardown: Callable[..., Any] | None = None,
        rounds: int = 1,
        warmup_rounds: int = 0,
        iterations: int = 1,
    ) -> Any:
        """Exactly ``rounds`` timed rounds of ``iterations`` calls each, after
        ``warmup_rounds`` untimed ones; return the last call's result.

        ``setup`` runs before every round (warmup ones too), untimed; if it returns
        ``(args, kwargs)``, those are the round's arguments and ``args``/``kwargs``
        must be empty. ``teardown`` runs after every round with that round's
        arguments. ``iterations > 1`` with ``setup`` is an error: a setup feeds one
        call.
        """
        __tracebackhide__ = True
        self._use("benchmark.pedantic(...)")
        try:
            config = self._pedantic_config(
                args, kwargs, setup, teardown, rounds, warmup_rounds, iterations
            )
        except XetrackError:
            self.has_error = True
            raise
        given, named = tuple(args), dict(kwargs or {})
        if self.disabled:
            call_args, call_kwargs = (
                config.setup() if config.setup is not None else (given, named)
            )
            result = target(*call_args, **call_kwargs)
            if teardown is not None:
                teardown(*call_args, **call_kwargs)
            return result
        if config.setup is not None:
            return self._run(target, (), {}, config)
        return self._run(target, given, named, config)

    def _pedantic_config(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any] | None,
        setup: Callable[[], Any] | None,
        teardown: Callable[..., Any] | None,
        rounds: int,
        warmup_rounds: int,
        iterations: int,
    ) -> Any:
        from xetrack.timing import TimingConfig

        for name, value, least in (
            ("rounds", rounds, 1),
            ("iterations", iterations, 1),
            ("warmup_rounds", warmup_rounds, 0),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidArgumentError(
                    f"benchmark.pedantic({name}={value!r}): {name} must be an int >= "
                    f"{least}"
                )
        if setup is not None and iterations > 1:
            raise InvalidArgumentError(
                f"benchmark.pedantic(iterations={iterations}) with a setup function: "
                f"a setup feeds one call, so each round is one call; drop iterations "
                f"or the setup"
            )
        for name, given in (("setup", setup), ("teardown", teardown)):
            if given is not None and not callable(given):
                raise InvalidArgumentError(
                    f"benchmark.pedantic({name}={given!r}) is not callable; pass a function"
                )
        fed = (
            None if setup is None else _feeding(setup, tuple(args), dict(kwargs or {}))
        )
        settings = {
            k: v for k, v in self._settings.items() if k in ("timer", "disable_gc")
        }
        return TimingConfig(
            rounds=rounds,
            iterations=iterations,
            warmup_rounds=warmup_rounds,
            setup=fed,
            teardown=teardown,
            **settings,  # type: ignore[arg-type]
        )

    def _run(
        self,
        fn: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        config: Any,
    ) -> Any:
        __tracebackhide__ = True
        from xetrack.interop.pytest_benchmark import stats_of
        from xetrack.timing import measure

        measured = measure(fn, args, kwargs, config)
        if self._confirm is not None and measured.error is None:
            measured, self.first = self._confirm(
                measured, lambda: measure(fn, args, kwargs, config)
            )
        self.measured = measured
        if measured.error is not None:
            self.has_error = True
            raise measured.error
        figures = stats_of(measured.samples, measured.iterations)
        figures["data"] = list(measured.samples)
        figures["iterations"] = measured.iterations
        self.stats = BenchmarkStats(self, figures)
        return measured.result

    def weave(self, target: Any, **kwargs: Any) -> None:
        """Not supported: pytest-benchmark patches functions with aspectlib here."""
        raise XetrackError(
            "benchmark.weave/patch (aspectlib) is not supported by xetrack's "
            "benchmark fixture; call benchmark(function, ...) on what to measure"
        )

    patch = weave


def _feeding(
    setup: Callable[[], Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]:
    """The engine's setup for pedantic's: a round's ``(args, kwargs)``, from what
    the setup returned, or the given arguments when it returned nothing."""

    def arguments() -> tuple[tuple[Any, ...], dict[str, Any]]:
        __tracebackhide__ = True
        returned = setup()
        if not returned:
            return args, kwargs
        if args or kwargs:
            raise SetupArgumentsError(
                "benchmark.pedantic: setup returned arguments while args/kwargs were "
                "given too; pass the arguments one way (return them from setup, or "
                "give args=/kwargs=)"
            )
        try:
            call_args, call_kwargs = returned
            return tuple(call_args), dict(call_kwargs)
        except (TypeError, ValueError):
            raise SetupArgumentsError(
                f"benchmark.pedantic: setup returned {type(returned).__name__} "
                f"{returned!r:.60}; return (args, kwargs), e.g. ((data,), {{}}), or "
                f"None"
            ) from None

    return arguments
