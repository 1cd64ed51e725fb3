"""Failure policy "ask": a failed job pauses the run and a non-modal banner in the main
window shows the reason and the last log lines with Retry / Skip / Stop. Real child
processes run a function task that fails while a marker file exists."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from gui_support import write_image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

CASCADE = textwrap.dedent(
    """
    from reflexng.cascade import task, data_source, classification_rule, metadata

    MARKER = {marker!r}

    metadata("flaky", instrument="TEST", default_target="science")
    raw_bias = (data_source("RAW_BIAS")
                .with_classification_rule(classification_rule("BIAS", {{"DPR.TYPE": "BIAS"}}))
                .with_match_keywords(["INSTRUME"]).build())
    raw_sci = data_source("RAW_SCIENCE").with_classification_rule(
        classification_rule("SCIENCE", {{"DPR.TYPE": "OBJECT"}})).build()


    def flaky(inputs, parameters, output_dir):
        \"\"\"fails while the marker file exists\"\"\"
        import os
        from astropy.io import fits

        print("science step on", len(inputs), "inputs", flush=True)
        if os.path.exists(MARKER):
            print("the marker file is still there", flush=True)
            raise RuntimeError("marker file present: " + MARKER)
        out = output_dir / "science.fits"
        fits.PrimaryHDU(header=fits.Header({{"OBJECT": "NGC", "HIERARCH ESO PRO CATG": "SCIENCE_REDUCED"}})).writeto(out)
        return [(str(out), "SCIENCE_REDUCED")]


    bias = (task("bias").with_recipe("test_noop").with_main_input(raw_bias)
            .with_recipe_parameters({{"category": "MASTER_BIAS"}}).build())
    science = (task("science").with_function(flaky).with_main_input(raw_sci)
               .with_associated_input(bias).build())
    """
)


@pytest.fixture
def flaky_setup(tmp_path):
    marker = tmp_path / "FAIL"
    marker.write_text("remove me to let the science step work")
    cascade = tmp_path / "flaky.py"
    cascade.write_text(CASCADE.format(marker=str(marker)))
    raw = tmp_path / "raw"
    raw.mkdir()
    write_image(raw / "bias_0.fits", np.zeros((8, 8), np.float32),
                {"HIERARCH ESO DPR TYPE": "BIAS", "INSTRUME": "TEST", "MJD-OBS": 60000.1})
    for i in range(2):
        write_image(raw / f"sci_{i}.fits", np.zeros((8, 8), np.float32),
                    {"HIERARCH ESO DPR TYPE": "OBJECT", "INSTRUME": "TEST", "MJD-OBS": 60000.2 + i * 0.01,
                     "OBJECT": f"NGC {i}"})
    return cascade, raw, tmp_path / "work", marker


def _window(qtbot, cascade, raw, workdir):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(workdir))
    win.run_controls.failure_policy.setCurrentText("ask")
    win.run_controls.ordering.setCurrentText("dfs")
    with qtbot.waitSignal(win.sig_organised, timeout=30000) as org:
        c.organise()
    assert c.session.failure_policy == "ask"
    return win, org.args[0]


def _failed_pause(qtbot, win, trigger):
    """Wait until the run pauses because a job failed; return that job."""
    with qtbot.waitSignal(win.sig_event, timeout=60000,
                          check_params_cb=lambda ev: ev.kind == "paused" and ev.data.get("reason") == "failure") as p:
        trigger()
    return p.args[0].job_id


def test_ask_retry_after_fixing_the_cause(qtbot, flaky_setup):
    cascade, raw, workdir, marker = flaky_setup
    win, result = _window(qtbot, cascade, raw, workdir)
    c = win.controller
    banner = win.failure_banner
    assert win.findChild(type(banner), "failureBanner") is banner and not banner.isVisible()

    failed = _failed_pause(qtbot, win, lambda: qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton))
    assert result.jobs[failed].task == "science"
    assert banner.isVisible() and banner.job_id == failed
    assert "marker file present" in banner.message.text() and f"job {failed} (task science) failed" in banner.message.text()
    log = banner.log.toPlainText()
    assert "the marker file is still there" in log
    assert QApplication.activeModalWidget() is None  # no dialog interrupts the run
    assert c.paused and c.running and c.session.job_state(failed) == "failed"

    marker.unlink()
    with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin:
        qtbot.mouseClick(banner.retry_button, Qt.MouseButton.LeftButton)
    summary = fin.args[0]
    assert summary["ok"], summary
    sci = next(j for j in summary["jobs"] if j["id"] == failed)
    assert sci["status"] == "executed" and sci["attempt"] == 2
    # the other dataset's science job ran once, after the fix
    other = [j for j in summary["jobs"] if j["task"] == "science" and j["id"] != failed]
    assert [(j["status"], j["attempt"]) for j in other] == [("executed", 1)]
    assert not banner.isVisible()
    assert win.cascade_view.items_by_name["science"].state == "done"


def test_ask_skip_then_stop(qtbot, flaky_setup):
    cascade, raw, workdir, _marker = flaky_setup
    win, result = _window(qtbot, cascade, raw, workdir)
    c = win.controller
    banner = win.failure_banner
    sci_jobs = {j for j, job in result.jobs.items() if job.task == "science"}
    assert len(sci_jobs) == 2

    first = _failed_pause(qtbot, win, lambda: qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton))
    assert first in sci_jobs and banner.isVisible()
    # Skip: the job stays failed and the run goes on with the other dataset, which fails too
    second = _failed_pause(qtbot, win, lambda: qtbot.mouseClick(banner.skip_button, Qt.MouseButton.LeftButton))
    assert second in sci_jobs and second != first
    assert banner.isVisible() and banner.job_id == second
    assert c.session.job_state(first) == "failed"
    # Stop ends the run
    with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin:
        qtbot.mouseClick(banner.stop_button, Qt.MouseButton.LeftButton)
    summary = fin.args[0]
    assert not summary["ok"]
    statuses = {j["id"]: j["status"] for j in summary["jobs"]}
    assert statuses[first] == "failed" and statuses[second] == "failed"
    assert not banner.isVisible() and not c.running
