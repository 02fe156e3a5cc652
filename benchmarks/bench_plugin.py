"""The plugin's costs: start-up when unused, the tracker fixture, @track rounds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import Report

from pytest_xetrack.timing import measure


def _pytest(folder: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def bench_startup(report: Report, folder: Path, tests: int = 500) -> None:
    suite = folder / "startup"
    suite.mkdir()
    (suite / "test_many.py").write_text(
        "".join(f"def test_{i}():\n    pass\n" for i in range(tests))
    )
    with_plugin, without = [], []
    for _ in range(7):  # alternate, so drift hits both alike
        with_plugin.append(_pytest(suite, "--collect-only"))
        without.append(_pytest(suite, "--collect-only", "-p", "no:xetrack"))
    ours, bare = statistics.median(with_plugin), statistics.median(without)
    report.add(
        f"pytest start-up, {tests} tests collected, plugin installed but unused",
        f"{ours * 1000:,.0f} ms",
        f"{bare * 1000:,.0f} ms with -p no:xetrack",
        f"{(ours / bare - 1) * 100:+.1f}%",
        "< +5%",
    )


def bench_fixture(report: Report, folder: Path, tests: int = 300) -> None:
    suite = folder / "fixture"
    suite.mkdir()
    (suite / "test_log.py").write_text(
        f"import pytest\n@pytest.mark.parametrize('i', range({tests}))\n"
        "def test_log(tracker, i):\n    tracker.log({'i': i, 'loss': 0.5, 'name': 'x'})\n"
    )
    (suite / "test_plain.py").write_text(
        f"import pytest\n@pytest.mark.parametrize('i', range({tests}))\n"
        "def test_plain(i):\n    pass\n"
    )
    logged, plain = [], []
    for k in range(3):
        logged.append(
            _pytest(suite, "test_log.py", f"--xetrack-db={suite / f'f{k}.db'}")
        )
        plain.append(
            _pytest(suite, "test_plain.py", f"--xetrack-db={suite / f'p{k}.db'}")
        )
    per_test = (min(logged) - min(plain)) / tests
    report.add(
        "tracker fixture + one log() per test, SQLite",
        f"{per_test * 1e3:.2f} ms per test",
        f"{min(plain) / tests * 1e3:.2f} ms per plain test (whole run / tests)",
        "-",
        "< 1 ms",
    )


def bench_rounds(report: Report, rounds: int = 200_000) -> None:
    def empty() -> None:
        pass

    testargs: dict[str, object] = {}

    def bare() -> float:
        start = time.perf_counter()
        for _ in range(rounds):
            empty(**testargs)
        return time.perf_counter() - start

    def timed() -> float:
        start = time.perf_counter()
        measure(lambda: empty(**testargs), rounds, 0)
        return time.perf_counter() - start

    bare_s = min(bare() for _ in range(5))
    timed_s = min(timed() for _ in range(5))
    report.add(
        "@track timing per round, empty test",
        f"{(timed_s - bare_s) / rounds * 1e6:.2f} us per round",
        f"{bare_s / rounds * 1e6:.2f} us per bare call",
        "-",
        "< 5 us",
    )


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_startup(report, folder)
        bench_fixture(report, folder)
    bench_rounds(report)
