"""pytest-benchmark results as xetrack rows and back: a benchmark's row, importing
saved files into a store, exporting a run as a file.

One row per benchmark, like an ``@track`` row: the same timing columns (per-call
samples in ``time_samples``, ``iterations``), ``test_nodeid``/``test_name``, the git
and environment columns, plus ``benchmark_group``, each ``extra_info`` item as a
column and ``benchmark_meta`` (JSON: name, param, params, extra_info, options), which
is what a pytest-benchmark file needs that the other columns do not say.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from xetrack.errors import InvalidKeyError
from xetrack.interop import pytest_benchmark as files
from xetrack.interop.pytest_benchmark import BenchmarkFileError, Document, json_safe

#: Columns of a benchmark's row besides the timing engine's.
BENCHMARK_COLUMNS: Final = ("benchmark_group", "benchmark_meta", "measured_by")
#: Columns a row has whatever it measured: an extra_info key of one of these names
#: (or of a timing column) is stored as ``extra_<key>``.
_RESERVED: Final = frozenset(
    {
        *BENCHMARK_COLUMNS,
        "timestamp",
        "track_id",
        "rowid",
        "oid",
        "_rowid_",
        "test_nodeid",
        "test_name",
        "outcome",
        "error",
        "duration",
        "metrics",
        "git_commit",
        "git_branch",
        "git_dirty",
        "python_version",
        "platform",
        "cpu_model",
        "cpu_count",
        "xdist_workers",
        "env_fingerprint",
    }
)
#: What pytest-benchmark writes when it knows no commit or branch.
#: Columns every row has, set by xetrack (given here, for rows of another run).
_FIXED: Final = ("timestamp", "track_id")
_NO_COMMIT: Final = ("", "unversioned", "unknown")
_NO_BRANCH: Final = ("", "(unknown)", "(detached head)")


# -- a benchmark's row -----------------------------------------------------------------
def timing_columns(
    samples: Sequence[float], iterations: int, timer: str = "perf_counter"
) -> dict[str, object]:
    """The timing engine's columns for samples another tool measured (one batch)."""
    from xetrack.timing import Clock, Measurement, TimingConfig

    config = TimingConfig()
    measured = Measurement(
        config,
        Clock(config.timer, 0.0, 0.0),
        samples=list(samples),
        iterations=iterations,
        batches=[len(samples)],
    )
    row = measured.columns()
    row["warmup"] = None  # not known
    row["timer"] = timer
    return row


def benchmark_columns(
    group: str | None,
    extra_info: Mapping[str, object],
    meta: Mapping[str, object],
    taken: Iterable[str] = (),
) -> dict[str, object]:
    """``benchmark_group``, ``benchmark_meta`` and the extra_info items as columns.

    An item whose name is taken (by the row's own columns, ``taken``, or a test
    parameter) is stored as ``extra_<name>``; one whose name cannot be a column is
    only in ``benchmark_meta``. Values that are not JSON become their repr.
    """
    from xetrack.store.schema import check_key
    from xetrack.timing import TIMING_COLUMNS

    used = _RESERVED | TIMING_COLUMNS | set(taken)
    out: dict[str, object] = {
        "benchmark_group": group,
        "benchmark_meta": json_safe(dict(meta)),
    }
    for key, value in extra_info.items():
        name = f"extra_{key}" if key in used else key
        try:
            check_key(name)
        except InvalidKeyError:
            continue
        out[name] = json_safe(value)
    return out


def meta(
    name: str,
    param: str | None,
    params: Mapping[str, object] | None,
    extra_info: Mapping[str, object],
    options: Mapping[str, object],
) -> dict[str, object]:
    """What ``benchmark_meta`` holds."""
    return {
        "name": name,
        "param": param,
        "params": None if params is None else json_safe(dict(params)),
        "extra_info": json_safe(dict(extra_info)),
        "options": json_safe(dict(options)),
    }


def entry_of_row(
    row: Mapping[str, object], include_data: bool = True
) -> dict[str, Any]:
    """A stored (or about to be stored) benchmark row as a pytest-benchmark entry.

    Rows of ``@track`` tests work too: their name comes from ``test_nodeid``.
    Raises :class:`BenchmarkFileError` for a row with no timings.
    """
    fullname = str(row.get("test_nodeid") or row.get("function_name") or "")
    described = _json(row.get("benchmark_meta"))
    described = described if isinstance(described, dict) else {}
    name = described.get("name")
    if not isinstance(name, str):
        name = fullname.rsplit("::", 1)[-1]
    param = described.get("param")
    if param is None and name.endswith("]") and "[" in name:
        param = name[name.index("[") + 1 : -1]
    samples = _floats(row.get("time_samples"))
    iterations = row.get("iterations")
    count = iterations if isinstance(iterations, int) and iterations >= 1 else 1
    group = row.get("benchmark_group")
    extra = described.get("extra_info")
    return files.entry(
        name=name,
        fullname=fullname,
        group=group if isinstance(group, str) else None,
        params=described.get("params")
        if isinstance(described.get("params"), dict)
        else None,
        param=param if isinstance(param, str) else None,
        extra_info=extra if isinstance(extra, dict) else {},
        options=described.get("options")
        if isinstance(described.get("options"), dict)
        else {},
        samples=samples or None,
        stats=None
        if samples
        else _stats_of_columns(row, fullname, described.get("stats")),
        iterations=count,
        include_data=include_data,
    )


