"""Run every example; report each; exit non-zero if any fails.

Run: python examples/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    scripts = sorted(here.glob("[0-9][0-9]_*.py"))
    failed = []
    for script in scripts:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        print(f"{script.name:32s} {status:20s} {seconds:5.1f} s")
        if done.returncode != 0:
            failed.append(script.name)
            print(done.stdout[-2000:], done.stderr[-4000:], sep="\n")
    print(f"{len(scripts) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
