"""The comparison engine on hand-made runs: verdicts, thresholds, references."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from xetrack import Tracker
from xetrack.compare import (
    NoRunError,
    compare,
    gate,
    judge,
    parse_threshold,
    render,
)
from xetrack.errors import InvalidArgumentError

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def _run(
    db: Path, engine: str, commit: str, times: dict[str, list[float]], **extra: object
) -> str:
    tracker = Tracker(
        db,
        engine=engine,
        params={"git_commit": commit, "env_fingerprint": extra.pop("env", "e1")},
    )
    for name, samples in times.items():
        row = {
            "test_nodeid": name,
            "function_time": sorted(samples)[len(samples) // 2],
            "time_samples": samples,
            "outcome": extra.get("outcome", "passed"),
        }
        row.update({k: v for k, v in extra.items() if k != "outcome"})
        tracker.log(row)
    tracker.close()
    return tracker.track_id


def _noise(center: float, n: int = 10, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [center * (1 + rng.uniform(-0.01, 0.01)) for _ in range(n)]


def test_verdicts_for_a_slowdown_noise_and_a_speedup(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    db = new_db("c")
    base = _run(
        db,
        engine,
        "a" * 40,
        {
            "t::slow": _noise(1.0),
            "t::same": _noise(1.0),
            "t::fast": _noise(1.0),
            "t::gone": _noise(1.0),
        },
    )
    head = _run(
        db,
        engine,
        "b" * 40,
        {
            "t::slow": _noise(2.0, seed=2),
            "t::same": _noise(1.0, seed=3),
            "t::fast": _noise(0.5, seed=4),
            "t::added": _noise(1.0),
        },
    )
    result = compare(db, base=base, head=head, repo=None)
    verdicts = {r.benchmark: r.verdict for r in result.rows}
    assert verdicts == {
        "t::slow": "regressed",
        "t::same": "unchanged",
        "t::fast": "improved",
        "t::gone": "missing",
        "t::added": "new",
    }
    assert result.rows[0].verdict == "regressed"  # worst first
    slow = next(r for r in result.rows if r.benchmark == "t::slow")
    assert (
        slow.ratio == pytest.approx(2.0, rel=0.05)
        and slow.p_value is not None
        and slow.p_value < 0.001
    )
    assert (
        result.summary()
        == "1 regressed, 1 missing, 1 new, 1 unchanged, 1 improved vs aaaaaaa"
    )


def test_few_samples_are_inconclusive_not_a_guess() -> None:
    assert judge([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], "min", 0.05, 0.05, test=True) == (
        "inconclusive",
        None,
    )
    verdict, p = judge([1.0] * 4 + [1.01] * 0, [2.0] * 4, "min", 0.05, 0.05, test=True)
    assert verdict == "regressed" and p is not None


def test_a_significant_but_tiny_change_is_unchanged() -> None:
    base = [1.000 + i * 1e-5 for i in range(20)]
    head = [1.010 + i * 1e-5 for i in range(20)]  # clearly different, but only 1%
    verdict, p = judge(base, head, "min", 0.05, 0.05, test=True)
    assert verdict == "unchanged" and p is not None and p < 0.001


def test_declared_metrics_are_judged_by_direction_undeclared_only_shown(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    db = new_db("m")
    declared = json.dumps({"accuracy": "max", "loss": "min"})
    base = _run(
        db,
        engine,
        "a" * 40,
        {"t::m": _noise(1.0)},
        accuracy=0.90,
        loss=0.20,
        extra_metric=1.0,
        metrics=declared,
    )
    head = _run(
        db,
        engine,
        "b" * 40,
        {"t::m": _noise(1.0, seed=5)},
        accuracy=0.80,
        loss=0.10,
        extra_metric=3.0,
        metrics=declared,
    )
    result = compare(db, base=base, head=head, repo=None)
    by_metric = {r.metric: r.verdict for r in result.rows}
    assert by_metric == {
        "function_time": "unchanged",
        "accuracy": "regressed",
        "loss": "improved",
    }
    shown = compare(db, base=base, head=head, repo=None, metrics=["extra_metric"])
    assert [(r.metric, r.verdict, r.ratio) for r in shown.rows] == [
        ("extra_metric", "-", 3.0)
    ]


def test_failed_head_is_failed(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    head = _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.0)}, outcome="failed")
    assert [r.verdict for r in compare(db, base=base, head=head, repo=None).rows] == [
        "failed"
    ]


def test_another_environment_is_not_compared_silently(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)}, env="laptop")
    _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.0)}, env="ci-runner")
    result = compare(db, repo=None)
    assert result.base is None and any("another environment" in n for n in result.notes)
    allowed = compare(db, repo=None, any_env=True)
    assert allowed.base is not None and allowed.base.commit == "a" * 40


def test_references_commit_prefix_track_id_latest_and_unknown(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    first = _run(db, "sqlite", "a1b2c3" + "0" * 34, {"t::x": _noise(1.0)})
    second = _run(db, "sqlite", "d4e5f6" + "0" * 34, {"t::x": _noise(1.0)})
    assert compare(db, base="a1b2c3", head="latest", repo=None).base.track_id == first  # type: ignore[union-attr]
    assert compare(db, base=first[:10], head=second, repo=None).head.track_id == second  # type: ignore[union-attr]
    with pytest.raises(NoRunError, match="no run matches 'nope'"):
        compare(db, base="nope", repo=None)


def test_thresholds_and_gate(tmp_path: Path) -> None:
    assert str(parse_threshold("function_time:5%")) == "function_time:5%"
    absolute = parse_threshold("accuracy:0.02")
    assert absolute.relative is False and absolute.amount == 0.02
    for bad in ("function_time", "function_time:x%", ":5%", "t:-1"):
        with pytest.raises(InvalidArgumentError, match="is not METRIC:N% or METRIC:N"):
            parse_threshold(bad)
    db = tmp_path / "g.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    head = _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.5, seed=9)})
    result = compare(db, base=base, head=head, repo=None)
    assert len(gate(result, [parse_threshold("function_time:5%")])) == 1
    assert gate(result, [parse_threshold("function_time:80%")]) == []
    assert len(gate(result, [parse_threshold("function_time:0.2")])) == 1


def test_render_formats_parse(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    head = _run(db, "sqlite", "b" * 40, {"t::x": _noise(2.0, seed=3)})
    result = compare(db, base=base, head=head, repo=None)
    data = json.loads(render(result, "json"))
    assert data["rows"][0]["verdict"] == "regressed" and data["counts"] == {
        "regressed": 1
    }
    markdown = render(result, "markdown").splitlines()
    table = [line for line in markdown if line.startswith("|")]
    assert table[0].split("|")[1].strip() == "benchmark" and set(table[1]) <= {
        "|",
        "-",
        ":",
    }
    assert "t::x" in table[2] and markdown[-1] == "1 regressed vs aaaaaaa"


def test_no_runs_and_no_baseline_are_notes(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    Tracker(db).close()
    assert compare(db, repo=None).summary() == "no runs in the table yet"
    _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    assert compare(db, repo=None).summary().startswith("no baseline for aaaaaaa")
