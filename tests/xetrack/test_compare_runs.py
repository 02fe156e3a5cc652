"""How a comparison finds its runs: the newest runs first, every run only when they
cannot answer. Whatever it reads, compare, expectations and history answer as if
they had read every run, on stores with many runs, branches, environments, an
unfinished run, and on an old store without a runs table."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import xetrack.compare as comparing
from xetrack import Tracker
from xetrack.compare import Run, compare, expectations, history
from xetrack.errors import XetrackError
from xetrack.store.schema import RUNS_TABLE

#: windows of newest runs to read first: one run, a few, past the lookback
#: (so the lineage fills inside it), and every run
WINDOWS = [1, 4, 30, 10**6]


@dataclass
class History:
    db: Any
    repo: Path
    main: list[str]
    side: list[str]
    runs: dict[str, str]  # a name for each run -> its track_id
    open: Tracker


def _log(
    db: Any, engine: str, commit: str | None, env: str, seed: int, **extra: object
) -> Tracker:
    tracker = Tracker(
        db,
        engine=engine,
        params={"git_commit": commit, "env_fingerprint": env},
    )
    for b in range(2):
        samples = [
            0.001 * (1 + b) * (1 + ((seed * 7 + k * 3) % 11) / 200) for k in range(5)
        ]
        tracker.log(
            {
                "test_nodeid": f"t.py::test_{b}",
                "function_time": sorted(samples)[2],
                "time_samples": samples,
                "accuracy": 0.9 + seed / 1000,
                "metrics": '{"accuracy": "max"}',
                "outcome": extra.get("outcome", "passed"),
                **{k: v for k, v in extra.items() if k != "outcome"},
            }
        )
    return tracker


@pytest.fixture
def store(
    tmp_path: Path, engine: str, new_db: Callable[[str], Any], git: Callable[..., str]
) -> Iterator[History]:
    """30 commits on main, a side branch from the 13th with runs among main's, a
    second environment now and then, reruns, a failed run, a run under xdist, a
    run without a commit, an early run on a late commit, and the newest run still
    running (not closed)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    main = []
    for k in range(30):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"m{k}")
        main.append(git(repo, "rev-parse", "HEAD"))
    git(repo, "checkout", "-q", "-b", "side", main[12])
    side = []
    for k in range(6):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"s{k}")
        side.append(git(repo, "rev-parse", "HEAD"))
    db = new_db("history")
    runs: dict[str, str] = {}
    seed = 0

    def run(name: str, commit: str | None, env: str = "e1", **extra: object) -> None:
        nonlocal seed
        seed += 1
        tracker = _log(db, engine, commit, env, seed, **extra)
        tracker.close()
        runs[name] = tracker.track_id

    for k in range(30):
        run(f"m{k}", main[k], env="e2" if k % 9 == 4 else "e1")
        if k % 6 == 0:
            run(f"m{k}-again", main[k])
        if 14 <= k < 20:
            run(f"s{k - 14}", side[k - 14], outcome="failed" if k == 17 else "passed")
        if k in (21, 22):
            run(f"m{k}-xdist", main[k], xdist_workers=2)
        if k == 25:
            run("no-commit", None)
        if k == 2:  # measured long before its commit's newer runs
            run("early-m27", main[27])
    unfinished = _log(db, engine, main[29], "e1", 99)
    runs["running"] = unfinished.track_id
    yield History(db, repo, main, side, runs, unfinished)
    unfinished.close()


def _answers(h: History) -> list[object]:
    """What compare, expectations and history say about many questions; an error
    is an answer too."""
    r = h.runs
    questions: list[tuple[Callable[..., object], dict[str, object]]] = [
        (compare, {}),
        (compare, {"repo": None}),
        (compare, {"head": r["m20"]}),
        (compare, {"head": r["s3"]}),
        (compare, {"head": r["s5"], "repo": None}),
        (compare, {"head": r["m13"]}),  # on the second environment
        (compare, {"head": r["m13"], "any_env": True}),
        (compare, {"head": h.main[7][:8]}),
        (compare, {"head": "side"}),
        (compare, {"base": "latest"}),
        (compare, {"base": r["m2"], "head": r["m28"]}),
        (compare, {"base": h.main[3][:7]}),
        (compare, {"base": r["running"]}),
        (compare, {"base": "nothing-like-it"}),
        (compare, {"head": r["m0"]}),
        (compare, {"metrics": ["accuracy"], "head": r["m22-xdist"]}),
    ]
    answers: list[object] = []
    for ask, kwargs in questions:
        kwargs = {"repo": h.repo, **kwargs}
        try:
            answers.append(repr(ask(h.db, **kwargs)))
        except XetrackError as exc:
            answers.append(f"{type(exc).__name__}: {exc}")
    for head, base in [
        (Run("next", h.main[29], None, "e1", "\uffff"), None),
        (Run("next", h.main[29], None, "e1", "\uffff"), "latest"),
        (Run("next", h.side[5], None, "e1", "\uffff"), None),
        (Run("next", h.main[29], None, "e2", "\uffff"), None),
        (Run("next", None, None, "e1", "\uffff"), r["m5"]),
    ]:
        answers.append(expectations(h.db, head, repo=h.repo, base=base))
    for last, test in [(10, None), (3, "test_1"), (100, None)]:
        answers.append(history(h.db, test=test, last=last).to_dict("records"))
    return answers


