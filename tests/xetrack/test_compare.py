"""The comparison engine on hand-made runs: verdicts, evidence, thresholds, references."""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Sequence
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
from xetrack.verdict import PRIOR_NOISE, Z

BATCHES = [4, 4, 4, 4, 4]
#: the noise floor of a first comparison of steady runs: an assumed noise
FIRST_FLOOR = math.expm1(Z * math.sqrt(2) * PRIOR_NOISE)

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines


def _run(
    db: Path,
    engine: str,
    commit: str,
    times: dict[str, list[float]],
    batches: Sequence[int] | None = BATCHES,
    **extra: object,
) -> str:
    tracker = Tracker(
        db,
        engine=engine,
        params={"git_commit": commit, "env_fingerprint": extra.pop("env", "e1")},
    )
    for name, samples in times.items():
        row: dict[str, object] = {
            "test_nodeid": name,
            "function_time": sorted(samples)[len(samples) // 2],
            "time_samples": samples,
            "outcome": extra.get("outcome", "passed"),
        }
        if batches is not None and sum(batches) == len(samples):
            row["time_batches"] = list(batches)
        row.update({k: v for k, v in extra.items() if k != "outcome"})
        tracker.log(row)
    tracker.close()
    return tracker.track_id


def _noise(
    center: float, n: int = 20, seed: int = 1, spread: float = 0.01
) -> list[float]:
    rng = random.Random(seed)
    return [center * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


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
    assert slow.ratio == pytest.approx(2.0, rel=0.05) and slow.interval is not None
    assert slow.interval[0] < slow.ratio < slow.interval[1]
    assert slow.noise_floor == pytest.approx(FIRST_FLOOR)
    assert slow.noise_source == "an assumed 2% (no history yet)"
    assert (
        result.summary()
        == "1 regressed, 1 missing, 1 new, 1 unchanged, 1 improved vs aaaaaaa"
    )


def _history_db(
    db: Path, medians: Sequence[float], spread: float = 0.003, n: int = 200
) -> list[str]:
    """A run per value, each on its own commit: tight rounds around its median."""
    ids = []
    for index, median in enumerate(medians):
        samples = _noise(median, n=n, seed=index, spread=spread)
        ids.append(
            _run(db, "sqlite", f"{index:040x}", {"t::x": samples}, batches=[n // 5] * 5)
        )
    return ids


def test_pseudo_replicated_aa_is_no_longer_a_regression(tmp_path: Path) -> None:
    """Rounds tight within each run, medians 7% apart, a history where that spread
    is normal: Mann-Whitney on the rounds calls it a regression (p ~ 1e-60, the old
    rule); run-to-run noise does not."""
    from scipy.stats import mannwhitneyu

    db = tmp_path / "aa.db"
    ids = _history_db(db, [1.00, 1.06, 0.98, 1.05, 0.99, 1.04, 1.00, 1.07])
    result = compare(db, base=ids[-2], head=ids[-1], repo=None)
    (row,) = result.rows
    assert row.ratio == pytest.approx(1.07, rel=0.01)
    assert mannwhitneyu(row.base_samples, row.head_samples).pvalue < 1e-30
    assert row.verdict == "inconclusive" and row.history == 7
    assert row.noise_floor is not None and row.noise_floor > 0.10
    assert row.noise_source.startswith("a short history of 7 runs")
    assert "; against the median of" in row.noise_source


def test_a_regression_past_a_steady_history_is_caught(tmp_path: Path) -> None:
    db = tmp_path / "steady.db"
    steady = [1.0, 1.004, 0.997, 1.002, 0.999, 1.003, 1.0]
    ids = _history_db(db, [*steady, 1.10])
    (row,) = compare(db, base=ids[-2], head=ids[-1], repo=None).rows
    assert row.verdict == "regressed" and row.noise_floor == pytest.approx(0.05)
    same = _history_db(tmp_path / "same.db", [*steady, 1.01])
    (row,) = compare(tmp_path / "same.db", base=same[-2], head=same[-1], repo=None).rows
    assert row.verdict == "unchanged"


def test_a_past_step_change_does_not_inflate_the_noise(tmp_path: Path) -> None:
    db = tmp_path / "step.db"
    before = [1.0, 1.003, 0.998, 1.001, 1.0]
    after = [1.5, 1.503, 1.498, 1.501, 1.5]  # an earlier, real 50% regression
    ids = _history_db(db, [*before, *after, 1.5 * 1.08])
    (row,) = compare(db, base=ids[-2], head=ids[-1], repo=None).rows
    assert row.verdict == "regressed" and row.noise_floor == pytest.approx(0.05)


def test_without_evidence_of_noise_small_changes_are_inconclusive(
    tmp_path: Path,
) -> None:
    db = tmp_path / "thin.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": [1.0], "t::y": [1.0]}, batches=None)
    head = _run(db, "sqlite", "b" * 40, {"t::x": [1.08], "t::y": [2.0]}, batches=None)
    rows = {r.benchmark: r for r in compare(db, base=base, head=head, repo=None).rows}
    assert rows["t::x"].verdict == "inconclusive"
    assert rows["t::y"].verdict == "regressed"  # twice as slow is beyond any prior
    assert rows["t::x"].noise_source.startswith("assumed 5%")


def test_any_sample_count_works(tmp_path: Path) -> None:
    """100k samples per side: no OverflowError (an exact rank test's comb() had one
    from ~515), and the verdict is the same as with few."""
    db = tmp_path / "big.db"
    n = 100_000
    base = _run(
        db, "sqlite", "a" * 40, {"t::x": _noise(1.0, n=n)}, batches=[n // 5] * 5
    )
    head = _run(
        db, "sqlite", "b" * 40, {"t::x": _noise(1.5, n=n, seed=2)}, batches=[n // 5] * 5
    )
    (row,) = compare(db, base=base, head=head, repo=None).rows
    assert row.verdict == "regressed" and row.base_n == row.head_n == n


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
    assert judge([0.9], [0.89], "max", 0.05) == "unchanged"


def test_failed_head_is_failed(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    head = _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.0)}, outcome="failed")
    assert [r.verdict for r in compare(db, base=base, head=head, repo=None).rows] == [
        "failed"
    ]


def test_unstable_runs_are_flagged_with_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "u.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    head = _run(
        db,
        "sqlite",
        "b" * 40,
        {"t::x": _noise(1.0, seed=2)},
        unstable=1,
        unstable_reason="batch medians differ by 14%",
    )
    result = compare(db, base=base, head=head, repo=None)
    (row,) = result.rows
    assert row.unstable == "head batch medians differ by 14%"
    assert result.summary().endswith("(1 unstable)")
    assert "unstable: t::x: head batch medians differ by 14%" in render(result)


def test_serial_and_parallel_runs_are_not_compared_silently(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)}, xdist_workers=0)
    head = _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.0)}, xdist_workers=2)
    notes = compare(db, base=base, head=head, repo=None).notes
    assert any(
        "base ran serially and head under pytest-xdist with 2" in n for n in notes
    )


