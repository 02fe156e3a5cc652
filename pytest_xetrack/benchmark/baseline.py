"""pytest-benchmark's storage under xetrack: ``--benchmark-compare[=REF]`` and
``--benchmark-compare-fail`` as ``--xetrack-compare`` and ``--xetrack-fail``, and
``--benchmark-save``/``--benchmark-autosave``/``--benchmark-json`` files.

A saved run to compare with (``REF``: a saved file's number or name prefix; bare:
the latest saved) is imported into the store first (idempotently), then it is the
baseline. Without ``--xetrack-db`` the comparison goes through a temporary store
holding that run and this session's, removed at the end. A ``REF`` that names no
saved run is, with ``--xetrack-db``, a commit, branch or track_id of the store.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_xetrack.benchmark.options import BenchmarkOptions
    from pytest_xetrack.options import Options


@dataclasses.dataclass
class Baseline:
    """What the compare options became: the store, the reference, what it names."""

    db: str
    reference: str
    #: the saved file compared with, if one was
    saved: Path | None = None
    #: the folder of a temporary store (no --xetrack-db), removed at the end
    temporary: str | None = None


def resolve(given: BenchmarkOptions, options: Options) -> Baseline | None:
    """The baseline the ``--benchmark-compare*`` options ask for (None: none asked).

    Raises :class:`pytest.UsageError` for a REF that names nothing, or a saved file
    that cannot be read.
    """
    if given.compare is None and not given.compare_fail:
        return None
    from xetrack.errors import XetrackError
    from xetrack.interop import history
    from xetrack.interop import pytest_benchmark as files

    ref = given.compare or ""
    found = files.saved(given.storage, ref or None)
    if ref and not found and (options.db is None or ref.isdigit()):
        there = [p.name for p in files.saved(given.storage)]
        raise pytest.UsageError(
            f"--benchmark-compare={ref}: no saved run in "
            f"{Path(given.storage) / files.machine_id()} starts with {ref!r}; "
            + (
                f"saved runs: {', '.join(there[-5:])}"
                if there
                else "none is saved yet (save one with --benchmark-autosave)"
            )
            + ("" if options.db else "; with --xetrack-db, REF may be a commit too")
        )
    temporary = None
    db = options.db
    if db is None:
        temporary = tempfile.mkdtemp(prefix="xetrack-benchmark-compare-")
        db = str(Path(temporary) / "compare.db")
    if not found:
        return Baseline(db, ref or "auto", temporary=temporary)
    chosen = found[-1]
    try:
        history.import_files(db, [chosen], table=options.table, engine=options.engine)
        reference = history.run_id(files.read(chosen))
    except XetrackError as exc:
        raise pytest.UsageError(f"--benchmark-compare: {exc}") from None
    return Baseline(db, reference, saved=chosen, temporary=temporary)


def with_baseline(
    options: Options, baseline: Baseline, given: BenchmarkOptions
) -> Options:
    """The plugin's options once the compare options are mapped onto ours."""
    fail = (*options.fail, *(c.threshold() for c in given.compare_fail))
    return dataclasses.replace(
        options, db=baseline.db, compare=baseline.reference, fail=fail
    )


def autosave_name(context: dict[str, object]) -> str:
    """pytest-benchmark's autosave name: commit, UTC time, and whether dirty."""
    commit = context.get("git_commit") or "unversioned"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S")
    name = f"{commit}_{stamp}"
    return name + ("_uncommitted-changes" if context.get("git_dirty") else "")


def write_files(
    given: BenchmarkOptions,
    entries: list[dict[str, Any]],
    context: dict[str, object],
    rootdir: str,
    track_id: str | None,
) -> list[str]:
    """Write ``--benchmark-json`` and the saved run; the paths written.

    Raises :class:`xetrack.interop.pytest_benchmark.BenchmarkFileError` when a
    file cannot be written.
    """
    from xetrack.environment import FINGERPRINTED
    from xetrack.interop import pytest_benchmark as files

    name = given.save or (autosave_name(context) if given.autosave else None)
    if given.json is None and name is None:
        return []
    machine = files.machine_info()
    commit = files.commit_info(
        rootdir,
        _text(context.get("git_commit")),
        _text(context.get("git_branch")),
        bool(context.get("git_dirty")),
    )
    about = {
        "track_id": track_id,
        "env_fingerprint": context.get("env_fingerprint"),
        "environment": {k: context[k] for k in FINGERPRINTED if k in context},
    }
    when = datetime.now(timezone.utc).isoformat()
    written = []
    if given.json is not None:
        doc = files.document(entries, machine, commit, when, about)
        written.append(str(files.write(given.json, doc)))
    if name is not None:
        kept = entries
        if not given.save_data:
            kept = [_without_data(e) for e in entries]
        doc = files.document(kept, machine, commit, when, about)
        written.append(str(files.save(given.storage, name, doc)))
    return written


def _without_data(entry: dict[str, Any]) -> dict[str, Any]:
    stats = {k: v for k, v in entry["stats"].items() if k != "data"}
    return {**entry, "stats": stats}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
