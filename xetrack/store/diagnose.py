"""Why a database file cannot be opened or written: the real cause, from the OS.

A driver's error says what failed ("unable to open database file", "IO Error");
the file system says why: no permission (and which), a read-only mount, a full
disk, a truncated file. Engines ask :func:`explain` before falling back to the
driver's own words, so a permission problem is never reported as a lock.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Final

from xetrack.errors import (
    CorruptDatabaseError,
    DiskFullError,
    StorePermissionError,
    XetrackError,
)

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
#: A DuckDB file starts with one file header and two database headers of 4 KiB.
_DUCKDB_MIN_SIZE: Final = 3 * 4096


def _owner(info: os.stat_result) -> str:
    return f"mode {stat.filemode(info.st_mode)}, owner uid {info.st_uid}"


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _can_open(path: Path, flags: int) -> OSError | None:
    try:
        os.close(os.open(path, flags))
    except OSError as exc:
        return exc
    return None


def explain(path: str, write: bool) -> XetrackError | None:
    """The reason ``path`` cannot be read (or, with ``write``, written), or None
    when the file system sees no problem (then it is the engine's: a lock, ...)."""
    if path == ":memory:":
        return None
    file = Path(path)
    folder = file.parent if str(file.parent) else Path(".")
    exists = file.exists()
    if exists:
        info = file.stat()
        failed = _can_open(file, os.O_RDONLY)
        if failed is not None and failed.errno in (errno.EACCES, errno.EPERM):
            return StorePermissionError(
                f"cannot read {path}: permission denied ({_owner(info)}); run as a "
                f"user who may read it, or copy it somewhere readable"
            )
        truncated = truncation(file)
        if truncated is not None:
            return CorruptDatabaseError(truncated)
    if not write:
        return None
    if _free_bytes(folder) == 0:
        return disk_full(path, "opening")
    if _read_only_mount(file if exists else folder):
        return StorePermissionError(
            f"cannot write {path}: it is on a read-only file system; read it with "
            f"Reader or xt, or write to a copy elsewhere"
        )
    if exists:
        failed = _can_open(file, os.O_RDWR)
        if failed is not None and failed.errno in (errno.EACCES, errno.EPERM):
            return StorePermissionError(
                f"cannot write {path}: permission denied ({_owner(file.stat())}); it "
                f"can be read with Reader or xt, or written by its owner"
            )
    if not os.access(folder, os.W_OK | os.X_OK):
        return StorePermissionError(
            f"cannot write {path}: its folder {str(folder)!r} is not writable "
            f"({_owner(folder.stat())}), and the engine keeps a journal file next "
            f"to the database; read it with Reader or xt, or move it"
        )
    return None


def truncation(file: Path) -> str | None:
    """What is missing from a database file cut short, or None if it looks whole."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            header = handle.read(100)
    except OSError:
        return None
    if header.startswith(_SQLITE_MAGIC) and len(header) == 100:
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        if page_size and pages and size < page_size * pages:
            return (
                f"{file} is truncated: its header says {pages * page_size} bytes but "
                f"the file has {size}; restore it from a copy (xt copy reads what is "
                f"left of a damaged file no better)"
            )
    elif header.startswith(_SQLITE_MAGIC):
        return f"{file} is truncated ({size} bytes, less than an SQLite header)"
    elif header[8:12] == b"DUCK" and size < _DUCKDB_MIN_SIZE:
        return (
            f"{file} is truncated: a DuckDB file has at least {_DUCKDB_MIN_SIZE} "
            f"bytes, this one {size}; restore it from a copy"
        )
    return None


def _free_bytes(folder: Path) -> int | None:
    try:
        found = os.statvfs(folder)
    except OSError:
        return None
    return found.f_bavail * found.f_frsize


def disk_full(path: str, what: str) -> DiskFullError:
    folder = Path(path).parent
    free = _free_bytes(folder)
    room = "" if free is None else f" ({free} bytes free in {str(folder)!r})"
    return DiskFullError(
        f"disk is full while {what} {path}{room}; nothing of this write was kept: "
        f"free some space and try again"
    )
