"""pytest-benchmark's JSON files: building, writing, saving, finding and reading them.

The layout is pytest-benchmark's own (what ``--benchmark-json`` writes, and the
``.benchmarks/<machine>/NNNN_name.json`` storage of ``--benchmark-save``), so its
readers (``pytest-benchmark compare``, ``pytest --benchmark-compare``) take what we
write and ``xt import pytest-benchmark`` takes what it wrote. A file is data from
elsewhere: everything read is checked, and a file that is not such a document is a
:class:`BenchmarkFileError` naming the file and the key.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from xetrack.errors import XetrackError

#: The statistics of a benchmark entry, in pytest-benchmark's order.
STAT_KEYS: Final = (
    "min",
    "max",
    "mean",
    "stddev",
    "rounds",
    "median",
    "iqr",
    "q1",
    "q3",
    "iqr_outliers",
    "stddev_outliers",
    "outliers",
    "ld15iqr",
    "hd15iqr",
    "ops",
    "total",
)
#: The ones a reader needs; the rest are derived when a file lacks them.
_REQUIRED: Final = ("min", "max", "mean", "median")
#: A saved file's name: a four-digit counter, then the name it was saved under.
_SAVED: Final = re.compile(r"^(\d{4})_(.+)\.json$")
#: Characters a saved run's name may not hold (it becomes a file name).


class BenchmarkFileError(XetrackError, ValueError):
    """A file that is not a pytest-benchmark JSON document (or cannot be read)."""


# -- building --------------------------------------------------------------------------
def stats_of(samples: Sequence[float], iterations: int = 1) -> dict[str, Any]:
    """pytest-benchmark's statistics of per-call ``samples`` (one per round), from
    xetrack's own :class:`~xetrack.timing.Stats` so every output agrees."""
    from xetrack.timing import Stats

    stats = Stats.from_samples(samples, iterations)
    ordered = sorted(samples)
    low_fence, high_fence = stats.q1 - 1.5 * stats.iqr, stats.q3 + 1.5 * stats.iqr
    near = [
        s
        for s in ordered
        if stats.mean - stats.stddev <= s <= stats.mean + stats.stddev
    ]
    inside = [s for s in ordered if low_fence <= s <= high_fence] or ordered
    return {
        "min": stats.min,
        "max": stats.max,
        "mean": stats.mean,
        "stddev": stats.stddev,
        "rounds": stats.rounds,
        "median": stats.median,
        "iqr": stats.iqr,
        "q1": stats.q1,
        "q3": stats.q3,
        "iqr_outliers": stats.outliers,
        "stddev_outliers": len(ordered) - len(near),
        "outliers": f"{len(ordered) - len(near)};{stats.outliers}",
        "ld15iqr": inside[0],
        "hd15iqr": inside[-1],
        "ops": stats.ops if math.isfinite(stats.ops) else 0.0,
        "total": math.fsum(ordered),
    }


