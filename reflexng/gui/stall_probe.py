"""A heartbeat that measures how long the GUI thread's event loop is blocked.

A 10 ms QTimer ticks on the GUI thread; the longest gap between two ticks is the longest the
window could not react. On a shared machine a gap also grows when the operating system does
not schedule the process, so each gap is measured twice: in wall time and in the GUI
thread's own CPU time (``time.thread_time``). Work done on the GUI thread shows in both;
a busy machine only in the first. Used by tests/gui/test_event_loop_stall.py and
benchmarks/gui.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer


@dataclass
class Stall:
    wall_s: float = 0.0  # longest gap between two heartbeats
    cpu_s: float = 0.0  # the GUI thread's CPU time in its busiest gap

    def __str__(self) -> str:
        return f"{self.wall_s * 1000:.0f} ms wall, {self.cpu_s * 1000:.0f} ms GUI-thread CPU"


class StallProbe(QObject):
    def __init__(self, interval_ms: int = 10, parent=None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.phases: dict[str, Stall] = {}
        self.current = Stall()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()

    def start(self) -> None:
        self.reset()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def reset(self) -> None:
        self.current = Stall()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        c = self.current
        c.wall_s = max(c.wall_s, now - self._last)
        c.cpu_s = max(c.cpu_s, cpu - self._last_cpu)
        self._last, self._last_cpu = now, cpu

    def finish_phase(self, name: str) -> Stall:
        """Close the current phase (counting the gap up to now) and start the next."""
        self._tick()
        self.phases[name] = self.current
        self.reset()
        return self.phases[name]

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.reset()
        yield
        self.finish_phase(name)

    def worst(self) -> tuple[str, Stall]:
        return max(self.phases.items(), key=lambda kv: kv[1].cpu_s) if self.phases else ("", Stall())

    def report(self) -> str:
        return "; ".join(f"{n}: {s}" for n, s in self.phases.items())
