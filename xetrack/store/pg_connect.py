"""Connections to a PostgreSQL server, set up as the store needs them.

One function opens and configures a connection (autocommit; JSON read as text and
numeric as float, as the file engines return them; the lock timeout; read-only for
a reader; the schema, made if missing); the rest says what psycopg's errors mean.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from xetrack.errors import EngineUnavailableError, InvalidArgumentError

#: Advisory lock classes (the first of two int4 keys): schema changes, open runs.
DDL_LOCK: Final = 0x58540001
RUN_LOCK: Final = 0x58540002
#: SQLSTATEs after which the connection (or the server) is gone: class 08, and the
#: server shutting down or starting up.
_GONE_STATES: Final = ("57P01", "57P02", "57P03")
#: Errors after which the same statement simply succeeds the next time: a
#: deadlock's victim (the other transaction went ahead), a serialisation failure.
TRANSIENT_STATES: Final = ("40P01", "40001")
_CONNECT_TIMEOUT_S: Final = 10


def import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise EngineUnavailableError(
            "a postgresql:// store needs psycopg 3; install it with "
            "pip install 'xetrack[postgres]'"
        ) from exc
    return psycopg


def lock_key(kind: str, *parts: str) -> int:
    """A 31-bit advisory lock key for ``parts`` (the second of two int4 keys)."""
    text = "\x00".join((kind, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "big") >> 1


def first_lines(exc: BaseException) -> str:
    """A driver message on one line: libpq's lines joined (its hint included)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def is_lost(psycopg: Any, exc: BaseException, conn: Any) -> bool:
    """Whether ``exc`` means the connection (or the server) went away."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    if conn is None or conn.closed or conn.broken:
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith("08") or state in _GONE_STATES


def open_connection(
    psycopg: Any,
    conninfo: str,
    shown: str,
    read_only: bool,
    lock_timeout: float,
    schema: str | None,
) -> tuple[Any, str]:
    """A configured connection and the schema its tables live in.

    Raises psycopg's error when the server cannot be reached or refuses the login,
    :class:`InvalidArgumentError` when there is no schema to keep tables in.
    """
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(conninfo)
    extra: dict[str, object] = {}
    if "connect_timeout" not in given:  # libpq's default is to wait forever
        extra["connect_timeout"] = _CONNECT_TIMEOUT_S
    if "application_name" not in given:
        extra["application_name"] = "xetrack"
    conn = psycopg.connect(conninfo, autocommit=True, **extra)
    try:
        return conn, _configure(psycopg, conn, shown, read_only, lock_timeout, schema)
    except BaseException:
        conn.close()
        raise


def _configure(
    psycopg: Any,
    conn: Any,
    shown: str,
    read_only: bool,
    lock_timeout: float,
    schema: str | None,
) -> str:
    from psycopg import sql
    from psycopg.types.numeric import FloatLoader
    from psycopg.types.string import TextLoader

    for name in ("json", "jsonb"):
        conn.adapters.register_loader(name, TextLoader)
    conn.adapters.register_loader("numeric", FloatLoader)  # AVG, SUM of integers
    # at least 1 ms: 0 would mean no limit at all to PostgreSQL
    settings = {"lock_timeout": f"{max(1, int(lock_timeout * 1000))}ms"}
    if read_only:
        settings["default_transaction_read_only"] = "on"
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, false)", [name, value])
    if schema is None:
        found = conn.execute("SELECT current_schema()").fetchone()[0]
        if found is None:
            raise InvalidArgumentError(
                f"{shown}: the server's search_path names no schema that exists "
                f"here, so there is nowhere to keep tables; add ?schema=NAME to the URL"
            )
        return str(found)
    exists = conn.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]
    ).fetchone()
    # Made when missing; a role that may use a schema but not create one (CREATE
    # SCHEMA checks that first, even IF NOT EXISTS) never asks.
    if exists is None and not read_only:
        with conn.transaction():
            # Taken by every session creating it: CREATE SCHEMA IF NOT EXISTS
            # alone races (a unique violation on pg_namespace).
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [DDL_LOCK, lock_key("schema", schema)],
            )
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
            )
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return schema
