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


def _suite(folder: Path, name: str, body: str, tests: int) -> Path:
    suite = folder / name
    suite.mkdir()
    (suite / "test_many.py").write_text("".join(body.format(i=i) for i in range(tests)))
    return suite


def _best(runs: int, *commands: tuple[Path, tuple[str, ...]]) -> list[float]:
    """The fastest of ``runs`` runs of each command, taken in turns."""
    best = [float("inf")] * len(commands)
    for _ in range(runs):
        for index, (suite, args) in enumerate(commands):
            best[index] = min(best[index], _pytest(suite, *args))
    return best


def bench_per_test(report: Report, folder: Path, tests: int = 2000) -> None:
    """What recording costs per test, next to pytest-benchmark doing the same:
    ``tests`` trivial benchmarks of 5 rounds, less the same suite of plain tests."""
    try:
        import pytest_benchmark  # noqa: F401
    except ImportError:
        report.add(
            "per recorded test vs pytest-benchmark",
            "skipped",
            "pip install -e '.[bench]'",
            "-",
            "<= 1x",
        )
        return
    ours = _suite(
        folder,
        "ours",
        # iterations=1, as pedantic's: bare rounds=5 would calibrate iterations too
        "@track(rounds=5, iterations=1)\ndef test_{i}():\n    pass\n",
        tests,
    )
    (ours / "conftest.py").write_text("")
    (ours / "test_many.py").write_text(
        "from pytest_xetrack import track\n" + (ours / "test_many.py").read_text()
    )
    theirs = _suite(
        folder,
        "theirs",
        "def test_{i}(benchmark):\n    benchmark.pedantic(_f, rounds=5, iterations=1)\n",
        tests,
    )
    (theirs / "test_many.py").write_text(
        "def _f():\n    pass\n" + (theirs / "test_many.py").read_text()
    )
    plain = _suite(folder, "plain", "def test_{i}():\n    pass\n", tests)
    db = folder / "per-test.db"
    off = ("-p", "no:xetrack", "-p", "no:benchmark")
    for suite in (ours, theirs, plain):
        _pytest(suite, "--collect-only", *off)  # bytecode caches written
    recorded, benchmarked, bare = _best(
        3,
        (ours, (f"--xetrack-db={db}", "-p", "no:benchmark")),
        (
            theirs,
            (
                "-p",
                "no:xetrack",
                f"--benchmark-storage={folder / 'pb'}",
                "--benchmark-autosave",
            ),
        ),
        (plain, off),
    )
    ours_ms = (recorded - bare) / tests * 1000
    theirs_ms = (benchmarked - bare) / tests * 1000
    report.add(
        f"per recorded test, {tests:,} trivial tests x 5 rounds (less plain tests)",
        f"{ours_ms:.3f} ms (--xetrack-db)",
        f"{theirs_ms:.3f} ms pytest-benchmark (--benchmark-autosave)",
        f"{ours_ms / theirs_ms:.2f}x",
        "<= 1x",
    )
    xdist_db = folder / "xdist.db"
    serial, parallel, plain_serial, plain_parallel = _best(
        3,
        (ours, (f"--xetrack-db={folder / 'serial.db'}", "-p", "no:benchmark")),
        (ours, (f"--xetrack-db={xdist_db}", "-p", "no:benchmark", "-n", "2")),
        (ours, ("--xetrack-disable", "-p", "no:benchmark")),
        (ours, ("--xetrack-disable", "-p", "no:benchmark", "-n", "2")),
    )
    report.add(
        f"-n 2 over serial, the same {tests:,} recorded tests",
        f"{parallel - serial:+.2f} s ({serial:.2f} -> {parallel:.2f} s)",
        f"{plain_parallel - plain_serial:+.2f} s with --xetrack-disable "
        f"({plain_serial:.2f} -> {plain_parallel:.2f} s)",
        "-",
        "no more than xdist's own",
    )


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_startup(report, folder)
        bench_fixture(report, folder)
        bench_per_test(report, folder)
    bench_rounds(report)
