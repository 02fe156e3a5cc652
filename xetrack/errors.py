"""The exceptions xetrack raises; all derive from :class:`XetrackError`."""

from __future__ import annotations


class XetrackError(Exception):
    """Base class of every error xetrack raises on purpose."""


class InvalidKeyError(XetrackError, ValueError):
    """A key (column name) or table name that cannot be stored."""


class TypeConflictError(XetrackError, TypeError):
    """A value whose type does not fit the type of an existing column."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class InvalidValueError(XetrackError, ValueError):
    """A value that cannot be stored without loss (too large, not encodable, ...)."""


class DatabaseNotFoundError(XetrackError, FileNotFoundError):
    """A database path that does not exist where a database must already exist."""


class NotADatabaseError(XetrackError, ValueError):
    """A file that is neither an SQLite nor a DuckDB database."""


class EngineMismatchError(XetrackError, ValueError):
    """A file written by one engine opened with the other."""


class EngineUnavailableError(XetrackError, ImportError):
    """An engine or feature whose optional dependency is not installed."""


class StoreLockedError(XetrackError, RuntimeError):
    """A database file held by another process in a way we cannot share."""


class UnknownTableError(XetrackError, LookupError):
    """A table name that does not exist in the database."""


class UnknownColumnError(XetrackError, LookupError):
    """A column name that does not exist in the table."""


class InvalidArgumentError(XetrackError, ValueError):
    """An argument outside the values a function accepts (an unknown engine, ...)."""


class QueryError(XetrackError, ValueError):
    """SQL given by a user that the engine refused (syntax, unknown table, ...)."""


class StorePermissionError(XetrackError, PermissionError):
    """A database the file system does not let us read or write (permission, mount)."""


class DiskFullError(XetrackError, OSError):
    """A write the disk had no room for; nothing of it was kept."""


class CorruptDatabaseError(NotADatabaseError):
    """A database file that is damaged or cut short."""


class ServerUnavailableError(XetrackError, ConnectionError):
    """A database server that cannot be reached, or that refused the login."""


class ConnectionLostError(ServerUnavailableError):
    """A server connection that broke while in use and could not be made again in time."""