def _json(value: object) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _floats(value: object) -> list[float]:
    found = _json(value)
    if not isinstance(found, list):
        return []
    return [
        float(v)
        for v in found
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]


def _stats_of_columns(
    row: Mapping[str, object], fullname: str, kept: object
) -> dict[str, object]:
    """pytest-benchmark's statistics of a row without samples: those an imported
    file had (kept in ``benchmark_meta``), else the row's columns, with what they
    do not hold derived from them."""
    if isinstance(kept, dict) and all(k in kept for k in files.STAT_KEYS):
        return dict(kept)
    names = {
        "min": "time_min",
        "max": "time_max",
        "mean": "time_mean",
        "stddev": "time_stddev",
        "median": "function_time",
        "iqr": "time_iqr",
        "ops": "time_ops",
        "rounds": "rounds",
        "iqr_outliers": "time_outliers",
    }
    stats: dict[str, Any] = {k: row.get(c) for k, c in names.items()}
    stats = {k: v for k, v in stats.items() if isinstance(v, (int, float))}
    if "median" not in stats:
        raise BenchmarkFileError(f"{fullname}: the row has no timings to export")
    median = float(stats["median"])
    for key in ("min", "max", "mean"):
        stats.setdefault(key, median)
    stats.setdefault("stddev", 0.0)
    stats.setdefault("iqr", 0.0)
    stats.setdefault("rounds", 1)
    stats.setdefault("iqr_outliers", 0)
    stats.setdefault("ops", 1 / stats["mean"] if stats["mean"] else 0.0)
    stats["q1"] = median - stats["iqr"] / 2
    stats["q3"] = median + stats["iqr"] / 2
    stats["stddev_outliers"] = 0
    stats["outliers"] = f"0;{stats['iqr_outliers']}"
    stats["ld15iqr"], stats["hd15iqr"] = stats["min"], stats["max"]
    stats["total"] = stats["mean"] * stats["rounds"]
    return stats


# -- importing ---------------------------------------------------------------------------
@dataclass
class ImportResult:
    """What :func:`import_files` did."""

    files: int = 0
    runs: int = 0
    rows: int = 0
    #: files whose run the store already held
    skipped: list[str] = field(default_factory=list)


def run_id(doc: Document) -> str:
    """The track_id of a file's run: the one xetrack wrote into it, else one made
    from what identifies the run (its time, commit, machine and benchmarks), so the
    same run read twice, or saved twice (``--benchmark-json`` and
    ``--benchmark-autosave``), is the same run."""
    given = doc.xetrack.get("track_id")
    if isinstance(given, str) and given:
        return given
    key = json.dumps(
        [
            doc.datetime,
            doc.commit_info.get("id"),
            doc.machine_info.get("node"),
            sorted(b.fullname for b in doc.benchmarks),
        ],
        default=str,
    )
    return (
        f"pytest-benchmark-{hashlib.blake2b(key.encode(), digest_size=6).hexdigest()}"
    )


def environment_of(doc: Document) -> dict[str, object]:
    """The environment columns of a file's run (and its fingerprint, made as the
    plugin makes it, so runs of one machine compare with each other).

    A file xetrack wrote says them; a file of pytest-benchmark's gets them from its
    ``machine_info``, with this host's platform string when the file describes this
    host (so it compares with the plugin's own runs here).
    """
    from xetrack.environment import FINGERPRINTED, environment, fingerprint

    written = doc.xetrack.get("environment")
    env: dict[str, object]
    if isinstance(written, dict) and all(k in written for k in FINGERPRINTED):
        env = {k: written[k] for k in FINGERPRINTED}
    else:
        machine = doc.machine_info
        found = machine.get("cpu")
        cpu: dict[str, Any] = found if isinstance(found, dict) else {}
        described = "-".join(
            str(machine.get(k, "")) for k in ("system", "release", "machine")
        )
        env = {
            "python_version": str(machine.get("python_version", "")),
            "platform": described,
            "cpu_model": str(cpu.get("brand_raw", "unknown")),
            "cpu_count": cpu.get("count") if isinstance(cpu.get("count"), int) else 0,
        }
        here = environment()
        import platform

        uname = platform.uname()
        if described == f"{uname.system}-{uname.release}-{uname.machine}" and all(
            env[k] == here[k] for k in ("python_version", "cpu_model", "cpu_count")
        ):
            env["platform"] = here["platform"]
    # hashed as the plugin hashes a serial session's (its worker count left out)
    return {**env, "xdist_workers": 0, "env_fingerprint": fingerprint(env)}