def entry(
    *,
    name: str,
    fullname: str,
    group: str | None = None,
    params: Mapping[str, object] | None = None,
    param: str | None = None,
    extra_info: Mapping[str, object] | None = None,
    options: Mapping[str, object] | None = None,
    samples: Sequence[float] | None = None,
    stats: Mapping[str, object] | None = None,
    iterations: int = 1,
    include_data: bool = True,
) -> dict[str, Any]:
    """One benchmark of a document: its statistics from ``samples`` (kept as
    ``data`` with ``include_data``) or, without samples, the given ``stats``."""
    if samples:
        figures = stats_of(samples, iterations)
    elif stats is not None:
        figures = {k: stats[k] for k in STAT_KEYS if k in stats}
    else:
        raise BenchmarkFileError(
            f"benchmark {fullname!r} has neither samples nor stats"
        )
    if samples and include_data:
        figures["data"] = list(samples)
    figures["iterations"] = iterations
    return {
        "group": group,
        "name": name,
        "fullname": fullname,
        "params": json_safe(dict(params)) if params is not None else None,
        "param": param,
        "extra_info": json_safe(dict(extra_info or {})),
        "options": json_safe(dict(options or {})),
        "stats": figures,
    }


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types; anything else by its ``repr``, as
    pytest-benchmark writes what it cannot serialize."""
    return json.loads(json.dumps(value, default=_unserializable, allow_nan=True))


def _unserializable(value: object) -> str:
    return f"UNSERIALIZABLE[{value!r}]"


def machine_id() -> str:
    """The storage folder of this machine's saved runs, as pytest-benchmark names
    it (``Linux-CPython-3.12-64bit``)."""
    import platform

    return "-".join(
        (
            platform.system(),
            platform.python_implementation(),
            ".".join(platform.python_version_tuple()[:2]),
            platform.architecture()[0],
        )
    )


def machine_info() -> dict[str, Any]:
    """This machine as pytest-benchmark describes it, so its ``--benchmark-compare``
    finds our files made on the same machine: ``cpu`` is py-cpuinfo's probe where
    py-cpuinfo is installed (it comes with pytest-benchmark; ~0.3 s, paid only when
    a file is written), else the model and count."""
    import platform

    from xetrack.environment import cpu_model

    cpu: dict[str, Any]
    try:
        import cpuinfo

        cpu = dict(cpuinfo.get_cpu_info())
    except Exception:  # not installed, or its probe failed: what we know ourselves
        cpu = {
            "brand_raw": cpu_model(),
            "count": os.cpu_count() or 0,
            "arch_string_raw": platform.machine(),
        }
    return {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "python_compiler": platform.python_compiler(),
        "python_implementation": platform.python_implementation(),
        "python_implementation_version": platform.python_version(),
        "python_version": platform.python_version(),
        "python_build": list(platform.python_build()),
        "release": platform.release(),
        "system": platform.system(),
        "cpu": cpu,
    }


def commit_info(
    rootdir: str | Path | None,
    commit: str | None,
    branch: str | None,
    dirty: bool | None,
) -> dict[str, Any]:
    """pytest-benchmark's ``commit_info`` for a run at ``commit`` (None: not in git)."""
    project = Path(rootdir).name if rootdir is not None else ""
    times: list[str | None] = [None, None]
    if commit and rootdir is not None:
        from xetrack.git import is_commit_id, run_git

        if is_commit_id(commit):  # only a commit id from a row may reach git
            shown = run_git(rootdir, "show", "-s", "--format=%cI%n%aI", commit)
            if shown and len(shown.splitlines()) == 2:
                times = list(shown.splitlines())
    return {
        "id": commit or "unversioned",
        "time": times[0],
        "author_time": times[1],
        "dirty": bool(dirty),
        "project": project,
        "branch": branch or "(unknown)",
    }


def document(
    benchmarks: Sequence[Mapping[str, Any]],
    machine: Mapping[str, Any],
    commit: Mapping[str, Any],
    when: str | None = None,
    xetrack: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """A whole file: machine and commit, the benchmarks, when, who wrote it.

    ``xetrack`` (the run's track_id and environment) lets ``xt import`` recognise a
    run it already holds; pytest-benchmark's readers ignore the key.
    """
    from xetrack import __version__

    doc: dict[str, Any] = {
        "machine_info": dict(machine),
        "commit_info": dict(commit),
        "benchmarks": [dict(b) for b in benchmarks],
        "datetime": when or datetime.now(timezone.utc).isoformat(),
        "version": f"xetrack {__version__}",
    }
    if xetrack:
        doc["xetrack"] = dict(xetrack)
    return doc


# -- writing ---------------------------------------------------------------------------
def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=True, indent=4, default=_unserializable)


def write(path: str | Path, doc: Mapping[str, Any]) -> Path:
    """Write ``doc`` to ``path`` (folders made); a failed write leaves no half file.

    Raises :class:`BenchmarkFileError` naming the path.
    """
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(dumps(doc), encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):  # its folder may be what failed
            partial.unlink(missing_ok=True)
        raise BenchmarkFileError(
            f"cannot write {target}: {exc.strerror or exc}; pass a path in a folder "
            f"you can write to"
        ) from exc
    return target


def save(storage: str | Path, name: str, doc: Mapping[str, Any]) -> Path:
    """Save ``doc`` as the next ``NNNN_name.json`` of this machine's folder in
    ``storage``, as ``--benchmark-save`` does."""
    folder = Path(storage) / machine_id()
    numbers = [int(m.group(1)) for p in _listing(folder) if (m := _SAVED.match(p.name))]
    return write(folder / f"{max(numbers, default=0) + 1:04d}_{name}.json", doc)


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        return []


def saved(storage: str | Path, ref: str | None = None) -> list[Path]:
    """This machine's saved runs in ``storage``, oldest first; with ``ref``, those
    whose name starts with it (``0003`` or ``0003_mine``)."""
    found = [
        p
        for p in _listing(Path(storage) / machine_id())
        if _SAVED.match(p.name) and (ref is None or p.name.startswith(ref))
    ]
    return sorted(found, key=lambda p: p.name)


