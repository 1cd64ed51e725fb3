"""Top-level widgets left behind by a test (used by the autouse fixture in conftest.py)."""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import getCppPointer

# Qt's own helper windows (tooltips, combo-box popups, menus' tear-offs) live on between tests
IGNORED_CLASSES = {"QTipLabel", "QComboBoxPrivateContainer", "QWhatsThat", "QDesktopScreenWidget"}


def _flush() -> None:
    """Run pending deferred deletions (``deleteLater``) and events; collect Python cycles
    (a widget's Python owner in a reference cycle keeps parentless menus alive)."""
    for _ in range(3):
        gc.collect()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()


def address(w: QWidget) -> int:
    """The C++ object's address (Python wrappers of one widget may differ between calls)."""
    return int(getCppPointer(w)[0])


def top_level_ids() -> set[int]:
    _flush()
    return {address(w) for w in QApplication.topLevelWidgets()}


def leaked_widgets(before: set[int]) -> list[str]:
    """'Class (objectName)' of each top-level widget created since ``before`` and still alive."""
    _flush()
    out = []
    for w in QApplication.topLevelWidgets():
        if address(w) in before or type(w).__name__ in IGNORED_CLASSES or w.metaObject().className() in IGNORED_CLASSES:
            continue
        out.append(f"{type(w).__name__}({w.objectName() or 'no name'})")
    return out
