"""A heartbeat that measures how long the GUI thread's event loop is blocked.

A 10 ms QTimer ticks on the GUI thread; the longest gap between two ticks is the longest the
window could not react. On a shared machine a gap also grows when the operating system does
not schedule the process, so three numbers are kept per phase:

* ``wall_s``: the longest gap between two heartbeats (what a user feels; includes the load);
* ``cpu_s``: the GUI thread's own CPU time in its busiest gap (``time.thread_time``);
* ``busy_s``: the longest time the GUI thread spent in Python code called from the event loop
  (a slot, a callback) — CPU *or waiting* (disk, a lock), seen by a watchdog thread that
  samples the GUI thread's stack every 2 ms: it is idle while its innermost frame stands at a
  call that entered an event loop (learnt from the heartbeat's own caller).

Used by tests/gui/test_event_loop_stall.py and benchmarks/gui.py.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer


@dataclass
class Stall:
    wall_s: float = 0.0  # longest gap between two heartbeats
    cpu_s: float = 0.0  # the GUI thread's CPU time in its busiest gap
    busy_s: float = 0.0  # longest stretch in Python code called from the event loop (CPU or waiting)
    where: str = ""  # the GUI thread's stack 50 ms into its longest busy stretch

    def __str__(self) -> str:
        return (f"{self.wall_s * 1000:.0f} ms wall, {self.cpu_s * 1000:.0f} ms GUI-thread CPU, "
                f"{self.busy_s * 1000:.0f} ms busy")


class StallProbe(QObject):
    def __init__(self, interval_ms: int = 10, parent=None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer)
        self.phases: dict[str, Stall] = {}
        self.current = Stall()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._idle_sites: set = set()  # (code, line) of the calls that entered an event loop
        self._gui_thread = threading.get_ident()
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._busy_since: float | None = None
        self._where = ""

    def start(self) -> None:
        self.reset()
        self.timer.start()
        self._stop.clear()
        self._watchdog = threading.Thread(target=self._watch, name="stall-watchdog", daemon=True)
        self._watchdog.start()

    def stop(self) -> None:
        self.timer.stop()
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(2)
            self._watchdog = None

    def _watch(self) -> None:  # watchdog thread
        while not self._stop.wait(0.002):
            frame = sys._current_frames().get(self._gui_thread)
            now = time.perf_counter()
            idle = frame is None or not self._idle_sites or (frame.f_code, frame.f_lineno) in self._idle_sites
            if idle:
                if self._busy_since is not None:
                    length = now - self._busy_since
                    if length > self.current.busy_s:
                        self.current.busy_s = length
                        self.current.where = self._where
                self._busy_since = None
            elif self._busy_since is None:
                self._busy_since = now
                self._where = ""
            elif not self._where and now - self._busy_since > 0.05:
                import traceback

                self._where = "".join(traceback.format_stack(frame, limit=12))

    def reset(self) -> None:
        self._busy_since = None
        self.current = Stall()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()

    def _on_timer(self) -> None:
        # called by the event loop: the caller's frame waits in exec() there (an idle site)
        f = sys._getframe(1)
        self._idle_sites.add((f.f_code, f.f_lineno))
        self._tick()

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

    def worst(self, measure: str = "cpu_s") -> tuple[str, Stall]:
        return max(self.phases.items(), key=lambda kv: getattr(kv[1], measure)) if self.phases else ("", Stall())

    def report(self) -> str:
        return "; ".join(f"{n}: {s}" for n, s in self.phases.items())
