"""What a run meant to run: the part of a test suite a pytest session selected.

A session given ``-k``, ``-m`` or paths runs part of the suite on purpose; the
benchmarks of its baseline that lie outside that part are not ``missing``. Only a
benchmark the session selected and did not run, or one that vanished from a part
it collected whole (its test removed or renamed, its file deleted), is.

The pytest plugin records a run's selection in its run record (the runs table's
``selection`` column, JSON); :func:`xetrack.compare.compare` reads it. A run
without one (a script's Tracker, an older store) selected everything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Selection"]


@dataclass(frozen=True)
class Selection:
    """The paths and node ids a session collected, and the tests it deselected.

    ``paths`` are rootdir-relative files or folders collected whole (``""`` is the
    whole rootdir); ``nodes`` are node ids given on the command line
    (``tests/test_a.py::test_x``), collected alone; ``deselected`` are the node ids
    ``-k``, ``-m``, ``--deselect``, ``--lf`` and the like left out.
    """

    paths: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    deselected: frozenset[str] = field(default_factory=frozenset)

    def selects(self, nodeid: str) -> bool:
        """Whether the session meant to run the test ``nodeid``.

        >>> s = Selection(paths=("tests/bench",), deselected=frozenset({"tests/bench/a.py::t2"}))
        >>> s.selects("tests/bench/a.py::t1"), s.selects("tests/bench/a.py::t2")
        (True, False)
        >>> s.selects("tests/other/b.py::t"), s.selects("tests/bench/gone.py::t")
        (False, True)
        """
        if nodeid in self.deselected:
            return False
        module = nodeid.split("::", 1)[0]
        for path in self.paths:
            if not path or module == path or module.startswith(path.rstrip("/") + "/"):
                return True
        return any(
            nodeid == node or nodeid.startswith((f"{node}::", f"{node}["))
            for node in self.nodes
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "paths": list(self.paths),
                "nodes": list(self.nodes),
                "deselected": sorted(self.deselected),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: object) -> Selection | None:
        """The selection a run record holds; None for none or for anything that is
        not one (a cell is data: a malformed one selects everything)."""
        if not isinstance(text, str) or not text:
            return None
        try:
            found = json.loads(text)
        except ValueError:
            return None
        if not isinstance(found, dict):
            return None
        parts = [found.get(k) for k in ("paths", "nodes", "deselected")]
        if not all(isinstance(p, list) for p in parts):
            return None
        paths, nodes, deselected = (_strings(p) for p in parts)  # type: ignore[arg-type]
        return cls(tuple(paths), tuple(nodes), frozenset(deselected))


def _strings(values: Iterable[object]) -> list[str]:
    return [v for v in values if isinstance(v, str)]