@pytest.mark.all_engines  # the runs table's queries are the store contract
def test_reading_the_newest_runs_first_answers_as_reading_every_run(
    store: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    for window in WINDOWS:
        monkeypatch.setattr(comparing, "RECENT", window)
        seen.append(_answers(store))
    every = seen[-1]
    for window, answers in zip(WINDOWS, seen, strict=True):
        for k, (got, want) in enumerate(zip(answers, every, strict=True)):
            assert got == want, f"window {window}, question {k}"
    # and the answers are the right ones
    r = store.runs
    latest = compare(store.db, repo=store.repo)
    assert latest.head is not None and latest.head.track_id == r["running"]
    assert latest.base is not None and latest.base.track_id == r["m28"]
    assert {row.history for row in latest.rows if row.metric == "function_time"} == {20}
    first = compare(store.db, head=r["m0"], repo=store.repo)
    assert first.head is not None and first.head.track_id == r["m0"]
    assert first.base is None and "no baseline" in first.notes[0]
    side = compare(store.db, head=r["s3"], repo=store.repo)
    assert side.base is not None and side.base.track_id == r["s2"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_newest_runs_answer_without_reading_every_run(
    store: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Comparing the latest run, or a session's own run, with its default baseline
    reads only the newest runs when head's lineage is among them; a reference the
    newest cannot settle reads RECENT_MORE times as many, then every run."""
    monkeypatch.setattr(comparing, "RECENT", 30)
    every: list[object] = []
    asked: list[int] = []
    full, newest = comparing._runs, comparing._recent_runs
    monkeypatch.setattr(
        comparing,
        "_runs",
        lambda *a: every.append(a) or full(*a),  # type: ignore[func-returns-value]
    )
    monkeypatch.setattr(
        comparing,
        "_recent_runs",
        lambda s, t, n: asked.append(n) or newest(s, t, n),  # type: ignore[func-returns-value]
    )
    head = store.runs["running"]
    assert compare(store.db, repo=store.repo).base is not None
    assert compare(store.db, head=head, repo=store.repo).base is not None
    ahead = Run("next", store.main[29], None, "e1", "\uffff")
    assert expectations(store.db, ahead, repo=store.repo)
    recent = history(store.db, last=10)
    assert every == [] and set(asked) == {30}
    # the early run on a late commit counts in its commit's history
    assert set(recent[recent.commit_id == store.main[27][:7]]["rows"]) == {2}
    assert len(set(recent.commit_id)) == 10
    asked.clear()
    prefix = compare(store.db, head=store.main[7][:8], repo=store.repo)
    assert asked == [30, 30 * comparing.RECENT_MORE] and every == []
    monkeypatch.setattr(comparing, "RECENT_MORE", 1)
    assert repr(compare(store.db, head=store.main[7][:8], repo=store.repo)) == repr(
        prefix
    )
    assert len(every) == 1


def test_a_store_without_a_runs_table_compares_as_with_one(
    store: History, engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written before runs were recorded derives its runs from the rows:
    the same runs chosen, the same rows judged (ends are the last rows' times)."""
    store.open.close()
    old = tmp_path / f"old{Path(store.db).suffix}"
    shutil.copyfile(store.db, old)
    if engine == "sqlite":
        conn = sqlite3.connect(old)
        conn.execute(f'DROP TABLE "{RUNS_TABLE}"')
        conn.commit()
        conn.close()
    else:
        import duckdb

        with duckdb.connect(str(old)) as conn:
            conn.execute(f'DROP TABLE "{RUNS_TABLE}"')
    monkeypatch.setattr(comparing, "RECENT", 3)
    for kwargs in [{}, {"head": store.runs["s3"]}, {"base": store.main[3][:7]}]:
        new, was = (
            compare(store.db, repo=store.repo, **kwargs),
            compare(old, repo=store.repo, **kwargs),
        )
        assert (new.base and new.base.track_id) == (was.base and was.base.track_id)
        assert (new.head and new.head.track_id) == (was.head and was.head.track_id)
        assert repr(new.rows) == repr(was.rows) and new.notes == was.notes
