"""Run the project's performance suite and print a table of ratios.

Every figure is measured in this run next to the raw SQLite/DuckDB driver doing the
same work on the same rows, so the ratios hold on any machine.

    python benchmarks/run.py            # everything but the verdicts section
    python benchmarks/run.py postgres   # against a server it starts (or XETRACK_BENCH_POSTGRES_URL)
    python benchmarks/run.py store      # one section
    python benchmarks/run.py growth --huge   # the growth section with 10M rows too
    python benchmarks/run.py verdicts --quick   # verdict quality against pytest-benchmark
                                                # (pip install -e ".[bench]"; see
                                                # bench_verdicts.py; ~15 min without --quick)
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report

SECTIONS = [
    "store",
    "tracking",
    "plugin",
    "logs",
    "compare",
    "growth",
    "postgres",
    "report",
]
#: sections run only when named: they need extra packages or take many minutes
ON_REQUEST = ["verdicts"]


def main(argv: list[str]) -> None:
    if "--huge" in argv:
        os.environ["XETRACK_BENCH_HUGE"] = "1"
    quick = "--quick" in argv
    chosen = [a for a in argv if not a.startswith("--")] or SECTIONS
    unknown = [s for s in chosen if s not in SECTIONS + ON_REQUEST]
    if unknown:
        raise SystemExit(
            f"unknown section(s) {unknown}; choose from {SECTIONS + ON_REQUEST}"
        )
    report = Report()
    for section in chosen:
        print(f"[{section}]", flush=True)
        module = importlib.import_module(f"bench_{section}")
        if section in ON_REQUEST:
            module.run(report, quick=quick)
        else:
            module.run(report)
    print()
    print(report.table())


if __name__ == "__main__":
    main(sys.argv[1:])
