"""Where numbers were measured: Python, platform, CPU, and a fingerprint of them.

Timings are compared only between runs of one environment; the fingerprint is how
a run says which it had. The pytest plugin records it on every row, and runs read
from other tools' files (pytest-benchmark's) get one computed the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The values the fingerprint is made of (and xdist_workers, when not 0).
FINGERPRINTED = ("python_version", "platform", "cpu_model", "cpu_count")


def fingerprint(values: Mapping[str, object]) -> str:
    """A short stable hash of an environment's values (12 hex digits)."""
    import hashlib

    text = "|".join(str(values[k]) for k in sorted(values))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def environment(workers: int = 0) -> dict[str, object]:
    """This process's environment: Python, platform, CPU model and count, how many
    pytest-xdist workers shared the CPU (0: a serial session) and the fingerprint."""
    import platform

    env: dict[str, object] = {
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count() or 0,
    }
    # Workers share the CPU, so a parallel session is another environment; a serial
    # one keeps the fingerprint it had before worker counts were recorded.
    fingerprinted = dict(env, xdist_workers=workers) if workers else dict(env)
    return {
        **env,
        "xdist_workers": workers,
        "env_fingerprint": fingerprint(fingerprinted),
    }


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
