"""Verdict quality: A/A sessions and injected slowdowns, xetrack against pytest-benchmark.

A scratch git repository holds one suite written twice, once per tool at its
defaults (bare ``@track`` for us, plain ``benchmark(fn, n)`` for pytest-benchmark):
workloads of about 0.2 us, 2 us, 50 us, 2 ms and 50 ms (a Python loop of ``n``
steps), a 2 ms one that makes cyclic garbage, and an empty function. Each
workload comes in four variants, ``aa``, ``p5``, ``p10`` and ``p20``. Every A/A
commit runs all of them at the same amount of work; a slowed commit on top of it
scales the work of ``p5``/``p10``/``p20`` by exactly 1.05/1.10/1.20 (more loop
steps, never a sleep). So each A/A commit extends a chain of ancestors, as in CI,
and each slowed commit is judged against the A/A commit it sits on:

- ours with ``--xetrack-compare`` (the default baseline, the history of the chain);
- pytest-benchmark with ``--benchmark-compare=<that run> --benchmark-compare-fail=median:5%``.

Both run as real pytest sessions in subprocesses, alternating, so drift on the
machine hits both alike; ours with ``-p no:benchmark``, theirs with ``-p no:xetrack``.
A tight ``timeit`` loop over the same functions is the reference for bias, and it
measures the slowdowns really injected (the fixed cost of a call does not scale).

    pip install -e ".[bench]"                       # pytest-benchmark, for this file only
    python benchmarks/run.py verdicts --quick      # 2 A/A commits per tool, ~3 min
    python benchmarks/bench_verdicts.py            # 10 per tool, ~15 min
    python benchmarks/bench_verdicts.py --keep DIR # keep the repository, store and JSON
    python benchmarks/bench_verdicts.py --replay DIR   # judge a kept run again

It prints the figures as Markdown tables, ready for the README.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import Report, user_env

#: target duration of one call, seconds, by workload
TARGETS = {
    "0.2us": 0.2e-6,
    "2us": 2e-6,
    "50us": 50e-6,
    "2ms": 2e-3,
    "50ms": 50e-3,
    "2ms-gc": 2e-3,
}
VARIANTS = {"aa": 1.0, "p5": 1.05, "p10": 1.10, "p20": 1.20}
SLOWDOWNS = ("p5", "p10", "p20")

WORKLOADS = '''
import json
import pathlib


def params():
    return json.loads(pathlib.Path(__file__).with_name("params.json").read_text())


def loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


def garbage(n):
    for _ in range(n):
        cycle = []
        cycle.append(cycle)


def empty():
    pass


def cases():
    """(id, function name, n) of every benchmark, n scaled by the variant's factor."""
    out = []
    chosen = params()
    for name, base in chosen["n"].items():
        for variant, factor in chosen["factors"].items():
            kind = "garbage" if name.endswith("-gc") else "loop"
            out.append((f"{name}-{variant}", kind, round(base * factor)))
    return out