def rows_of(doc: Document) -> list[dict[str, object]]:
    """The rows of a file's run, one per benchmark, with their own timestamp and
    track_id (the file's time and :func:`run_id`)."""
    commit = doc.commit_info.get("id")
    branch = doc.commit_info.get("branch")
    context: dict[str, object] = {
        "timestamp": doc.datetime,
        "track_id": run_id(doc),
        "git_commit": commit
        if isinstance(commit, str) and commit not in _NO_COMMIT
        else None,
        "git_branch": branch
        if isinstance(branch, str) and branch not in _NO_BRANCH
        else None,
        "git_dirty": bool(doc.commit_info.get("dirty")),
        **environment_of(doc),
    }
    foreign = "track_id" not in doc.xetrack
    out = []
    for bench in doc.benchmarks:
        row: dict[str, object] = dict(context)
        row["test_nodeid"] = bench.fullname
        row["test_name"] = bench.name.split("[", 1)[0]
        params = _param_columns(bench.params or {})
        row.update(params)
        timer = str(bench.options.get("timer") or "perf_counter").rsplit(".", 1)[-1]
        if bench.data:
            row.update(timing_columns(bench.data, bench.iterations, timer))
        else:
            row.update(_columns_of_stats(bench.stats, bench.iterations, timer))
        row["outcome"], row["error"] = "passed", ""
        if foreign:
            row["measured_by"] = "pytest-benchmark"
        described = meta(
            bench.name, bench.param, bench.params, bench.extra_info, bench.options
        )
        if not bench.data:  # the file's own figures, for an export without samples
            described["stats"] = dict(bench.stats)
        row.update(
            benchmark_columns(bench.group, bench.extra_info, described, [*row, *params])
        )
        out.append(row)
    return out


def _param_columns(params: Mapping[str, object]) -> dict[str, object]:
    """Scalar parameters as columns (as the plugin records them); the rest are in
    ``benchmark_meta``."""
    from xetrack.store.schema import check_key
    from xetrack.timing import TIMING_COLUMNS

    out: dict[str, object] = {}
    for name, value in params.items():
        if not isinstance(value, (bool, int, float, str)) and value is not None:
            continue
        key = f"param_{name}" if name in _RESERVED | TIMING_COLUMNS else name
        try:
            out[check_key(key)] = value
        except InvalidKeyError:
            continue
    return out


def _columns_of_stats(
    stats: Mapping[str, Any], iterations: int, timer: str
) -> dict[str, object]:
    outliers = stats.get("iqr_outliers")
    if not isinstance(outliers, int) and isinstance(stats.get("outliers"), str):
        tail = str(stats["outliers"]).rpartition(";")[2]
        outliers = int(tail) if tail.isdigit() else None
    return {
        "function_time": stats["median"],
        "time_min": stats["min"],
        "time_max": stats["max"],
        "time_mean": stats["mean"],
        "time_stddev": stats.get("stddev"),
        "time_iqr": stats.get("iqr"),
        "time_ops": stats.get("ops") or (1 / stats["mean"] if stats["mean"] else None),
        "time_outliers": outliers,
        "rounds": int(stats.get("rounds") or 1),
        "iterations": iterations,
        "warmup": None,
        "timer": timer,
    }


