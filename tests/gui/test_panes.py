"""Workflow parameters (edit → organise again off the GUI thread), the cascade colour
legend, the file-table column chooser (remembered in the preferences) and the widget-leak
check itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from gui_support import write_image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from reflexng.gui.file_table import all_keywords, shown_keywords


@pytest.fixture(scope="module")
def spectro_headers(tmp_path_factory):
    from reflexng.simulate.spectroscopy import generate

    out = tmp_path_factory.mktemp("demo_spec_headers")
    generate(out, nights=1, headers_only=True)
    return out


def _open(qtbot, name):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    win = MainWindow(Preferences.load())
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        win.controller.open_cascade(name)
    return win


def _science_flats(result) -> dict[str, int]:
    """flat_strategy job -> how many raw science frames it is associated with."""
    out = {}
    for jid, job in result.jobs.items():
        if job.task == "flat_strategy":
            a = job.associated.get("RAW_SCIENCE")
            out[jid] = len(a.chosen) if a is not None else 0
    return out


def test_workflow_parameter_reorganises_off_the_gui_thread(qtbot, spectro_headers, tmp_path):
    win = _open(qtbot, "demo_spectroscopy")
    pane = win.workflow_parameters
    assert win.findChild(type(pane), "workflowParameters") is pane and pane.isVisible()
    combo = pane.editors["flat_strategy"]
    assert isinstance(combo, QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())] == ["close_in_time", "science_flat"]
    assert combo.currentText() == "close_in_time"
    assert "flat for the standard star" in combo.toolTip()
    assert combo.property("changed") is False

    win.session_bar.data_dirs.add_dir(str(spectro_headers))
    win.session_bar.workdir.setText(str(tmp_path / "work"))
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org:
        win.controller.organise()
    before = _science_flats(org.args[0])
    assert before and set(before.values()) == {0}
    n_datasets = len(org.args[0].datasets)

    threads: list[threading.Thread] = []
    win.controller.session.subscribe(lambda ev: ev.kind == "organised" and threads.append(threading.current_thread()))
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org2:
        combo.setCurrentIndex(combo.findText("science_flat"))
    after = org2.args[0]
    assert threads and threads[0] is not threading.main_thread()  # organised in a worker
    assert after.workflow_parameters["flat_strategy"] == "science_flat"
    # the standard star's flat job now also gets the science frame whose flat it uses
    assert set(_science_flats(after).values()) == {1}
    assert all(after.jobs[j].parameters["strategy"] == "science_flat" for j in _science_flats(after))
    assert len(after.datasets) == n_datasets
    assert combo.property("changed") is True and "background" in combo.styleSheet()
    assert pane.overrides() == {"flat_strategy": "science_flat"}
    assert win.controller.session.workflow_parameters == {"flat_strategy": "science_flat"}

    # reset: back to the cascade value, organised again
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org3:
        pane.reset()
    assert set(_science_flats(org3.args[0]).values()) == {0}
    assert combo.property("changed") is False and pane.overrides() == {}


def test_workflow_parameter_before_organising_is_used_by_organise(qtbot, spectro_headers, tmp_path):
    win = _open(qtbot, "demo_spectroscopy")
    win.workflow_parameters.set_value("flat_strategy", "science_flat")
    assert win.controller.session is None
    win.session_bar.data_dirs.add_dir(str(spectro_headers))
    win.session_bar.workdir.setText(str(tmp_path / "work"))
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org:
        win.controller.organise()
    assert org.args[0].workflow_parameters["flat_strategy"] == "science_flat"
    assert set(_science_flats(org.args[0]).values()) == {1}


def test_legend_matches_the_colours_drawn(qtbot, mini_cascade):
    from reflexng.gui.cascade_view import (
        GREY,
        ROLE_COLOURS,
        STATE_COLOURS,
        CascadeLegend,
        CascadeView,
    )
    from reflexng.gui.graph_model import CALIBRATION, JOB_STATES, SCIENCE

    view = CascadeView()
    qtbot.addWidget(view)
    legend = CascadeLegend()
    qtbot.addWidget(legend)
    assert legend.objectName() == "cascadeLegend"
    view.set_cascade(mini_cascade, target="science")
    items = view.items_by_name
    assert legend.colour_of("calibration task") == items["bias"].brush().color().name() == ROLE_COLOURS[CALIBRATION]
    assert legend.colour_of("science task") == items["science"].brush().color().name() == ROLE_COLOURS[SCIENCE]
    assert legend.colour_of("data source") == items["RAW_BIAS"].brush().color().name()
    assert legend.colour_of("outside the target") == items["dark"].brush().color().name() == GREY
    # every state a task can show has an entry with the colour the node gets
    for state in JOB_STATES:
        view.set_task_states({}, {"bias": state})
        assert legend.colour_of(state) == items["bias"].brush().color().name() == STATE_COLOURS[state]
    view.set_task_states({}, {"bias": "partial"})
    assert legend.colour_of("partly done") == items["bias"].brush().color().name()


def test_legend_in_main_window_can_be_hidden(qtbot):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    legend = win.cascade_legend
    assert legend.isVisible()
    # under the cascade view, not over it
    top_of_legend = legend.mapTo(win, legend.rect().topLeft()).y()
    view = win.cascade_view
    assert top_of_legend >= view.mapTo(win, view.rect().bottomLeft()).y()
    assert legend.width() <= view.width() + 2
    win.legend_action.setChecked(False)
    assert not legend.isVisible()


def test_shown_keywords_rule():
    from reflexng.organiser.model import FileRecord

    def rec(i, keys):
        return FileRecord(f"/raw/{i}.fits", 1, 0, "ok", headers={k: 1 for k in keys})

    recs = [rec(0, [f"K{i}" for i in range(6)]), rec(1, [f"K{i}" for i in range(4, 12)])]
    assert all_keywords(recs) == [f"K{i}" for i in range(12)]
    assert shown_keywords(recs, None) == [f"K{i}" for i in range(8)]  # the first few
    assert shown_keywords(recs, ["K11", "GONE", "K3"]) == ["K11", "K3"]  # remembered, if some file has it
    assert shown_keywords(recs, []) == []


def test_column_chooser_widget(qtbot, organise_result):
    from reflexng.gui.file_table import BASE_COLUMNS, FileTable

    ft = FileTable()
    qtbot.addWidget(ft)
    recs = list(organise_result.files)
    recs[0].headers["EXPTIME"] = 10.0
    avail = all_keywords(recs)
    assert avail == ["DPR.TYPE", "EXPTIME"]
    ft.set_records(recs, ["DPR.TYPE"])
    ft.columns_menu.aboutToShow.emit()  # the menu lists the keywords when it opens
    actions = {a.text(): a for a in ft.columns_menu.actions()}
    assert set(actions) == {"DPR.TYPE", "EXPTIME"} and actions["DPR.TYPE"].isChecked()
    with qtbot.waitSignal(ft.sig_columns_changed) as sig:
        actions["EXPTIME"].setChecked(True)
    assert sig.args == [["DPR.TYPE", "EXPTIME"]]
    headers = [ft.model.headerData(i, Qt.Orientation.Horizontal)
               for i in range(ft.model.columnCount())]
    assert headers == [*BASE_COLUMNS, "DPR.TYPE", "EXPTIME"]
    assert ft.proxy.rowCount() == len(recs)  # rows kept
    with qtbot.waitSignal(ft.sig_columns_changed) as sig:
        actions["DPR.TYPE"].setChecked(False)
    assert sig.args == [["EXPTIME"]] and ft.model.columnCount() == len(BASE_COLUMNS) + 1


CASCADE = textwrap.dedent(
    """
    from reflexng.cascade import task, data_source, classification_rule, metadata

    metadata("cols", instrument="TEST", default_target="bias")
    raw_bias = (data_source("RAW_BIAS")
                .with_classification_rule(classification_rule("BIAS", {"DPR.TYPE": "BIAS"}))
                .with_grouping_keywords(["INSTRUME", "DET.BINX"]).build())
    bias = task("bias").with_recipe("test_noop").with_main_input(raw_bias).build()
    """
)


def test_column_choice_remembered_in_preferences(qtbot, tmp_path):
    from reflexng.gui.preferences import Preferences

    cascade = tmp_path / "cols.py"
    cascade.write_text(CASCADE)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(2):
        write_image(raw / f"b{i}.fits", np.zeros((4, 4), np.float32),
                    {"HIERARCH ESO DPR TYPE": "BIAS", "INSTRUME": "TEST", "HIERARCH ESO DET BINX": 1})

    def organised_window():
        win = _open(qtbot, str(cascade))
        win.session_bar.data_dirs.add_dir(str(raw))
        win.session_bar.workdir.setText(str(tmp_path / "work"))
        with qtbot.waitSignal(win.sig_organised, timeout=30000):
            win.controller.organise()
        return win

    win = organised_window()
    ft = win.file_table
    shown = ft.shown_keywords()
    assert "DET.BINX" in shown and "INSTRUME" in shown  # never chosen: the first few
    ft.columns_menu.aboutToShow.emit()
    action = next(a for a in ft.columns_menu.actions() if a.text() == "DET.BINX")
    action.setChecked(False)
    prefs_file = Path(Preferences.path())
    saved = json.loads(prefs_file.read_text())
    assert saved["file_table_keywords"] == [k for k in shown if k != "DET.BINX"]
    win.close()

    win2 = organised_window()  # a new window reads the preferences again
    assert win2.file_table.shown_keywords() == saved["file_table_keywords"]
    win2.file_table.columns_menu.aboutToShow.emit()
    assert not next(a for a in win2.file_table.columns_menu.actions() if a.text() == "DET.BINX").isChecked()


def test_damaged_column_preference_is_ignored(tmp_path):
    from reflexng.gui.preferences import Preferences

    Preferences.path().parent.mkdir(parents=True, exist_ok=True)
    Preferences.path().write_text(json.dumps({"file_table_keywords": "DET.BINX", "theme": "dark"}))
    p = Preferences.load()
    assert p.file_table_keywords is None and p.theme == "dark"


LEAKY = textwrap.dedent(
    """
    from PySide6.QtWidgets import QLabel, QWidget

    KEEP = []

    def test_leaks(qtbot):
        w = QWidget()
        w.setObjectName("leakyWidget")
        w.show()
        KEEP.append(w)  # nobody closes or deletes it

    def test_clean(qtbot):
        w = QWidget()
        w.setObjectName("cleanWidget")
        qtbot.addWidget(w)
        QLabel("child", w)
        w.show()
    """
)


def test_leak_check_fails_a_leaking_test(tmp_path):
    here = Path(__file__).parent
    for name in ("conftest.py", "gui_support.py", "_leaks.py"):
        (tmp_path / name).write_text((here / name).read_text())
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    (tmp_path / "pytest.ini").write_text("[pytest]\nqt_api = pyside6\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "ERROR test_leaky.py::test_leaks" in out and "QWidget(leakyWidget)" in out
    # the leaking test itself passed, its teardown errors; the clean one passes
    assert "2 passed, 1 error" in out and "test_clean" not in out.split("short test summary")[-1]
