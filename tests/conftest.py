from __future__ import annotations

from pathlib import Path

import pytest

ENGINES = ["sqlite", "duckdb"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_path(tmp_path: Path, engine: str) -> Path:
    return tmp_path / f"exp.{'db' if engine == 'sqlite' else 'duckdb'}"


# -- real file-system conditions (root bypasses permissions, so we make them) --------
import contextlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402


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
