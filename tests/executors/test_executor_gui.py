"""The GUI with the dask executor: executor preference, workers and dashboard link in the status
bar, the resource trace in the task pane, the run timeline dialog (real widgets, offscreen)."""

from __future__ import annotations

import textwrap

import numpy as np


def write_image(path, data, cards):
    from astropy.io import fits

    hdu = fits.PrimaryHDU(data)
    for k, v in cards.items():
        hdu.header[k] = v
    hdu.writeto(path)
    return path

CASCADE = textwrap.dedent(
    """
    from reflexng.cascade import task, data_source, classification_rule, metadata

    metadata("gui_exec", instrument="TEST", default_target="science")
    raw_bias = (data_source("RAW_BIAS")
                .with_classification_rule(classification_rule("BIAS", {"DPR.TYPE": "BIAS"}))
                .with_grouping_keywords(["INSTRUME"]).with_match_keywords(["INSTRUME"]).build())
    raw_sci = data_source("RAW_SCIENCE").with_classification_rule(
        classification_rule("SCIENCE", {"DPR.TYPE": "OBJECT"})).build()
    bias = (task("bias").with_recipe("test_cpu").with_main_input(raw_bias)
            .with_recipe_parameters({"category": "MASTER_BIAS", "work": 500000}).build())
    science = (task("science").with_recipe("test_noop").with_main_input(raw_sci)
               .with_associated_input(bias)
               .with_recipe_parameters({"category": "SCIENCE_REDUCED"}).build())
    """
)


def test_preferences_dialog_keeps_the_executor(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("REFLEXNG_CONFIG_DIR", str(tmp_path / "cfg"))
    from reflexng.gui.preferences import Preferences
    from reflexng.gui.preferences_dialog import PreferencesDialog

    prefs = Preferences()
    dlg = PreferencesDialog(prefs)
    qtbot.addWidget(dlg)
    assert dlg.executor.currentData() == "" and dlg.executor.objectName() == "preferencesExecutor"
    dlg.executor.setCurrentIndex(dlg.executor.findData("spawn"))
    dlg.dask_scheduler.setText(" tcp://h:8786 ")
    dlg.apply()
    again = Preferences.load()
    assert again.executor == "spawn" and again.dask_scheduler == "tcp://h:8786"
    (tmp_path / "cfg" / "preferences.json").write_text('{"executor": "nonsense"}')
    assert Preferences.load().executor == ""


def test_dask_run_shows_workers_dashboard_trace_and_timeline(qtbot, tmp_path, monkeypatch):
    import os

    import pytest

    if not os.environ.get("CI"):
        pytest.importorskip("distributed")
    monkeypatch.setenv("REFLEXNG_CONFIG_DIR", str(tmp_path / "cfg"))
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    cascade = tmp_path / "gui_exec.py"
    cascade.write_text(CASCADE)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(2):
        write_image(raw / f"bias_{i}.fits", np.full((8, 8), 1000.0 + i, np.float32),
                    {"HIERARCH ESO DPR TYPE": "BIAS", "INSTRUME": "TEST", "MJD-OBS": 60000.1 + i * 0.001})
    write_image(raw / "sci_0.fits", np.full((8, 8), 2000.0, np.float32),
                {"HIERARCH ESO DPR TYPE": "OBJECT", "INSTRUME": "TEST", "MJD-OBS": 60000.2, "OBJECT": "NGC 1"})
    win = MainWindow(Preferences(executor="dask"))
    qtbot.addWidget(win)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(tmp_path / "work"))
    with qtbot.waitSignal(win.sig_organised, timeout=30000):
        c.organise()
    with qtbot.waitSignal(win.sig_run_finished, timeout=180000) as fin:
        c.run()
    assert fin.args[0]["ok"], fin.args[0]
    status = win.findChild(type(win.executor_status), "executorStatus")
    assert status is not None and status.isVisible()
    text = status.text()
    assert text.startswith("Executor: dask · 2 workers · <a href=\"http://") and ">dashboard</a>" in text
    assert status.openExternalLinks()
    # the task pane shows the job's resource trace
    with qtbot.waitSignal(win.sig_task_shown, timeout=20000):
        c.panes.show_task("bias")
    jid = next(j for j, st in c.session.state.jobs.items() if c.session.result.jobs[j].task == "bias")
    win.task_details.sig_job_selected.emit(jid)
    qtbot.waitUntil(lambda: win.task_details.resources.text() != "", timeout=20000)
    line = win.task_details.resources.text()
    assert line.startswith("wall ") and "CPU" in line and "worker tcp://127.0.0.1:" in line and "(dask)" in line
    # the run timeline
    win.timeline_action.trigger()
    dlg = win.timeline_dialog
    qtbot.waitUntil(lambda: "timeline (" in dlg.text.toPlainText(), timeout=20000)
    body = dlg.text.toPlainText().splitlines()
    assert body[0].startswith("job") and any(ln.startswith(jid + "#1") for ln in body)
    dlg.close()
    win.close()
    c.close_session()
