"""Runs as records: one row per run and event table, beside the event rows.

A Tracker records its run when it opens (``running``) and again when it closes
(``finished`` or ``failed`` with the error), counting its rows once, then: ``log()``
never touches this table. A process that died without closing leaves ``running``
behind; readers show such a run as ``interrupted`` when its process is gone (same
host: the pid is not alive, or belongs to a process started after the run). On
another host nothing can be asked of a file, so the run reads as recorded; a server
engine answers for every host (PostgreSQL: the run's connection holds a lock, which
the server drops when that connection ends, however the process died).

Stores written before runs were recorded get their records on the first open by a
writer (one grouped scan, under the write lock); a read-only reader derives the same
records from the rows on the fly and writes nothing.

Everything here goes through the store interface (``query``, ``execute``,
``transaction``, ``create_table``, ``create_index``), so another engine only has to
implement that.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Final

from xetrack.errors import InvalidArgumentError
from xetrack.store.base import fork_generation
from xetrack.store.schema import (
    BOOLEAN,
    INTEGER,
    RUNS_TABLE,
    TEXT,
    quote_ident,
)
from xetrack.values import now

if TYPE_CHECKING:
    import pandas as pd

    from xetrack.store.base import SqlStore

STATUSES: Final = ("running", "finished", "failed", "interrupted")
#: The index every event table gets: a run's rows, in time order.
TRACK_INDEX: Final = ("track_id", "timestamp")
#: The runs table's indexes: a run's record, and a table's newest runs.
RECORD_INDEX: Final = ("track_id", "table_name")
NEWEST_INDEX: Final = ("table_name", "ended")
#: What a run record says about where the run ran, also found in its rows.
GIT_COLUMNS: Final = {
    "git_commit": TEXT,
    "git_branch": TEXT,
    "git_dirty": BOOLEAN,
    "env_fingerprint": TEXT,
}
COLUMNS: Final = {
    "track_id": TEXT,
    "table_name": TEXT,
    "status": TEXT,
    "started": TEXT,
    "ended": TEXT,
    "rows": INTEGER,
    "error": TEXT,
    "host": TEXT,
    "pid": INTEGER,
    **GIT_COLUMNS,
}
_Q: Final = quote_ident(RUNS_TABLE)
#: Type names every engine reads the same way, for typed NULLs (a bare NULL in a
#: derived table is text to PostgreSQL, and text does not go into an int column).
_PORTABLE: Final = {TEXT: "TEXT", BOOLEAN: "BOOLEAN", INTEGER: "BIGINT"}
#: Error text longer than this is cut: a record is a summary, not a log.
_ERROR_MAX: Final = 2000


@dataclass
class RunRecord:
    """One run in one event table, as read (status already checked for liveness)."""

    track_id: str
    table_name: str
    status: str
    started: str | None
    ended: str | None
    rows: int
    error: str | None = None
    host: str | None = None
    pid: int | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    env_fingerprint: str | None = None
    #: the time of the run's last row (its end, once it has one)
    last: str | None = field(default=None, repr=False)


# -- preparing a store ---------------------------------------------------------------
def prepare(store: SqlStore, table: str) -> None:
    """A writer's first use of ``table``: its index, the runs table, and records for
    runs that have none (a store written before runs were recorded).

    Cheap reads decide whether anything is missing; the work itself runs under the
    file's write lock, which other writers wait for, and checks again inside it.
    """
    if table in store.prepared:
        return
    if not _ready(store, table):
        with store.transaction():
            store.create_index(table, TRACK_INDEX)
            store.create_table(RUNS_TABLE, COLUMNS)
            store.create_index(RUNS_TABLE, RECORD_INDEX)
            store.create_index(RUNS_TABLE, NEWEST_INDEX)
            if not _covered(store, table):
                store.execute(
                    f"INSERT INTO {_Q} ({', '.join(map(quote_ident, COLUMNS))}) "
                    f"SELECT * FROM ({_derived_sql(store, table)}) AS derived "
                    f"WHERE track_id NOT IN "
                    f"(SELECT track_id FROM {_Q} WHERE table_name = ?)",
                    [table, table],
                )
    store.prepared.add(table)


def _has_runs_table(store: SqlStore) -> bool:
    return bool(store.schema(RUNS_TABLE).types) or bool(
        store.schema(RUNS_TABLE, refresh=True).types
    )


def _ready(store: SqlStore, table: str) -> bool:
    return (
        store.has_index(table, TRACK_INDEX)
        and _has_runs_table(store)
        and store.has_index(RUNS_TABLE, RECORD_INDEX)
        and store.has_index(RUNS_TABLE, NEWEST_INDEX)
        and _covered(store, table)
    )


def _covered(store: SqlStore, table: str) -> bool:
    """True when the runs table speaks for ``table``: it has records of it, or the
    table has no rows to derive any from."""
    if _has_runs_table(store):
        _, found = store.query(
            f"SELECT 1 FROM {_Q} WHERE table_name = ? LIMIT 1", [table]
        )
        if found:
            return True
    _, rows = store.query(f"SELECT 1 FROM {quote_ident(table)} LIMIT 1")
    return not rows


def _derived_sql(store: SqlStore, table: str) -> str:
    """Run records made from the rows alone, one per track_id (``?``: the table name).

    What a store written before runs were recorded can say: first and last row as
    start and end, the row count, and the git columns the rows carry.
    """
    types = store.schema(table).types
    picks = []
    for name, logical in GIT_COLUMNS.items():
        if types.get(name) == logical:
            largest = store.max_sql(quote_ident(name), logical)
            picks.append(f"{largest} AS {quote_ident(name)}")
        else:
            picks.append(f"CAST(NULL AS {_PORTABLE[logical]}) AS {quote_ident(name)}")
    return (
        f"SELECT track_id, ? AS table_name, 'finished' AS status, "
        f'MIN(timestamp) AS started, MAX(timestamp) AS ended, COUNT(*) AS "rows", '
        f"CAST(NULL AS TEXT) AS error, CAST(NULL AS TEXT) AS host, "
        f"CAST(NULL AS BIGINT) AS pid, {', '.join(picks)} "
        f"FROM {quote_ident(table)} WHERE track_id IS NOT NULL GROUP BY track_id"
    )


# -- writing records -------------------------------------------------------------------
def start(
    store: SqlStore, track_id: str, table: str, info: Mapping[str, object]
) -> None:
    """Record ``track_id`` as running in ``table`` (again, if it ran before: a
    continued run keeps its start)."""
    import socket  # here, not at import: `import xetrack` stays small

    known = {k: v for k, v in info.items() if k in GIT_COLUMNS and v is not None}
    process = {"host": socket.gethostname(), "pid": os.getpid()}
    store.hold_run(track_id)  # before the record says running: never read as dead
    with store.transaction():
        sets = ", ".join(f"{quote_ident(k)} = ?" for k in [*process, *known])
        changed = store.execute(
            f"UPDATE {_Q} SET status = 'running', ended = NULL, \"rows\" = NULL, "
            f"error = NULL, {sets} WHERE track_id = ? AND table_name = ?",
            [*process.values(), *known.values(), track_id, table],
        )
        if changed:
            return
        record: dict[str, object] = {
            "track_id": track_id,
            "table_name": table,
            "status": "running",
            "started": now(),
            **process,
            **known,
        }
        store.execute(
            f"INSERT INTO {_Q} ({', '.join(map(quote_ident, record))}) "
            f"VALUES ({', '.join('?' * len(record))})",
            list(record.values()),
        )


def finish(
    store: SqlStore,
    track_id: str,
    tables: Iterable[str],
    status: str,
    error: str | None = None,
) -> None:
    """Record the end of ``track_id`` in each of ``tables``: status, end time, error,
    the row count (through the index, once) and git columns its rows carry.

    A run that finished with no rows in a table leaves no record there: nothing
    happened in it (a Tracker opened to read, or to copy other runs' rows).
    """
    check_status(status)
    ended = now()
    text = None if error is None else error[:_ERROR_MAX]
    with store.transaction():
        for table in tables:
            types = store.schema(table, refresh=True).types
            key = [track_id, table]
            if not types:  # the table was dropped meanwhile: so were its rows
                store.execute(
                    f"DELETE FROM {_Q} WHERE track_id = ? AND table_name = ?", key
                )
                continue
            q = quote_ident(table)
            fills = [
                f"{quote_ident(n)} = COALESCE({quote_ident(n)}, (SELECT "
                f"{store.max_sql(quote_ident(n), logical)} FROM {q} WHERE track_id = ?))"
                for n, logical in GIT_COLUMNS.items()
                if types.get(n) == logical
            ]
            store.execute(
                f'UPDATE {_Q} SET status = ?, ended = ?, error = ?, "rows" = '
                f"(SELECT COUNT(*) FROM {q} WHERE track_id = ?)"
                f"{''.join(', ' + f for f in fills)} "
                f"WHERE track_id = ? AND table_name = ?",
                [status, ended, text, track_id, *[track_id] * len(fills), *key],
            )
            store.execute(
                f"DELETE FROM {_Q} WHERE track_id = ? AND table_name = ? AND "
                f"status = 'finished' AND \"rows\" = 0",
                key,
            )
    store.release_run(track_id)


def adopt(store: SqlStore, table: str, track_ids: Iterable[str]) -> None:
    """Records for rows written under other runs' track_ids (copied or imported
    rows) that have none yet, derived from their rows."""
    wanted = sorted(set(track_ids))
    if not wanted or not _has_runs_table(store):
        return
    marks = ", ".join("?" * len(wanted))
    store.execute(
        f"INSERT INTO {_Q} ({', '.join(map(quote_ident, COLUMNS))}) "
        f"SELECT * FROM ({_derived_sql(store, table)}) AS derived "
        f"WHERE track_id IN ({marks}) AND track_id NOT IN "
        f"(SELECT track_id FROM {_Q} WHERE table_name = ?)",
        [table, *wanted, table],
    )


def copy_records(source: SqlStore, target: SqlStore, table: str) -> None:
    """The run records of ``table`` in ``source`` that ``target`` lacks."""
    if not _has_runs_table(source) or not _has_runs_table(target):
        return
    columns = list(COLUMNS)
    if SELECTION in source.schema(RUNS_TABLE, refresh=True).types:
        columns.append(SELECTION)
    names, rows = source.query(
        f"SELECT {', '.join(map(quote_ident, columns))} FROM {_Q} WHERE table_name = ?",
        [table],
    )
    _, have = target.query(f"SELECT track_id FROM {_Q} WHERE table_name = ?", [table])
    known = {r[0] for r in have}
    fresh = [dict(zip(names, r, strict=True)) for r in rows if r[0] not in known]
    for record in fresh:  # SQLite keeps booleans as 0/1: as booleans elsewhere
        for name, logical in COLUMNS.items():
            if logical == BOOLEAN and record[name] is not None:
                record[name] = bool(record[name])
        selected = record.pop(SELECTION, None)
        target.insert(RUNS_TABLE, [record])
        if isinstance(selected, str):
            record_selection(target, str(record["track_id"]), selected)


def forget(store: SqlStore, table: str, track_id: str | None = None) -> None:
    """Drop the records of ``table`` (of one run, or all of them)."""
    if not _has_runs_table(store):
        return
    if track_id is None:
        store.execute(f"DELETE FROM {_Q} WHERE table_name = ?", [table])
    else:
        store.execute(
            f"DELETE FROM {_Q} WHERE table_name = ? AND track_id = ?",
            [table, track_id],
        )
    store.prepared.discard(table)


# -- what a run selected -----------------------------------------------------------------
#: The runs table's column of a run's selection (JSON; see xetrack.selection). Added
#: when a run first records one, so stores without it read as before.
SELECTION: Final = "selection"


def record_selection(store: SqlStore, track_id: str, text: str) -> None:
    """Store ``text`` (a :class:`xetrack.selection.Selection` as JSON) on every
    record of ``track_id``."""
    if not _has_runs_table(store):
        return
    store.add_column(RUNS_TABLE, SELECTION, TEXT)
    store.execute(
        f"UPDATE {_Q} SET {quote_ident(SELECTION)} = ? WHERE track_id = ?",
        [text, track_id],
    )


def selection_text(store: SqlStore, track_id: str, table: str) -> str | None:
    """The selection recorded for ``track_id`` in ``table`` (None: everything)."""
    if not _has_runs_table(store):
        return None
    # the schema just read (a store a comparison opened) or read again: a writer
    # may have added the column since this store cached it
    if SELECTION not in store.schema(RUNS_TABLE).types and (
        SELECTION not in store.schema(RUNS_TABLE, refresh=True).types
    ):
        return None
    _, found = store.query(
        f"SELECT {quote_ident(SELECTION)} FROM {_Q} WHERE track_id = ? AND "
        f"table_name = ?",
        [track_id, table],
    )
    return found[0][0] if found and isinstance(found[0][0], str) else None


# -- reading records --------------------------------------------------------------------
def check_status(status: str | None) -> str | None:
    if status is None or status in STATUSES:
        return status
    raise InvalidArgumentError(f"status {status!r} is not one of {', '.join(STATUSES)}")


def records(
    store: SqlStore,
    table: str,
    status: str | None = None,
    commit: str | None = None,
    branch: str | None = None,
    since: str | None = None,
    with_rows: bool = False,
) -> list[RunRecord]:
    """The runs of ``table``, oldest first; filters apply together.

    ``commit`` matches a prefix of the full sha, ``since`` a start time at or after
    it (text as stored, see :func:`since_text`); ``with_rows`` drops runs that
    wrote no row to ``table`` yet. Reads only: an old store's records are derived.
    """
    check_status(status)
    from xetrack.table import EventTable

    EventTable(store, table).require_run_columns()  # a foreign table has no runs
    where: list[str] = []
    params: list[object] = [table]
    if commit:
        where.append("substr(git_commit, 1, ?) = ?")
        params += [len(commit), commit.lower()]
    if branch:
        where.append("git_branch = ?")
        params.append(branch)
    if since:
        where.append("started >= ?")
        params.append(since)
    if status in ("finished", "failed"):
        where.append("status = ?")
        params.append(status)
    elif status is not None:  # running or interrupted: decided by liveness below
        where.append("status IN ('running', 'interrupted')")
    clause = f" WHERE {' AND '.join(where)}" if where else ""

    def read(source: str) -> list[RunRecord]:
        return _read(
            store,
            f"SELECT {', '.join(map(quote_ident, COLUMNS))} FROM ({source}) AS r"
            f"{clause}",
            params,
        )

    # Records found say the runs table speaks for the table; only when there are
    # none is it asked whether it has any (else they are derived from the rows).
    found = (
        read(f"SELECT * FROM {_Q} WHERE table_name = ?")
        if _has_runs_table(store)
        else []
    )
    if not found and not _covered(store, table):
        found = read(_derived_sql(store, table))
    # Ordered here, as ORDER BY started, track_id orders on each engine (a start
    # of NULL first on SQLite, last elsewhere): DuckDB's sort of a thousand rows
    # cost more than reading them.
    first = store.engine == "sqlite"
    found.sort(
        key=lambda r: ((r.started is None) != first, r.started or "", r.track_id)
    )
    if status is not None:
        found = [r for r in found if r.status == status]
    return [r for r in found if r.rows] if with_rows else found


def recent(
    store: SqlStore, table: str, count: int
) -> tuple[list[RunRecord], bool] | None:
    """The newest runs of ``table`` that wrote rows, in no order: every one whose
    last row is later than the ``count``-th newest finished run's end (all of
    them when there are fewer), read through the runs table without touching the
    others, and whether that is every run. Unfinished runs are always among them
    (their last row decides).

    None when the records would be derived from the rows (a store written before
    runs were recorded): then there is no cheaper way than :func:`records`.
    """
    from xetrack.table import EventTable

    EventTable(store, table).require_run_columns()
    if not _has_runs_table(store):
        return None
    listed = ", ".join(map(quote_ident, COLUMNS))
    finished = (
        f"SELECT {listed} FROM {_Q} WHERE table_name = ? AND status IN "
        f"('finished', 'failed') AND \"rows\" > 0 AND ended"
    )
    # newest first through the (table_name, ended) index; records without an end
    # sort oldest, as "" does where the caller orders runs by their end
    ended = _read(
        store, f"{finished} IS NOT NULL ORDER BY ended DESC LIMIT ?", [table, count]
    )
    if len(ended) < count:
        ended += _read(
            store, f"{finished} IS NULL LIMIT ?", [table, count - len(ended)]
        )
    live = _read(
        store,
        f"SELECT {listed} FROM {_Q} WHERE table_name = ? AND status IN "
        f"('running', 'interrupted')",
        [table],
    )
    if not (ended or live) and not _covered(store, table):
        return None
    found = ended + [r for r in live if r.rows]
    if len(ended) < count:
        return found, True
    oldest = min(r.last or "" for r in ended)
    # runs ending at that moment may continue past the limit: leave them all out
    return [r for r in found if (r.last or "") > oldest], False


def on_commits(store: SqlStore, table: str, commits: Sequence[str]) -> list[RunRecord]:
    """The runs of ``table`` that wrote rows on one of ``commits``, through the runs
    table (which :func:`recent` found to speak for the table)."""
    if not commits:
        return []
    marks = ", ".join("?" * len(commits))
    # an unfinished run's commit may be known only from its rows: those are read
    found = _read(
        store,
        f"SELECT {', '.join(map(quote_ident, COLUMNS))} FROM {_Q} WHERE "
        f"table_name = ? AND (git_commit IN ({marks}) OR status IN "
        f"('running', 'interrupted'))",
        [table, *commits],
    )
    wanted = set(commits)
    return [r for r in found if r.rows and r.git_commit in wanted]


def _read(store: SqlStore, sql: str, params: Sequence[object]) -> list[RunRecord]:
    """Records from a query of COLUMNS, unfinished ones as they stand now."""
    _, rows = store.query(sql, params)
    found = []
    for raw in rows:
        record = RunRecord(*raw)  # the fields are COLUMNS, in order
        if record.git_dirty is not None:
            record.git_dirty = bool(record.git_dirty)
        record.last = record.ended
        if record.status in ("running", "interrupted"):
            _live(store, record)
        found.append(record)
    return found


def _live(store: SqlStore, record: RunRecord) -> None:
    """An unfinished run as it stands: rows and last row (through the index), git
    columns its rows carry, and ``interrupted`` once its process is gone."""
    types = store.schema(record.table_name).types
    gits = [n for n, logical in GIT_COLUMNS.items() if types.get(n) == logical]
    extra = "".join(f", {store.max_sql(quote_ident(n), types[n])}" for n in gits)
    _, found = store.query(
        f"SELECT COUNT(*), MAX(timestamp){extra} FROM "
        f"{quote_ident(record.table_name)} WHERE track_id = ?",
        [record.track_id],
    )
    count, last, *values = found[0]
    record.rows, record.last = int(count), last or record.started
    for name, value in zip(gits, values, strict=True):
        if getattr(record, name) is None and value is not None:
            setattr(record, name, bool(value) if name == "git_dirty" else value)
    if record.status == "running":
        alive = store.run_alive(record.track_id)
        if (not alive) if alive is not None else _gone(record):
            record.status = "interrupted"


def _gone(record: RunRecord) -> bool:
    """The run's process is known to be dead (same host only; elsewhere: unknown)."""
    import socket

    if record.pid is None or record.host != socket.gethostname():
        return False
    import psutil

    try:
        created = psutil.Process(int(record.pid)).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return not psutil.pid_exists(int(record.pid))
    started = _epoch(record.started)
    # A process created after the run started has reused the pid: the run's is gone.
    return started is not None and created > started + 1.0


