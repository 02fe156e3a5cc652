"""Rows from pytest-xdist workers to the controller, which alone writes the database.

A worker never opens the database: its tests log into an in-memory store, and after
each test the plugin appends that test's rows (and new assets) to a spool file
(JSON lines, flushed per test) and to an outbox sent back in ``workeroutput``. The
controller writes the outbox when the worker finishes, or reads the spool when the
worker crashed, so rows of tests that had finished are never lost.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_xetrack.session import Session

_KEY = "xetrack"


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
        json.dumps({"rows": rows, "assets": assets, "served": payload["served"]}) + "\n"
    )


def read_spool(path: Path) -> list[dict[str, Any]]:
    """Payloads of a spool file; a torn last line (the crash) is skipped."""
    payloads = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            continue
        payloads.append(
            {
                "rows": [
                    {
                        "table": r["table"],
                        "row": {k: _decode(v) for k, v in r["row"].items()},
                    }
                    for r in raw["rows"]
                ],
                "assets": {h: _decode(b) for h, b in raw["assets"].items()},
                "served": raw.get("served", 0),
            }
        )
    return payloads


class WorkerOutbox:
    """On a worker: where each finished test's rows go."""

    def __init__(self, spool: str) -> None:
        self.spool = Path(spool)
        self.payloads: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any]) -> None:
        with open(self.spool, "a", encoding="utf-8") as handle:
            handle.write(spool_line(payload))
            handle.flush()
        self.payloads.append(payload)

    def finish(self, config: pytest.Config) -> None:
        merged: dict[str, Any] = {"rows": [], "assets": {}, "served": 0}
        for payload in self.payloads:
            merged["rows"].extend(payload["rows"])
            merged["assets"].update(payload["assets"])
            merged["served"] += payload["served"]
        config.workeroutput[_KEY] = merged  # type: ignore[attr-defined]


class Controller:
    """Controller-side hooks; registered only when pytest-xdist is installed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.spool_dir = Path(tempfile.mkdtemp(prefix="xetrack-spool-"))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        info = self.session.worker_info()
        info["spool"] = str(
            self.spool_dir / f"{node.gateway.id}-{uuid.uuid4().hex}.jsonl"
        )
        node.workerinput[_KEY] = info

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        payload = output.get(_KEY)
        if payload is not None and not error:
            self.session.receive([payload])
            return
        spool = Path(node.workerinput[_KEY]["spool"])
        payloads = read_spool(spool)
        worker = node.workerinput.get("workerid", node.gateway.id)
        rows = sum(len(p["rows"]) for p in payloads)
        self.session.notes.append(
            f"worker {worker} went down ({error or 'no output'}); recovered {rows} "
            f"rows of its finished tests from its spool file"
        )
        self.session.receive(payloads)

    def close(self) -> None:
        shutil.rmtree(self.spool_dir, ignore_errors=True)
