"""The cascade's workflow parameters (object name ``workflowParameters``): choices as combo
boxes, the description as tooltip, values that differ from the cascade / parameter set
highlighted. Each change emits ``sig_changed(overrides)``; the controller organises again
off the GUI thread."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from reflexng.gui.parameter_editor import BIG, CHANGED_STYLE, set_widget_value, widget_value


def base_values(cascade: Any, parameter_set: str | None = None) -> dict[str, Any]:
    """Workflow parameter values before the user's overrides: cascade default < parameter set."""
    from reflexng.cascade.parameters import workflow_values

    ps = (getattr(cascade, "parameter_sets", {}) or {}).get(parameter_set) if parameter_set else None
    try:
        return workflow_values(cascade, ps)
    except ValueError:  # a broken parameter set: validation reports it; show the defaults
        return workflow_values(cascade)


def _editor(p: Any) -> QWidget:
    if p.choices is not None:
        w = QComboBox()
        for c in p.choices:
            w.addItem(str(c), c)
        return w
    d = p.default
    if isinstance(d, bool):
        return QCheckBox()
    if isinstance(d, int):
        w = QSpinBox()
        w.setRange(-BIG, BIG)
        return w
    if isinstance(d, float):
        w = QDoubleSpinBox()
        w.setDecimals(6)
        w.setRange(-1e300, 1e300)
        return w
    return QLineEdit()


def _set(w: QWidget, v: Any) -> None:
    """Set an editor without emitting its change signal."""
    w.blockSignals(True)
    set_widget_value(w, v)
    w.blockSignals(False)


class WorkflowParametersPane(QWidget):
    """One labelled editor per workflow parameter in a row; hidden when the cascade has none."""

    sig_changed = Signal(dict)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("workflowParameters")
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(4, 0, 4, 0)
        self.editors: dict[str, QWidget] = {}
        self.params: dict[str, Any] = {}
        self.base: dict[str, Any] = {}
        self.setVisible(False)

    def set_cascade(self, cascade: Any, parameter_set: str | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        while self.row.count():
            item = self.row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.editors, self.params = {}, dict(getattr(cascade, "workflow_parameters", {}) or {})
        self.base = base_values(cascade, parameter_set) if self.params else {}
        if self.params:
            title = QLabel("<b>Workflow</b>", self)
            title.setToolTip("Workflow parameters of the cascade; a change organises the data again")
            self.row.addWidget(title)
        for name, p in self.params.items():
            w = _editor(p)
            w.setObjectName(f"workflow_{name}")
            tip = f"{p.description or name}\ncascade default: {p.default!r} ({p.location})"
            w.setToolTip(tip)
            label = QLabel(name, self)
            label.setToolTip(tip)
            _set(w, (overrides or {}).get(name, self.base.get(name, p.default)))
            if isinstance(w, QComboBox):
                w.currentIndexChanged.connect(lambda *_a: self._edited())
            elif isinstance(w, QCheckBox):
                w.toggled.connect(lambda *_a: self._edited())
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                w.editingFinished.connect(self._edited)
            else:
                w.editingFinished.connect(self._edited)
            self.row.addWidget(label)
            self.row.addWidget(w)
            self.editors[name] = w
        if self.params:
            reset = QToolButton(self)
            reset.setObjectName("workflowReset")
            reset.setText("↺")
            reset.setToolTip("Reset the workflow parameters to the cascade / parameter set values")
            reset.clicked.connect(self.reset)
            self.row.addWidget(reset)
        self.row.addStretch(1)
        self.setVisible(bool(self.params))
        self._highlight()

    def set_base(self, base: Mapping[str, Any]) -> None:
        """New values before overrides (another parameter set); keeps the user's overrides."""
        overrides = self.overrides()
        self.base = dict(base)
        for n, w in self.editors.items():
            _set(w, overrides.get(n, self.base.get(n)))
        self._highlight()

    def values(self) -> dict[str, Any]:
        return {n: widget_value(w) for n, w in self.editors.items()}

    def overrides(self) -> dict[str, Any]:
        """The values the user changed (differing from the cascade / parameter set)."""
        return {n: v for n, v in self.values().items() if v != self.base.get(n)}

    def set_value(self, name: str, value: Any) -> None:
        """Set one value as the user would (emits ``sig_changed``)."""
        _set(self.editors[name], value)
        self._edited()

    def reset(self) -> None:
        changed = bool(self.overrides())
        for n, w in self.editors.items():
            _set(w, self.base.get(n))
        if changed:
            self._edited()

    def _edited(self) -> None:
        self._highlight()
        self.sig_changed.emit(self.overrides())

    def _highlight(self) -> None:
        ov = self.overrides()
        for n, w in self.editors.items():
            w.setStyleSheet(CHANGED_STYLE if n in ov else "")
            w.setProperty("changed", n in ov)
