"""Where a store lives: a database file, or a PostgreSQL server named by a URL.

:func:`display` is the one way a store's location is shown to people (errors, log
lines, the plugin's summary, ``xt`` messages, ``repr``): a URL's password is masked
there, wherever the password came from. Everything that prints a ``db`` calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from xetrack.errors import InvalidArgumentError

#: URL schemes that name a PostgreSQL server (libpq accepts both).
SCHEMES: Final = ("postgresql", "postgres")
_MASK: Final = "***"
#: The query parameter xetrack reads itself (libpq would refuse it).
SCHEMA_PARAM: Final = "schema"


def is_server_url(db: object) -> bool:
    """True when ``db`` names a PostgreSQL server (``postgresql://...``)."""
    if isinstance(db, PurePath) or not isinstance(db, str):
        return False
    scheme, sep, _ = db.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def display(db: object) -> str:
    """``db`` as people may see it: a URL with its password masked (in the user
    part and in a ``password=`` parameter); a path as it is.

    >>> display("postgresql://ci:s3cret@db.example:5432/bench?password=x&schema=t")
    'postgresql://ci:***@db.example:5432/bench?password=***&schema=t'
    >>> display("bench.db")
    'bench.db'
    """
    text = str(db)
    if not is_server_url(text):
        return text
    try:
        parts = urlsplit(text)
    except ValueError:  # not even a URL: say nothing of what followed the scheme
        return text.partition("://")[0] + "://" + _MASK
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{_MASK}@{hosts}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() == "password" for k, _ in pairs):
            query = "&".join(
                f"{quote(k)}={_MASK if k.lower() == 'password' else quote(v)}"
                for k, v in pairs
            )
    return _join(parts.scheme, netloc, parts.path, query)


def scrub(message: str, db: str) -> str:
    """``message`` with any password of ``db`` replaced, for driver messages we pass
    on (libpq's words never include it, but a message quoting the URL would)."""
    for secret in _passwords(db):
        if secret:
            message = message.replace(secret, _MASK)
    return message.replace(db, display(db)) if db else message


def _passwords(db: str) -> list[str]:
    try:
        parts = urlsplit(db)
    except ValueError:
        return []
    found = []
    if parts.password:
        # urlsplit leaves the user part percent-encoded: the password as libpq
        # reads it is the decoded one
        found += [parts.password, unquote(parts.password)]
        found.append(quote(unquote(parts.password), safe=""))
        found.append(parts.netloc.rpartition("@")[0].partition(":")[2])
    for key, value in parse_qsl(parts.query):
        if key.lower() == "password":
            found += [value, quote(value, safe="")]
    for pair in parts.query.split("&"):  # as written, however it was encoded
        key, _, raw = pair.partition("=")
        if key.lower() == "password":
            found.append(raw)
    return sorted(set(found), key=len, reverse=True)


@dataclass(frozen=True)
class ServerTarget:
    """A PostgreSQL URL taken apart: what libpq gets, and xetrack's own options."""

    #: the URL for libpq: xetrack's parameters removed
    conninfo: str
    #: the schema the tables live in (None: the server's search_path decides)
    schema: str | None
    #: the URL as shown to people (password masked)
    shown: str


def parse_server_url(db: str) -> ServerTarget:
    """Split ``db`` into libpq's URL and ``?schema=`` (xetrack's own parameter).

    Raises :class:`InvalidArgumentError` for a malformed URL or schema name.
    """
    shown = display(db)
    try:
        parts = urlsplit(db)
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise InvalidArgumentError(
            f"{shown} is not a valid PostgreSQL URL ({exc}); write it as "
            f"postgresql://user@host:5432/dbname"
        ) from None
    schemas = [v for k, v in pairs if k == SCHEMA_PARAM]
    rest = [(k, v) for k, v in pairs if k != SCHEMA_PARAM]
    schema = schemas[-1] if schemas else None
    if schema is not None and (
        not schema.strip() or any(ord(c) < 32 for c in schema) or "\x7f" in schema
    ):
        raise InvalidArgumentError(
            f"schema {schema!r} in {shown} must be a printable, non-empty name, "
            f"like ?schema=bench"
        )
    conninfo = _join(parts.scheme, parts.netloc, parts.path, urlencode(rest))
    return ServerTarget(conninfo, schema, shown)


def _join(scheme: str, netloc: str, path: str, query: str) -> str:
    # not urlunsplit: it drops the "//" of an empty host (postgresql:///db, a
    # service or PGHOST), which libpq needs to read the rest as a URL
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
