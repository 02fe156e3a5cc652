"""A throwaway PostgreSQL server for the tests and the benchmarks.

``initdb`` into a fresh temporary folder, then ``postgres`` on 127.0.0.1 at a free
port, with password (SCRAM) logins over TCP, so every test connects the way a CI
runner does and a password is there to leak if anything printed it. PostgreSQL
refuses to run as root: as root, the server runs as the ``postgres`` system user
(``runuser``, or ``setpriv``), in a folder that user owns.

``XETRACK_TEST_POSTGRES_URL`` names an existing server instead; then each test
still gets a schema of its own, dropped at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

URL_ENV = "XETRACK_TEST_POSTGRES_URL"
REQUIRE_ENV = "XETRACK_REQUIRE_POSTGRES"
USER = "xetrack"
DATABASE = "xetrack"
_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin")


def binaries() -> Path | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for pattern in _SEARCH:
        for folder in sorted(glob.glob(pattern), reverse=True):  # newest first
            if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
                return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A PostgreSQL server this process started (or an existing one, by URL)."""

    def __init__(self, base_url: str, folder: Path | None = None) -> None:
        self.base_url = base_url
        self.folder = folder
        self.password = ""
        self._bin: Path | None = None
        self._as: list[str] = []
        self.port = 0
        self.schemas: list[str] = []

    @property
    def secret(self) -> str:
        """The password, to look for where it must not be ("\0" when there is
        none: it is then in no text at all)."""
        return self.password or "\0"

    @property
    def owned(self) -> bool:
        """Whether this process started the server (and may stop it)."""
        return self.folder is not None

    def url(self, schema: str | None = None) -> str:
        if schema is None:
            return self.base_url
        joiner = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{joiner}schema={quote(schema)}"

    def new_url(self) -> str:
        """A URL of a schema no test used: every test gets empty tables."""
        name = f"t_{secrets.token_hex(6)}"
        self.schemas.append(name)
        return self.url(name)

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self._bin is not None and self.folder is not None
        return subprocess.run(
            [
                *self._as,
                str(self._bin / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                *args,
            ],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def start(self) -> None:
        settings = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections=300 -c shared_buffers=32MB"
        )
        self._ctl("-o", settings, "-l", str(self.folder / "server.log"), "-w", "start")  # type: ignore[operator]

    def running(self) -> bool:
        return self._ctl("status", check=False).returncode == 0

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop", check=False)

    def log(self) -> str:
        assert self.folder is not None
        with contextlib.suppress(OSError):
            return (self.folder / "server.log").read_text(errors="replace")[-4000:]
        return ""

    def cleanup(self) -> None:
        if self.owned:
            self.stop()
            shutil.rmtree(str(self.folder), ignore_errors=True)
            return
        if not self.schemas:
            return
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.base_url, autocommit=True) as conn:
            for name in self.schemas:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(name)
                    )
                )


def _runner() -> list[str]:
    """How to run the server's programs: as we are, or (root) as ``postgres``."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root and there is no postgres user to run the server as"
        ) from None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    raise RuntimeError("running as root without runuser or setpriv to drop to postgres")


def start_server() -> Server:
    """initdb + start a new server; raises RuntimeError (with the server's log)."""
    folder_bin = binaries()
    if folder_bin is None:
        raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    runner = _runner()
    folder = Path(tempfile.mkdtemp(prefix="xetrack-pg-"))
    if runner:
        info = pwd.getpwnam("postgres")
        os.chown(folder, info.pw_uid, info.pw_gid)
    password = secrets.token_urlsafe(12)
    secret = folder / "password"
    secret.write_text(password + "\n")
    if runner:
        os.chown(secret, info.pw_uid, info.pw_gid)
    server = Server("", folder)
    server._bin, server._as, server.password = folder_bin, runner, password
    done = subprocess.run(
        [
            *runner,
            str(folder_bin / "initdb"),
            "-D",
            str(folder / "data"),
            "-U",
            USER,
            f"--pwfile={secret}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout}")
    for attempt in range(5):
        server.port = _free_port()
        try:
            server.start()
            break
        except subprocess.CalledProcessError:
            if attempt == 4:
                log = server.log()
                server.cleanup()
                raise RuntimeError(
                    f"the PostgreSQL server did not start:\n{log}"
                ) from None
            time.sleep(0.2)  # the port was taken meanwhile: another one
    base = f"postgresql://{USER}:{quote(password, safe='')}@127.0.0.1:{server.port}"
    _create_database(f"{base}/postgres", DATABASE)
    server.base_url = f"{base}/{DATABASE}"
    return server


def _create_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_from_env() -> Server | None:
    url = os.environ.get(URL_ENV)
    return Server(url) if url else None


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    """The server of ``XETRACK_TEST_POSTGRES_URL``, or a new one, cleaned up after."""
    server = server_from_env() or start_server()
    try:
        yield server
    finally:
        server.cleanup()


def exists(db: object) -> bool:
    """Whether a store is there: a file, or (a URL) its schema on the server."""
    text = str(db)
    if not text.startswith("postgresql://"):
        return Path(text).exists()
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(text)
    schema = dict(parse_qsl(parts.query)).get("schema", "public")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    with psycopg.connect(base) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]
        ).fetchone()
    return found is not None
