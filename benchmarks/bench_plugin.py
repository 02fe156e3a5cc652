"""The plugin's costs: start-up when unused, the tracker fixture, @track rounds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from _harness import Report, user_env

from xetrack.timing import TimingConfig, measure


def _pytest(folder: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        env=user_env(),
    )
    return time.perf_counter() - start


def bench_startup(report: Report, folder: Path, tests: int = 500) -> None:
    suite = folder / "startup"
    suite.mkdir()
    (suite / "test_many.py").write_text(
        "".join(f"def test_{i}():\n    pass\n" for i in range(tests))
    )
    _pytest(suite, "--collect-only")  # writes the bytecode caches
    with_plugin, without = [], []
    # Alternated, so drift hits both alike; the fastest is the least disturbed.
    for _ in range(11):
        with_plugin.append(_pytest(suite, "--collect-only"))
        without.append(_pytest(suite, "--collect-only", "-p", "no:xetrack"))
    ours, bare = min(with_plugin), min(without)
    report.add(
        f"pytest start-up, {tests} tests collected, plugin installed but unused",
        f"{ours * 1000:,.0f} ms",
        f"{bare * 1000:,.0f} ms with -p no:xetrack",
        f"{(ours / bare - 1) * 100:+.1f}%",
        "< +5%",
    )


class _ItemClock:
    """Wall time of each test's whole protocol: setup, call, teardown and our hooks."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {"log": [], "plain": []}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> object:
        start = time.perf_counter()
        result = yield
        kind = "log" if "[log-" in item.nodeid else "plain"
        self.seconds[kind].append(time.perf_counter() - start)
        return result


def bench_fixture(report: Report, folder: Path, tests: int = 400) -> None:
    suite = folder / "fixture"
    suite.mkdir()
    # one session, fixture tests and plain tests alternating
    (suite / "test_log.py").write_text(
        "import pytest\n"
        f"CASES = [f'{{m}}-{{i}}' for i in range({tests}) for m in ('log', 'plain')]\n"
        "@pytest.mark.parametrize('case', CASES)\n"
        "def test_case(request, case):\n"
        "    if case.startswith('log'):\n"
        "        request.getfixturevalue('tracker').log({'i': 1, 'loss': 0.5, 'name': 'x'})\n"
    )
    clock = _ItemClock()
    code = pytest.main(
        [str(suite), "-q", "-p", "no:cacheprovider", f"--xetrack-db={suite / 'f.db'}"],
        plugins=[clock],
    )
    assert code == 0
    logged = statistics.median(clock.seconds["log"])
    plain = statistics.median(clock.seconds["plain"])
    report.add(
        "tracker fixture + one log() per test, SQLite",
        f"{(logged - plain) * 1e3:.2f} ms per test",
        f"{plain * 1e3:.2f} ms per plain test",
        "-",
        "< 1 ms",
    )


def bench_rounds(report: Report, calls: int = 2_000_000) -> None:
    def empty() -> None:
        pass

    def bare() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            empty()
        return time.perf_counter() - start

    def timed() -> float:
        config = TimingConfig(rounds=20, iterations=calls // 20, warmup_rounds=0)
        stats = measure(empty, config=config).stats()
        assert stats is not None
        return stats.median * calls

    bare_s = min(bare() for _ in range(5))
    timed_s = min(timed() for _ in range(5))
    report.add(
        "the timing engine's reading of an empty function, per call",
        f"{timed_s / calls * 1e9:.0f} ns",
        f"{bare_s / calls * 1e9:.0f} ns per call in a plain for loop",
        f"{timed_s / bare_s:.2f}x",
        "< 60 ns",
    )


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_startup(report, folder)
        bench_fixture(report, folder)
    bench_rounds(report)
