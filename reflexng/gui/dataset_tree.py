"""Datasets → jobs → inputs, with association level and time difference; complete or
incomplete (what is missing, in red); select datasets; untick single frames."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
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

from reflexng.gui.labels import dataset_label, dataset_tooltip

COLUMNS = ("Dataset / job / input", "Status", "Level", "Δt [d]", "Details")
RED = QColor("#c0392b")
KIND_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class DatasetTree(QWidget):
    """``sig_selection_changed(list[dataset id])``, ``sig_excluded_changed(list[path])``,
    ``sig_job_clicked(job id)``."""

    sig_selection_changed = Signal(list)
    sig_excluded_changed = Signal(list)
    sig_job_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("datasetTree")
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setColumnWidth(0, 260)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemClicked.connect(self._item_clicked)
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
        self._updating = False

    # ------------------------------------------------------------------ content
    def set_result(self, result: Any, excluded: Sequence[str] = ()) -> None:
        """Fill the tree from an :class:`~reflexng.organiser.model.OrganiseResult`; frames
        in ``excluded`` are listed unticked under "Excluded frames" (tick to take them back)."""
        self._updating = True
        self.result = result
        self.tree.clear()
        self._dataset_items.clear()
        self._job_items.clear()
        self._frame_items.clear()
        for ds in result.datasets:
            di = QTreeWidgetItem([dataset_label(result, ds), "new" if ds.complete else "incomplete", "", "", ""])
            di.setToolTip(0, dataset_tooltip(result, ds))
            di.setData(0, KIND_ROLE, "dataset")
            di.setData(0, ID_ROLE, ds.id)
            di.setFlags(di.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            di.setCheckState(0, Qt.CheckState.Checked if ds.complete else Qt.CheckState.Unchecked)
            if not ds.complete:
                di.setText(4, "missing: " + "; ".join(ds.missing))
                di.setForeground(4, QBrush(RED))
                di.setForeground(1, QBrush(RED))
            self.tree.addTopLevelItem(di)
            self._dataset_items[ds.id] = di
            for jid in ds.jobs:
                job = result.jobs.get(jid)
                if job is not None:
                    self._add_job(di, job)
        if excluded:
            xi = QTreeWidgetItem(["Excluded frames", f"{len(excluded)}", "", "", "kept in the work directory; tick to use again"])
            xi.setData(0, KIND_ROLE, "excluded")
            self.tree.addTopLevelItem(xi)
            for p in excluded:
                self._add_frame(xi, p, "excluded", None, None)
                self._frame_items[p][-1].setCheckState(0, Qt.CheckState.Unchecked)
            xi.setExpanded(True)
        self.tree.expandToDepth(1)
        self.tree.resizeColumnToContents(0)
        # wide enough for the readable names; the reason column scrolls into view, never off-screen
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), max(340, self.tree.viewport().width() // 2)))
        self._updating = False

    def _add_job(self, parent: QTreeWidgetItem, job: Any) -> None:
        ji = QTreeWidgetItem([f"{job.task}  ({job.recipe})", "" if job.complete else "incomplete", "", "", job.id])
        ji.setData(0, KIND_ROLE, "job")
        ji.setData(0, ID_ROLE, job.id)
        if not job.complete:
            ji.setText(4, "missing: " + "; ".join(job.missing))
            ji.setForeground(4, QBrush(RED))
            ji.setForeground(1, QBrush(RED))
        parent.addChild(ji)
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
            for cand in assoc.chosen:
                if cand.path:
                    self._add_frame(ji, cand.path, assoc.input, cand.level, cand.dt_days)
                else:
                    ci = QTreeWidgetItem(
                        [f"{assoc.input}: products of {cand.job_id}", "", _fmt_level(cand.level), _fmt_dt(cand.dt_days), "associated"]
                    )
                    ji.addChild(ci)
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

    def _add_frame(self, parent: QTreeWidgetItem, path: str, role: str, level, dt) -> None:
        fi = QTreeWidgetItem([os.path.basename(path), "", _fmt_level(level), _fmt_dt(dt), role])
        fi.setToolTip(0, path)
        fi.setData(0, KIND_ROLE, "frame")
        fi.setData(0, ID_ROLE, path)
        fi.setFlags(fi.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        fi.setCheckState(0, Qt.CheckState.Checked)
        parent.addChild(fi)
        self._frame_items.setdefault(path, []).append(fi)

    # ------------------------------------------------------------------ selection
    def selected_datasets(self) -> list[str]:
        return [i for i, it in self._dataset_items.items() if it.checkState(0) == Qt.CheckState.Checked]

    def excluded_files(self) -> list[str]:
        return sorted(p for p, items in self._frame_items.items() if items[0].checkState(0) == Qt.CheckState.Unchecked)

    def select_complete(self) -> None:
        self._updating = True
        for ds in self.result.datasets if self.result else ():
            self._dataset_items[ds.id].setCheckState(0, Qt.CheckState.Checked if ds.complete else Qt.CheckState.Unchecked)
        self._updating = False
        self.sig_selection_changed.emit(self.selected_datasets())

    def set_frame_excluded(self, path: str, excluded: bool) -> None:
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
            self._updating = True
            for other in self._frame_items.get(path, []):  # the same frame under other jobs
                other.setCheckState(0, item.checkState(0))
            self._updating = False
            self.sig_excluded_changed.emit(self.excluded_files())

    def _item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, KIND_ROLE) == "job":
            self.sig_job_clicked.emit(item.data(0, ID_ROLE))

    # ------------------------------------------------------------------ run status
    def set_job_state(self, job_id: str, state: str) -> None:
        for ji in self._job_items.get(job_id, []):
            ji.setText(1, state)
            ji.setForeground(1, QBrush(RED if state == "failed" else QColor("#222")))

    def set_dataset_status(self, dataset_id: str, status: str) -> None:
        """new / reduced / failed / stale."""
        di = self._dataset_items.get(dataset_id)
        if di is not None:
            di.setText(1, status)
            di.setForeground(1, QBrush(RED if status in ("failed", "incomplete") else QColor("#222")))

    def dataset_item(self, dataset_id: str) -> QTreeWidgetItem | None:
        return self._dataset_items.get(dataset_id)


def _fmt_level(level) -> str:
    return "" if level is None else str(level)


def _fmt_dt(dt) -> str:
    return "" if dt is None else f"{dt:+.3f}"
