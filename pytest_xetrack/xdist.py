"""Rows from pytest-xdist workers to the controller, which alone writes the database.

A worker never opens the database: its tests log into an in-memory store, and after
each test the plugin appends that test's rows (and new assets) to a spool file
(JSON lines, flushed per test) and attaches the same line to the test's teardown
report (one string: xdist's serializer walks nested values one by one, which cost
more than the test). xdist hands every report to the controller as it arrives, and the
controller writes the rows then: a finished test's rows are in the database while
the session still runs, so Ctrl-C, a CI timeout's SIGTERM or a SIGKILL of the
controller keeps them.

The spools are the fallback. They live next to the database, in a folder per
session named after its host and pid, so a payload the controller never wrote (a
crashed worker, a killed controller) is found by the next session on the same
database, written once, and the folder removed. A live session's folder is never
touched.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from pytest_xetrack.session import Session

_KEY: Final = "xetrack"
#: The attribute of a teardown report that carries a worker's payload.
PAYLOAD_ATTR: Final = "xetrack_payload"
_OWNER: Final = "owner.json"


def _encode(value: object) -> object:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    return value


def _decode(value: object) -> object:
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
    return value


def spool_line(payload: dict[str, Any]) -> str:
    """One test's payload as a JSON line (bytes as base64)."""
    rows = [
        {"table": r["table"], "row": {k: _encode(v) for k, v in r["row"].items()}}
        for r in payload["rows"]
    ]
    assets = {h: _encode(b) for h, b in payload["assets"].items()}
    return (
        json.dumps(
            {
                "rows": rows,
                "assets": assets,
                "served": payload["served"],
                "seq": payload.get("seq", 0),
                "spool": payload.get("spool"),
            }
        )
        + "\n"
    )


def parse_line(line: str, spool: str | None = None) -> dict[str, Any] | None:
    """A payload from its JSON line (None for a torn one); ``spool`` names the file
    it was read from, else the line says."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        return None
    return {
        "rows": [
            {
                "table": r["table"],
                "row": {k: _decode(v) for k, v in r["row"].items()},
            }
            for r in raw["rows"]
        ],
        "assets": {h: _decode(b) for h, b in raw["assets"].items()},
        "served": raw.get("served", 0),
        "seq": raw.get("seq", 0),
        "spool": spool if spool is not None else raw.get("spool"),
    }


def read_spool(path: Path) -> list[dict[str, Any]]:
    """Payloads of a spool file; a torn last line (the crash) is skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found = (parse_line(line, path.name) for line in lines)
    return [payload for payload in found if payload is not None]


def spool_root(db: str) -> Path:
    """Where sessions recording into ``db`` keep their spools: beside the file, or
    for a server, in this machine's spool folder (one per URL, password masked)."""
    from xetrack.store.location import display, is_server_url

    if is_server_url(db):
        import hashlib

        from xetrack.store.spool import spool_root as local

        shown = display(db)
        name = hashlib.blake2b(shown.encode(), digest_size=8).hexdigest()
        return local() / "xdist" / name
    path = Path(db)
    return path.with_name(f".{path.name}.xetrack-spool")


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started, or None if there is no such process."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _owner_alive(folder: Path) -> bool | None:
    """True while the session that made ``folder`` runs; None: another host's."""
    try:
        owner = json.loads((folder / _OWNER).read_text(encoding="utf-8"))
        host, pid = owner["host"], int(owner["pid"])
        recorded = float(owner.get("started") or 0)
    except (OSError, ValueError, TypeError, KeyError):
        return False  # no readable owner: made by a session killed while starting
    if host != socket.gethostname():
        return None
    started = _process_started(pid)
    # A pid can be reused: the same pid started at another time is another process.
    return started is not None and abs(started - recorded) < 1


#: The worker's output naming how many payloads it sent.
SENT_KEY: Final = "xetrack_sent"


