"""What only a server store does: credentials, schemas, lost connections and the
local spool, many writers on one server, runs from many hosts. Everything a file
store also does is in the all_engines tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pg_server import USER, Server

from xetrack import Reader, Tracker, copy
from xetrack.errors import (
    InvalidKeyError,
    InvalidValueError,
    ServerUnavailableError,
    UnknownTableError,
)
from xetrack.store import display
from xetrack.store.location import scrub

SECRET = "s3cret-Pa55word"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, hosts = parts.netloc.rpartition("@")
    return url.replace(parts.netloc, f"{user.partition(':')[0]}@{hosts}", 1)


def _spools() -> list[Path]:
    return sorted(Path(os.environ["XETRACK_SPOOL_DIR"]).rglob("*.db"))


def _started(job: Path, body: str) -> subprocess.Popen[str]:
    """``body`` as a script in a process of its own, once it printed "ready"."""
    job.write_text(textwrap.dedent(body))
    proc = subprocess.Popen(
        [sys.executable, str(job)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


# -- showing a server ----------------------------------------------------------------
@given(
    password=st.text(min_size=1, max_size=20),
    user=st.text(alphabet="abcdefghij_", min_size=1, max_size=8),
    where=st.sampled_from(["netloc", "query", "both"]),
)
@example(password="000:", user="_", where="netloc")  # urlsplit keeps it encoded
def test_a_shown_url_never_holds_its_password(
    password: str, user: str, where: str
) -> None:
    """display() masks it in the user part and in a password= parameter, however
    it is spelled; scrub() takes it out of any message quoting it."""
    quoted = quote(password, safe="")
    userinfo = f"{user}:{quoted}@" if where != "query" else f"{user}@"
    query = f"?sslmode=require&password={quoted}" if where != "netloc" else ""
    url = f"postgresql://{userinfo}db.example:5432/bench{query}"
    shown = display(url)
    parts = urlsplit(shown)
    if where != "query":
        assert parts.password == "***" and parts.username == user
    if where != "netloc":
        assert "password=***" in shown
    assert shown.endswith(
        "db.example:5432/bench"
        + ("" if where == "netloc" else shown[shown.index("?") :])
    )
    message = f"could not log in to {url} with {password!r} ({quoted})"
    scrubbed = scrub(message, url)
    assert quoted not in scrubbed and url not in scrubbed
    if len(password) > 3:  # a short one may be any letters of the message
        assert password not in scrubbed


# -- reaching the server -------------------------------------------------------------
def test_an_unreachable_server_is_one_line_naming_the_url_never_the_password() -> None:
    url = f"postgresql://ci:{SECRET}@127.0.0.1:{_free_port()}/bench"
    for opening in (lambda: Tracker(url), lambda: Reader(url), lambda: copy(url, "x")):
        with pytest.raises(ServerUnavailableError) as err:
            opening()
        text = str(err.value)
        assert text.startswith("cannot connect to postgresql://ci:***@127.0.0.1:")
        assert "Connection refused" in text and "PGPASSWORD" in text
        assert SECRET not in text and "\n" not in text
        assert SECRET not in repr(err.value)


def test_a_refused_login_names_the_user_not_the_password(pg_server: Server) -> None:
    if not pg_server.password:
        pytest.skip("the server of XETRACK_TEST_POSTGRES_URL takes no password")
    wrong = pg_server.url().replace(quote(pg_server.password, safe=""), SECRET)
    with pytest.raises(
        ServerUnavailableError,
        match=f'password authentication failed for user "{USER}"',
    ) as err:
        Tracker(wrong)
    assert SECRET not in str(err.value) and pg_server.secret not in str(err.value)


@pytest.mark.parametrize("source", ["URL", "PGPASSWORD", "PGPASSFILE", "PGSERVICE"])
def test_credentials_come_from_the_url_or_from_libpq(
    pg_server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    """The URL goes to libpq as it is: its password, or the environment's, a
    password file or a service file; none of them shows in what xetrack prints."""
    if not pg_server.password:
        pytest.skip("the server of XETRACK_TEST_POSTGRES_URL takes no password")
    url = pg_server.new_url()
    schema = url.rpartition("schema=")[2]
    parts = urlsplit(url)
    bare = _without_password(url)
    if source == "PGPASSWORD":
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
        url = bare
    elif source == "PGPASSFILE":
        secrets = tmp_path / "pgpass"
        secrets.write_text(
            f"{parts.hostname}:{parts.port}:*:{USER}:{pg_server.password}\n"
        )
        secrets.chmod(0o600)
        monkeypatch.setenv("PGPASSFILE", str(secrets))
        url = bare
    elif source == "PGSERVICE":
        services = tmp_path / "pg_service.conf"
        services.write_text(
            f"[bench]\nhost={parts.hostname}\nport={parts.port}\nuser={USER}\n"
            f"dbname={parts.path.strip('/')}\npassword={pg_server.password}\n"
        )
        monkeypatch.setenv("PGSERVICEFILE", str(services))
        monkeypatch.setenv("PGSERVICE", "bench")
        url = f"postgresql:///?schema={schema}"
    for name in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE"):
        if name != source and not (source == "PGSERVICE" and name == "PGSERVICEFILE"):
            monkeypatch.delenv(name, raising=False)
    with Tracker(url, track_id="creds-0001") as tracker:
        tracker.log({"ok": True})
        shown = [repr(tracker), display(tracker.db)]
    with Reader(url) as reader:
        assert reader.to_df()["ok"].tolist() == [True]
        shown.append(repr(reader))
    assert not any(pg_server.password in text for text in shown)


# -- schemas and names -----------------------------------------------------------------
def test_a_schema_keeps_a_store_of_its_own_in_one_database(pg_server: Server) -> None:
    name = f"team_{os.getpid()}_{time.monotonic_ns()}"
    first, second = pg_server.url(f"{name} a"), pg_server.url(f"{name}_b")
    pg_server.schemas += [f"{name} a", f"{name}_b"]
    with Tracker(first) as tracker:
        tracker.log({"x": 1})
    with Tracker(second) as tracker:
        tracker.log({"y": 2})
    assert Reader(first).columns == ["timestamp", "track_id", "x"]
    assert Reader(second).columns == ["timestamp", "track_id", "y"]
    missing = pg_server.url(f"{name}_none")
    with pytest.raises(UnknownTableError, match=r"no table 'default' in .*_none"):
        Reader(missing)


def test_a_name_postgres_would_cut_is_refused_and_nothing_is_written(
    pg_server: Server,
) -> None:
    """PostgreSQL keeps 63 bytes of a name: two longer keys could become one column."""
    url = pg_server.new_url()
    tracker = Tracker(url)
    tracker.log({"a": 1})
    fits, long = "m" * 63, "é" * 32  # 64 bytes
    with pytest.raises(
        InvalidKeyError, match=r"'é+' is 64 bytes long; PostgreSQL keeps 63"
    ):
        tracker.log({"a": 2, long: 1})
    with pytest.raises(InvalidKeyError, match="64 bytes long"):
        tracker.log_batch([{"a": 3}, {"a": 4, long: 2}])
    assert tracker.count_run() == 1 and long not in tracker.columns
    tracker.log({fits: 1})
    assert fits in tracker.columns
    with pytest.raises(InvalidKeyError, match=r"table name 't+' is 64 bytes long"):
        Tracker(url, table="t" * 64)
    wide = Tracker(url, table="a_table_with_a_long_name_for_its_index_to_be_cut")
    wide.log({"x": 1})  # its index's name is shortened by a hash, not cut
    wide.close()
    assert "a_table_with_a_long_name_for_its_index_to_be_cut" in Reader(url).tables()
    tracker.close()


def test_text_with_a_nul_is_refused_naming_the_key(pg_server: Server) -> None:
    tracker = Tracker(pg_server.new_url())
    tracker.log({"note": "fine"})
    with pytest.raises(InvalidValueError, match=r"value of 'note' contains the NUL"):
        tracker.log({"note": "a\x00b"})
    with pytest.raises(InvalidValueError, match=r"value of 'note' contains the NUL"):
        tracker.log_batch(
            [{"note": f"row {i}"} for i in range(30)] + [{"note": "\x00"}]
        )
    assert tracker.to_df()["note"].tolist() == ["fine"]
    assert tracker.log({"raw": b"a\x00b"})["raw"] == b"a\x00b"  # bytes keep it
    tracker.close()


def test_user_sql_binds_question_marks_and_keeps_percent_signs(
    pg_server: Server,
) -> None:
    url = pg_server.new_url()
    with Tracker(url) as tracker:
        tracker.log_batch([{"name": f"{i}%", "what?": i} for i in range(5)])
    with Reader(url) as reader:
        found = reader.sql(
            'SELECT name FROM "default" WHERE name LIKE \'%\\%\' AND "what?" > ? '
            'ORDER BY "what?"',
            [2],
        )
        assert found["name"].tolist() == ["3%", "4%"]
        assert reader.sql("SELECT '?' AS mark")["mark"].tolist() == ["?"]


# -- many writers ----------------------------------------------------------------------
def test_writers_adding_the_same_columns_at_once_never_collide(
    pg_server: Server,
) -> None:
    """Threads with stores of their own (one connection each), released together:
    every one adds the same new columns, and types that widen, in the same instant."""
    url = pg_server.new_url()
    Tracker(url).close()
    start, errors = threading.Barrier(8), []

    def write(worker: int) -> None:
        try:
            with Tracker(url, params={"worker": worker}) as tracker:
                start.wait()
                for i in range(40):
                    tracker.log({f"c{i % 5}": i if worker % 2 else i + 0.5, "i": i})
                tracker.log_batch([{f"b{k}": k, "i": 40 + k} for k in range(30)])
        except Exception as exc:  # the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    frame = Reader(url).to_df()
    assert len(frame) == 8 * 70
    assert sorted(frame.groupby("worker")["i"].count().tolist()) == [70] * 8
    assert Reader(url).dtypes["c0"] == "double precision"  # ints widened for floats


# -- a server that goes away -----------------------------------------------------------
def test_a_restart_while_a_tracker_writes_loses_no_row(own_server: Server) -> None:
    """Rows written while the server restarts wait, reconnect and go in."""
    url = own_server.new_url()
    tracker = Tracker(url, track_id="through-0001")
    tracker.log_batch([{"i": i} for i in range(10)])
    own_server.stop()
    back = threading.Timer(1.0, own_server.start)  # an outage of about a second
    back.start()
    try:
        for i in range(10, 20):
            tracker.log({"i": i, "after": True})
    finally:
        back.join()
    tracker.log_batch([{"i": i} for i in range(20, 30)])
    assert tracker.spooled == 0
    tracker.close()
    with Reader(url) as reader:
        assert reader.to_df()["i"].tolist() == list(range(30))
        record = reader.runs().to_dict(orient="records")[0]
    assert record["status"] == "finished" and record["rows"] == 30


def test_rows_a_lost_server_cannot_take_are_spooled_and_pushed_by_the_next_tracker(
    own_server: Server,
) -> None:
    url = own_server.new_url()
    tracker = Tracker(url, track_id="outage-0001", timeout=0.5)
    tracker.log_batch([{"i": i} for i in range(5)])
    own_server.stop()
    with pytest.warns(UserWarning, match="cannot be reached; rows are kept in") as seen:
        for i in range(5, 10):
            tracker.log({"i": i, "model": {i % 2}})  # an object: an asset
        tracker.log_batch([{"i": i, "batch": True} for i in range(10, 30)])
    assert tracker.spooled == 25 and len(_spools()) == 1
    with warnings.catch_warnings(record=True) as closing:
        warnings.simplefilter("always")
        tracker.close()
    shown = [str(w.message) for w in [*seen, *closing]]
    assert any("could not be pushed" in text for text in shown)
    assert any("end was not recorded" in text for text in shown)
    assert not any(own_server.secret in text for text in shown)
    own_server.start()
    with Reader(url) as reader:
        assert len(reader) == 5
        assert reader.runs()["status"].tolist() == ["interrupted"]  # its lock is gone
    with Tracker(url) as after:  # the next run on the URL pushes the spool
        assert after.count_all() == 30
    assert _spools() == []
    with Reader(url) as reader:
        frame = reader.to_df()
        assert frame["i"].tolist() == list(range(30))
        models = [reader.assets.get(h) for h in sorted(set(frame["model"].dropna()))]
        assert sorted(map(sorted, models)) == [[0], [1]] and len(reader.assets) == 2


def test_xt_copy_pushes_a_spool_left_by_a_dead_process_and_twice_adds_nothing(
    own_server: Server, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from xetrack.cli import app

    url = own_server.new_url()
    proc = _started(
        tmp_path / "job.py",
        f"""
        import sys
        from xetrack import Tracker
        tracker = Tracker({url!r}, track_id="gone-0001", timeout=0.2)
        print("ready", flush=True)
        sys.stdin.readline()  # the server goes away meanwhile
        for i in range(7):
            tracker.log({{"i": i}})
        """,
    )
    own_server.stop()
    _, errors = proc.communicate("go\n", timeout=60)
    assert proc.returncode == 0, errors
    assert "rows are kept in" in errors and own_server.secret not in errors
    spools = _spools()
    assert len(spools) == 1
    own_server.start()
    runner = CliRunner()
    first = runner.invoke(app, ["copy", str(spools[0]), url])
    assert first.exit_code == 0, first.stderr
    assert "copied 7 rows into postgresql://" in first.stdout
    assert own_server.secret not in first.stdout
    again = runner.invoke(app, ["copy", str(spools[0]), url])
    assert "copied 0 rows" in again.stdout
    with Tracker(url) as after:  # the next run takes the leftover spool away
        assert after.count_all() == 7
    assert _spools() == []


# -- runs from many hosts --------------------------------------------------------------
def test_a_run_of_another_host_reads_interrupted_once_its_process_died(
    pg_server: Server, tmp_path: Path
) -> None:
    """A file store cannot ask another host whether a run's process lives; the
    server can: the run's connection holds a lock until that connection ends."""
    import psycopg

    url = pg_server.new_url()
    proc = _started(
        tmp_path / "runner.py",
        f"""
        import sys
        from xetrack import Tracker
        tracker = Tracker({url!r}, track_id="elsewhere-0001")
        tracker.log({{"x": 1}})
        print("ready", flush=True)
        sys.stdin.readline()
        """,
    )
    try:
        with psycopg.connect(url.partition("?")[0], autocommit=True) as conn:
            conn.execute(  # as a run on another machine records it
                f'UPDATE "{url.rpartition("schema=")[2]}"."_xetrack_runs" '
                "SET host = 'ci-runner-7', pid = 1"
            )
        assert Reader(url).runs()["status"].tolist() == ["running"]
    finally:
        proc.kill()
        proc.wait(30)
    deadline = time.monotonic() + 30  # the server sees the connection end
    while Reader(url).runs()["status"].tolist() != ["interrupted"]:
        assert time.monotonic() < deadline, "the dead runner's run still reads running"
        time.sleep(0.05)


