"""Start the application: ``main(cascade, data_dirs, target, workdir) -> exit code``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def create_window(
    cascade: str | None = None,
    data_dirs: Sequence[str | os.PathLike] = (),
    target: str | None = None,
    workdir: str | os.PathLike | None = None,
):
    """Create (and return) the main window, with an application object if none exists."""
    from PySide6.QtWidgets import QApplication

    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences
    from reflexng.gui.theme import apply_theme, icon

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("reflexng")
    app.setOrganizationName("reflexng")
    app.setDesktopFileName("reflexng")
    app.setWindowIcon(icon("reflexng"))
    prefs = Preferences.load()
    apply_theme(app, prefs.theme)
    win = MainWindow(prefs)
    for d in data_dirs:
        win.session_bar.data_dirs.add_dir(str(d))
    if workdir is not None:
        win.session_bar.workdir.setText(str(workdir))
    if cascade:
        def then() -> None:
            if target:
                win.session_bar.target.setCurrentText(target)
            if data_dirs:
                win.controller.organise()

        win.controller.open_cascade(str(cascade), then)
    return win


def main(
    cascade: str | None = None,
    data_dirs: Sequence[str | os.PathLike] = (),
    target: str | None = None,
    workdir: str | os.PathLike | None = None,
) -> int:
    from PySide6.QtWidgets import QApplication

    win = create_window(cascade, data_dirs, target, workdir)
    win.show()
    return int(QApplication.instance().exec())