# -- reading ---------------------------------------------------------------------------
@dataclass
class Benchmark:
    """One benchmark of a file, checked."""

    name: str
    fullname: str
    group: str | None
    param: str | None
    params: dict[str, Any] | None
    extra_info: dict[str, Any]
    options: dict[str, Any]
    stats: dict[str, Any]
    iterations: int
    #: the per-call samples, when the file has them
    data: list[float] | None = None


@dataclass
class Document:
    """A pytest-benchmark file, checked."""

    path: Path
    machine_info: dict[str, Any]
    commit_info: dict[str, Any]
    datetime: str
    benchmarks: list[Benchmark] = field(default_factory=list)
    #: what xetrack wrote into it (track_id, environment), if it wrote it
    xetrack: dict[str, Any] = field(default_factory=dict)


def read(path: str | Path) -> Document:
    """Read and check one file. Raises :class:`BenchmarkFileError` naming the file
    and what is wrong, for anything that is not a pytest-benchmark document."""
    source = Path(path)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchmarkFileError(
            f"cannot read {source}: {exc.strerror or exc}"
        ) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise BenchmarkFileError(
            f"{source} is not JSON ({exc}); pass a file written by pytest-benchmark "
            f"(--benchmark-json or --benchmark-save)"
        ) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise BenchmarkFileError(
            f"{source} has no 'benchmarks' list: it is not a pytest-benchmark file"
        )
    when = raw.get("datetime")
    if not isinstance(when, str) or _instant(when) is None:
        raise BenchmarkFileError(
            f"{source}: 'datetime' is {when!r}, not an ISO 8601 time like "
            f"2026-01-31T12:00:00+00:00"
        )
    doc = Document(
        source,
        _mapping(raw.get("machine_info")),
        _mapping(raw.get("commit_info")),
        _instant(when) or when,
        xetrack=_mapping(raw.get("xetrack")),
    )
    for index, bench in enumerate(raw["benchmarks"]):
        doc.benchmarks.append(_benchmark(source, index, bench))
    return doc


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _instant(text: str) -> str | None:
    """``text`` as stored timestamps are (ISO 8601, UTC, microseconds), or None."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _benchmark(source: Path, index: int, raw: object) -> Benchmark:
    where = f"{source}: benchmarks[{index}]"
    if not isinstance(raw, dict):
        raise BenchmarkFileError(f"{where} is {type(raw).__name__}, not an object")
    fullname, name = raw.get("fullname"), raw.get("name")
    if not isinstance(fullname, str) or not fullname:
        raise BenchmarkFileError(f"{where} has no 'fullname' (the test's node id)")
    if not isinstance(name, str) or not name:
        name = fullname.rsplit("::", 1)[-1]
    stats = raw.get("stats")
    if not isinstance(stats, dict):
        raise BenchmarkFileError(f"{where} ({fullname}) has no 'stats' object")
    for key in _REQUIRED:
        if not _number(stats.get(key)) or stats[key] < 0:
            raise BenchmarkFileError(
                f"{where} ({fullname}): stats[{key!r}] is {stats.get(key)!r}, not a "
                f"number of seconds >= 0"
            )
    data = stats.get("data")
    samples = None
    if isinstance(data, list) and data:
        if not all(_number(v) and v >= 0 for v in data):
            raise BenchmarkFileError(
                f"{where} ({fullname}): stats['data'] holds something that is not a "
                f"number of seconds >= 0"
            )
        samples = [float(v) for v in data]
    iterations = stats.get("iterations", 1)
    if (
        not isinstance(iterations, int)
        or isinstance(iterations, bool)
        or iterations < 1
    ):
        raise BenchmarkFileError(
            f"{where} ({fullname}): stats['iterations'] is {iterations!r}, not an "
            f"int >= 1"
        )
    kept = {k: stats[k] for k in STAT_KEYS if k in stats}
    if not _number(kept.get("rounds")):
        kept["rounds"] = len(samples) if samples else 1
    group, param = raw.get("group"), raw.get("param")
    params = raw.get("params")
    return Benchmark(
        name=name,
        fullname=fullname,
        group=group if isinstance(group, str) else None,
        param=param if isinstance(param, str) else None,
        params=dict(params) if isinstance(params, dict) else None,
        extra_info=_mapping(raw.get("extra_info")),
        options=_mapping(raw.get("options")),
        stats=kept,
        iterations=iterations,
        data=samples,
    )
