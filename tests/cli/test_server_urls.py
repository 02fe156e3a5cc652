"""xt on a postgresql:// URL: every command takes it, and no message shows its
password (wherever it came from, it is masked as ***)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pg_server import Server
from test_commands import xt  # the same runner over the real app

from xetrack import Tracker


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [["head"], ["runs"], ["columns"], ["sql", "SELECT 1"], ["compare"], ["history"]],
)
def test_an_unreachable_server_is_one_line_without_the_password(
    command: list[str],
) -> None:
    url = f"postgresql://ci:hunter2-secret@127.0.0.1:{_free_port()}/bench"
    code, out, err = xt(command[0], url, *command[1:])
    assert code == 1 and out == ""
    assert err.startswith("xt: cannot connect to postgresql://ci:***@127.0.0.1:")
    assert err.count("\n") == 1 and "hunter2-secret" not in err


def test_messages_naming_the_store_mask_the_password(
    pg_server: Server, tmp_path: Path
) -> None:
    url = pg_server.new_url()
    secret = pg_server.password or "no-password-to-leak"
    with Tracker(url, track_id="only-run-0001") as tracker:
        tracker.log({"x": 1})
    said = []
    for args in (
        ["delete", url, "no-such-run"],
        ["set", url, "x", "2", "--track-id", "no-such-run"],
        ["head", url, "--table", "missing"],
        ["sql", url, 'COPY "default" TO STDOUT'],
        ["copy", url, str(tmp_path / "out.db"), "--table", "missing"],
    ):
        code, out, err = xt(*args)
        assert code == 1 and err.count("\n") == 1, (args, err)
        assert "postgresql://xetrack:***@" in err or not pg_server.password, err
        said.append(out + err)
    code, out, err = xt("copy", url, str(tmp_path / "out.db"))
    assert code == 0 and "copied 1 rows" in out
    code, out, err = xt("copy", str(tmp_path / "out.db"), url)
    assert code == 0 and "copied 0 rows into postgresql://" in out
    said += [out, err, xt("runs", url)[1], xt("head", url)[1]]
    assert not any(secret in text for text in said)