def test_a_machine_wide_shift_is_noted(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    names = [f"t::{i}" for i in range(6)]
    base = _run(db, "sqlite", "a" * 40, {n: _noise(1.0) for n in names})
    head = _run(db, "sqlite", "b" * 40, {n: _noise(1.15, seed=2) for n in names})
    notes = compare(db, base=base, head=head, repo=None).notes
    assert any(n.startswith("the typical benchmark changed by +1") for n in notes)


def test_another_environment_is_not_compared_silently(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)}, env="laptop")
    _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.0)}, env="ci-runner")
    result = compare(db, repo=None)
    assert result.base is None and any("another environment" in n for n in result.notes)
    allowed = compare(db, repo=None, any_env=True)
    assert allowed.base is not None and allowed.base.commit == "a" * 40


def test_history_comes_from_the_lineage_only(
    tmp_path: Path, git: Callable[..., str]
) -> None:
    """Runs on a sibling branch are not evidence of head's noise; ancestors are."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commits = []
    for message in ("A", "B", "C"):
        git(repo, "commit", "-q", "--allow-empty", "-m", message)
        commits.append(git(repo, "rev-parse", "HEAD"))
    git(repo, "checkout", "-q", "-b", "side", commits[0])
    git(repo, "commit", "-q", "--allow-empty", "-m", "side")
    side = git(repo, "rev-parse", "HEAD")
    db = tmp_path / "l.db"
    for commit in (commits[0], side, commits[1], side, commits[2]):
        _run(db, "sqlite", commit, {"t::x": _noise(1.0)})
    result = compare(db, repo=repo)
    (row,) = result.rows
    assert result.base is not None and result.base.commit == commits[1]
    assert row.history == 2  # A and B; never the side branch's two runs


def test_references_commit_prefix_track_id_latest_and_unknown(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    first = _run(db, "sqlite", "a1b2c3" + "0" * 34, {"t::x": _noise(1.0)})
    second = _run(db, "sqlite", "d4e5f6" + "0" * 34, {"t::x": _noise(1.0)})
    assert compare(db, base="a1b2c3", head="latest", repo=None).base.track_id == first  # type: ignore[union-attr]
    assert compare(db, base=first[:10], head=second, repo=None).head.track_id == second  # type: ignore[union-attr]
    with pytest.raises(NoRunError, match="no run matches 'nope'"):
        compare(db, base="nope", repo=None)


def test_thresholds_gate_and_evidence(tmp_path: Path) -> None:
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
    failing = gate(result, [parse_threshold("function_time:5%")])
    assert len(failing) == 1
    assert gate(result, [parse_threshold("function_time:80%")]) == []
    assert len(gate(result, [parse_threshold("function_time:0.2")])) == 1
    from xetrack.compare import evidence

    line = evidence(*failing[0])
    assert re.fullmatch(
        r"t::x function_time: 99\d\.\d ms -> 14\d\d ms \(x1\.50\d, \[1\.3\d+, 1\.6\d+\], "
        r"noise floor 7\.3% from an assumed 2% \(no history yet\), n=20/20\) exceeds "
        r"function_time:5%",
        line,
    ), line


def test_render_formats_parse(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    base = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    head = _run(db, "sqlite", "b" * 40, {"t::x": _noise(2.0, seed=3)})
    result = compare(db, base=base, head=head, repo=None)
    data = json.loads(render(result, "json"))
    assert data["rows"][0]["verdict"] == "regressed" and data["counts"] == {
        "regressed": 1
    }
    assert data["rows"][0]["noise_floor"] == pytest.approx(FIRST_FLOOR)
    assert set(data["head"]) == {"track_id", "commit", "branch", "fingerprint", "last"}
    markdown = render(result, "markdown").splitlines()
    table = [line for line in markdown if line.startswith("|")]
    assert [c.strip() for c in table[0].split("|")[1:-1]] == [
        "benchmark",
        "metric",
        "base",
        "head",
        "ratio",
        "interval",
        "verdict",
        "noise floor",
        "noise from",
        "n",
    ]
    assert set(table[1]) <= {"|", "-", ":"}
    assert "t::x" in table[2] and markdown[-1] == "1 regressed vs aaaaaaa"


def test_no_runs_and_no_baseline_are_notes(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    Tracker(db).close()
    assert compare(db, repo=None).summary() == "no runs in the table yet"
    _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)})
    assert compare(db, repo=None).summary().startswith("no baseline for aaaaaaa")


def test_a_base_timed_before_calibrated_rounds_is_said_so(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    # a store written by the first release: rows without an iterations column
    old = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.3)}, batches=None)
    new = _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.0)}, iterations=1)
    notes = compare(db, base=old, head=new, repo=None).notes
    assert any("older xetrack" in note for note in notes)
    # two runs of this version: no such note
    newer = _run(db, "sqlite", "c" * 40, {"t::x": _noise(1.0, seed=5)}, iterations=1)
    notes = compare(db, base=new, head=newer, repo=None).notes
    assert not any("older xetrack" in note for note in notes)


def test_batches_spread_on_one_side_and_back_to_back_on_the_other_are_said_so(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    # 20 rounds of about 1 s of work a call: back to back they span about 20 s
    before = _run(db, "sqlite", "a" * 40, {"t::x": _noise(1.0)}, iterations=1)
    spread = {"iterations": 1, "time_span": 90.0}  # spread over a 90 s session
    new = _run(db, "sqlite", "b" * 40, {"t::x": _noise(1.0, seed=2)}, **spread)
    notes = compare(db, base=before, head=new, repo=None).notes
    (note,) = [n for n in notes if "spread over the session" in n]
    assert note.startswith(
        "1 benchmarks had their batches spread over the session in head"
    )
    back = _run(
        db,
        "sqlite",
        "c" * 40,
        {"t::x": _noise(1.0, seed=3)},
        iterations=1,
        time_span=21.0,
    )
    notes = compare(db, base=new, head=back, repo=None).notes
    assert any("session in base and back to back in head" in n for n in notes)
    # both spread: no such note
    again = _run(db, "sqlite", "d" * 40, {"t::x": _noise(1.0, seed=4)}, **spread)
    notes = compare(db, base=new, head=again, repo=None).notes
    assert not any("spread over the session" in n for n in notes)


def test_a_threshold_measures_the_change_the_verdict_judged() -> None:
    from xetrack.compare import Threshold
    from xetrack.comparison import Row

    # 5% slower than the baseline's run, 11% slower than the lineage's median,
    # which the verdict was judged against: the gate measures the same change
    row = Row("t::x", "function_time", "min", base=64.0, head=67.2, verdict="regressed")
    gate = Threshold("function_time", 0.08, relative=True)
    assert not gate.exceeded_by(row)
    row.reference, row.reference_runs = 60.5, 5
    assert gate.exceeded_by(row)


def _probed_db(
    db: Any,
    engine: str,
    speeds: Sequence[float],
    work: Sequence[float],
    probe_speeds: Sequence[float] | None,
) -> list[str]:
    """A run per commit: its process ran at ``speeds[i]`` (1.15: 15% slow), its code
    did ``work[i]``; the probe loop, when timed, ran at ``probe_speeds[i]``."""
    ids = []
    for index, (speed, amount) in enumerate(zip(speeds, work, strict=True)):
        extra: dict[str, object] = {}
        if probe_speeds is not None:
            extra["time_probe"] = 2e-6 * probe_speeds[index]
        samples = _noise(speed * amount, seed=index, spread=0.002)
        extra["time_min"] = min(samples)
        ids.append(_run(db, engine, f"{index:040x}", {"t::x": samples}, **extra))
    return ids


#: whole processes slower or faster by up to 16%, as on a shared machine
SPEEDS = [1.0, 1.15, 0.97, 1.12, 1.0, 1.16, 1.02, 0.97]


def test_interpreted_code_is_judged_over_the_probe_loop(
    engine: str, new_db: Any
) -> None:
    """The probe moved with every process: over it, the history is steady and a
    20% slowdown of the code shows through a fast head process; without a probe
    the same runs are too noisy to tell."""
    work = [1.0] * 7 + [1.2]
    probed = _probed_db(new_db("p"), engine, SPEEDS, work, SPEEDS)
    (row,) = compare(new_db("p"), base=probed[-2], head=probed[-1], repo=None).rows
    assert row.verdict == "regressed", row.evidence()
    assert "over the probe loop" in row.noise_source
    assert row.ratio == pytest.approx(1.2 * 0.97 / 1.02, rel=0.01)  # what was timed
    assert row.interval is not None and row.interval[0] < 1.2 < row.interval[1]
    assert row.reference is not None and row.head / row.reference == pytest.approx(
        1.2, rel=0.02
    )
    plain = _probed_db(new_db("n"), engine, SPEEDS, work, None)
    (row,) = compare(new_db("n"), base=plain[-2], head=plain[-1], repo=None).rows
    assert row.verdict == "inconclusive" and "probe" not in row.noise_source


def test_native_code_the_probe_does_not_follow_is_judged_plain(
    engine: str, new_db: Any
) -> None:
    """Steady times and a probe that wandered (native code, a C sort): the
    plain times are the steadier series, so the verdict uses them."""
    steady = [1.0] * 8
    ids = _probed_db(new_db("c"), engine, steady, [1.0] * 7 + [1.1], SPEEDS)
    (row,) = compare(new_db("c"), base=ids[-2], head=ids[-1], repo=None).rows
    assert row.verdict == "regressed" and "probe" not in row.noise_source
    assert row.ratio == pytest.approx(1.1, rel=0.01)


def test_a_first_comparison_learns_the_noise_from_all_its_benchmarks(
    engine: str, new_db: Any
) -> None:
    """No history yet: on a machine where every benchmark moved by up to 12%
    between the two runs, a 12% move is not called a regression; where they
    agree to 0.5%, a 20% slowdown of one benchmark is."""
    rng = random.Random(7)
    names = [f"t::b{i}" for i in range(10)]
    noisy = new_db("noisy")
    base = _run(
        noisy, engine, "a" * 40, {n: _noise(1.0, seed=i) for i, n in enumerate(names)}
    )
    moves = [rng.choice([-1, 1]) * rng.uniform(0.04, 0.12) for _ in names]
    head = _run(
        noisy,
        engine,
        "b" * 40,
        {
            n: _noise(1.0 + m, seed=50 + i)
            for i, (n, m) in enumerate(zip(names, moves, strict=True))
        },
    )
    rows = compare(noisy, base=base, head=head, repo=None).rows
    assert [r.verdict for r in rows if r.verdict in ("regressed", "improved")] == []
    assert all("spread of all benchmarks' changes" in r.noise_source for r in rows)
    quiet = new_db("quiet")
    base = _run(
        quiet, engine, "a" * 40, {n: _noise(1.0, seed=i) for i, n in enumerate(names)}
    )
    head = _run(
        quiet,
        engine,
        "b" * 40,
        {
            n: _noise(1.2 if i == 0 else 1.0 + rng.uniform(-0.005, 0.005), seed=50 + i)
            for i, n in enumerate(names)
        },
    )
    verdicts = {
        r.benchmark: r.verdict
        for r in compare(quiet, base=base, head=head, repo=None).rows
    }
    assert verdicts.pop("t::b0") == "regressed"
    assert set(verdicts.values()) <= {"unchanged"}


def test_a_session_suspects_what_the_verdict_will_compare() -> None:
    """A suspect is slower than the reference by the minimum effect, in the
    verdict's own terms: the fastest call, or that call over the probe's."""
    from xetrack.compare import Expected

    plain = Expected(1.0)
    assert plain.exceeded(1.06, None, 0.05) and not plain.exceeded(1.04, 9.0, 0.05)
    over = Expected(0.5, over_probe=True)
    assert over.exceeded(1.1, 2.0, 0.05)  # 0.55 over 0.5
    assert not over.exceeded(1.1, 2.5, 0.05)  # a slow process: 0.44
    assert not over.exceeded(1.1, None, 0.05)  # no probe: cannot be told
    assert not Expected(0.0).exceeded(1.0, None, 0.05)


def test_with_little_history_a_benchmark_is_judged_plainly(
    engine: str, new_db: Any
) -> None:
    """A sleep does not follow the probe: head's probe ran 30% faster while its
    benchmark took the same time, which over the probe would read 1.4x slower.
    Until its history can say the probe follows it, a benchmark is judged by its
    own time: unchanged, and a real 2x slowdown regressed."""
    db = new_db("sleep")
    ids = _probed_db(db, engine, [1.0, 1.0], [1.0, 1.0], [1.0, 0.7])
    (row,) = compare(db, base=ids[0], head=ids[1], repo=None).rows
    assert row.verdict == "unchanged", row.evidence()
    assert "probe" not in row.noise_source
    slow = new_db("slow")
    ids = _probed_db(slow, engine, [1.0, 1.0], [1.0, 2.0], [1.0, 1.0])
    (row,) = compare(slow, base=ids[0], head=ids[1], repo=None).rows
    assert row.verdict == "regressed", row.evidence()


def test_a_lineage_read_as_rows_or_aggregated_gives_the_same_values(
    engine: str, new_db: Any
) -> None:
    """A lineage's values read row by row (one row a benchmark and run, as the
    plugin writes) and aggregated by the engine (several rows a benchmark) are the
    same: each run's fastest call (time_min, else function_time) and fastest probe,
    in the runs' order, whichever way the comparison chose to read them."""
    from xetrack.compare import _recent_runs, open_store
    from xetrack.judging import lineage_values

    db = new_db("lineage")
    rng = random.Random(7)
    for k in range(6):
        tracker = Tracker(db, engine=engine, params={"git_commit": f"c{k}"})
        for name in ("a", "b", "c"):
            for _ in range(1 + (k + len(name)) % 3):  # several rows, some runs
                row: dict[str, object] = {
                    "test_nodeid": name,
                    "function_time": rng.uniform(1, 2),
                    "time_probe": rng.uniform(0.5, 1.0),
                }
                if rng.random() < 0.5:
                    row["time_min"] = rng.uniform(0.5, 1)
                if name == "c" and k == 2:
                    row["time_probe"] = None  # a run that did not time the probe
                tracker.log(row)
        tracker.close()
    store = open_store(db, None, read_only=True)
    try:
        runs, _ = _recent_runs(store, "default", 24)
        earlier = sorted(runs, key=lambda r: r.last)
        assert len({r.rows for r in earlier}) > 1  # some runs wrote more rows
        aggregated = lineage_values(store, "default", earlier)
        as_rows = lineage_values(store, "default", earlier, benchmarks=10**6)
        frame = store.query_df('SELECT * FROM "default"')
    finally:
        store.close()
    assert as_rows == aggregated
    frame["fastest"] = frame["time_min"].fillna(frame["function_time"])
    order = {r.track_id: i for i, r in enumerate(earlier)}
    for name in ("a", "b", "c"):
        mine = frame[frame.test_nodeid == name].groupby("track_id")
        runs_in_order = sorted(mine.groups, key=order.__getitem__)
        fastest = mine["fastest"].min()
        probe = mine["time_probe"].min()
        assert aggregated.plain[name] == pytest.approx(
            [fastest[t] for t in runs_in_order]
        )
        assert aggregated.over_probe[name] == pytest.approx(
            [fastest[t] / probe[t] for t in runs_in_order if probe[t] == probe[t]]
        )
    assert len(aggregated.over_probe["c"]) == len(aggregated.plain["c"]) - 1