class WorkerOutbox:
    """On a worker: where each finished test's rows go."""

    def __init__(self, spool: str) -> None:
        self.spool = Path(spool)
        self.sent = 0
        self._handle: IO[str] | None = None

    def send(self, payload: dict[str, Any]) -> str:
        """Spool the payload (flushed before the report leaves); return it numbered,
        as the JSON line the report carries: one string is far cheaper for xdist
        to pass than the rows' nested values."""
        self.sent += 1
        line = spool_line({**payload, "seq": self.sent, "spool": self.spool.name})
        if self._handle is None:  # opened once: a test's cost is one write
            self._handle = open(self.spool, "a", encoding="utf-8")
        self._handle.write(line)
        self._handle.flush()  # in the OS's hands: a crash of the worker keeps it
        return line

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class Controller:
    """Controller-side hooks; registered only when pytest-xdist is installed."""

    def __init__(self, session: Session, db: str) -> None:
        self.session = session
        name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.spool_dir = spool_root(db) / name
        # Made under a hidden name and renamed once its owner is written: another
        # session never sees this folder without an owner and takes it for dead.
        making = spool_root(db) / f".{name}"
        making.mkdir(parents=True)
        owner = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": _process_started(os.getpid()),
        }
        (making / _OWNER).write_text(json.dumps(owner), encoding="utf-8")
        making.rename(self.spool_dir)
        #: spool file name -> numbers of the payloads already written
        self.received: dict[str, set[int]] = {}
        #: spools of workers that went down with every payload written
        self.settled: set[str] = set()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        info = self.session.worker_info()
        info["spool"] = str(
            self.spool_dir / f"{node.gateway.id}-{uuid.uuid4().hex}.jsonl"
        )
        node.workerinput[_KEY] = info

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        line = getattr(report, PAYLOAD_ATTR, None)
        payload = parse_line(line) if isinstance(line, str) else None
        if payload is not None:
            self._receive([payload])

    def _receive(self, payloads: Iterable[dict[str, Any]]) -> int:
        fresh = []
        for payload in payloads:
            done = self.received.setdefault(str(payload.get("spool")), set())
            if payload.get("seq") not in done:
                done.add(payload.get("seq"))  # type: ignore[arg-type]
                fresh.append(payload)
        self.session.receive(fresh)
        return sum(len(p["rows"]) for p in fresh)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        from pytest_xetrack.selection import WORKER_KEY

        deselected = getattr(node, "workeroutput", {}).get(WORKER_KEY)
        if isinstance(deselected, list):
            self.session.deselected.update(str(n) for n in deselected)
        spool = Path(node.workerinput[_KEY]["spool"])
        sent = getattr(node, "workeroutput", {}).get(SENT_KEY)
        got = self.received.get(spool.name, set())
        # A worker that finished said how many it sent: when every one arrived,
        # its spool holds nothing new (reading it back cost ~0.2 ms a test).
        whole = isinstance(sent, int) and got.issuperset(range(1, sent + 1))
        rows = 0 if whole else self._receive(read_spool(spool))
        self.settled.add(spool.name)  # the worker is down: its spool is final
        if error or rows:
            worker = node.workerinput.get("workerid", node.gateway.id)
            self.session.notes.append(
                f"worker {worker} went down ({error or 'reports lost'}); the rows of "
                f"its finished tests were written as they finished"
                + (f", {rows} of them from its spool file" if rows else "")
            )

    def close(self) -> None:
        """At the session's end, even an interrupted one: what the reports did not
        bring (Ctrl-C stops them), from the spools; then the spools go."""
        rows = 0
        for spool in sorted(self.spool_dir.glob("*.jsonl")):
            if spool.name not in self.settled:
                rows += self._receive(read_spool(spool))
        if rows:
            self.session.notes.append(
                f"wrote {rows} rows of finished tests from the workers' spool files"
            )
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        _remove_if_empty(self.spool_dir.parent)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty (another session's spools) or gone already


def recover_spools(session: Session, db: str) -> int:
    """Write the rows left in spools by dead sessions on ``db``; remove those spools.

    A folder whose owner still runs (or ran on another host, which we cannot ask)
    is left alone. Rows already in the database (written live before the owner
    died) are recognised by track_id, timestamp and test and written once.
    """
    root = spool_root(db)
    if not root.is_dir():
        return 0
    written = 0
    for folder in sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        alive = _owner_alive(folder)
        if alive is None:
            session.notes.append(
                f"left the spools of a session on another host in {folder}"
            )
            continue
        if alive:
            continue
        payloads = [p for s in sorted(folder.glob("*.jsonl")) for p in read_spool(s)]
        fresh = _not_written(session, payloads)
        session.receive(fresh)
        rows = sum(len(p["rows"]) for p in fresh)
        written += rows
        session.notes.append(
            f"recovered {rows} rows of finished tests from an interrupted session's "
            f"spools ({folder.name})"
        )
        shutil.rmtree(folder, ignore_errors=True)
    _remove_if_empty(root)
    return written


def _not_written(
    session: Session, payloads: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The payloads with the rows the database does not hold yet."""
    from xetrack import Reader
    from xetrack.errors import UnknownTableError
    from xetrack.store.schema import quote_ident

    db = str(session.open_root().db)
    known: dict[tuple[str, str], set[tuple[object, object]]] = {}

    def present(table: str, row: dict[str, object]) -> bool:
        track_id = str(row.get("track_id"))
        found = known.get((table, track_id))
        if found is None:
            found = set()
            try:
                with Reader(db, table=table) as reader:
                    if "test_nodeid" in reader.columns:
                        frame = reader.sql(
                            f"SELECT timestamp, test_nodeid FROM {quote_ident(table)} "
                            f"WHERE track_id = ?",
                            [track_id],
                        )
                        found = set(frame.itertuples(index=False, name=None))
            except UnknownTableError:
                pass
            known[(table, track_id)] = found
        return (row.get("timestamp"), row.get("test_nodeid")) in found

    fresh = []
    for payload in payloads:
        rows = [r for r in payload["rows"] if not present(r["table"], r["row"])]
        if rows or payload["assets"]:
            fresh.append({**payload, "rows": rows})
    return fresh
