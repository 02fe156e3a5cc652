"""Real benchmark suites written for pytest-benchmark's ``benchmark`` fixture, run
unchanged under xetrack's drop-in and under pytest-benchmark on the same machine.

    python benchmarks/real_suites.py setup            # sdists + two venvs under --work
    python benchmarks/real_suites.py run [--suite multidict] [--repeat 1]
    python benchmarks/real_suites.py report           # ratios of the last run

Two throwaway venvs under ``--work`` (default /tmp/xetrack-real-suites) hold the
same test requirements (the suites' own pins where they pin) and the released
wheels of each project; ``ours`` adds this checkout of xetrack, ``theirs`` adds
pytest-benchmark. Each suite's benchmark modules run from its sdist with its own
pytest.ini (its addopts included), plus ``--no-cov -n 0`` on both sides (coverage
tracing would be timed, and pytest-benchmark times nothing under xdist) and
``--benchmark-json``; ours also records into ``--xetrack-db``. Their ``unchanged``
run is the suite's benchmark modules with nothing added at all (yarl's then exits 1
all the same: its coverage floor of 99% is not met by the benchmark modules alone).

The report is our median over theirs per benchmark and the geometric mean. None of
the suites' code is kept in this repository: it is downloaded from PyPI.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITES: dict[str, dict[str, object]] = {
    "multidict": {
        "version": "7.2.1",
        "files": [
            "tests/test_multidict_benchmarks.py",
            "tests/test_views_benchmarks.py",
            "tests/test_watched_benchmarks.py",
        ],
        "requires": ["objgraph", "psutil"],
    },
    "yarl": {
        "version": "1.25.1",
        "files": [
            "tests/test_url_benchmarks.py",
            "tests/test_quoting_benchmarks.py",
            "tests/test_query_benchmarks.py",
        ],
        "requires": ["idna", "propcache", "multidict"],
    },
}
#: What both venvs get: the suites' pytest pins and plugins (pytest-codspeed is
#: where their BenchmarkFixture type comes from; not measuring, it steps aside).
COMMON = [
    "pytest==9.1.1",
    "pytest-cov",
    "pytest-xdist",
    "pytest-codspeed==5.0.3",
    "covdefaults",
    "cython",  # yarl's .coveragerc loads Cython's coverage plugin
    "hypothesis",
]


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=cwd, text=True, capture_output=True, check=False)


def setup(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    sdists = work / "sdist"
    wanted = [f"{name}=={spec['version']}" for name, spec in SUITES.items()]
    got = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            *wanted,
            "-d",
            str(sdists),
        ]
    )
    if got.returncode:
        sys.exit(got.stderr)
    for name, spec in SUITES.items():
        archive = sdists / f"{name}-{spec['version']}.tar.gz"
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
    extra = sorted({r for s in SUITES.values() for r in s["requires"]})  # type: ignore[attr-defined]
    released = [f"{n}=={s['version']}" for n, s in SUITES.items()]
    for side, plus in (
        ("ours", [f"{REPO}[pytest]"]),
        ("theirs", ["pytest-benchmark==5.3.1"]),
    ):
        venv = work / f"venv-{side}"
        _run([sys.executable, "-m", "venv", "--clear", str(venv)])
        done = _run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                *COMMON,
                *extra,
                *released,
                *plus,
            ]
        )
        if done.returncode:
            sys.exit(done.stderr)


def run(work: Path, names: list[str], repeat: int, unchanged: bool = True) -> None:
    for name in names:
        spec = SUITES[name]
        folder = work / f"{name}-{spec['version']}"
        files = [str(f) for f in spec["files"]]  # type: ignore[attr-defined]
        out = work / "results" / name
        out.mkdir(parents=True, exist_ok=True)
        if unchanged:  # as its maintainers run it (addopts and all), under ours
            began = time.perf_counter()
            plain = _run([str(work / "venv-ours" / "bin" / "pytest"), *files], folder)
            (out / "unchanged.txt").write_text(plain.stdout + plain.stderr)
            print(
                f"{name} unchanged under xetrack: exit {plain.returncode}, "
                f"{_summary(plain.stdout)} in {time.perf_counter() - began:.0f} s"
            )
        for attempt in range(repeat):
            for side in ("theirs", "ours"):  # alternated, so drift hits both
                target = out / f"{side}-{attempt}.json"
                cmd = [str(work / f"venv-{side}" / "bin" / "pytest"), *files]
                cmd += ["--no-cov", "-n", "0", "-q", f"--benchmark-json={target}"]
                if side == "ours":
                    cmd.append(f"--xetrack-db={out / 'ours.db'}")
                began = time.perf_counter()
                done = _run(cmd, folder)
                (out / f"{side}-{attempt}.txt").write_text(done.stdout + done.stderr)
                print(
                    f"{name} {side} #{attempt}: exit {done.returncode}, "
                    f"{_summary(done.stdout)} in {time.perf_counter() - began:.0f} s",
                    flush=True,
                )


def _summary(stdout: str) -> str:
    lines = [
        line
        for line in stdout.splitlines()
        if " in " in line and (" passed" in line or " failed" in line)
    ]
    return lines[-1].strip("= ") if lines else "(no summary)"


def _figures(path: Path) -> dict[str, tuple[float, float]]:
    """Each benchmark's (median, min) in a pytest-benchmark JSON file."""
    doc = json.loads(path.read_text())
    return {
        b["fullname"]: (float(b["stats"]["median"]), float(b["stats"]["min"]))
        for b in doc["benchmarks"]
    }


