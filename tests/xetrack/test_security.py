"""Values read from a database, a cache or a JSON file are data: they never reach git
as options, are never unpickled to be listed, and `sql` cannot write anything."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from xetrack import Tracker
from xetrack.cli import app
from xetrack.compare import compare

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository with two commits."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    for message in ("first", "second"):
        _git(
            root,
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
        )
    return root


def _crafted_db(db: Any, repo: Path, commit: str, engine: str) -> Any:
    """A run on a real commit, then a run whose git_commit is ``commit``."""
    real = _git(repo, "rev-parse", "HEAD~1")
    for track_id, value in (("base-run", real), ("evil-run", commit)):
        run = Tracker(
            db, engine=engine, track_id=track_id, params={"git_commit": value}
        )
        run.log_batch(
            [
                {"test_nodeid": "t::x", "function_time": 0.01 + i / 1000}
                for i in range(5)
            ]
        )
        run.close()
    return db


@pytest.mark.parametrize("engine", ["sqlite", "duckdb", "postgres"])
def test_git_never_takes_a_stored_commit_as_an_option(
    tmp_path: Path, repo: Path, engine: str, new_db: Any
) -> None:
    """A shared server's rows are as untrusted as a file's."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    db = _crafted_db(new_db("crafted"), repo, f"--output={victim}", engine)
    result = compare(db, repo=repo)
    assert victim.read_text() == "precious\n"
    assert result.head is not None and result.head.track_id == "evil-run"
    assert any("is not a commit id" in note for note in result.notes)
    code = runner.invoke(app, ["compare", str(db), "--repo", str(repo)]).exit_code
    assert code == 0 and victim.read_text() == "precious\n"
    code = runner.invoke(app, ["history", str(db), "--no-chart"]).exit_code
    assert code == 0 and victim.read_text() == "precious\n"


