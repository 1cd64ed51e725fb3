"""The GUI on an EDPS workflow package: open the package's ``*_wkf.py``, the cascade graph
shows its tasks, the "Placeholder recipes" toggle runs the whole job graph (real widgets,
offscreen; real child processes)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QCheckBox  # noqa: E402

from reflexng.simulate.imaging import generate  # noqa: E402


def test_placeholder_toggle_runs_an_edps_workflow(qtbot, edpsdemo, tmp_path, monkeypatch):
    monkeypatch.setenv("REFLEXNG_CONFIG_DIR", str(tmp_path / "config"))
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    raw = tmp_path / "raw"
    generate(raw, nights=1, seed=4, size=64, headers_only=True)
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=30000):
        c.open_cascade(str(edpsdemo / "edpsdemo_wkf.py"))
    assert {"bias", "dark", "flat", "reduce", "collect"} <= set(win.cascade_view.items_by_name)
    toggle = win.findChild(QCheckBox, "placeholderRecipes")
    assert toggle is not None and not toggle.isChecked()
    toggle.setChecked(True)
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(tmp_path / "work"))
    win.run_controls.ordering.setCurrentText("dfs")
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org:
        c.organise()
    result = org.args[0]
    assert c.session.placeholder_recipes
    assert all(j.recipe.startswith("placeholder:") for j in result.jobs.values())
    with qtbot.waitSignal(win.sig_run_finished, timeout=300000) as fin:
        qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    summary = fin.args[0]
    assert summary["ok"], summary
    assert {j["status"] for j in summary["jobs"] if j["task"] == "reduce"} == {"executed"}
    assert win.cascade_view.items_by_name["reduce"].state == "done"
    assert not (tmp_path / "work" / "end_products").exists()
