"""The main window opens at a size that fits the screen it is on, or at the size it had when
last closed (remembered in the preferences), never larger than the screen's free area."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

DEFAULT = (1400, 900)


def initial_size(available: tuple[int, int], remembered: list[int] | None) -> tuple[int, int]:
    """The size to open at: the remembered one (or DEFAULT), shrunk to 95 % of the screen's
    available area."""
    aw, ah = available
    w, h = remembered if remembered and len(remembered) == 2 else DEFAULT
    return max(640, min(int(w), int(aw * 0.95))), max(480, min(int(h), int(ah * 0.95)))


def fit_to_screen(window: QWidget, remembered: list[int] | None) -> tuple[int, int]:
    screen = window.screen()
    geo = screen.availableGeometry() if screen is not None else None
    available = (geo.width(), geo.height()) if geo is not None and geo.width() > 0 else DEFAULT
    size = initial_size(available, remembered)
    window.resize(*size)
    no_truncated_combos(window)
    if geo is not None and geo.width() > 0:
        window.move(geo.left() + (geo.width() - size[0]) // 2, geo.top() + (geo.height() - size[1]) // 2)
    return size


def no_truncated_combos(window: QWidget, min_chars: int = 22) -> None:
    """Every combo box shows its whole current text: short-item combos size to their
    contents; editable ones (paths) keep at least ``min_chars`` characters; every popup is as
    wide as its longest item."""
    for combo in window.findChildren(QComboBox):
        if combo.isEditable():
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(max(combo.minimumContentsLength(), min_chars))
        elif combo.sizeAdjustPolicy() == QComboBox.SizeAdjustPolicy.AdjustToContentsOnFirstShow:
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.view().setTextElideMode(combo.view().textElideMode().ElideNone)


def remember_size(window: QWidget, prefs) -> None:
    """Store the window's size (not when maximised: then the normal size)."""
    g = window.normalGeometry() if window.isMaximized() else window.geometry()
    prefs.window_size = [int(g.width()), int(g.height())]
    try:
        prefs.save()
    except OSError:
        pass