def test_a_typed_ref_that_looks_like_an_option_is_not_one(
    tmp_path: Path, repo: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    db = _crafted_db(
        tmp_path / "crafted.db", repo, _git(repo, "rev-parse", "HEAD"), "sqlite"
    )
    result = runner.invoke(
        app, ["compare", str(db), "--repo", str(repo), "--", f"--output={victim}"]
    )
    assert result.exit_code == 1 and "no run matches" in result.stderr
    assert victim.read_text() == "precious\n"
    # an ordinary ref still resolves through git
    ok = runner.invoke(app, ["compare", str(db), "HEAD~1", "--repo", str(repo)])
    assert ok.exit_code == 0, ok.stderr
    assert "base-run" in ok.stdout


# -- read-only SQL ----------------------------------------------------------------------
def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


ATTACKS = {
    "sqlite": [
        "ATTACH 'file:{dir}/attached.db?mode=rwc' AS a",
        "ATTACH '{dir}/plain.db' AS b",
        "VACUUM INTO '{dir}/vacuumed.db'",
        "PRAGMA query_only = 0",
        "PRAGMA journal_mode = DELETE",
        'DELETE FROM "default"',
        'CREATE TABLE "new" (x)',
    ],
    "duckdb": [
        "ATTACH '{dir}/attached.duckdb' AS a",
        "COPY (SELECT 1) TO '{dir}/copied.csv'",
        "COPY \"default\" TO '{dir}/copied.parquet' (FORMAT parquet)",
        "EXPORT DATABASE '{dir}/exported'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "PRAGMA enable_profiling",
        'DELETE FROM "default"',
        'CREATE TABLE "new" (x INTEGER)',
        "SELECT * FROM read_csv('{dir}/data.csv')",
        "CHECKPOINT",
    ],
    # The test server's role is a superuser, who may write server files and run
    # programs: COPY and every other command is refused before the server sees it.
    "postgres": [
        "COPY \"default\" TO '{dir}/copied.csv'",
        "COPY (SELECT 1) TO PROGRAM 'touch {dir}/pwned'",
        "DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO ''{dir}/do.csv'''; END $$",
        "SET default_transaction_read_only = off",
        'SELECT 1; DELETE FROM "default"',
        'DELETE FROM "default"',
        'CREATE TABLE "new" (x INTEGER)',
        'WITH gone AS (DELETE FROM "default" RETURNING *) SELECT * FROM gone',
        'EXPLAIN ANALYZE DELETE FROM "default"',
        "SELECT nextval('\"default_rowid_seq\"')",
        "LOAD 'auto_explain'",
        "CHECKPOINT",
    ],
}
#: What the refusal of each engine's first attack names.
REFUSED = {"sqlite": "ATTACH", "duckdb": "ATTACH", "postgres": "COPY"}


@pytest.fixture
def logged(tmp_path: Path, engine: str, new_db: Any) -> tuple[Any, Path]:
    """A store with three rows, and a folder (with a file) SQL must not reach."""
    folder = tmp_path / "store"
    folder.mkdir()
    db = folder / f"exp.{engine}" if engine != "postgres" else new_db("exp")
    with Tracker(db, engine=engine) as tracker:
        tracker.log_batch([{"x": i} for i in range(3)])
    (folder / "data.csv").write_text("secret\n1\n")  # a file SQL must not reach
    return db, folder


def _attacks(engine: str, folder: Path) -> list[str]:
    return [attack.format(dir=folder) for attack in ATTACKS[engine]]


@pytest.mark.all_engines
def test_reader_sql_refuses_every_write_and_creates_nothing(
    logged: tuple[Any, Path], engine: str
) -> None:
    from xetrack import Reader
    from xetrack.errors import QueryError

    logged, folder = logged
    with Reader(logged) as reader:
        assert reader.sql('SELECT COUNT(*) AS n FROM "default"')["n"].tolist() == [3]
        before = _files(folder)
        for attack in _attacks(engine, folder):
            with pytest.raises(QueryError):
                reader.sql(attack)
        assert _files(folder) == before
        reader.set_value("flag", True)  # an explicit write opens a writable connection
        before = _files(folder)
        for attack in _attacks(engine, folder):
            with pytest.raises(QueryError):
                reader.sql(attack)
        assert _files(folder) == before
        assert reader.sql('SELECT COUNT(*) AS n FROM "default"')["n"].tolist() == [3]
    assert len(Reader.read_db(logged)) == 3


@pytest.mark.all_engines
def test_xt_sql_refuses_every_write_with_one_line(
    logged: tuple[Any, Path], engine: str
) -> None:
    logged, folder = logged
    ok = runner.invoke(app, ["sql", str(logged), 'SELECT COUNT(*) FROM "default"'])
    assert ok.exit_code == 0
    before = _files(folder)
    for attack in _attacks(engine, folder):
        result = runner.invoke(app, ["sql", str(logged), attack])
        assert result.exit_code == 1, attack
        assert result.stderr.startswith("xt: ") and result.stderr.count("\n") == 1
    assert _files(folder) == before
    refused = runner.invoke(app, ["sql", str(logged), _attacks(engine, folder)[0]])
    assert "read-only SQL" in refused.stderr and REFUSED[engine] in refused.stderr


@pytest.mark.all_engines
def test_sql_on_a_file_a_tracker_of_this_process_writes_is_still_read_only(
    logged: tuple[Any, Path], engine: str
) -> None:
    """DuckDB shares one (writable) connection per file and process."""
    from xetrack import Reader
    from xetrack.errors import QueryError

    logged, folder = logged
    with Tracker(logged, engine=engine) as tracker, Reader(logged) as reader:
        tracker.log({"x": 9})
        with pytest.raises(QueryError, match="read-only SQL"):
            reader.sql(_attacks(engine, folder)[0])
        with pytest.raises(QueryError):
            reader.sql('DELETE FROM "default"')
        assert len(reader) == 4


def test_postgres_sql_keeps_nothing_even_what_a_read_only_transaction_allows(
    pg_server: Any,
) -> None:
    """A query that calls a function writing anyway (a large object) runs in a
    transaction that is rolled back; settings it changes are rolled back too."""
    from xetrack import Reader

    db = pg_server.new_url()
    with Tracker(db) as tracker:
        tracker.log({"x": 1})
    with Reader(db) as reader:
        made = reader.sql("SELECT lo_from_bytea(0, 'x') AS oid")["oid"].tolist()
        assert len(made) == 1
        reader.sql("SELECT set_config('default_transaction_read_only', 'off', false)")
        count = "SELECT COUNT(*) AS n FROM pg_largeobject_metadata WHERE oid = ?"
        assert reader.sql(count, [made[0]])["n"].tolist() == [0]
        shown = reader.sql("SHOW default_transaction_read_only")
        assert shown.iloc[0, 0] == "on"


def test_duckdb_connections_never_install_or_load_extensions(tmp_path: Path) -> None:
    from xetrack import Reader

    db = tmp_path / "ext.duckdb"
    settings = (
        "SELECT current_setting('autoinstall_known_extensions') AS i, "
        "current_setting('autoload_known_extensions') AS l"
    )
    with Tracker(db, engine="duckdb") as tracker:
        tracker.log({"x": 1})
        assert tracker.conn.execute(settings).fetchall() == [(False, False)]
    with Reader(db) as reader:
        assert reader.sql(settings).values.tolist() == [[False, False]]
    with Tracker(Tracker.IN_MEMORY, engine="duckdb") as memory:
        assert memory.conn.execute(settings).fetchall() == [(False, False)]


# -- listing a cache never unpickles ----------------------------------------------------
class _Trap:
    """Unpickling this creates the marker file: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _booby_trapped_cache(tmp_path: Path) -> tuple[Path, Path, str]:
    """A cache with an entry by a real run, one whose value and one whose key are
    traps, and one written without metadata (as before metadata existed)."""
    import diskcache

    from xetrack.cache import ResultCache

    folder, marker = tmp_path / "cache", tmp_path / "PWNED"
    with Tracker(tmp_path / "c.db", cache=folder, track_id="honest-run") as tracker:
        tracker.track(pow, args=[2, 10])
    cache = ResultCache(folder)
    cache.set(
        "a" * 32,
        {"result": _Trap(marker), "cache": "evil-run", "function": "evil"},
    )
    cache.close()
    raw = diskcache.Cache(str(folder))
    raw.set(("key", _Trap(marker)), 1)  # diskcache pickles a tuple key
    raw.set("b" * 32, {"result": _Trap(marker), "cache": "old-run"})  # no tag
    raw.set("c" * 32, 1, tag="not json {")
    raw.close()
    assert not marker.exists()
    return folder, marker, "a" * 32


def test_listing_and_deleting_a_cache_unpickles_nothing(tmp_path: Path) -> None:
    from xetrack import Reader

    folder, marker, trapped = _booby_trapped_cache(tmp_path)
    before = _files(folder)
    entries = dict(Reader.scan_cache(folder))
    assert not marker.exists()
    assert entries[trapped]["cache"] == "evil-run"
    assert entries["b" * 32]["cache"] is None  # old entry: metadata unavailable
    honest = [e for e in entries.values() if e["cache"] == "honest-run"]
    assert len(honest) == 1 and honest[0]["function"] == "builtins.pow"
    assert honest[0]["size"] > 0 and honest[0]["time"].endswith("+00:00")
    assert honest[0]["result"] == 1024  # only an explicit read loads a value

    listed = runner.invoke(app, ["cache", "ls", str(folder), "--json"])
    assert listed.exit_code == 0 and not marker.exists()
    assert "metadata unavailable" in listed.stdout and "evil-run" in listed.stdout
    assert _files(folder) == before  # listing created nothing, not even WAL files

    deleted = runner.invoke(app, ["cache", "delete", str(folder), "evil-run"])
    assert deleted.exit_code == 0, deleted.stderr
    assert Reader.delete_cache_by_track_id(folder, "old-run") == 0
    assert not marker.exists()
    assert trapped not in dict(Reader.scan_cache(folder))


def test_listing_a_missing_cache_creates_nothing(tmp_path: Path) -> None:
    from xetrack import Reader

    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["cache", "ls", str(empty)])
    assert result.exit_code == 1 and "no cache directory" in result.stderr
    assert list(empty.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no cache directory"):
        Reader.delete_cache_by_track_id(tmp_path / "nowhere", "x")
    assert not (tmp_path / "nowhere").exists()