# -- copying in and out ----------------------------------------------------------------
@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_copy_file_to_server_to_file_round_trips_and_again_adds_nothing(
    tmp_path: Path, engine: str, pg_server: Server
) -> None:
    source = tmp_path / f"bench.{engine}"
    for name, model in (("first-0001", "a"), ("second-0002", "b")):
        with Tracker(
            source, engine=engine, track_id=name, params={"model": model}
        ) as t:
            t.log_batch(
                [{"acc": i / 10, "epoch": i, "good": i % 2 == 0} for i in range(20)]
            )
            t.log({"obj": {1, 2}, "nothing": None, "tags": ["x", 1]})
            t.track(lambda: 5)
            t.track(lambda: "five")  # function_result becomes JSON text
    with Tracker(source, engine=engine, table="other") as other:
        other.log({"z": 1})
    url = pg_server.new_url()
    rows = 2 * 23 + 1
    assert copy(source, url) == rows and copy(source, url) == 0
    back = tmp_path / f"back.{engine}"
    assert copy(url, back) == rows and copy(url, back) == 0
    for table in ("default", "other"):
        want = Reader.read_db(source, table=table)
        assert Reader.read_db(url, table=table).equals(want), table
        assert Reader.read_db(back, table=table).equals(want), table
    with Reader(source) as a, Reader(url) as b, Reader(back) as c:
        assert a.runs()[["track_id", "status", "rows"]].equals(
            b.runs()[["track_id", "status", "rows"]]
        )
        assert c.runs()[["track_id", "status", "rows"]].equals(
            a.runs()[["track_id", "status", "rows"]]
        )
        assert (
            sorted(a.assets.hashes())
            == sorted(b.assets.hashes())
            == sorted(c.assets.hashes())
        )
        assert b.dtypes["function_result"] == "_xetrack_json"
        assert b.dtypes["nothing"] == "_xetrack_null"
