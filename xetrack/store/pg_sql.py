"""The SQL the store interface speaks, as psycopg takes it; PostgreSQL's type names.

The engine-independent code (``base.py``, ``runs.py``, ...) writes ``?`` for a bound
value, as SQLite and DuckDB do. psycopg wants ``%s`` and reads every other ``%`` as
the start of a placeholder, even inside quotes; so ``?`` outside literals, quoted
identifiers and comments becomes ``%s`` and every ``%`` becomes ``%%``. Values are
still bound by the server, never pasted.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Final

from xetrack.errors import InvalidValueError
from xetrack.store.schema import (
    BLOB,
    BOOLEAN,
    FLOAT,
    INTEGER,
    INTERNAL_PREFIX,
    JSON,
    NULL,
    TEXT,
)

#: Domains (text underneath) for the two logical types PostgreSQL has no type for:
#: a column that has only held NULLs, and one whose cells are JSON text. Text, not
#: ``json``: cells compare, group and sort as text, as in the file engines.
NULL_DOMAIN: Final = "_xetrack_null"
JSON_DOMAIN: Final = "_xetrack_json"

SQL_TYPES: Final = {
    INTEGER: "BIGINT",
    FLOAT: "DOUBLE PRECISION",
    # Byte order, whatever the database's locale: ISO timestamps and ids sort as
    # they do in SQLite and DuckDB, and `since` compares as text does there.
    TEXT: 'TEXT COLLATE "C"',
    BOOLEAN: "BOOLEAN",
    BLOB: "BYTEA",
    JSON: f'"{JSON_DOMAIN}"',
    NULL: f'"{NULL_DOMAIN}"',
}
DOMAINS: Final = {JSON: JSON_DOMAIN, NULL: NULL_DOMAIN}
#: What ``format_type`` calls the columns we create, by logical type.
DECLARED: Final = {
    INTEGER: "bigint",
    FLOAT: "double precision",
    TEXT: "text",
    BOOLEAN: "boolean",
    BLOB: "bytea",
    JSON: JSON_DOMAIN,
    NULL: NULL_DOMAIN,
}
#: Those columns' types in a binary COPY (a domain is sent as its base type).
BINARY: Final = {
    "bigint": "int8",
    "double precision": "float8",
    "text": "text",
    "boolean": "bool",
    "bytea": "bytea",
    JSON_DOMAIN: "text",
}

#: ``format_type`` names -> logical types; others (dates, uuids, ...) take any value.
LOGICAL: Final = {
    "bigint": INTEGER,
    "integer": INTEGER,
    "smallint": INTEGER,
    "double precision": FLOAT,
    "real": FLOAT,
    "numeric": FLOAT,
    "text": TEXT,
    "character varying": TEXT,
    "character": TEXT,
    "boolean": BOOLEAN,
    "bytea": BLOB,
    "json": JSON,
    "jsonb": JSON,
    JSON_DOMAIN: JSON,
    NULL_DOMAIN: NULL,
}

#: PostgreSQL's identifier limit (NAMEDATALEN - 1): longer names are cut silently.
MAX_IDENTIFIER_BYTES: Final = 63

_TOKENS: Final = re.compile(
    r"""
      (?P<quoted>(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'   # E'...' escape string
        | '(?:[^']|'')*'                              # '...' string
        | "(?:[^"]|"")*"                              # "..." identifier
        | \$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)?\$.*?\$(?P=tag)\$  # $tag$...$tag$
        | --[^\n]*                                    # line comment
        | /\*.*?\*/)                                  # block comment
    | (?P<mark>\?)
    | (?P<percent>%)
    """,
    re.S | re.X,
)


@functools.lru_cache(maxsize=4096)
def to_psycopg(sql: str, marks: bool = True) -> str:
    """``sql`` with ``?`` placeholders as psycopg's ``%s`` (and ``%`` as ``%%``);
    ``marks=False`` leaves ``?`` alone (SQL without values to bind, where it may
    be an operator).

    >>> to_psycopg('SELECT "a?%" FROM t WHERE x = ? AND y LIKE \\'%?\\'')
    'SELECT "a?%%" FROM t WHERE x = %s AND y LIKE \\'%%?\\''
    """

    def replace(found: re.Match[str]) -> str:
        if found.group("mark"):
            return "%s" if marks else "?"
        return found.group(0).replace("%", "%%")

    return _TOKENS.sub(replace, sql)


_LEADING: Final = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/|\()*", re.S)
#: The words PostgreSQL's statements other than queries (SELECT, WITH, VALUES,
#: TABLE, EXPLAIN, SHOW) begin with: user SQL (Reader.sql, xt sql) starting with one
#: is refused by name. A word that begins no statement at all is the server's
#: syntax error to report.
COMMANDS: Final = frozenset(
    """ABORT ALTER ANALYZE ANALYSE BEGIN CALL CHECKPOINT CLOSE CLUSTER COMMENT COMMIT
    COPY CREATE DEALLOCATE DECLARE DELETE DISCARD DO DROP END EXECUTE FETCH GRANT
    IMPORT INSERT LISTEN LOAD LOCK MERGE MOVE NOTIFY PREPARE REASSIGN REFRESH REINDEX
    RELEASE RESET REVOKE ROLLBACK SAVEPOINT SECURITY SET START TRUNCATE UNLISTEN
    UPDATE VACUUM""".split()
)


def first_keyword(sql: str) -> str:
    """The statement's first word, upper case, after comments and parentheses."""
    rest = sql[_LEADING.match(sql).end() :]  # type: ignore[union-attr]
    word = re.match(r"[A-Za-z]+", rest)
    return word.group(0).upper() if word else ""


def logical_of(sql_type: str) -> str | None:
    """The logical type of a ``format_type`` name (a domain may be schema-qualified)."""
    name = sql_type.rsplit(".", 1)[-1].strip('"').lower()
    return LOGICAL.get(name.split("(", 1)[0].strip())


def within_limit(name: str) -> str:
    """An identifier xetrack makes (an index's name), shortened by a hash when
    PostgreSQL would cut it."""
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.blake2b(name.encode(), digest_size=8).hexdigest()
    return f"{INTERNAL_PREFIX}idx_{digest}"


def nul_error(exc: Exception, rows: Sequence[Mapping[str, object]]) -> Exception:
    """Text with NUL, which PostgreSQL's text cannot hold (psycopg refuses it before
    sending, the server in a binary COPY): the error names the key, as for any
    refused value; ``exc`` itself for any other error."""
    if "NUL" in str(exc) or "0x00" in str(exc):  # psycopg's words, or the server's
        for row in rows:
            for key, value in row.items():
                if isinstance(value, str) and "\x00" in value:
                    return InvalidValueError(
                        f"value of {key!r} contains the NUL character (\\x00), "
                        f"which PostgreSQL text cannot hold; remove it, or log the "
                        f"value as bytes (value.encode())"
                    )
    return exc
