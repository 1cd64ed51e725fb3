"""The files the organiser scanned: a virtualised table (category, status, reason, chosen
header keywords) with filter and search."""

from __future__ import annotations

import os
import time
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate, chain
from operator import attrgetter
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui import gc_hold
from reflexng.gui.turns import NEXT_SLICE_MS

BASE_COLUMNS = ("File", "Category", "Status", "Reason")
STATUS_COLOURS = {
    "unclassified": "#fff3cd",
    "unreadable": "#f8d7da",
    "ambiguous": "#ffe5b4",
    "duplicate": "#e2e3e5",
}
_BACKGROUNDS = {status: QColor(c) for status, c in STATUS_COLOURS.items()}
_DISPLAY, _BACKGROUND, _TOOLTIP, _USER = (int(r) for r in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.UserRole))
_ROLES = frozenset((_DISPLAY, _BACKGROUND, _TOOLTIP, _USER))
ALL_STATUSES = "all statuses"
AUTO_KEYWORDS = 8  # keyword columns shown when the user never chose


def all_keywords(records: Sequence[Any]) -> list[str]:
    """Every header keyword of the records, in first-seen order (C-level loop: ~30 ms for
    100,000 files; called when the column menu opens, not after each organise)."""
    return list(dict.fromkeys(chain.from_iterable(r.headers for r in records)))


def first_keywords(records: Sequence[Any], n: int = AUTO_KEYWORDS) -> list[str]:
    """The first ``n`` keywords met (stops early: cheap on any number of files)."""
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r.headers))
        if len(keys) >= n:
            break
    return list(keys)[:n]


def shown_keywords(records: Sequence[Any], remembered: Sequence[str] | None) -> list[str]:
    """The remembered choice (those some file has, in the remembered order), else the first few."""
    if remembered is None:
        return first_keywords(records)
    return [k for k in remembered if any(k in r.headers for r in records)]


