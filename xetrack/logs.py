"""Rows as logs: loguru sinks (file, stdout), a JSONL writer, and reading them back.

Every record line is ``<time> | <LEVEL> | xetrack<TAB><json>``. JSON escapes tabs
and newlines inside values, so the first tab always ends the prefix and every
record is one line, whatever the values hold.

xetrack's levels sit below loguru's TRACE (TRACKING=1, MONITOR=2, EXPERIMENT=3): a
host application's own handlers (DEBUG and up) never print tracking rows, and the
host's handlers are never removed. Each Tracker's sinks only take its own records.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from xetrack.errors import DatabaseNotFoundError
from xetrack.values import json_writer

if TYPE_CHECKING:
    import pandas as pd

LEVELS: Final = {"TRACKING": 1, "MONITOR": 2, "EXPERIMENT": 3}
_TAG: Final = "xetrack_sink"
_FORMAT: Final = "{time:YYYY-MM-DD HH:mm:ss.SSSZZ} | {level} | xetrack\t{message}"
DEFAULT_FILE_FORMAT: Final = "xetrack-{time:YYYY-MM-DD}.log"
_levels_lock = threading.Lock()


def _encode(value: object) -> object:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode(record: dict[str, Any]) -> dict[str, Any]:
    for key, value in record.items():
        if isinstance(value, dict) and set(value) == {"$bytes"}:
            record[key] = base64.b64decode(value["$bytes"])
    return record


_write_json: Final = json_writer(_encode)


def _logger() -> Any:
    from loguru import logger

    with _levels_lock:
        for name, number in LEVELS.items():
            try:
                logger.level(name)
            except ValueError:
                logger.level(name, no=number)
    return logger


class JsonlWriter:
    """One flat JSON object per line, appended to one open file (line-buffered)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, row: Mapping[str, object], level: str = "TRACKING") -> None:
        record = dict(row)  # its timestamp is the database's: ISO 8601 with offset
        line = _write_json(
            {"timestamp": record.pop("timestamp", None), "level": level, **record}
        )
        with self._lock:
            self._file.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


class Sinks:
    """A tracker's log outputs: loguru handlers it added, and a JSONL writer."""

    def __init__(
        self,
        logs_path: str | Path | None,
        logs_file_format: str | None,
        logs_stdout: bool,
        jsonl: str | Path | None,
    ) -> None:
        self.tag = uuid.uuid4().hex
        self.handlers: list[int] = []
        self.jsonl = JsonlWriter(jsonl) if jsonl is not None else None
        self._log: Any = None
        if logs_path is not None or logs_stdout:
            logger = _logger()
            tag = self.tag

            def mine(record: Any) -> bool:
                return bool(record["extra"].get(_TAG) == tag)

            if logs_path is not None:
                folder = Path(logs_path)
                folder.mkdir(parents=True, exist_ok=True)
                name = logs_file_format or DEFAULT_FILE_FORMAT
                self.handlers.append(
                    logger.add(
                        str(folder / name),
                        format=_FORMAT,
                        filter=mine,
                        level=min(LEVELS.values()),
                        rotation="00:00" if "{time" in name else None,
                        encoding="utf-8",
                    )
                )
            if logs_stdout:
                self.handlers.append(
                    logger.add(
                        sys.stdout,
                        format=_FORMAT,
                        filter=mine,
                        level=min(LEVELS.values()),
                    )
                )
            self._log = logger.bind(**{_TAG: tag})
        # Released when the tracker is closed or garbage collected, whichever first.
        self._finalizer = weakref.finalize(
            self, _release, list(self.handlers), self.jsonl
        )

    @property
    def active(self) -> bool:
        return self._log is not None or self.jsonl is not None

    def emit(self, row: Mapping[str, object], level: str = "TRACKING") -> None:
        if self._log is not None:
            self._log.log(level, _write_json(dict(row)))
        if self.jsonl is not None:
            self.jsonl.write(row, level)

    def close(self) -> None:
        self._finalizer()


def _release(handlers: list[int], jsonl: JsonlWriter | None) -> None:
    if handlers:
        from loguru import logger

        for handler in handlers:
            try:
                logger.remove(handler)
            except ValueError:  # already removed by someone else
                pass
    if jsonl is not None:
        jsonl.close()


class TrackerLogger:
    """``tracker.logger``: monitoring and experiment records, written to the logs only.

    >>> from xetrack import Tracker
    >>> tracker = Tracker(Tracker.SKIP_INSERT)
    >>> tracker.logger.monitor({"latency_ms": 12.5, "model": "v2"})[0]["latency_ms"]
    12.5
    """

    def __init__(self, tracker: Any) -> None:
        self._tracker = tracker
        self._schema: dict[str, None] = {}

    def monitor(
        self, data: Mapping[str, object] | pd.DataFrame
    ) -> list[dict[str, object]]:
        """Write one record per dict (or DataFrame row), every record with the same keys.

        Keys seen before but missing now are written as null; new keys join the
        schema. Returns the records as written.
        """
        records = _records(data)
        written = []
        for record in records:
            flat = self._tracker.flatten(record)
            self._schema.update(dict.fromkeys(flat))
            row = {key: flat.get(key) for key in self._schema}
            written.append(self._tracker.emit(row, "MONITOR"))
        return written

    def experiment(self, data: Mapping[str, object]) -> dict[str, object]:
        """Write a record of an experiment (its params and results) at EXPERIMENT level."""
        return self._tracker.emit(self._tracker.flatten(data), "EXPERIMENT")  # type: ignore[no-any-return]


def _records(data: Mapping[str, object] | pd.DataFrame) -> list[dict[str, object]]:
    if isinstance(data, Mapping):
        return [dict(data)]
    to_dict = getattr(data, "to_dict", None)
    if callable(to_dict):
        return [{str(k): v for k, v in r.items()} for r in to_dict("records")]
    raise TypeError(
        f"monitor() takes a dict or a pandas DataFrame, not {type(data).__name__}"
    )


# -- reading ------------------------------------------------------------------------------
def _log_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".log")
    if path.is_file():
        return [path]
    raise DatabaseNotFoundError(
        f"no log file or folder at {path}; pass the logs_path folder"
    )


def iter_log_records(path: str | Path) -> Iterable[dict[str, Any]]:
    """Records of xetrack log lines in a file or folder, oldest file first."""
    for file in _log_files(Path(path)):
        with open(file, encoding="utf-8") as handle:
            for line in handle:
                prefix, tab, payload = line.rstrip("\n").partition("\t")
                if not tab or "| xetrack" not in prefix:
                    continue  # somebody else's line
                level = (
                    prefix.split(" | ")[1].strip() if prefix.count(" | ") >= 2 else None
                )
                try:
                    record = json.loads(payload)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    record = _decode(record)
                    record["level"] = level
                    yield record


def read_logs(path: str | Path, limit: int | None = None) -> pd.DataFrame:
    """Records of the log files at ``path`` (a file or the logs_path folder).

    ``limit`` keeps the most recent records.
    """
    from xetrack.frames import frame_from_records

    records = list(iter_log_records(path))
    if limit is not None:
        records = records[-limit:] if limit > 0 else []
    return frame_from_records(records)


def read_jsonl(path: str | Path) -> pd.DataFrame:
    """The records of a JSONL file written by ``Tracker(jsonl=...)``."""
    from xetrack.frames import frame_from_records

    file = Path(path)
    if not file.is_file():
        raise DatabaseNotFoundError(f"no JSONL file at {file}")
    with open(file, encoding="utf-8") as handle:
        records = [_decode(json.loads(line)) for line in handle if line.strip()]
    return frame_from_records(records)
