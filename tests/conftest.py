from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import REQUIRE_ENV, Server, server_from_env, start_server

ENGINES = ["sqlite", "duckdb"]
#: Tests marked all_engines are the store's contract: they run on the server too.
ALL_ENGINES = [*ENGINES, "postgres"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "all_engines: the test is the store's contract; run it on SQLite, DuckDB "
        "and PostgreSQL (the other engine tests run on the file engines)",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """No wall-clock limit per hypothesis example: tests never assert times, and
    hypothesis' default 200 ms deadline is one, which a loaded 2-core runner (a
    preempted worker, a full collection of its heap) can exceed with code that is
    fine. Loaded when a session starts, before any test module's ``@given`` reads
    the default: at configure time it would cost ``pytest --help`` 0.7-0.9 s."""
    with contextlib.suppress(ImportError):  # a dev extra
        from hypothesis import settings

        settings.register_profile("xetrack", deadline=None)
        settings.load_profile("xetrack")


#: Inner pytest sessions never reorder their tests: their files are written to run
#: in order (a test that blocks last, a reset before a check), and pytest-randomly,
#: where a developer has it, would shuffle them too (``-p no:`` of a plugin that is
#: not installed is a no-op).
IN_ORDER = "-p no:randomly"


def _parametrized_by_mark(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        listed = names.replace(" ", "").split(",") if isinstance(names, str) else names
        if name in listed:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``engine``: the file engines, or every engine for an all_engines test."""
    if "engine" not in metafunc.fixturenames or _parametrized_by_mark(
        metafunc, "engine"
    ):
        return
    marked = metafunc.definition.get_closest_marker("all_engines") is not None
    metafunc.parametrize("engine", ALL_ENGINES if marked else ENGINES, indirect=True)


@pytest.fixture
def pytester(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """Inner sessions run as where pytest-benchmark is not installed (the dev extra
    has it, for the drop-in's tests against its own code): blocked, so xetrack's
    drop-in stands in. A coexistence test sets PYTEST_ADDOPTS to IN_ORDER only, to
    let it load."""
    monkeypatch.setenv("PYTEST_ADDOPTS", f"-p no:benchmark {IN_ORDER}")
    return pytester


@pytest.fixture
def with_pytest_benchmark(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest-benchmark loads in the inner sessions, and times: it disables itself
    where PYTEST_XDIST_WORKER is set (this suite's own xdist workers set it)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", IN_ORDER)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """One PostgreSQL server per test process (each xdist worker starts its own:
    a server starts in about a second, and no worker waits for another's)."""
    try:
        server = server_from_env() or start_server()
    except Exception as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but no PostgreSQL server: {exc}", False)
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def _restartable_server(pg_server: Server) -> Iterator[Server]:
    if not pg_server.owned:
        pytest.skip("XETRACK_TEST_POSTGRES_URL names a server tests may not restart")
    server = start_server()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def own_server(_restartable_server: Server) -> Server:
    """A server that tests stop and start (the one other tests use runs on),
    running when the test begins."""
    if not _restartable_server.running():
        _restartable_server.start()
    return _restartable_server


@pytest.fixture(autouse=True)
def _no_outside_output_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's own environment does not reach the tests: FORCE_COLOR (set by
    many CI setups) colours what the tests read as plain text, and inner sessions
    would append their comparisons to a real GitHub Actions job summary. A test
    that wants one of them sets it."""
    for name in ("FORCE_COLOR", "NO_COLOR", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session", autouse=True)
def _spools_in_a_temp_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Rows a lost connection could not write go here, never to ~/.cache."""
    os.environ["XETRACK_SPOOL_DIR"] = str(tmp_path_factory.mktemp("spools"))


@pytest.fixture
def new_db(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> Callable[[str], Any]:
    """A fresh store of ``engine`` per name: a file in tmp_path, or a new schema."""
    made: dict[str, Any] = {}

    def make(name: str = "exp") -> Any:
        if name not in made:
            if engine == "postgres":
                made[name] = request.getfixturevalue("pg_server").new_url()
            else:
                made[name] = (
                    tmp_path / f"{name}.{'db' if engine == 'sqlite' else 'duckdb'}"
                )
        return made[name]

    return make


@pytest.fixture
def db_path(new_db: Callable[[str], Any]) -> Any:
    """The test's store: a file path, or (postgres) a URL of a schema of its own."""
    return new_db("exp")


# -- real file-system conditions (root bypasses permissions, so we make them) --------


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    return done.returncode == 0


@contextlib.contextmanager
def _mounted(target: Path, *args: str) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or not _mount(*args, str(target)):
        pytest.skip("cannot mount here (needs root and CAP_SYS_ADMIN)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 400 KiB tmpfs: a disk that fills up."""
    with _mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=400k", "tmpfs") as p:
        yield p


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    return filler


@pytest.fixture
def fill() -> Callable[[Path], Path]:
    """Write a file into a folder until its disk is full; return the file."""
    return _fill


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """Make a folder read-only for real: a read-only bind mount of itself."""
    mounted: list[Path] = []

    def make(folder: Path) -> Path:
        if shutil.which("mount") is None or not _mount(
            "--bind", str(folder), str(folder)
        ):
            pytest.skip("cannot bind-mount here (needs root and CAP_SYS_ADMIN)")
        mounted.append(folder)
        if not _mount("-o", "remount,ro,bind", str(folder)):
            pytest.skip("cannot remount read-only here")
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _run_unprivileged(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed")
    command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable]
    probe = subprocess.run([*command, "-c", "pass"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot drop capabilities here")
    return subprocess.run(
        [*command, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


@pytest.fixture
def unprivileged() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run Python code as this user but without the capabilities that let root
    ignore file permissions, so chmod means what it says (skips where impossible)."""
    return _run_unprivileged


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture
def git() -> Callable[..., str]:
    """``git(repo, *args)``: run git in a scratch repository, return its output."""
    return _git
