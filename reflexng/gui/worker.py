"""The one worker pattern of the GUI: a plain function runs in the global QThreadPool and
its result (or error) comes back as a signal on the GUI thread. Engine events, which may
arrive from any thread, are marshalled to the GUI thread by :class:`EventBridge`."""

from __future__ import annotations

import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_running: set[Worker] = set()  # keep workers (and their signal objects) alive until done


class WorkerSignals(QObject):
    sig_finished = Signal(object)  # the function's return value
    sig_failed = Signal(str, str)  # message, traceback
    sig_done = Signal()  # after finished or failed


class Worker(QRunnable):
    """Run ``fn(*args, **kwargs)`` off the GUI thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = WorkerSignals()

    def start(self) -> Worker:
        """Queue in the global thread pool (connect to ``signals`` before calling this)."""
        _running.add(self)
        self.signals.sig_done.connect(self._done)
        QThreadPool.globalInstance().start(self)
        return self

    def _done(self) -> None:  # GUI thread, after the finished / failed callbacks ran
        _running.discard(self)
        # drop the connections: Qt holds the callbacks (and what their closures hold, e.g. the
        # main window) and the callbacks hold this worker, a cycle Python's collector cannot see
        with warnings.catch_warnings():  # PySide warns when a signal had no connection
            warnings.simplefilter("ignore", RuntimeWarning)
            for sig in (self.signals.sig_finished, self.signals.sig_failed, self.signals.sig_done):
                try:
                    sig.disconnect()
                except (RuntimeError, TypeError):  # nothing connected
                    pass

    def run(self) -> None:  # worker thread
        # register this Qt thread with Python's threading module, so code that checks
        # threading.active_count() before forking (the FITS scanner) sees it is not alone
        threading.current_thread()
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - every error reaches the GUI as a message
            self.signals.sig_failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self.signals.sig_finished.emit(result)
        finally:
            self.signals.sig_done.emit()


def start_worker(
    fn: Callable[..., Any],
    *args: Any,
    on_finished: Callable[[Any], None] | None = None,
    on_failed: Callable[[str, str], None] | None = None,
    **kwargs: Any,
) -> Worker:
    """Start ``fn`` in the global thread pool; callbacks run on the GUI thread."""
    w = Worker(fn, *args, **kwargs)
    if on_finished is not None:
        w.signals.sig_finished.connect(on_finished)
    if on_failed is not None:
        w.signals.sig_failed.connect(on_failed)
    return w.start()


def wait_for_workers(msecs: int = 30000) -> bool:
    """Block until every worker finished (used at shutdown and in tests)."""
    return QThreadPool.globalInstance().waitForDone(msecs)


class EventBridge(QObject):
    """Receives engine events from any thread; re-emits them on the GUI thread."""

    sig_event = Signal(object)

    def __call__(self, event: Any) -> None:  # may run in a worker thread
        self.sig_event.emit(event)
