"""Run the project's performance suite and print a table of ratios.

Every figure is measured in this run next to the raw SQLite/DuckDB driver doing the
same work on the same rows, so the ratios hold on any machine.

    python benchmarks/run.py            # everything
    python benchmarks/run.py store      # one section
    python benchmarks/run.py growth --huge   # the growth section with 10M rows too
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report

SECTIONS = ["store", "tracking", "plugin", "logs", "compare", "growth", "postgres"]


def main(argv: list[str]) -> None:
    if "--huge" in argv:
        os.environ["XETRACK_BENCH_HUGE"] = "1"
        argv = [a for a in argv if a != "--huge"]
    chosen = argv or SECTIONS
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; choose from {SECTIONS}")
    report = Report()
    for section in chosen:
        print(f"[{section}]", flush=True)
        importlib.import_module(f"bench_{section}").run(report)
    print()
    print(report.table())


if __name__ == "__main__":
    main(sys.argv[1:])
