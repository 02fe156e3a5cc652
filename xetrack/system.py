"""Sampling the machine while a tracked function runs (psutil, a background thread)."""

from __future__ import annotations

import os
import statistics
import threading
from typing import Any


class SystemSampler:
    """Samples CPU, memory, process RSS and disk every ``interval`` seconds.

    Used as a context manager around one call; ``results()`` gives the averages,
    the peak RSS and, with ``network``, the bytes sent/received during the call.
    One sample is taken at the start and one at the end, so short calls have data.
    """

    def __init__(
        self, interval: float, system: bool = True, network: bool = False
    ) -> None:
        import psutil

        self._psutil = psutil
        self._interval = max(float(interval), 0.001)
        self._system = system
        self._network = network
        self._process = psutil.Process(os.getpid())
        self._samples: list[tuple[float, float, float, float, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._net_start: Any = None
        self._net_end: Any = None

    def _sample(self) -> None:
        ps = self._psutil
        info = self._process.memory_info()
        self._samples.append(
            (
                ps.cpu_percent(None),
                ps.virtual_memory().percent,
                self._process.memory_percent(),
                ps.disk_usage(os.path.abspath(os.sep)).percent,
                info.rss,
            )
        )

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> SystemSampler:
        if self._network:
            self._net_start = self._psutil.net_io_counters()
        if self._system:
            self._psutil.cpu_percent(
                None
            )  # primes the counter: the next call measures from here
            self._sample()
            self._thread = threading.Thread(
                target=self._run, name="xetrack-sampler", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._sample()
        if self._network:
            self._net_end = self._psutil.net_io_counters()

    def results(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self._samples:
            cpu, ram, proc, disk, rss = zip(*self._samples, strict=True)
            out.update(
                cpu_percent=statistics.fmean(
                    cpu[1:] or cpu
                ),  # the first reading is 0.0
                ram_percent=statistics.fmean(ram),
                p_memory_percent=statistics.fmean(proc),
                disk_percent=statistics.fmean(disk),
                p_rss_peak=max(rss),
            )
        if self._net_start is not None and self._net_end is not None:
            out["bytes_sent"] = self._net_end.bytes_sent - self._net_start.bytes_sent
            out["bytes_recv"] = self._net_end.bytes_recv - self._net_start.bytes_recv
        return out
