"""Parameter editor for a job's recipe: typed widgets from ParameterSpecs in a scrollable
form, each parameter's description (the recipe's own words, esorex's help for ESO recipes)
as its tooltip, defaults shown, changed values highlighted and marked, reset (per parameter
and all)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

CHANGED_STYLE = "background-color: #fff2a8;"
BIG = 2**31 - 1


class FloatBox(QDoubleSpinBox):
    """A float field that shows values compactly (``15`` not ``15.000000``)."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt API
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        from PySide6.QtGui import QValidator

        t = text.strip()
        if t in ("", "-", "+", ".", "-.", "+.") or t.lower().endswith(("e", "e-", "e+")):
            return QValidator.State.Intermediate, text, pos
        try:
            float(t)
        except ValueError:
            return QValidator.State.Invalid, text, pos
        return QValidator.State.Acceptable, text, pos


def _editor_for(spec: Any) -> QWidget:
    if spec.choices is not None:
        w = QComboBox()
        for c in spec.choices:
            w.addItem(str(c), c)
        return w
    if spec.type == "bool":
        return QCheckBox()
    if spec.type == "int":
        w = QSpinBox()
        w.setRange(int(spec.min) if spec.min is not None else -BIG, int(spec.max) if spec.max is not None else BIG)
        return w
    if spec.type == "float":
        w = FloatBox()
        w.setDecimals(10)
        w.setRange(float(spec.min) if spec.min is not None else -1e300, float(spec.max) if spec.max is not None else 1e300)
        w.setSingleStep(0.1)
        return w
    return QLineEdit()


def widget_value(w: QWidget) -> Any:
    """The value an editor widget (combo, check box, spin box, line edit) holds."""
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, (QSpinBox, QDoubleSpinBox)):
        return w.value()
    return w.text()


def set_widget_value(w: QWidget, value: Any) -> None:
    """Show ``value`` in an editor widget made for its type."""
    if isinstance(w, QComboBox):
        i = w.findData(value)
        w.setCurrentIndex(i if i >= 0 else 0)
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QSpinBox):
        w.setValue(int(value))
    elif isinstance(w, QDoubleSpinBox):
        w.setValue(float(value))
    else:
        w.setText("" if value is None else str(value))


def _signal(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentIndexChanged
    if isinstance(w, QCheckBox):
        return w.toggled
    if isinstance(w, (QSpinBox, QDoubleSpinBox)):
        return w.valueChanged
    return w.textChanged


class ParameterEditor(QWidget):
    """``set_parameters(specs, effective, defaults)``; ``changed()`` returns the values that
    differ from the effective ones the job ran with (what Re-run needs)."""

    sig_changed = Signal(dict)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("parameterEditor")
        self.title = QLabel("No job selected", self)
        self.title.setWordWrap(True)
        self.changed_label = QLabel("", self)
        self.changed_label.setObjectName("changedParameters")
        self.form_widget = QWidget()
        self.form = QFormLayout(self.form_widget)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("parameterScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.form_widget)
        self.scroll.setMinimumHeight(60)
        self.reset_all = QPushButton("Reset all", self)
        self.reset_all.setObjectName("resetParameters")
        self.reset_all.clicked.connect(self.reset)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.changed_label)
        head.addWidget(self.reset_all)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.scroll, 1)
        self.specs: dict[str, Any] = {}
        self.editors: dict[str, QWidget] = {}
        self.markers: dict[str, QLabel] = {}
        self.effective: dict[str, Any] = {}
        self.defaults: dict[str, Any] = {}

    def set_parameters(
        self,
        specs: Sequence[Any],
        effective: Mapping[str, Any] | None = None,
        defaults: Mapping[str, Any] | None = None,
        title: str = "",
    ) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.specs = {s.name: s for s in specs}
        self.defaults = {s.name: s.default for s in specs} | dict(defaults or {})
        self.effective = dict(self.defaults) | dict(effective or {})
        self.editors = {}
        self.markers = {}
        self.title.setText(title or ("No parameters" if not specs else "Recipe parameters"))
        for s in specs:
            w = _editor_for(s)
            w.setObjectName(f"param_{s.name}")
            set_widget_value(w, self.effective[s.name])
            tip = parameter_tooltip(s, self.defaults[s.name], self.effective[s.name])
            w.setToolTip(tip)
            _signal(w).connect(lambda *_a, n=s.name: self._edited(n))
            reset = QToolButton()
            reset.setText("↺")
            reset.setToolTip(f"reset {s.name} to the value the job ran with ({self.effective[s.name]!r})")
            reset.clicked.connect(lambda _c=False, n=s.name: self.reset(n))
            text = f"default {self.defaults[s.name]!r}"
            default = QLabel()
            default.setStyleSheet("color: #555;")
            default.setText(default.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, 170))
            default.setToolTip(text)
            marker = QLabel("")
            marker.setObjectName(f"changed_{s.name}")
            marker.setMinimumWidth(70)
            row = QHBoxLayout()
            row.addWidget(w, 1)
            row.addWidget(default)
            row.addWidget(marker)
            row.addWidget(reset)
            label = QLabel(s.name)
            label.setToolTip(tip)
            self.form.addRow(label, row)
            self.editors[s.name] = w
            self.markers[s.name] = marker
        self._refresh_highlight()

    def values(self) -> dict[str, Any]:
        return {n: self.specs[n].coerce(widget_value(w)) for n, w in self.editors.items()}

    def changed(self) -> dict[str, Any]:
        out = {}
        for n, v in self.values().items():
            if v != self.effective.get(n):
                out[n] = v
        return out

    def set_value(self, name: str, value: Any) -> None:
        set_widget_value(self.editors[name], self.specs[name].coerce(value))

    def reset(self, name: str | None = None) -> None:
        for n in [name] if name else list(self.editors):
            set_widget_value(self.editors[n], self.effective[n])
        self._refresh_highlight()

    def _edited(self, _name: str) -> None:
        self._refresh_highlight()
        self.sig_changed.emit(self.changed())

    def _refresh_highlight(self) -> None:
        try:
            changed = self.changed()
        except ValueError:
            changed = {}
        for n, w in self.editors.items():
            w.setStyleSheet(CHANGED_STYLE if n in changed else "")
            w.setProperty("changed", n in changed)
            m = self.markers.get(n)
            if m is not None:
                m.setText("● changed" if n in changed else "")
                m.setToolTip(f"was {self.effective.get(n)!r} when the job ran" if n in changed else "")
        self.changed_label.setText(f"{len(changed)} changed" if changed else "")


def parameter_tooltip(spec: Any, default: Any, effective: Any) -> str:
    """A parameter's tooltip: its description (the recipe's words), type, range, choices,
    default and the value the job ran with."""
    from html import escape

    lines = [f"<b>{escape(spec.name)}</b> ({escape(str(spec.type))})"]
    if spec.description:
        lines.append(escape(spec.description))
    if spec.choices is not None:
        lines.append("choices: " + escape(", ".join(str(c) for c in spec.choices)))
    if spec.min is not None or spec.max is not None:
        lo = "" if spec.min is None else f"{spec.min:g}"
        hi = "" if spec.max is None else f"{spec.max:g}"
        lines.append(f"range: {lo} … {hi}")
    lines.append(f"default: {escape(repr(default))}; this job ran with {escape(repr(effective))}")
    return "<qt>" + "<br>".join(lines) + "</qt>"


def parameter_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Lines 'name: a -> b' (from ``a``, the older, to ``b``) for every parameter that differs."""
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append(f"{k}: {a.get(k)!r} -> {b.get(k)!r}")
    return out