def _geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values if v > 0))


def report(work: Path, names: list[str]) -> None:
    """Per benchmark: our median over theirs (and the same of the fastest round, the
    figure least moved by a busy machine); geometric means per suite and overall."""
    every: list[tuple[float, float]] = []
    for name in names:
        out = work / "results" / name
        ours: dict[str, list[tuple[float, float]]] = {}
        theirs: dict[str, list[tuple[float, float]]] = {}
        for side, into in (("ours", ours), ("theirs", theirs)):
            for path in sorted(out.glob(f"{side}-*.json")):
                for key, value in _figures(path).items():
                    into.setdefault(key, []).append(value)
        common = sorted(set(ours) & set(theirs))
        ratios: list[tuple[float, float]] = []
        print(
            f"\n{name}: {len(ours)} benchmarks recorded by ours, {len(theirs)} by "
            f"pytest-benchmark, {len(common)} in both"
        )
        print(f"{'benchmark':70} {'ours':>11} {'theirs':>11} {'median':>7} {'min':>7}")
        for key in common:
            a = statistics.median(m for m, _ in ours[key])
            b = statistics.median(m for m, _ in theirs[key])
            low = min(m for _, m in ours[key]) / min(m for _, m in theirs[key])
            ratios.append((a / b, low))
            print(
                f"{key[-70:]:70} {a * 1e9:>10.0f}n {b * 1e9:>10.0f}n "
                f"{a / b:>7.3f} {low:>7.3f}"
            )
        if ratios:
            medians = [r for r, _ in ratios]
            print(
                f"{name}: geometric mean of ours/theirs medians "
                f"{_geomean(medians):.3f} (min {min(medians):.3f}, max "
                f"{max(medians):.3f}); of fastest rounds "
                f"{_geomean([r for _, r in ratios]):.3f}"
            )
            every.extend(ratios)
    if every:
        print(
            f"\nall: {len(every)} benchmarks, geometric mean of median ratios "
            f"{_geomean([r for r, _ in every]):.3f}, of min ratios "
            f"{_geomean([r for _, r in every]):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["setup", "run", "report", "all"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/xetrack-real-suites"))
    parser.add_argument("--suite", action="append", choices=sorted(SUITES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--timed-only", action="store_true", help="skip the unchanged-config run"
    )
    args = parser.parse_args()
    names = args.suite or sorted(SUITES)
    if args.command in ("setup", "all"):
        setup(args.work)
    if args.command in ("run", "all"):
        run(args.work, names, args.repeat, unchanged=not args.timed_only)
    if args.command in ("report", "all", "run"):
        report(args.work, names)


if __name__ == "__main__":
    main()
