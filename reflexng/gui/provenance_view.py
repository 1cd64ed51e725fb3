"""Provenance view: runs and their jobs, attempts, and the tree from an end product back to
the raw files (recipe and parameters at every step); open the job folder, copy the replay
command, open the product, export PROV-JSON."""

from __future__ import annotations

import json
import os
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from reflexng.provenance import trace

ATTEMPT_ROLE = Qt.ItemDataRole.UserRole
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ROLE = Qt.ItemDataRole.UserRole + 2


def gather(store: Any, end_products: list[str] | None = None) -> tuple[list, dict, dict]:
    """Everything the view shows, read in a worker: the run history (one query), the run
    descriptions and the tree of each end product."""
    from reflexng.provenance.history import run_history

    notes = {str(r["id"]): r["description"] for r in store.runs() if r.get("description")}
    trees = {p: trace.tree(store, p) for p in end_products or ()}  # the tree `reflexng provenance` prints
    return run_history(store), notes, trees


class ProvenanceView(QWidget):
    """``sig_refreshed()`` once the view shows what :meth:`refresh_async` read."""

    sig_open_product = Signal(str)
    sig_refreshed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("provenanceView")
        self.tree.setHeaderLabels(["Run / job / product ← inputs", "Category / status", "Recipe", "Parameters"])
        self.tree.setColumnWidth(0, 300)
        self.tree.itemExpanded.connect(self._expanded)
        self.open_folder_button = QPushButton("Open job folder", self)
        self.copy_replay_button = QPushButton("Copy replay command", self)
        self.open_product_button = QPushButton("Open product", self)
        self.export_button = QPushButton("Export PROV-JSON…", self)
        self.open_folder_button.clicked.connect(self.open_job_folder)
        self.copy_replay_button.clicked.connect(self.copy_replay)
        self.open_product_button.clicked.connect(self._open_product)
        bar = QHBoxLayout()
        for b in (self.open_folder_button, self.copy_replay_button, self.open_product_button, self.export_button):
            bar.addWidget(b)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.tree, 1)
        self.store: Any = None
        self.trees: dict[str, dict[str, Any]] = {}  # end product -> reflexng.provenance.trace.tree()

    def refresh(self, store: Any, end_products: list[str] | None = None) -> None:
        """Fill from ``store`` on the calling thread (scripts; the window uses :meth:`refresh_async`)."""
        if store is None:
            self.fill(None, [], {}, {})
            return
        self.fill(store, *gather(store, end_products))

    def refresh_async(self, store: Any, end_products: list[str] | None = None) -> None:
        """Read the history and trees in a worker, then fill (the newest request wins)."""
        from reflexng.gui.worker import start_worker

        self._generation = getattr(self, "_generation", 0) + 1
        gen = self._generation

        def done(r) -> None:
            if gen == self._generation and shiboken6.isValid(self):
                self.fill(store, *r)

        start_worker(gather, store, end_products, on_finished=done,
                     on_failed=lambda m, _t: self.tree.setToolTip(f"cannot read the provenance: {m}"))

    def fill(self, store: Any, history: list, notes: dict, trees: dict) -> None:
        """Show what :func:`gather` read: one item per run (its attempts are added when it is
        expanded, so 100 runs of 100 attempts cost 100 items) and each end product's tree."""
        self.store = store
        self.tree.clear()
        self.trees = dict(trees)
        for run in history:
            label = f"run {run.id}  {run.cascade} → {run.target}"
            note = notes.get(str(run.id))
            ri = QTreeWidgetItem([label + (f" — {note}" if note else ""), run.status, "", f"{len(run.attempts)} attempts"])
            ri.setData(0, RUN_ROLE, run)
            if run.attempts:
                ri.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self.tree.addTopLevelItem(ri)
        if trees:
            top = QTreeWidgetItem(["End products", "", "", ""])
            self.tree.insertTopLevelItem(0, top)
            for node in trees.values():
                top.addChild(self._node_item(node))
            top.setExpanded(True)
        if self.tree.topLevelItemCount():
            self.tree.topLevelItem(0).setExpanded(True)
        self.sig_refreshed.emit()

    def _expanded(self, item: QTreeWidgetItem) -> None:
        run = item.data(0, RUN_ROLE)
        if run is None or item.childCount():
            return
        for a in run.attempts:
            item.addChild(self._attempt_item(a))

    def _attempt_item(self, a: Any) -> QTreeWidgetItem:
        it = QTreeWidgetItem([f"{a.job_id}  attempt {a.attempt}", a.status, f"{a.recipe} {a.version}", _params(a.parameters)])
        it.setData(0, ATTEMPT_ROLE, a.id)
        if a.exit_reason:
            it.setToolTip(1, a.exit_reason)
        for o in a.outputs or ():
            oi = QTreeWidgetItem([os.path.basename(o["path"]), o.get("category") or "", "", ""])
            oi.setData(0, PATH_ROLE, o["path"])
            oi.setData(0, ATTEMPT_ROLE, a.id)
            it.addChild(oi)
        return it

    def _node_item(self, node: dict[str, Any]) -> QTreeWidgetItem:
        j = node.get("job")
        it = QTreeWidgetItem([
            os.path.basename(node["path"]),
            node.get("category") or ("raw" if node["kind"] == "raw" else ""),
            f"{j['task']}: {j['recipe']} {j['version']} (attempt {j['attempt']})" if j else "raw file",
            _params(j["parameters"]) if j else "",
        ])
        it.setToolTip(0, node["path"] + (f" (copy of {node['copy_of']})" if node.get("copy_of") else ""))
        it.setData(0, PATH_ROLE, node["path"])
        if j is not None:
            it.setData(0, ATTEMPT_ROLE, j["attempt_id"])
        for child in node.get("inputs", []):
            it.addChild(self._node_item(child))
        it.setExpanded(True)
        return it

    # ------------------------------------------------------------------ actions
    def current_attempt(self) -> Any:
        item = self.tree.currentItem()
        aid = item.data(0, ATTEMPT_ROLE) if item is not None else None
        return self.store.attempt(int(aid)) if (aid is not None and self.store is not None) else None

    def current_path(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, PATH_ROLE) if item is not None else None

    def open_job_folder(self) -> bool:
        a = self.current_attempt()
        return bool(a) and QDesktopServices.openUrl(QUrl.fromLocalFile(a.jobdir))

    def copy_replay(self) -> str:
        a = self.current_attempt()
        if a is None:
            return ""
        cmd = trace.replay_command(a.jobdir)
        QGuiApplication.clipboard().setText(cmd)
        return cmd

    def _open_product(self) -> None:
        p = self.current_path()
        if p:
            self.sig_open_product.emit(p)

    def export_prov_json(self, product: str, path: str) -> None:
        trace.write_prov_json(self.trees.get(product) or trace.tree(self.store, product), path)


def _params(p: dict) -> str:
    return json.dumps(p, sort_keys=True) if p else ""
