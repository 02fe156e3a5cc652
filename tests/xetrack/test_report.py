"""The HTML report: one self-contained file of the comparison and the history."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from report_history import make_history
from typer.testing import CliRunner

from xetrack import Tracker
from xetrack.cli import app
from xetrack.errors import InvalidArgumentError, XetrackError
from xetrack.report import MissingExtraError, build
from xetrack.timeline import timeline


def _data(page: str) -> dict[str, object]:
    found = re.search(
        r'<script type="application/json" id="xetrack-data">(.*?)</script>', page, re.S
    )
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path]:
    db, repo = tmp_path / "b.db", tmp_path / "repo"
    make_history(db, repo)
    return db, repo


def test_the_report_holds_comparison_history_and_distributions(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    db, repo = history
    out = build(db, tmp_path / "report.html", repo=repo)
    page = out.read_text(encoding="utf-8")
    # self-contained: every script and style inline (the browser test records that
    # no request leaves the file)
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link", page)
    assert page.count("<script") == 3 and "@import" not in page
    assert "Content-Security-Policy" in page
    data = _data(page)
    verdicts = {r["benchmark"].split("::")[1]: r["verdict"] for r in data["rows"]}  # type: ignore[attr-defined,index]
    assert verdicts["test_regress"] == "regressed"
    assert verdicts["test_improve"] == "improved"
    assert verdicts["test_new"] == "new" and verdicts["test_gone"] == "missing"
    assert verdicts["test_tiny"] == "unchanged"
    series = data["series"]
    timings = [s for s in series if s["metric"] == "function_time"]  # type: ignore[attr-defined,index]
    assert len(timings) == 7  # one chart per benchmark
    tiny = next(s for s in timings if s["benchmark"].endswith("test_tiny"))  # type: ignore[index]
    assert tiny["unit"] == "ns" and 640 < tiny["points"][0][1] < 670  # type: ignore[index]
    regress = next(s for s in timings if s["benchmark"].endswith("test_regress"))  # type: ignore[index]
    assert data["verdicts"][regress["points"][-1][5]] == "regressed"  # type: ignore[index]
    gone = next(s for s in timings if s["benchmark"].endswith("test_gone"))  # type: ignore[index]
    assert gone["gaps"] == [[5, "missing"]]
    # commits in git order, oldest first
    assert (
        [r["commit"] for r in data["runs"]]
        == [  # type: ignore[attr-defined]
            c[:7] for c in _git_log(repo)
        ]
    )
    # declared metrics, with their direction
    assert data["declared"] == ["accuracy (higher is better)"]
    changed = {d["benchmark"].split("::")[1] for d in data["distributions"]}  # type: ignore[attr-defined,index]
    assert changed == {"test_regress", "test_improve"}
    assert data["head"]["python_version"] == "3.11.9"  # type: ignore[index]
    assert data["head"]["cpu_model"].startswith("Generated")  # type: ignore[index]


def _git_log(repo: Path) -> list[str]:
    import subprocess

    out = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--reverse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def test_commits_follow_git_not_the_order_runs_ran(tmp_path: Path) -> None:
    db, repo = tmp_path / "b.db", tmp_path / "repo"
    shas = make_history(db, repo, count=3, names=["test_parse"])
    # the oldest commit measured again, last: still first on the chart
    tracker = Tracker(
        db, params={"git_commit": shas[0], "env_fingerprint": "generated"}
    )
    tracker.log(
        {"test_nodeid": "tests/bench/test_cpu.py::test_parse", "function_time": 5e-5}
    )
    tracker.close()
    found = timeline(db, repo=repo)
    assert [r.commit for r in found.runs] == shas
    without_git = timeline(db, repo=None)
    assert [r.commit for r in without_git.runs] == [*shas[1:], shas[0]]
    assert "order their runs ran" in without_git.notes[0]


def test_names_from_the_data_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    db, repo = tmp_path / "b.db", tmp_path / "repo"
    hostile = "t.py::test_</script><script>alert(1)</script>&amp;"
    make_history(db, repo, count=2, names=["test_parse"])
    for _ in range(2):
        tracker = Tracker(db, params={"env_fingerprint": "generated"})
        tracker.log({"test_nodeid": hostile, "function_time": 1e-3})
        tracker.close()
    page = build(db, tmp_path / "r.html", repo=repo).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    assert page.count("</script>") == 3  # the data, plotly.js, the page's own script
    assert any(r["benchmark"] == hostile for r in _data(page)["rows"])  # type: ignore[attr-defined,index]


def test_a_missing_plotly_is_named_with_the_extra(
    history: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.offline", None)
    db, repo = history
    with pytest.raises(MissingExtraError, match=r"pip install 'xetrack\[report\]'"):
        build(db, tmp_path / "r.html", repo=repo)
    assert not (tmp_path / "r.html").exists()


def test_bad_output_paths_are_refused_before_any_work(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    db, repo = history
    with pytest.raises(InvalidArgumentError, match="is a folder"):
        build(db, tmp_path, repo=repo)
    with pytest.raises(InvalidArgumentError, match=r"folder .*nowhere does not exist"):
        build(db, tmp_path / "nowhere" / "r.html", repo=repo)


def test_a_report_of_a_store_without_a_baseline_says_so(tmp_path: Path) -> None:
    db, repo = tmp_path / "b.db", tmp_path / "repo"
    make_history(db, repo, count=1, names=["test_parse"])
    data = _data(build(db, tmp_path / "r.html", repo=repo).read_text(encoding="utf-8"))
    assert data["base"] is None and "no baseline" in str(data["summary"])
    with pytest.raises(XetrackError, match="no database"):
        build(tmp_path / "none.db", tmp_path / "r.html")


def test_xt_report_writes_the_file_and_errors_in_one_line(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    db, repo = history
    out = tmp_path / "report.html"
    runner = CliRunner()
    done = runner.invoke(app, ["report", str(db), "-o", str(out), "--repo", str(repo)])
    assert done.exit_code == 0, done.output
    assert f"wrote {out}" in done.stdout and out.stat().st_size > 1_000_000
    assert "\r" not in done.output  # no progress bar into a pipe
    bad = runner.invoke(app, ["report", str(db), "-o", str(tmp_path / "no" / "r.html")])
    assert bad.exit_code == 1 and "does not exist" in bad.stderr
    assert "Traceback" not in bad.output


@pytest.mark.all_engines
def test_the_report_reads_every_engine(
    db_path: object, engine: str, tmp_path: Path
) -> None:
    from xetrack.store.location import display

    make_history(db_path, tmp_path / "repo", count=3)  # type: ignore[arg-type]
    page = build(db_path, tmp_path / "r.html", repo=tmp_path / "repo").read_text(
        encoding="utf-8"
    )
    verdicts = {r["verdict"] for r in _data(page)["rows"]}  # type: ignore[attr-defined,index]
    assert {"regressed", "improved", "new", "missing"} <= verdicts
    # a server's URL shows without its password
    title = page.split("<title>")[1].split("</title>")[0]
    expected = display(db_path) if engine == "postgres" else Path(str(db_path)).name
    assert expected.replace("&", "&amp;") in title