def benchmark_files(paths: Sequence[str | Path]) -> list[Path]:
    """The JSON files ``paths`` name: files as given, folders searched (as
    ``.benchmarks`` is laid out). Raises :class:`BenchmarkFileError` for a path
    that does not exist or a folder with no JSON file."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not inside:
                raise BenchmarkFileError(
                    f"{path} holds no .json file; pass the .benchmarks folder or a "
                    f"file pytest-benchmark wrote"
                )
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise BenchmarkFileError(f"no such file or folder: {path}")
    return list(dict.fromkeys(found))


def import_files(
    db: str | Path,
    paths: Sequence[str | Path],
    table: str = "default",
    engine: str | None = None,
) -> ImportResult:
    """Read pytest-benchmark files into ``db``'s ``table``: one run per file, one
    row per benchmark. A run the table already holds is skipped, so importing again
    adds nothing. Every file is read and checked before anything is written: a bad
    file is a :class:`BenchmarkFileError` naming it, and the store is unchanged.
    """
    from xetrack.runs import adopt, prepare
    from xetrack.store import open_store
    from xetrack.store.schema import check_table_name
    from xetrack.values import flatten

    check_table_name(table)
    docs = [files.read(p) for p in benchmark_files(paths)]
    result = ImportResult(files=len(docs))
    store = open_store(db, engine)
    try:
        store.ensure_table(table)
        prepare(store, table)
        for doc in docs:
            rows = rows_of(doc)
            track_id = run_id(doc)
            if not rows or _holds_run(store, table, track_id):
                result.skipped.append(str(doc.path))
                continue
            hints: dict[str, str] = {}
            batch = [
                flatten(
                    {k: v for k, v in r.items() if k not in _FIXED},
                    None,
                    into={k: r[k] for k in _FIXED},
                    hints=hints,
                )
                for r in rows
            ]
            store.insert(table, batch, hints)
            adopt(store, table, [track_id])
            result.runs += 1
            result.rows += len(batch)
    finally:
        store.close()
    return result


def _holds_run(store: Any, table: str, track_id: str) -> bool:
    from xetrack.store.schema import quote_ident

    _, found = store.query(
        f"SELECT 1 FROM {quote_ident(table)} WHERE track_id = ? LIMIT 1", [track_id]
    )
    return bool(found)


# -- exporting ---------------------------------------------------------------------------
def export_document(
    db: str | Path,
    ref: str | None = None,
    table: str = "default",
    repo: str | Path | None = ".",
    engine: str | None = None,
    include_data: bool = True,
) -> dict[str, Any]:
    """One run of ``db`` (``ref`` as ``xt compare`` reads it; the latest by
    default) as a pytest-benchmark document: every row with timings is a benchmark.

    Raises :class:`~xetrack.compare.NoRunError` for a ref that matches nothing and
    :class:`BenchmarkFileError` for a run without timed rows.
    """
    from xetrack.compare import _runs, resolve
    from xetrack.store import open_store
    from xetrack.store.schema import quote_ident

    store = open_store(db, engine, read_only=True)
    try:
        run = resolve(ref or "latest", _runs(store, table), repo)
        if "function_time" not in store.schema(table).types:
            raise BenchmarkFileError(f"table {table!r} of {db} has no timed rows")
        names, found = store.query(
            f"SELECT * FROM {quote_ident(table)} WHERE track_id = ? "
            f"AND function_time IS NOT NULL ORDER BY rowid",
            [run.track_id],
        )
    finally:
        store.close()
    rows = [dict(zip(names, r, strict=True)) for r in found]
    rows = [r for r in rows if not r.get("error")]  # as pytest-benchmark: no errors
    if not rows:
        raise BenchmarkFileError(
            f"run {run.track_id} of {db} has no timed rows to export"
        )
    return run_document(rows, repo, include_data)


def run_document(
    rows: Sequence[Mapping[str, object]],
    repo: str | Path | None,
    include_data: bool = True,
    when: str | None = None,
) -> dict[str, Any]:
    """A document of one run's benchmark rows (all of one track_id)."""
    first = rows[0]
    machine = files.machine_info()
    machine.update(_machine_of_row(first, machine))
    commit = files.commit_info(
        repo,
        _text(first.get("git_commit")),
        _text(first.get("git_branch")),
        bool(first.get("git_dirty")),
    )
    from xetrack.environment import FINGERPRINTED

    env = {k: first.get(k) for k in FINGERPRINTED if first.get(k) is not None}
    return files.document(
        [entry_of_row(r, include_data) for r in rows],
        machine,
        commit,
        when=when or _text(first.get("timestamp")),
        xetrack={
            "track_id": first.get("track_id"),
            "env_fingerprint": first.get("env_fingerprint"),
            "environment": env,
        },
    )


def _machine_of_row(
    row: Mapping[str, object], here: Mapping[str, Any]
) -> dict[str, Any]:
    """What the row says of where it ran, over this machine's description."""
    out: dict[str, Any] = {}
    if isinstance(row.get("python_version"), str):
        out["python_version"] = row["python_version"]
        out["python_implementation_version"] = row["python_version"]
    cpu = dict(here.get("cpu") or {})
    if isinstance(row.get("cpu_model"), str):
        cpu["brand_raw"] = row["cpu_model"]
    if isinstance(row.get("cpu_count"), int):
        cpu["count"] = row["cpu_count"]
    out["cpu"] = cpu
    return out


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
