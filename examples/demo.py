"""The demo: a benchmark suite recorded on two commits, then compared.

Makes a scratch git repository with examples/bench, runs the suite on a first
commit, makes one benchmark three times as slow on a second commit, runs it again, and
shows `xt compare` and `xt stats top` on the resulting SQLite file.

Run: python examples/demo.py  (leaves xetrack-demo.db in the current directory)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
XT = str(Path(sys.executable).parent / "xt")


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> int:
    print(f"$ {' '.join(args)}", flush=True)
    return subprocess.run(args, cwd=cwd, env=env, check=check).returncode


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=demo", "-c", "user.email=demo@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def main() -> int:
    db = Path.cwd() / "xetrack-demo.db"
    if db.exists():
        db.unlink()
    with tempfile.TemporaryDirectory(prefix="xetrack-demo-") as tmp:
        repo = Path(tmp)
        shutil.copy(HERE / "bench" / "test_bench.py", repo / "test_bench.py")
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "test_bench.py")
        git(repo, "commit", "-q", "-m", "first commit")
        pytest = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--xetrack-db={db}",
        ]
        print("\n== 1. the suite on the first commit")
        run(*pytest, cwd=repo)

        print("\n== 2. a second commit makes test_dict_build three times as slow")
        (repo / "slow.txt").write_text("XETRACK_DEMO_SLOWDOWN=3\n")
        git(repo, "add", "slow.txt")
        git(repo, "commit", "-q", "-m", "second commit: slower dict building")
        env = {**os.environ, "XETRACK_DEMO_SLOWDOWN": "3"}
        # Two runs a few seconds apart on a shared machine can differ by 30-40% as a
        # whole (CPU steal, frequency changes): the demo calls only changes of 50% or
        # more. Measure your own machine's noise with an A/A run and set these to fit.
        gate = ["--xetrack-min-effect=0.5", "--xetrack-fail=function_time:50%"]
        status = run(*pytest, *gate, cwd=repo, env=env, check=False)
        print(
            f"(pytest exited {status}: --xetrack-fail turned the regression into a failure)"
        )

        print(
            "\n== 3. the same comparison from the command line, as Markdown for a pull request"
        )
        run(
            XT,
            "compare",
            str(db),
            "--repo",
            str(repo),
            "--min-effect",
            "0.5",
            "--format",
            "markdown",
            cwd=repo,
            check=False,
        )
        print(
            "\n== 4. the row with the best accuracy, and the fastest run of each benchmark"
        )
        run(XT, "stats", "top", str(db), "accuracy", cwd=repo, check=False)
        run(
            XT,
            "stats",
            "bottom",
            str(db),
            "function_time",
            "--by",
            "test_nodeid",
            cwd=repo,
            check=False,
        )
    print(
        f"\nThe rows are in {db}: try `xt runs {db.name}` or `xt history {db.name} --no-chart`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