'''

OURS = """
import pytest
from pytest_xetrack import track
from workloads import cases

LOOPS = [pytest.param(n, id=i) for i, kind, n in cases() if kind == "loop"]
GARBAGE = [pytest.param(n, id=i) for i, kind, n in cases() if kind == "garbage"]


@track
def test_empty():
    pass


@track
@pytest.mark.parametrize("n", LOOPS)
def test_loop(n):
    total = 0
    for i in range(n):
        total += i
    return None


@track
@pytest.mark.parametrize("n", GARBAGE)
def test_garbage(n):
    for _ in range(n):
        cycle = []
        cycle.append(cycle)
"""

THEIRS = """
import pytest
from workloads import cases, empty, garbage, loop

LOOPS = [pytest.param(n, id=i) for i, kind, n in cases() if kind == "loop"]
GARBAGE = [pytest.param(n, id=i) for i, kind, n in cases() if kind == "garbage"]


def test_empty(benchmark):
    benchmark(empty)


@pytest.mark.parametrize("n", LOOPS)
def test_loop(benchmark, n):
    benchmark(loop, n)


@pytest.mark.parametrize("n", GARBAGE)
def test_garbage(benchmark, n):
    benchmark(garbage, n)
"""

REFERENCE = """
import json, sys, timeit
sys.path.insert(0, sys.argv[1])
import workloads
factors = json.loads(sys.argv[2])
sizes = workloads.params()["n"]
out = {}
timers = {}
for name, base in sizes.items():
    fn = getattr(workloads, "garbage" if name.endswith("-gc") else "loop")
    for variant, factor in factors.items():
        timer = timeit.Timer("f(n)", globals={"f": fn, "n": round(base * factor)})
        number, _ = timer.autorange()
        timers[f"{name}-{variant}"] = (timer, max(number, 1))
timers["empty"] = (timeit.Timer("f()", globals={"f": workloads.empty}), 1)
timers["empty"] = (timers["empty"][0], timers["empty"][0].autorange()[0])
# the variants of a workload alternate, so drift hits them alike; best of 5
for _ in range(5):
    for case, (timer, number) in timers.items():
        seconds = timer.timeit(number) / number
        out[case] = min(out.get(case, seconds), seconds)
print(json.dumps(out))
"""


# -- the scratch repository ---------------------------------------------------------------
class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            [
                "git",
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
                *args,
            ],
            cwd=self.path,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def write(self, name: str, text: str) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def _per_step() -> tuple[float, float]:
    """Seconds per loop step and per garbage cycle, from a quick timeit."""
    import timeit

    namespace: dict[str, Any] = {}
    exec(WORKLOADS, namespace)  # the very functions the suites time
    loop, garbage = namespace["loop"], namespace["garbage"]

    def cost(fn: Any, n: int) -> float:
        number = 20
        return min(timeit.repeat(lambda: fn(n), number=number, repeat=5)) / number

    return (
        (cost(loop, 20_000) - cost(loop, 0)) / 20_000,
        (cost(garbage, 5_000) - cost(garbage, 0)) / 5_000,
    )


def _params() -> dict[str, Any]:
    step, cycle = _per_step()
    sizes = {}
    for name, target in TARGETS.items():
        unit = cycle if name.endswith("-gc") else step
        steps = max(1, round(target / unit))
        # multiples of 20 make 1.05, 1.10 and 1.20 times the work whole numbers
        sizes[name] = steps if steps < 40 else 20 * round(steps / 20)
    return {"n": sizes, "factors": dict.fromkeys(VARIANTS, 1.0)}


# -- running sessions ---------------------------------------------------------------------
@dataclass
class Session:
    tool: str
    kind: str  # "aa" or "slow"
    index: int
    commit: str
    wall: float
    exit: int
    #: ours: the run's track_id; theirs: the saved file's number
    run: str
    #: theirs: the saved file of the A/A run it was compared with
    against: str | None = None


@dataclass
class Bench:
    root: Path
    sessions: list[Session] = field(default_factory=list)
    references: list[dict[str, float]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def db(self) -> Path:
        return self.root / "ours.db"

    @property
    def store(self) -> Path:
        return self.root / "pb-store"

    def save(self) -> None:
        meta = {
            "sessions": [s.__dict__ for s in self.sessions],
            "references": self.references,
            "params": self.params,
        }
        (self.root / "meta.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, root: Path) -> Bench:
        meta = json.loads((root / "meta.json").read_text())
        bench = cls(root, [Session(**s) for s in meta["sessions"]])
        bench.references, bench.params = meta["references"], meta["params"]
        return bench


def _pytest(repo: Path, *args: str) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=user_env(),
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"pytest {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        )
    return wall, done.returncode, done.stdout


def _latest_track_id(db: Path) -> str:
    from xetrack import Reader

    reader = Reader(db)
    try:
        frame = reader.sql(
            'SELECT track_id, MAX(timestamp) AS t FROM "default" GROUP BY track_id ORDER BY t DESC LIMIT 1'
        )
    finally:
        reader.close()
    return str(frame.iloc[0]["track_id"])


def _saved(store: Path) -> list[Path]:
    return sorted(store.glob("*/*.json"))


def _run_ours(bench: Bench, kind: str, index: int, commit: str) -> None:
    wall, code, _ = _pytest(
        bench.repo,
        "ours",
        "-p",
        "no:benchmark",
        f"--xetrack-db={bench.db}",
        "--xetrack-compare",
    )
    bench.sessions.append(
        Session("ours", kind, index, commit, wall, code, _latest_track_id(bench.db))
    )


def _run_theirs(
    bench: Bench, kind: str, index: int, commit: str, against: str | None
) -> None:
    before = set(_saved(bench.store))
    args = [
        "pb",
        "-p",
        "no:xetrack",
        f"--benchmark-storage=file://{bench.store}",
        f"--benchmark-save={kind}{index}",
    ]
    if against is not None:
        args += [f"--benchmark-compare={against}", "--benchmark-compare-fail=median:5%"]
    wall, code, _ = _pytest(bench.repo, *args)
    new = [p for p in _saved(bench.store) if p not in before]
    number = new[0].name.split("_", 1)[0]
    bench.sessions.append(
        Session("theirs", kind, index, commit, wall, code, number, against)
    )


def _reference(bench: Bench) -> None:
    done = subprocess.run(
        [sys.executable, "-c", REFERENCE, str(bench.repo), json.dumps(VARIANTS)],
        capture_output=True,
        text=True,
        check=True,
        env=user_env(),
    )
    bench.references.append(json.loads(done.stdout))


def record(bench: Bench, commits: int) -> None:
    repo = Repo(bench.repo)
    bench.params = _params()
    repo.write("workloads.py", WORKLOADS)
    repo.write("ours/test_ours.py", OURS)
    repo.write("pb/test_pb.py", THEIRS)
    repo.write("pytest.ini", "[pytest]\npythonpath = .\n")
    print(f"  workload sizes: {bench.params['n']}", flush=True)
    previous: str | None = None
    for index in range(1, commits + 1):
        repo.write("params.json", json.dumps(bench.params))
        commit = repo.commit(f"A/A {index}")
        if index == 1:
            _reference(bench)
        # alternate who goes first, so drift over the run hits both alike
        order = ("ours", "theirs") if index % 2 else ("theirs", "ours")
        for tool in order:
            if tool == "ours":
                _run_ours(bench, "aa", index, commit)
            else:
                _run_theirs(bench, "aa", index, commit, previous)
        aa_number = previous = next(
            s.run for s in reversed(bench.sessions) if s.tool == "theirs"
        )
        repo.git("checkout", "-q", "-b", f"slow{index}")
        slowed = dict(bench.params, factors=VARIANTS)
        repo.write("params.json", json.dumps(slowed))
        slow_commit = repo.commit(f"slower {index}")
        for tool in reversed(order):
            if tool == "ours":
                _run_ours(bench, "slow", index, slow_commit)
            else:
                _run_theirs(bench, "slow", index, slow_commit, aa_number)
        repo.git("checkout", "-q", "main")
        done = [s for s in bench.sessions if s.index == index]
        print(
            f"  commit {index}/{commits}: "
            + ", ".join(f"{s.tool} {s.kind} {s.wall:.1f}s" for s in done),
            flush=True,
        )
        bench.save()
    _reference(bench)  # again at the end: the best of both is the reference
    bench.save()


# -- judging ----------------------------------------------------------------------------
@dataclass
class Verdicts:
    #: (workload, variant, how much history: see _tier) -> verdicts
    found: dict[tuple[str, str, int], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    #: workload -> per-session medians of A/A sessions, by variant
    readings: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    #: the same for the fastest call (what xetrack's verdicts compare)
    fastest: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    #: and for the fastest call over the probe loop's (see xetrack.verdict)
    over_probe: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )


def _case(name: str) -> tuple[str, str] | None:
    """(workload, variant) of a test id like ``...::test_loop[2us-p5]``."""
    if "[" not in name:
        return ("empty", "aa") if name.endswith("test_empty") else None
    inner = name.rsplit("[", 1)[1].rstrip("]")
    workload, _, variant = inner.rpartition("-")
    return workload, variant


def judge_ours(bench: Bench) -> Verdicts:
    from xetrack import Reader
    from xetrack.compare import compare

    reader = Reader(bench.db)
    try:
        probe = "time_probe" if "time_probe" in reader.columns else "NULL AS time_probe"
        rows = reader.sql(
            f"SELECT track_id, test_nodeid, function_time, time_min, {probe} "
            f'FROM "default"'
        )
    finally:
        reader.close()
    stored = {
        (r.track_id, r.test_nodeid): (r.function_time, r.time_min, r.time_probe)
        for r in rows.itertuples()
    }
    out = Verdicts()
    for session in (s for s in bench.sessions if s.tool == "ours"):
        history = session.index - (1 if session.kind == "aa" else 0)
        result = compare(bench.db, head=session.run, repo=bench.repo)
        for row in result.rows:
            case = _case(row.benchmark)
            if case is None or row.metric != "function_time":
                continue
            workload, variant = case
            if session.kind == "aa" and (session.run, row.benchmark) in stored:
                median, fastest, probe = stored[(session.run, row.benchmark)]
                out.readings[workload][variant].append(median)
                out.fastest[workload][variant].append(fastest)
                if probe and probe > 0:  # NaN, from a store without probes, is not
                    out.over_probe[workload][variant].append(fastest / probe)
            if result.base is None or row.base is None:
                continue
            slowed = session.kind == "slow" and variant != "aa"
            key = (workload, variant if slowed else "aa", _tier(history))
            out.found[key].append(row.verdict)
    return out


def _pb_medians(store: Path, number: str) -> dict[str, float]:
    (path,) = [p for p in store.glob(f"*/{number}_*.json")]
    data = json.loads(path.read_text())
    return {b["fullname"]: b["stats"]["median"] for b in data["benchmarks"]}


def judge_theirs(bench: Bench) -> Verdicts:
    """median:5%: a regression when the median grew by more than 5% of the base's."""
    out = Verdicts()
    for session in (s for s in bench.sessions if s.tool == "theirs"):
        head = _pb_medians(bench.store, session.run)
        history = session.index - (1 if session.kind == "aa" else 0)
        base = _pb_medians(bench.store, session.against) if session.against else {}
        for name, median in head.items():
            case = _case(name)
            if case is None:
                continue
            workload, variant = case
            if session.kind == "aa":
                out.readings[workload][variant].append(median)
            if name not in base:
                continue
            slowed = session.kind == "slow" and variant != "aa"
            verdict = (
                "regressed" if median - base[name] > 0.05 * base[name] else "unchanged"
            )
            key = (workload, variant if slowed else "aa", _tier(history))
            out.found[key].append(verdict)
    return out


# -- the tables -----------------------------------------------------------------------------
def _share(verdicts: Sequence[str], verdict: str) -> float | None:
    return verdicts.count(verdict) / len(verdicts) if verdicts else None


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.0f}%"


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _cv(readings: dict[str, list[float]]) -> float | None:
    """Session-to-session CV of each test's reading, averaged over the A/A variants."""
    cvs = [
        statistics.stdev(v) / statistics.fmean(v)
        for v in readings.values()
        if len(v) > 2
    ]
    return statistics.fmean(cvs) if cvs else None


def _tier(history: int) -> int:
    """0: a first comparison (under 2 earlier runs); 1: 2-5 earlier runs; 2: 6 or
    more, enough history for the verdict to judge over the probe loop."""
    return 0 if history < 2 else 1 if history < 6 else 2


def _pool(
    found: dict[tuple[str, str, int], list[str]],
    workload: str,
    variant: str,
    history: int | None = None,
) -> list[str]:
    out: list[str] = []
    for (w, v, h), verdicts in found.items():
        if w == workload and v == variant and (history is None or h == history):
            out.extend(verdicts)
    return out


def tables(
    bench: Bench, ours: Verdicts, theirs: Verdicts, report: Report | None
) -> str:
    best = {
        case: min(r[case] for r in bench.references if case in r)
        for case in bench.references[0]
    }
    reference = {k: v for k, v in best.items() if k.endswith("-aa") or k == "empty"}
    injected = {
        (k.rsplit("-", 1)[0], v): best[f"{k.rsplit('-', 1)[0]}-{v}"] / best[k] - 1
        for k in reference
        if k != "empty"
        for v in SLOWDOWNS
    }
    workloads = [*TARGETS]
    lines = [
        "| workload | reference | xetrack median (bias) | pytest-benchmark median (bias) "
        "| CV across sessions: xetrack / pytest-benchmark | xetrack fastest call: bias, CV "
        "| CV of the fastest call over the probe's |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for w in [*workloads, "empty"]:
        ref = reference.get("empty" if w == "empty" else f"{w}-aa")
        cells = []
        for found in (ours, theirs):
            values = found.readings[w].get("aa", [])
            median = statistics.median(values) if values else None
            bias = median / ref - 1 if median and ref else None
            cells.append(f"{_time(median)} ({_pct(bias, True)})")
        low = ours.fastest[w].get("aa", [])
        low_bias = statistics.median(low) / ref - 1 if low and ref else None
        lines.append(
            f"| {w} | {_time(ref)} | {cells[0]} | {cells[1]} | "
            f"{_pct(_cv(ours.readings[w]))} / {_pct(_cv(theirs.readings[w]))} | "
            f"{_pct(low_bias, True)}, {_pct(_cv(ours.fastest[w]))} | "
            f"{_pct(_cv(ours.over_probe[w]))} |"
        )
    lines += [
        "",
        "| workload | A/A called regressed: xetrack / pytest-benchmark | xetrack A/A inconclusive | "
        + " | ".join(
            f"{v[1:]}% injected (reference): caught xetrack / pytest-benchmark, xetrack inconclusive"
            for v in SLOWDOWNS
        )
        + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in SLOWDOWNS) + " |",
    ]
    for w in workloads:
        aa_ours, aa_theirs = _pool(ours.found, w, "aa"), _pool(theirs.found, w, "aa")
        cells = [
            f"{_pct(_share(aa_ours, 'regressed'))} / {_pct(_share(aa_theirs, 'regressed'))} (n={len(aa_ours)})",
            _pct(_share(aa_ours, "inconclusive")),
        ]
        for v in SLOWDOWNS:
            o, t = _pool(ours.found, w, v), _pool(theirs.found, w, v)
            cells.append(
                f"({_pct(injected.get((w, v)), True)}) {_pct(_share(o, 'regressed'))} / "
                f"{_pct(_share(t, 'regressed'))}, {_pct(_share(o, 'inconclusive'))}"
            )
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| xetrack, by evidence | A/A regressed | A/A inconclusive | +10% caught | +20% caught | pairs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for history, label in (
        (0, "first comparison (no history)"),
        (1, "2-5 earlier runs"),
        (2, "6 or more earlier runs (the probe may judge)"),
    ):
        aa = [x for w in workloads for x in _pool(ours.found, w, "aa", history)]
        p10 = [x for w in workloads[1:5] for x in _pool(ours.found, w, "p10", history)]
        p20 = [x for w in workloads[1:5] for x in _pool(ours.found, w, "p20", history)]
        lines.append(
            f"| {label} | {_pct(_share(aa, 'regressed'))} | {_pct(_share(aa, 'inconclusive'))} | "
            f"{_pct(_share(p10, 'regressed'))} | {_pct(_share(p20, 'regressed'))} | {len(aa)} |"
        )
    walls = {
        tool: statistics.median([s.wall for s in bench.sessions if s.tool == tool])
        for tool in ("ours", "theirs")
    }
    all_ours = [
        x
        for w in workloads
        for v in ("aa", *SLOWDOWNS)
        for x in _pool(ours.found, w, v)
    ]
    lines += [
        "",
        f"Wall time per session (25 benchmarks): xetrack {walls['ours']:.1f} s, "
        f"pytest-benchmark {walls['theirs']:.1f} s ({walls['ours'] / walls['theirs']:.2f}x). "
        f"Share of all xetrack verdicts that are inconclusive: {_pct(_share(all_ours, 'inconclusive'))}. "
        f"{len([s for s in bench.sessions if s.tool == 'ours'])} sessions per tool.",
    ]
    if report is not None:
        _targets(report, bench, ours, theirs, reference, walls)
    return "\n".join(lines)


def _targets(
    report: Report,
    bench: Bench,
    ours: Verdicts,
    theirs: Verdicts,
    reference: dict[str, float],
    walls: dict[str, float],
) -> None:
    def median(found: Verdicts, w: str) -> float | None:
        values = found.readings[w].get("aa", [])
        return statistics.median(values) if values else None

    o, t = median(ours, "0.2us"), median(theirs, "0.2us")
    ref = reference["0.2us-aa"]
    report.add(
        "bias at 0.2 us (bare @track vs timeit)",
        _pct(o / ref - 1 if o else None, True),
        f"pytest-benchmark {_pct(t / ref - 1 if t else None, True)}",
        "-",
        "<= +10%",
    )
    o, t = median(ours, "empty"), median(theirs, "empty")
    report.add(
        "empty function reads", _time(o), f"pytest-benchmark {_time(t)}", "-", "< 60 ns"
    )
    report.add(
        "CV across sessions at 2 ms",
        _pct(_cv(ours.readings["2ms"])),
        f"pytest-benchmark {_pct(_cv(theirs.readings['2ms']))}",
        "-",
        "<= pytest-benchmark's",
    )
    worst = max(
        (_share(_pool(ours.found, w, "aa"), "regressed") or 0.0) for w in TARGETS
    )
    best_theirs = min(
        (_share(_pool(theirs.found, w, "aa"), "regressed") or 0.0) for w in TARGETS
    )
    report.add(
        "A/A called regressed, worst workload",
        _pct(worst),
        f"pytest-benchmark best {_pct(best_theirs)}",
        "-",
        "<= 5%",
    )
    for v, goal in (("p10", ">= 60%"), ("p20", ">= 90%")):
        rates = [
            _share(_pool(ours.found, w, v), "regressed") for w in ("2us", "50us", "2ms")
        ]
        theirs_rates = [
            _share(_pool(theirs.found, w, v), "regressed")
            for w in ("2us", "50us", "2ms")
        ]
        report.add(
            f"+{v[1:]}% caught, worst of 2 us..2 ms",
            _pct(min((r or 0.0) for r in rates)),
            f"pytest-benchmark {_pct(min((r or 0.0) for r in theirs_rates))}",
            "-",
            goal,
        )
    report.add(
        "wall time per session",
        f"{walls['ours']:.1f} s",
        f"pytest-benchmark {walls['theirs']:.1f} s",
        f"{walls['ours'] / walls['theirs']:.2f}x",
        "<= 0.5x",
    )


def run(report: Report, quick: bool = True, keep: Path | None = None) -> None:
    try:
        import pytest_benchmark  # noqa: F401
    except ImportError:
        raise SystemExit(
            "the verdicts benchmark needs pytest-benchmark: pip install -e '.[bench]'"
        ) from None
    root = keep or Path(tempfile.mkdtemp(prefix="xetrack-verdicts-"))
    try:
        bench = Bench(root)
        record(bench, 2 if quick else 10)
        print(tables(bench, judge_ours(bench), judge_theirs(bench), report), flush=True)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 A/A commits per tool")
    parser.add_argument(
        "--commits", type=int, default=None, help="A/A commits per tool (default 10)"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the run in this folder"
    )
    parser.add_argument(
        "--replay", type=Path, default=None, help="judge a kept run again"
    )
    args = parser.parse_args(argv)
    report = Report()
    if args.replay is not None:
        bench = Bench.load(args.replay)
    else:
        root = args.keep or Path(tempfile.mkdtemp(prefix="xetrack-verdicts-"))
        bench = Bench(root)
        record(bench, args.commits or (2 if args.quick else 10))
    print(tables(bench, judge_ours(bench), judge_theirs(bench), report))
    print()
    print(report.table())
    if args.replay is None and args.keep is None:
        shutil.rmtree(bench.root, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main(sys.argv[1:])