def _epoch(text: str | None) -> float | None:
    from datetime import datetime

    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def frame(found: Sequence[RunRecord]) -> pd.DataFrame:
    """Records as a DataFrame with the runs table's columns, in order."""
    import pandas as pd

    fields = attrgetter(*COLUMNS)
    return pd.DataFrame([fields(r) for r in found], columns=list(COLUMNS))


def since_text(value: str) -> str:
    """``--since``: an ISO date or time (UTC unless it says otherwise), or an age
    such as ``30m``, ``12h``, ``2d``, ``1w``; as the text stored timestamps compare
    with."""
    import re
    from datetime import datetime, timedelta, timezone

    text = value.strip()
    age = re.fullmatch(r"(\d+)\s*([smhdw])", text)
    if age:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[age.group(2)]
        moment = datetime.now(timezone.utc) - timedelta(
            seconds=int(age.group(1)) * unit
        )
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgumentError(
                f"since {value!r} is neither a date/time like 2026-01-31 or "
                f"2026-01-31T12:00 nor an age like 30m, 12h, 2d or 1w"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


# -- a tracker's run ---------------------------------------------------------------------
@dataclass
class _Open:
    store: SqlStore
    track_id: str
    info: dict[str, object]
    tables: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    generation: int = field(default_factory=fork_generation)
    done: bool = False


class RunHandle:
    """The run a Tracker (and the trackers derived from it) records.

    If nobody closes it, it is closed when the last of those trackers is garbage
    collected or the interpreter exits: ``finished``, or ``failed``/``interrupted``
    when an uncaught exception is ending the program. A killed process closes
    nothing; readers then see the run as interrupted.
    """

    def __init__(self, store: SqlStore, track_id: str, info: Mapping[str, object]):
        self._state = _Open(store, track_id, dict(info))
        self._finalizer = weakref.finalize(self, _abandon, self._state)

    def add(self, table: str) -> None:
        """Record the run in ``table`` too (once)."""
        state = self._state
        if table in state.tables or state.done:
            return
        if table not in state.store.tables():
            return  # a view: its rows are some table's, and so are their runs
        prepare(state.store, table)
        start(state.store, state.track_id, table, state.info)
        state.tables.append(table)

    def switch(self, track_id: str) -> None:
        """Finish this run and record ``track_id`` as running in the same tables."""
        state = self._state
        if state.done or state.track_id == track_id:
            return
        tables = list(state.tables)
        if tables and state.pid == os.getpid():
            finish(state.store, state.track_id, tables, "finished")
        state.track_id, state.tables = track_id, []
        for table in tables:
            self.add(table)

    def close(self, status: str = "finished", error: str | None = None) -> None:
        check_ending(status)
        state = self._state
        if state.done:
            return
        state.done = True
        self._finalizer.detach()
        if state.tables and state.pid == os.getpid():
            finish(state.store, state.track_id, state.tables, status, error)


def check_ending(status: str) -> None:
    if status not in ("finished", "failed", "interrupted"):
        raise InvalidArgumentError(
            f"a run ends as finished, failed or interrupted, not {status!r}"
        )


def outcome_of(exc: BaseException | None) -> tuple[str, str | None]:
    """Status and error of a run ended by ``exc`` (None: it ended normally)."""
    if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
        return "finished", None
    message = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", message
    return "failed", message


def _abandon(state: _Open) -> None:
    """Close a run nobody closed (garbage collection, or the interpreter's exit)."""
    if state.done or state.pid != os.getpid() or state.generation != fork_generation():
        return  # a forked child exiting must not end its parent's run
    state.done = True
    # An uncaught exception is ending the program (sys.last_value is set before
    # exit handlers run); in an interactive session it may be an old one.
    interactive = hasattr(sys, "ps1") or "IPython" in sys.modules
    exc = None if interactive else getattr(sys, "last_value", None)
    status, error = outcome_of(exc)
    try:
        finish(state.store, state.track_id, state.tables, status, error)
        state.store.close()
    except Exception:
        # The file is gone or locked for good at exit: the record stays
        # "running", which readers show as interrupted once this process is gone.
        pass


__all__ = ["STATUSES", "RunHandle", "RunRecord", "records"]
