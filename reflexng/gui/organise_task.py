"""Organising from the window: a worker runs ``Session.organise(progress, cancelled)`` while
a progress dialog (not modal: the window stays usable) shows the scanned files and offers
Cancel. Progress arrives from the scanner's thread and is marshalled by a signal, at most
every 50 ms, so a scan of 100,000 files never floods the event loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from reflexng.gui.worker import start_worker


class _Relay(QObject):
    """Carries progress from the scanner's thread to the GUI thread (owned by Python: no
    parent that could keep it, or what its slots hold, alive)."""

    sig_progress = Signal(int, int)  # files done, total


class OrganiseTask:
    """One organise in a worker; ``cancel()`` asks it to stop (the organiser polls);
    ``state`` is running | finished | cancelled | failed."""

    def __init__(self, parent: QWidget, organise: Callable[..., Any],
                 on_finished: Callable[[Any], None], on_failed: Callable[[str, str], None],
                 label: str = "Organising: reading the FITS headers…") -> None:
        self._cancel = threading.Event()
        self._last = 0.0
        self.state = "running"
        self.relay = _Relay()
        self.relay.sig_progress.connect(self._show_progress)
        self.dialog: QProgressDialog | None = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setObjectName("organiseProgress")
        self.dialog.setWindowTitle("Organising")
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setMinimumDuration(400)  # a fast organise never flashes a dialog
        self.dialog.canceled.connect(self.cancel)
        self.dialog.setValue(0)
        self.on_finished: Callable[[Any], None] | None = on_finished
        self.on_failed: Callable[[str, str], None] | None = on_failed
        start_worker(organise, progress=self._progress, cancelled=self._cancel.is_set,
                     on_finished=self._finished, on_failed=self._failed)

    # any thread
    def _progress(self, done: int, total: int, *_rest: Any) -> None:
        now = time.monotonic()
        if self.state == "running" and (now - self._last >= 0.05 or done >= total):
            self._last = now
            try:
                self.relay.sig_progress.emit(int(done), int(total))
            except RuntimeError:  # the window is gone
                pass

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # GUI thread
    def cancel(self) -> None:
        if self.state == "running":
            self._cancel.set()
            if self.dialog is not None and shiboken6.isValid(self.dialog):
                self.dialog.setLabelText("Cancelling…")

    def _show_progress(self, done: int, total: int) -> None:
        d = self.dialog
        if self.state == "running" and d is not None and shiboken6.isValid(d):
            d.setMaximum(max(total, 1))
            d.setValue(min(done, max(total, 1)))
            d.setLabelText(f"Organising: {done} of {total} files read…" if done < total
                           else "Organising: classifying and associating…")

    def _close(self, state: str) -> tuple:
        self.state = state
        d, self.dialog = self.dialog, None
        if d is not None and shiboken6.isValid(d):
            d.canceled.disconnect(self.cancel)
            d.close()
            d.deleteLater()
        callbacks = (self.on_finished, self.on_failed)
        self.on_finished = self.on_failed = None  # hold nothing of the window once done
        return callbacks

    def _finished(self, result: Any) -> None:
        on_finished, _ = self._close("finished")
        if on_finished is not None:
            on_finished(result)

    def _failed(self, message: str, tb: str) -> None:
        cancelled = message.startswith("OrganiseCancelled") or self._cancel.is_set()
        _, on_failed = self._close("cancelled" if cancelled else "failed")
        if on_failed is not None:
            on_failed("organising was cancelled" if cancelled else message, tb)


def organise_with_progress(parent: QWidget, organise: Callable[..., Any], on_finished: Callable[[Any], None],
                           on_failed: Callable[[str, str], None]) -> OrganiseTask:
    return OrganiseTask(parent, organise, on_finished, on_failed)
