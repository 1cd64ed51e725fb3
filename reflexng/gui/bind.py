"""Bind Qt run controls to the session's :class:`~reflexng.engine.state.RunOptions` by option
name (the idea of glue's autoconnect): one helper instead of hand-written wiring per control.

``OptionBinding({"ordering": combo, "max_jobs": spin, ...}, session=lambda: s, on_error=f)``
pushes every change of a control into ``session().options.<name>`` (checked there; a refused
value is reported through ``on_error`` and the control goes back to the option's value), and
``values()`` gives the controls' values for a new Session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtWidgets import QAbstractButton, QComboBox, QSpinBox, QWidget


def _read(w: QWidget) -> Any:
    if isinstance(w, QComboBox):
        return w.currentText()
    if isinstance(w, QSpinBox):
        return w.value()
    if isinstance(w, QAbstractButton):
        return w.isChecked()
    raise TypeError(f"cannot bind a {type(w).__name__}")


def _write(w: QWidget, value: Any) -> None:
    w.blockSignals(True)
    try:
        if isinstance(w, QComboBox):
            w.setCurrentText(str(value))
        elif isinstance(w, QSpinBox):
            w.setValue(int(value))
        elif isinstance(w, QAbstractButton):
            w.setChecked(bool(value))
    finally:
        w.blockSignals(False)


def _changed(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentTextChanged
    if isinstance(w, QSpinBox):
        return w.valueChanged
    return w.toggled


class OptionBinding:
    def __init__(self, controls: Mapping[str, QWidget], session: Callable[[], Any],
                 on_error: Callable[[str], None]) -> None:
        self.controls = dict(controls)
        self._session = session
        self._on_error = on_error
        for name, w in self.controls.items():
            _changed(w).connect(lambda *_a, n=name: self._push(n))

    def values(self) -> dict[str, Any]:
        return {name: _read(w) for name, w in self.controls.items()}

    def _push(self, name: str) -> None:
        s = self._session()
        if s is None:
            return
        try:
            setattr(s.options, name, _read(self.controls[name]))
        except ValueError as exc:  # OptionError: say why, show the value in force
            self._on_error(str(exc))
            _write(self.controls[name], getattr(s.options, name))

    def show(self, options: Any) -> None:
        """Show the options' values in the controls (without feeding them back)."""
        for name, w in self.controls.items():
            _write(w, getattr(options, name))
