"""The shared cache serves a result only while nothing the test depends on changed:
its source, the project modules it imports (transitively) and `depends=`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xetrack import Reader
from xetrack.cli import app

TEST = """
from pytest_xetrack import track
from lib.model import accuracy

@track(cache=True, depends=["data.csv", "v2"])
def test_accuracy():
    return {"accuracy": accuracy()}
"""


def _run(pytester: pytest.Pytester, db: Path, cache: Path) -> pytest.RunResult:
    # In-process: pytester forgets the modules each run imported, so an edited
    # module is imported afresh by the next run, as in a new session.
    return pytester.runpytest(
        f"--xetrack-db={db}", f"--xetrack-cache={cache}", "-p", "no:xdist"
    )


def _last(db: Path) -> tuple[float, str]:
    frame = Reader(db).to_df()
    return float(frame["accuracy"].iloc[-1]), str(frame["cache"].iloc[-1])


def test_a_change_in_an_imported_module_or_a_declared_file_recomputes(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        **{
            "lib/__init__.py": "",
            "lib/model.py": "from lib.weights import W\n"
            "def accuracy():\n    return W\n",
            "lib/weights.py": "W = 0.5\n",
            "test_model.py": TEST,
        }
    )
    (pytester.path / "data.csv").write_text("a,b\n1,2\n")
    db, cache = tmp_path / "bench.db", tmp_path / "cache"
    _run(pytester, db, cache).assert_outcomes(passed=1)
    assert _last(db) == (0.5, "")
    second = _run(pytester, db, cache)
    assert _last(db)[1] != ""  # served
    second.stdout.fnmatch_lines(
        ["*1 results served from cache (each matched its test's source*"]
    )

    # a module two imports away changed: the old accuracy must not be served
    (pytester.path / "lib" / "weights.py").write_text("W = 0.75\n")
    _run(pytester, db, cache).assert_outcomes(passed=1)
    assert _last(db) == (0.75, "")
    _run(pytester, db, cache)
    assert _last(db)[1] != ""

    # the declared data file changed
    (pytester.path / "data.csv").write_text("a,b\n1,3\n")
    _run(pytester, db, cache)
    assert _last(db) == (0.75, "")

    listed = CliRunner().invoke(app, ["cache", "ls", str(cache), "--json"])
    assert listed.exit_code == 0
    parts = [json.loads(e["parts"]) for e in json.loads(listed.stdout)]
    newest = parts[-1]
    assert set(newest["modules"]) == {
        "lib/__init__.py",
        "lib/model.py",
        "lib/weights.py",
    }
    assert set(newest["depends"]) == {"file:data.csv", "text:v2"}
    assert newest["depends"]["text:v2"] == "v2"


def test_a_missing_declared_file_fails_the_test_and_bad_depends_is_refused(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
        from pathlib import Path
        from pytest_xetrack import track

        @track(cache=True, depends=[Path("missing.csv")])
        def test_needs_file():
            return {"x": 1}
        """
    )
    result = _run(pytester, tmp_path / "b.db", tmp_path / "c")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*'missing.csv' is not a file*"])
    pytester.makepyfile(
        """
        from pytest_xetrack import track

        @track(cache=True, depends="v2")
        def test_bad():
            pass
        """
    )
    bad = _run(pytester, tmp_path / "b.db", tmp_path / "c")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*@track(depends='v2') must be a list*"])


def test_a_read_only_cache_directory_runs_the_test_with_one_warning(
    pytester: pytest.Pytester, tmp_path: Path, read_only: object
) -> None:
    pytester.makepyfile(
        "from pytest_xetrack import track\n"
        "@track(cache=True)\ndef test_x():\n    return {'v': 1}\n"
    )
    db, cache = tmp_path / "b.db", tmp_path / "cache"
    cache.mkdir()
    read_only(cache)  # type: ignore[operator]
    result = _run(pytester, db, cache)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*--xetrack-cache=*cannot be used*"])
    assert Reader(db).to_df()["v"].tolist() == [1]
    assert list(cache.iterdir()) == []