class FileTableModel(QAbstractTableModel):
    """Rows are :class:`reflexng.organiser.model.FileRecord`; data is computed on demand.

    The model filters itself (status and search text): the visible rows are a list of
    indices into ``records`` computed in one Python pass, so a search over 300,000 files
    costs no call per row from Qt (a ``QSortFilterProxyModel`` asks ``filterAcceptsRow``
    once per row)."""

    def __init__(self, records: Sequence[Any] = (), keywords: Sequence[str] = (), parent=None) -> None:
        super().__init__(parent)
        self.records: list[Any] = list(records)
        self.keywords: list[str] = list(keywords)
        # per column: text, row starts (an array: no container for the garbage collector to
        # walk, 300k entries x 12 columns would be ~30 ms of every full pass)
        self._keys: list[tuple[str, array]] | None = None
        self._visible: list[int] | None = None  # indices into records; None: every record
        self.status: str | None = None
        self.text = ""

    def set_records(self, records: Sequence[Any], keywords: Sequence[str] | None = None) -> None:
        self.beginResetModel()
        self.records = list(records)
        self._keys = None
        if keywords is not None:
            self.keywords = list(keywords)
        self._visible = self._filtered()
        self.endResetModel()

    # ------------------------------------------------------------------ filter
    def set_filter(self, text: str | None = None, status: str | None = ...) -> None:  # type: ignore[assignment]
        """Show the rows with this status (None: all) whose columns contain ``text``."""
        if text is not None:
            self.text = text.strip().lower()
        if status is not ...:
            self.status = status
        self.beginResetModel()
        self._visible = self._filtered()
        self.endResetModel()

    def _filtered(self) -> list[int] | None:
        recs = self.records
        if not self.status and not self.text:
            return None
        rows: list[int] | None = None
        if self.text:
            rows = self._search(self.text)
        if self.status:
            st = self.status
            rows = [i for i in (range(len(recs)) if rows is None else rows) if recs[i].status == st]
        return rows

    def _search(self, text: str) -> list[int]:
        """Rows (in order) with ``text`` in some column, case-insensitively: one ``str.find``
        loop over each column's text (all rows of a column joined, lower case) and a
        bisection from the match's offset to its row."""
        hits: set[int] = set()
        for column, starts in self.search_columns():
            pos = column.find(text)
            while pos >= 0:
                row = bisect_right(starts, pos) - 1
                hits.add(row)
                nxt = starts[row + 1] if row + 1 < len(starts) else len(column)
                pos = column.find(text, nxt)
        return sorted(hits)

    def search_columns(self) -> list[tuple[str, array]]:
        """Per column: the lower-case text of every row joined by newlines, and where each
        row starts (made on the first search, a column at a time, C loops mostly)."""
        if self._keys is None:
            self._keys = []
        ncols = len(BASE_COLUMNS) + len(self.keywords)
        while len(self._keys) < ncols:
            self._keys.append(self._column_text(len(self._keys)))
        return self._keys

    def warm(self, chunk: int = 5000):
        """A generator building the search columns a slice at a time (``FileTable`` runs it
        in idle time after loading, so the first search does not pay for them)."""
        recs = self.records
        if self._keys is None:
            self._keys = []
        ncols = len(BASE_COLUMNS) + len(self.keywords)
        while self.records is recs and self._keys is not None and len(self._keys) < ncols:
            col = len(self._keys)
            parts: list[str] = []  # each slice's rows in lower case, joined
            starts = array("q")  # where each row starts, made a slice at a time too
            offset = 0
            for lo in range(0, len(recs), chunk):
                part = self._texts(col, recs[lo:lo + chunk])
                joined = "\n".join(part)
                lowered = joined.lower()
                if len(lowered) != len(joined):  # a character whose lower case is longer (İ)
                    part = [t.lower() for t in part]
                    lowered = "\n".join(part)
                parts.append(lowered)
                at = array("q", accumulate((len(t) + 1 for t in part), initial=offset))
                offset = at.pop()
                starts.extend(at)
                yield
                if self.records is not recs or self._keys is None or len(self._keys) != col:
                    return  # new records, keywords or a search built it meanwhile
            # the slices were lowered one by one (a 300k-row column at once held the GUI
            # thread ~50 ms); joining them is one copy
            self._keys.append(("\n".join(parts), starts))
            yield

    def _column_text(self, col: int) -> tuple[str, array]:
        return self._finish(self._texts(col, self.records))

    def _texts(self, col: int, recs: Sequence[Any]) -> list[str]:
        if col == 0:
            sep = os.sep
            texts = [r.path[r.path.rfind(sep) + 1:] for r in recs]
        elif col == 1:
            texts = [r.category or "" for r in recs]
        elif col == 2:
            texts = [r.status for r in recs]
        elif col == 3:
            texts = [self._value(r, 3) if r.duplicate_of else r.reason for r in recs]
        else:
            k = self.keywords[col - len(BASE_COLUMNS)]
            vals = [r.headers.get(k) for r in recs]
            texts = ["" if v is None else v if v.__class__ is str else str(v) for v in vals]
        return texts

    @staticmethod
    def _finish(texts: list[str]) -> tuple[str, array]:
        joined = "\n".join(texts)
        lowered = joined.lower()
        if len(lowered) != len(joined):  # a character whose lower case is longer (İ)
            texts = [t.lower() for t in texts]
            lowered = "\n".join(texts)
        starts = array("q", accumulate((len(t) + 1 for t in texts), initial=0))
        starts.pop()
        return lowered, starts

    def search_key(self, row: int) -> str:
        """The search text of a visible row (its columns in lower case, tab-separated)."""
        i = self.source_row(row)
        out = []
        for column, starts in self.search_columns():
            end = starts[i + 1] - 1 if i + 1 < len(starts) else len(column)
            out.append(column[starts[i]:end])
        return "\t".join(out)

    def source_row(self, row: int) -> int:
        """Index in ``records`` of a visible row."""
        return row if self._visible is None else self._visible[row]

    def record(self, row: int) -> Any:
        return self.records[row if self._visible is None else self._visible[row]]

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        if parent.isValid():
            return 0
        return len(self.records) if self._visible is None else len(self._visible)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(BASE_COLUMNS) + len(self.keywords)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            if section < len(BASE_COLUMNS):
                return BASE_COLUMNS[section]
            return self.keywords[section - len(BASE_COLUMNS)]
        return None

    def value(self, row: int, col: int) -> Any:
        """The value of a visible row's column."""
        return self._value(self.record(row), col)

    def _value(self, r: Any, col: int) -> Any:
        if col == 0:
            return os.path.basename(r.path)
        if col == 1:
            return r.category or ""
        if col == 2:
            return r.status
        if col == 3:
            if r.duplicate_of:
                return r.reason or f"duplicate of {os.path.basename(r.duplicate_of)}"
            return r.reason
        v = r.headers.get(self.keywords[col - len(BASE_COLUMNS)])
        return "" if v is None else v

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort in Python with one key per row (100,000 rows in ~0.1 s instead of millions
        of ``data()`` calls); the filter stays."""
        if column < 0 or column >= self.columnCount():
            return
        self.layoutAboutToBeChanged.emit()
        recs = self.records
        value = self._value

        def key(i: int):
            v = value(recs[i], column)
            return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))

        order_idx = sorted(range(len(recs)), key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self.records = [recs[i] for i in order_idx]
        self._keys = None
        self._visible = self._filtered()
        self.layoutChanged.emit()

    def data(self, index, role=_DISPLAY):
        """Asked ~3,000 times per scroll step (cells x roles): the roles not shown return at
        once, the roles are compared as plain ints, the colours are made once."""
        if role not in _ROLES or not index.isValid():
            return None
        if role == _DISPLAY:
            v = self.value(index.row(), index.column())
            return v if v.__class__ is str else str(v)
        r = self.record(index.row())
        if role == _BACKGROUND:
            return _BACKGROUNDS.get(r.status)
        if role == _TOOLTIP:
            return f"{r.path}\n{r.reason}" if r.reason else r.path
        return r.path  # UserRole


def _text(v: Any) -> str:
    return "" if v is None else (v if isinstance(v, str) else str(v))


class FileTable(QWidget):
    """Table + search field + status filter + column chooser; ``sig_file_selected(path)`` on
    selection, ``sig_columns_changed(keywords)`` when the user picks other keyword columns."""

    sig_file_selected = Signal(str)
    sig_columns_changed = Signal(list)
    WARM_SLICE = 0.01  # seconds of search-text building per event-loop turn (beside a ~15 ms paint)
    WARM_PAUSE_S = 0.15  # no search-text building this long after the user scrolled

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = FileTableModel(parent=self)
        self.proxy = self.model  # the model filters itself (the rows the view shows)
        self.view = QTableView(self)
        self.view.setObjectName("fileTable")
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.search = QLineEdit(self)
        self.search.setObjectName("fileSearch")
        self.search.setPlaceholderText("Search files, categories, reasons, keywords…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda t: self.model.set_filter(text=t))
        self.status = QComboBox(self)
        self.status.setObjectName("fileStatusFilter")
        self.status.addItems([ALL_STATUSES, "ok", "unclassified", "unreadable", "ambiguous", "duplicate"])
        self.status.currentTextChanged.connect(
            lambda s: self.model.set_filter(status=None if s == ALL_STATUSES else s)
        )
        self.columns_button = QToolButton(self)
        self.columns_button.setObjectName("fileColumns")
        self.columns_button.setText("Columns")
        self.columns_button.setToolTip("Choose the header keywords shown as columns")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self.columns_button)
        self.columns_menu.setObjectName("fileColumnsMenu")
        self.columns_button.setMenu(self.columns_menu)
        self.columns_menu.aboutToShow.connect(self.fill_columns_menu)
        self.available: list[str] = []
        self.summary = QLabel(self)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.status)
        top.addWidget(self.columns_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.summary)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self._scrolled_at = 0.0  # when the user last scrolled (the search text waits meanwhile)
        for bar in (self.view.verticalScrollBar(), self.view.horizontalScrollBar()):
            bar.valueChanged.connect(self._scrolled)

    def _scrolled(self, _value: int) -> None:
        self._scrolled_at = time.perf_counter()

    def set_records(self, records: Sequence[Any], keywords: Sequence[str] = ()) -> None:
        self.model.set_records(records, keywords)
        gc_hold.hold(self, len(self.model.records))  # a large result: out of full GC passes
        self._start_warming()
        counts = Counter(map(attrgetter("status"), self.model.records))  # C loops: 300k in ~10 ms
        self.summary.setText(
            f"{len(self.model.records)} files: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        )
        self.view.resizeColumnToContents(0)

    def _start_warming(self) -> None:
        """Build the search text in idle time, slices of 5,000 rows for up to ``WARM_SLICE``
        seconds per event-loop turn (one chain of turns: it builds the newest records')."""
        self._warming = self.model.warm()
        self._warm_later(NEXT_SLICE_MS)

    def _warm_later(self, ms: int) -> None:
        if not getattr(self, "_warm_due", False):
            self._warm_due = True
            QTimer.singleShot(ms, self, self._warm_step)

    def _warm_step(self) -> None:
        self._warm_due = False
        gen = getattr(self, "_warming", None)
        if gen is None:
            return
        now = time.perf_counter()
        if now - self._scrolled_at < self.WARM_PAUSE_S:  # idle time only: not between scroll steps
            self._warm_later(int(self.WARM_PAUSE_S * 1000))
            return
        end = now + self.WARM_SLICE
        try:
            while time.perf_counter() < end:
                next(gen)
        except StopIteration:
            self._warming = None
            return
        self._warm_later(NEXT_SLICE_MS)

    # ------------------------------------------------------------------ column chooser
    def fill_columns_menu(self) -> None:
        """One checkable entry per header keyword of the shown files (when the menu opens)."""
        self.available = all_keywords(self.model.records)
        self.columns_menu.clear()
        shown = set(self.model.keywords)
        for k in self.available:
            a = self.columns_menu.addAction(k)
            a.setCheckable(True)
            a.setChecked(k in shown)
            a.toggled.connect(lambda _on, k=k: self._column_toggled())

    def shown_keywords(self) -> list[str]:
        return list(self.model.keywords)

    def set_keywords(self, keywords: Sequence[str]) -> None:
        """Show these keyword columns (the rows are kept)."""
        self.model.set_records(self.model.records, list(keywords))
        self._start_warming()
        wanted = set(keywords)
        for a in self.columns_menu.actions():
            a.blockSignals(True)
            a.setChecked(a.text() in wanted)
            a.blockSignals(False)

    def _column_toggled(self) -> None:
        checked = {a.text() for a in self.columns_menu.actions() if a.isChecked()}
        # keep the order of the columns shown, new ones at the end
        keys = [k for k in self.model.keywords if k in checked] + [
            k for k in self.available if k in checked and k not in self.model.keywords]
        self.model.set_records(self.model.records, keys)
        self._start_warming()
        self.sig_columns_changed.emit(keys)

    def _current_changed(self, current, _previous) -> None:
        if current.isValid():
            path = self.model.data(current, Qt.ItemDataRole.UserRole)
            if path:
                self.sig_file_selected.emit(path)
