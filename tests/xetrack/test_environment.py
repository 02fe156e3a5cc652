"""The environment fingerprint: serial sessions keep the one stores already hold."""

from __future__ import annotations

import hashlib

from xetrack.environment import FINGERPRINTED, environment


def _first_release_fingerprint(env: dict[str, object]) -> str:
    # how the first release hashed an environment: its four values, sorted by name
    text = "|".join(str(env[k]) for k in sorted(FINGERPRINTED))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def test_a_serial_session_keeps_the_fingerprint_older_stores_hold() -> None:
    env = environment()
    assert env["xdist_workers"] == 0
    assert env["env_fingerprint"] == _first_release_fingerprint(env)


def test_parallel_sessions_are_another_environment_per_worker_count() -> None:
    serial, two, four = environment(), environment(2), environment(4)
    assert two["xdist_workers"] == 2
    prints = {
        serial["env_fingerprint"],
        two["env_fingerprint"],
        four["env_fingerprint"],
    }
    assert len(prints) == 3
    # the values themselves are the same machine's
    assert {k: two[k] for k in FINGERPRINTED} == {k: serial[k] for k in FINGERPRINTED}