@pytest.mark.parametrize(
    ("speed", "work", "probe", "over_probe"),
    [
        (
            1.0,
            1.18,
            1.5,
            "improved",
        ),  # a real slowdown, its probe timed in a slow spell
        (0.95, 1.0, 0.77, "regressed"),  # no change, its probe timed in a fast one
    ],
)
def test_a_change_seen_over_the_probe_only_is_inconclusive(
    engine: str, new_db: Any, speed: float, work: float, probe: float, over_probe: str
) -> None:
    """Judged over the probe, a verdict must show in the plain time too: a probe
    that caught another moment of the machine than its benchmark reads a slowdown
    as an improvement, or no change as a regression. Such a pair says
    inconclusive, and why."""
    speeds = [*SPEEDS[:-1], speed]
    ids = _probed_db(
        new_db("d"), engine, speeds, [1.0] * 7 + [work], [*SPEEDS[:-1], probe]
    )
    (row,) = compare(new_db("d"), base=ids[-2], head=ids[-1], repo=None).rows
    assert row.verdict == "inconclusive", row.evidence()
    assert f"{over_probe} over the probe only" in row.noise_source
    assert "over the probe loop" in row.noise_source
    # where the plain time agrees, the probe's verdict stands
    agreeing = _probed_db(
        new_db("a"), engine, SPEEDS, [1.0] * 7 + [1.2], [*SPEEDS[:-1], 0.97]
    )
    (row,) = compare(new_db("a"), base=agreeing[-2], head=agreeing[-1], repo=None).rows
    assert row.verdict == "regressed" and "only" not in row.noise_source
