"""Datasets → jobs → inputs, with association level and time difference; complete or
incomplete (what is missing, in red); select datasets; untick single frames."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui import gc_hold
from reflexng.gui.labels import dataset_label, dataset_tooltip, status_text_colour
from reflexng.gui.turns import NEXT_SLICE_MS

COLUMNS = ("Dataset / job / input", "Status", "Level", "Δt [d]", "Details")
RED = QColor("#c0392b")
KIND_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1
ASSOC_ROLE = Qt.ItemDataRole.UserRole + 2  # (job id, associated input, candidate path, candidate job)
OVERRIDE = QColor("#7b3fa0")


class DatasetTree(QWidget):
    """``sig_selection_changed(list[dataset id])``, ``sig_excluded_changed(list[path])``,
    ``sig_job_clicked(job id)``; ``sig_loaded`` once a result's items are all made."""

    sig_selection_changed = Signal(list)
    sig_excluded_changed = Signal(list)
    sig_job_clicked = Signal(str)
    sig_override = Signal(dict)  # {job_id, input, action: use|exclude, path, job}
    sig_override_removed = Signal(str, str)  # job id, associated input
    sig_loaded = Signal()  # every dataset's item made (and the first datasets' jobs and frames)
    EAGER_ITEMS = 2000  # jobs and frames made with their datasets; the rest when expanded
    SLICE = 0.03  # seconds of dataset items made per event-loop turn

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("datasetTree")
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setColumnWidth(0, 260)
        # one line per item: with uniform row heights the view need not measure each changed
        # item (a job state shown on 240 items took 45 ms of the GUI thread, 7 ms now)
        self.tree.setUniformRowHeights(True)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemClicked.connect(self._item_clicked)
        self.tree.itemExpanded.connect(self._expanded)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.select_complete_button = QPushButton("Select complete", self)
        self.select_complete_button.setObjectName("selectCompleteButton")
        self.select_complete_button.clicked.connect(self.select_complete)
        self.description = QLineEdit(self)
        self.description.setObjectName("runDescription")
        self.description.setPlaceholderText("Description of this run (kept with its provenance)")
        top = QHBoxLayout()
        top.addWidget(self.select_complete_button)
        top.addWidget(self.description, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.tree, 1)
        self.result: Any = None
        self._dataset_items: dict[str, QTreeWidgetItem] = {}
        self._job_items: dict[str, list[QTreeWidgetItem]] = {}
        self._frame_items: dict[str, list[QTreeWidgetItem]] = {}
        self._unfilled: dict[str, Any] = {}  # dataset id -> dataset whose jobs are not made yet
        self._job_states: dict[str, str] = {}  # shown on a job's items when they are made
        self._excluded: set[str] = set()  # unticked frames, shown or not
        self._statuses: dict[str, str] = {}  # dataset id -> run status (shown when made)
        self._pending: deque[Any] = deque()  # datasets whose items are not made yet
        self._to_fill: deque[str] = deque()  # datasets made, their jobs and frames to make up front
        self._budget = 0  # items below datasets still to make up front
        self._slicing = False
        self._loaded = True
        self._updating = False

    # ------------------------------------------------------------------ content
    def set_result(self, result: Any, excluded: Sequence[str] = ()) -> None:
        """Fill the tree from an :class:`~reflexng.organiser.model.OrganiseResult`; frames
        in ``excluded`` are listed unticked under "Excluded frames" (tick to take them back).

        Lazily, for 300,000 files and 6,666 datasets: the datasets' items are made in slices
        of ``SLICE`` seconds per event-loop turn (the first slice now: the tree shows at
        once); a dataset's jobs and frames are made with it while fewer than
        ``EAGER_ITEMS`` such items exist (those datasets are shown expanded, as every one
        was), the others' when the dataset is expanded or asked for (``dataset_item``)."""
        self._updating = True
        self.result = result
        self.tree.clear()
        self._dataset_items.clear()
        self._job_items.clear()
        self._frame_items.clear()
        self._unfilled.clear()
        self._job_states.clear()
        self._statuses.clear()
        self._excluded = set(excluded)
        self._pending = deque(result.datasets)
        self._to_fill.clear()
        self._loaded = False
        self._budget = self.EAGER_ITEMS
        gc_hold.hold(self, len(getattr(result, "files", ())))  # a large result: out of full GC passes
        if excluded:
            xi = QTreeWidgetItem(["Excluded frames", f"{len(excluded)}", "", "", "kept in the work directory; tick to use again"])
            xi.setData(0, KIND_ROLE, "excluded")
            for p in excluded:
                self._add_frame(xi, p, "excluded", None, None)
            self.tree.addTopLevelItem(xi)
            xi.setExpanded(True)
        self._updating = False
        self._make_datasets()
        self.tree.resizeColumnToContents(0)
        # wide enough for the readable names; the reason column scrolls into view, never off-screen
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), max(340, self.tree.viewport().width() // 2)))

    def _make_datasets(self, everything: bool = False) -> None:
        """Make the next slice of dataset items, then fill the first datasets while the
        slice lasts and ``EAGER_ITEMS`` allow (``everything``: all the dataset items now)."""
        self._slicing = False
        end = time.perf_counter() + self.SLICE
        batch: list[QTreeWidgetItem] = []
        pending, result, to_fill = self._pending, self.result, self._to_fill
        while pending and (everything or len(batch) < 50 or time.perf_counter() < end):
            ds = pending.popleft()
            batch.append(self._dataset_item(result, ds))
            if self._budget > 0:
                to_fill.append(ds.id)
        updating, self._updating = self._updating, True
        self.tree.insertTopLevelItems(len(self._dataset_items) - len(batch), batch)
        first = True
        while to_fill and self._budget > 0 and (first or time.perf_counter() < end):
            ds_id = to_fill.popleft()
            self._budget -= self._fill(ds_id)
            self._dataset_items[ds_id].setExpanded(True)
            first = False
        if self._budget <= 0:
            to_fill.clear()
        self._updating = updating
        if (pending or to_fill) and not self._slicing:
            self._slicing = True
            QTimer.singleShot(NEXT_SLICE_MS, self, self._make_datasets)
        elif not (pending or to_fill or self._loaded):
            self._loaded = True
            self.sig_loaded.emit()

    def _dataset_item(self, result: Any, ds: Any) -> QTreeWidgetItem:
        di = QTreeWidgetItem([dataset_label(result, ds), "new" if ds.complete else "incomplete", "", "", ""])
        di.setToolTip(0, dataset_tooltip(result, ds))
        di.setData(0, KIND_ROLE, "dataset")
        di.setData(0, ID_ROLE, ds.id)
        di.setFlags(di.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        di.setCheckState(0, Qt.CheckState.Checked if ds.complete else Qt.CheckState.Unchecked)
        if not ds.complete:
            _mark_missing(di, ds.missing)
        status = self._statuses.get(ds.id)
        if status is not None:
            _show_state(di, status)
        di.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        self._dataset_items[ds.id] = di
        self._unfilled[ds.id] = ds
        return di

    def _fill(self, dataset_id: str) -> int:
        """Make a dataset's jobs and their inputs (once); returns the number of items made."""
        ds = self._unfilled.pop(dataset_id, None)
        if ds is None:
            return 0
        updating, self._updating = self._updating, True
        di = self._dataset_items[dataset_id]
        jobs = [self._job_item(job) for jid in ds.jobs if (job := self.result.jobs.get(jid)) is not None]
        di.addChildren(jobs)
        di.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless)
        made = 0
        for ji in jobs:  # shown down to the inputs, as the tree always was (depth 1 expanded)
            ji.setExpanded(True)
            made += 1 + _count(ji)
        self._updating = updating
        return made

    def _expanded(self, item: QTreeWidgetItem) -> None:
        if item.data(0, KIND_ROLE) == "dataset":
            self._fill(item.data(0, ID_ROLE))

    def _job_item(self, job: Any) -> QTreeWidgetItem:
        """A job's item with its inputs (made outside the tree: no itemChanged per text)."""
        ji = QTreeWidgetItem([f"{job.task}  ({job.recipe})", "" if job.complete else "incomplete", "", "", job.id])
        ji.setData(0, KIND_ROLE, "job")
        ji.setData(0, ID_ROLE, job.id)
        if not job.complete:
            _mark_missing(ji, job.missing)
        state = self._job_states.get(job.id)
        if state is not None:
            _show_state(ji, state)
        self._job_items.setdefault(job.id, []).append(ji)
        for path in job.main:
            self._add_frame(ji, path, "main", None, None)
        for upstream in job.main_jobs:
            ui = QTreeWidgetItem([f"products of {upstream}", "", "", "", "main input"])
            ji.addChild(ui)
        for assoc in job.associated.values():
            if assoc.skipped_reason:
                si = QTreeWidgetItem([assoc.input, "not needed", "", "", assoc.skipped_reason])
                ji.addChild(si)
                continue
            overridden = "(override)" in (assoc.note or "")
            for cand in assoc.chosen:
                if cand.path:
                    self._add_frame(ji, cand.path, assoc.input, cand.level, cand.dt_days)
                    ci = ji.child(ji.childCount() - 1)
                else:
                    ci = QTreeWidgetItem(
                        [f"{assoc.input}: products of {cand.job_id}", "", _fmt_level(cand.level), _fmt_dt(cand.dt_days), "associated"]
                    )
                    ji.addChild(ci)
                ci.setData(0, ASSOC_ROLE, (job.id, assoc.input, cand.path, cand.job_id))
                alternatives = "; ".join(f"{os.path.basename(r.path or r.job_id or '')}: {r.reason}" for r in assoc.rejected[:5])
                ci.setToolTip(4, "right-click to use another candidate or exclude this one"
                              + (f"\nnot chosen: {alternatives}" if alternatives else ""))
                if overridden:
                    ci.setText(1, "override")
                    ci.setText(4, assoc.note)
                    for col in (0, 1, 4):
                        ci.setForeground(col, QBrush(OVERRIDE))
            if overridden and not assoc.chosen:
                oi = QTreeWidgetItem([assoc.input, "override", "", "", assoc.note])
                oi.setData(0, ASSOC_ROLE, (job.id, assoc.input, None, None))
                for col in (0, 1, 4):
                    oi.setForeground(col, QBrush(OVERRIDE))
                ji.addChild(oi)
            if not assoc.complete:
                mi = QTreeWidgetItem([assoc.input, "missing", "", "", assoc.missing])
                mi.setForeground(1, QBrush(RED))
                mi.setForeground(4, QBrush(RED))
                for r in assoc.rejected[:5]:
                    ri = QTreeWidgetItem(
                        [os.path.basename(r.path or r.job_id or ""), "rejected", _fmt_level(r.level), _fmt_dt(r.dt_days), r.reason]
                    )
                    mi.addChild(ri)
                ji.addChild(mi)
        return ji

    def _add_frame(self, parent: QTreeWidgetItem, path: str, role: str, level, dt) -> None:
        fi = QTreeWidgetItem([os.path.basename(path), "", _fmt_level(level), _fmt_dt(dt), role])
        fi.setToolTip(0, path)
        fi.setData(0, KIND_ROLE, "frame")
        fi.setData(0, ID_ROLE, path)
        fi.setFlags(fi.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        fi.setCheckState(0, Qt.CheckState.Unchecked if path in self._excluded else Qt.CheckState.Checked)
        parent.addChild(fi)
        self._frame_items.setdefault(path, []).append(fi)

    # ------------------------------------------------------------------ selection
    def selected_datasets(self) -> list[str]:
        """Ticked datasets, in order (those whose items are not made yet: if complete)."""
        return [i for i, it in self._dataset_items.items() if it.checkState(0) == Qt.CheckState.Checked] + [
            ds.id for ds in self._pending if ds.complete]

    def excluded_files(self) -> list[str]:
        """The unticked frames (those of datasets not yet shown included)."""
        return sorted(self._excluded)

    def select_complete(self) -> None:
        self._updating = True
        datasets = {ds.id: ds for ds in self.result.datasets} if self.result else {}
        for ds_id, di in self._dataset_items.items():  # those not made yet: ticked if complete
            di.setCheckState(0, Qt.CheckState.Checked if datasets[ds_id].complete else Qt.CheckState.Unchecked)
        self._updating = False
        self.sig_selection_changed.emit(self.selected_datasets())

    def set_frame_excluded(self, path: str, excluded: bool) -> None:
        if path not in self._frame_items:  # a frame of datasets not made yet: make them
            self._make_datasets(everything=True)
            for dataset_id in [d for d, ds in self._unfilled.items() if _has_frame(self.result, ds, path)]:
                self._fill(dataset_id)
        items = self._frame_items.get(path, [])
        if items:
            items[0].setCheckState(0, Qt.CheckState.Unchecked if excluded else Qt.CheckState.Checked)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 0:
            return
        kind = item.data(0, KIND_ROLE)
        if kind == "dataset":
            self.sig_selection_changed.emit(self.selected_datasets())
        elif kind == "frame":
            path = item.data(0, ID_ROLE)
            state = item.checkState(0)
            if state == Qt.CheckState.Unchecked:
                self._excluded.add(path)
            else:
                self._excluded.discard(path)
            self._updating = True
            for other in self._frame_items.get(path, []):  # the same frame under other jobs
                other.setCheckState(0, state)
            self._updating = False
            self.sig_excluded_changed.emit(self.excluded_files())

    def _item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, KIND_ROLE) == "job":
            self.sig_job_clicked.emit(item.data(0, ID_ROLE))

    # ------------------------------------------------------------------ run status
    # ------------------------------------------------------------------ association overrides
    def override_actions(self, item: QTreeWidgetItem) -> list[tuple[str, dict | None]]:
        """(menu text, override) offered for an associated input's item: each candidate the
        rule rejected (with why), excluding this one, and removing an override."""
        data = item.data(0, ASSOC_ROLE) if item is not None else None
        if not data or self.result is None:
            return []
        job_id, input_name, path, upstream = data
        job = self.result.jobs.get(job_id)
        assoc = job.associated.get(input_name) if job is not None else None
        if assoc is None:
            return []
        out: list[tuple[str, dict | None]] = []
        from reflexng.organiser.overrides import alternatives

        for r in alternatives(self.result, job_id, input_name):
            name = os.path.basename(r.path) if r.path else f"products of {r.job_id}"
            out.append((f"Use {name} instead — not chosen: {r.reason or 'lower rank'}",
                        {"job_id": job_id, "input": input_name, "action": "use", "path": r.path, "job": r.job_id}))
        if path or upstream:
            what = os.path.basename(path) if path else f"products of {upstream}"
            out.append((f"Exclude {what} for {input_name}",
                        {"job_id": job_id, "input": input_name, "action": "exclude", "path": path, "job": upstream}))
        if "(override)" in (assoc.note or ""):
            out.append((f"Remove the override of {input_name}", None))
        return out

    def _context_menu(self, pos) -> None:
        from PySide6.QtWidgets import QMenu

        item = self.tree.itemAt(pos)
        actions = self.override_actions(item)
        if not actions:
            return
        job_id, input_name = item.data(0, ASSOC_ROLE)[:2]
        menu = QMenu(self)
        for text, override in actions:
            act = menu.addAction(text)
            if override is None:
                act.triggered.connect(lambda _c=False, j=job_id, i=input_name: self.sig_override_removed.emit(j, i))
            else:
                act.triggered.connect(lambda _c=False, o=override: self.sig_override.emit(o))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def set_job_state(self, job_id: str, state: str) -> None:
        """Shown on the job's items now or when its dataset's items are made."""
        self._job_states[job_id] = state
        for ji in self._job_items.get(job_id, []):
            _show_state(ji, state)

    def set_job_states(self, states: Mapping[str, str]) -> None:
        """``set_job_state`` for many jobs (a result's restored states): kept, and shown on
        the items made so far only (the others show theirs when they are made)."""
        self._job_states.update(states)
        for job_id, items in self._job_items.items():
            state = states.get(job_id)
            if state is not None:
                for ji in items:
                    _show_state(ji, state)

    def set_dataset_status(self, dataset_id: str, status: str) -> None:
        """new / reduced / failed / cancelled / stale / incomplete."""
        self._statuses[dataset_id] = status
        di = self._dataset_items.get(dataset_id)
        if di is not None:
            _show_state(di, status)

    def is_loaded(self) -> bool:
        """Every dataset's item made (``sig_loaded`` was emitted)?"""
        return self._loaded

    def dataset_item(self, dataset_id: str) -> QTreeWidgetItem | None:
        """The dataset's item, its jobs and inputs made if they were not yet."""
        if dataset_id not in self._dataset_items and self._pending:
            self._make_datasets(everything=True)
        self._fill(dataset_id)
        return self._dataset_items.get(dataset_id)


def _show_state(job_item: QTreeWidgetItem, state: str) -> None:
    job_item.setText(1, state)
    job_item.setForeground(1, QBrush(QColor(status_text_colour(state))))


def _mark_missing(item: QTreeWidgetItem, missing) -> None:
    """An incomplete dataset's or job's item: what is missing, in red."""
    item.setText(4, "missing: " + "; ".join(missing))
    item.setForeground(4, QBrush(RED))
    item.setForeground(1, QBrush(RED))


def _count(item: QTreeWidgetItem) -> int:
    """Items below ``item``."""
    n = item.childCount()
    return n + sum(_count(item.child(i)) for i in range(n))


def _has_frame(result: Any, ds: Any, path: str) -> bool:
    """Is ``path`` an input frame of one of the dataset's jobs?"""
    for jid in ds.jobs:
        job = result.jobs.get(jid)
        if job is not None and (path in job.main or any(
                c.path == path for a in job.associated.values() for c in a.chosen)):
            return True
    return False


def _fmt_level(level) -> str:
    return "" if level is None else str(level)


def _fmt_dt(dt) -> str:
    return "" if dt is None else f"{dt:+.3f}"
