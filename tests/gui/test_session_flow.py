"""The whole interactive flow in the main window, offscreen, against the real engine:
open a cascade, organise real FITS files, run with pause after each step, change a
parameter, re-run, continue to the end; assert on states, products and provenance.
Recipes run in real child processes (the engine's testing recipes: fast, header-only)."""

from __future__ import annotations

from flow_data import CASCADE, SLOW_SCIENCE
from PySide6.QtCore import Qt


def _fits_cards(path):
    from reflexng.recipes.builtin.testing import read_header_cards

    return read_header_cards(path)


def test_pause_rerun_continue_to_the_end(qtbot, flow_setup):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    cascade, raw, workdir = flow_setup
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    assert set(win.cascade_view.items_by_name) == {"RAW_BIAS", "RAW_SCIENCE", "bias", "science"}
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(workdir))
    with qtbot.waitSignal(win.sig_organised, timeout=30000) as org:
        qtbot.mouseClick(win.session_bar.organise_button, Qt.MouseButton.LeftButton)
    result = org.args[0]
    assert len(result.datasets) == 1 and result.datasets[0].complete
    assert win.file_table.proxy.rowCount() == 4
    assert win.run_button.isEnabled() and not win.continue_button.isEnabled()

    # untick one raw bias: the data are organised again without it (the file stays on disk)
    tree = win.dataset_tree
    bias_frame = str(raw / "bias_2.fits")
    with qtbot.waitSignal(win.sig_organised, timeout=30000) as org2:
        tree.set_frame_excluded(bias_frame, True)
    result = org2.args[0]
    bias_jobs = [j for j in result.jobs.values() if j.task == "bias"]
    assert len(bias_jobs) == 1 and bias_frame not in bias_jobs[0].main and len(bias_jobs[0].main) == 2
    assert tree.excluded_files() == [bias_frame] and (raw / "bias_2.fits").is_file()
    excluded_node = tree.tree.topLevelItem(tree.tree.topLevelItemCount() - 1)
    assert excluded_node.text(0) == "Excluded frames" and excluded_node.child(0).text(0) == "bias_2.fits"
    tree.description.setText("two biases only")

    # run, pausing after each step
    win.pause_after_each.setChecked(True)
    with qtbot.waitSignal(win.sig_inspected, timeout=60000) as insp:
        qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    bias_job = insp.args[0]
    assert c.paused and c.paused_job == bias_job
    assert result.jobs[bias_job].task == "bias"
    assert c.session.job_state(bias_job) == "done"
    assert win.cascade_view.items_by_name["bias"].state == "done"
    assert win.continue_button.isEnabled() and win.rerun_button.isEnabled()
    assert win.step_button.isEnabled() and win.pause_button.text() == "Resume"
    products = c.session.products(bias_job)
    assert [cat for _p, cat in products] == ["MASTER_BIAS"]
    first_product = products[0][0]
    assert win.inspection.products.count() == 1
    assert "MASTER_BIAS" in win.inspection.header.text.toPlainText()
    assert win.inspection.qc.values() == {"n_inputs": "2"}

    # change a parameter in the editor, re-run this job
    editor = win.inspection.editor
    assert "payload" in editor.editors
    editor.editors["payload"].setText("second try")
    assert editor.changed() == {"payload": "second try"}
    assert editor.editors["payload"].property("changed") is True
    with qtbot.waitSignal(win.sig_inspected, timeout=60000) as insp2:
        qtbot.mouseClick(win.rerun_button, Qt.MouseButton.LeftButton)
    assert insp2.args[0] == bias_job and c.paused
    new_products = c.session.products(bias_job)
    assert new_products[0][0] != first_product  # a new attempt folder
    assert _fits_cards(new_products[0][0])["TPAR.PAYLOAD"] == "second try"
    assert _fits_cards(first_product)["TPAR.PAYLOAD"] == ""  # the first attempt is kept
    assert win.inspection.attempts.count() == 1  # attempt 1 to compare with
    assert editor.effective["payload"] == "second try" and editor.changed() == {}

    # continue to the end without pausing
    win.pause_after_each.setChecked(False)
    with qtbot.waitSignal(win.provenance_view.sig_refreshed, timeout=60000):  # read in a worker after the run
        with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin:
            qtbot.mouseClick(win.continue_button, Qt.MouseButton.LeftButton)
    summary = fin.args[0]
    assert summary["ok"], summary
    statuses = {j["task"]: j["status"] for j in summary["jobs"]}
    assert statuses == {"bias": "executed", "science": "executed"}
    assert len(summary["end_products"]) == 1
    sci_job = result.datasets[0].target_job
    assert c.session.job_state(sci_job) == "done"
    assert win.cascade_view.items_by_name["science"].state == "done"
    assert "1 done" in win.cascade_view.items_by_name["science"].counts.text()
    assert win.dataset_tree.dataset_item(result.datasets[0].id).text(1) == "reduced"
    assert win.progress_bar.value() == win.progress_bar.maximum()
    assert not win.pause_button.isEnabled() and win.run_button.isEnabled()
    # the science product used the re-run bias
    sci_product = c.session.products(sci_job)[0][0]
    assert any(v.startswith("master_bias.fits:MASTER_BIAS") for k, v in _fits_cards(sci_product).items() if k.startswith("TINP"))

    # provenance: end product -> science job -> bias job (attempt 2, payload) -> raw files
    tree = win.provenance_view.trees[sci_product]  # reflexng.provenance.trace.tree(), as `reflexng provenance`
    assert tree["job"]["task"] == "science"
    bias_node = next(n for n in tree["inputs"] if n.get("job"))
    assert bias_node["job"]["task"] == "bias" and bias_node["job"]["attempt"] == 2
    assert bias_node["job"]["parameters"]["payload"] == "second try"
    assert sorted(n["path"].rsplit("/", 1)[-1] for n in bias_node["inputs"]) == ["bias_0.fits", "bias_1.fits"]
    assert all(n["kind"] == "raw" for n in bias_node["inputs"])
    pv = win.provenance_view
    top = pv.tree.topLevelItem(0)
    assert top.text(0) == "End products" and top.child(0).text(0) == sci_product.rsplit("/", 1)[-1]
    assert pv.tree.topLevelItem(1).text(0).endswith("— two biases only")
    pv.tree.setCurrentItem(top.child(0))
    cmd = pv.copy_replay()
    assert "replay" in cmd
    out = workdir / "prov.json"
    pv.export_prov_json(sci_product, str(out))
    import json

    doc = json.loads(out.read_text())
    assert len(doc["activity"]) == 2 and len(doc["used"]) >= 4 and len(doc["wasGeneratedBy"]) == 2

    # after the run: pick the science job, change a parameter, Re-run -> only that job runs
    with qtbot.waitSignal(win.sig_inspected, timeout=30000):
        win.dataset_tree.sig_job_clicked.emit(sci_job)
    assert win.rerun_button.isEnabled() and not win.continue_button.isEnabled()
    win.inspection.editor.editors["payload"].setText("science again")
    with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin2:
        win.rerun_button.click()
    statuses = {j["task"]: j["status"] for j in fin2.args[0]["jobs"]}
    assert statuses == {"bias": "reused", "science": "executed"}
    assert _fits_cards(c.session.products(sci_job)[0][0])["TPAR.PAYLOAD"] == "science again"
    win.close()


def test_failed_job_shows_reason_in_place(qtbot, tmp_path, flow_setup):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    cascade, raw, workdir = flow_setup
    cascade.write_text(CASCADE.replace('task("bias").with_recipe("test_noop")', 'task("bias").with_recipe("test_raise")'))
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(workdir))
    with qtbot.waitSignal(win.sig_organised, timeout=30000):
        c.organise()
    with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin:
        c.run()
    assert not fin.args[0]["ok"]
    assert win.inspection.failure.isVisible() or not win.isVisible()
    text = win.inspection.failure.toPlainText()
    assert "failed" in text and "something went wrong" in text
    assert win.cascade_view.items_by_name["bias"].state == "failed"
    assert win.message.text() == "run finished: 1 failed, 1 skipped"
    win.close()


def test_step_then_stop_cancels_a_running_job(qtbot, flow_setup):
    """Pause after the first job, Step runs exactly one more job, Stop cancels a long job
    (a real child process) and the run ends as stopped; the window stays usable."""
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    cascade, raw, workdir = flow_setup
    cascade.write_text(SLOW_SCIENCE)
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(workdir))
    with qtbot.waitSignal(win.sig_organised, timeout=30000) as org:
        c.organise()
    result = org.args[0]
    sci_job = result.datasets[0].target_job
    win.pause_after_each.setChecked(True)
    with qtbot.waitSignal(win.sig_paused, timeout=60000):
        win.run_button.click()
    assert win.step_button.isEnabled()

    def science_started(ev) -> bool:
        return ev.kind == "job_started" and ev.job_id == sci_job

    with qtbot.waitSignal(win.sig_event, timeout=60000, check_params_cb=science_started):
        win.step_button.click()
    assert c.session.job_state(sci_job) == "running"
    # job-state repaints are coalesced (a short timer): wait for the view to catch up
    qtbot.waitUntil(lambda: win.cascade_view.items_by_name["science"].state == "running", timeout=5000)
    assert win.stop_button.isEnabled()
    with qtbot.waitSignal(win.sig_run_finished, timeout=30000) as fin:
        win.stop_button.click()
    summary = fin.args[0]
    assert summary["stopped"] and not summary["ok"]
    assert {j["task"]: j["status"] for j in summary["jobs"]}["science"] == "cancelled"  # it was running
    assert win.message.text().startswith("run stopped")
    assert win.run_button.isEnabled() and not win.stop_button.isEnabled()
    win.close()


def test_breakpoint_from_the_cascade_view_pauses_there(qtbot, flow_setup):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    cascade, raw, workdir = flow_setup
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(workdir))
    with qtbot.waitSignal(win.sig_organised, timeout=30000) as org:
        c.organise()
    result = org.args[0]
    win.cascade_view.set_breakpoint("bias", True)  # what the task's context menu does
    assert win.cascade_view.items_by_name["bias"].pen().widthF() == 3.0
    events = []
    win.sig_event.connect(lambda ev: events.append(ev))
    with qtbot.waitSignal(win.sig_paused, timeout=60000) as paused:
        win.run_button.click()
    assert result.jobs[paused.args[0]].task == "bias"
    assert [e.data.get("reason") for e in events if e.kind == "paused"] == ["breakpoint"]
    with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin:
        win.continue_button.click()
    assert fin.args[0]["ok"]


def test_data_folders_by_drag_and_drop(qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    from reflexng.gui.session_bar import DataDirList

    lst = DataDirList()
    qtbot.addWidget(lst)
    (tmp_path / "night1").mkdir()
    f = tmp_path / "night2" / "a.fits"
    f.parent.mkdir()
    f.write_bytes(b"")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "night1")), QUrl.fromLocalFile(str(f))])
    ev = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(lst.sig_changed):
        lst.dropEvent(ev)
    assert lst.dirs() == [str(tmp_path / "night1"), str(tmp_path / "night2")]
    lst.setCurrentRow(0)
    lst.item(0).setSelected(True)
    lst.remove_selected()
    assert lst.dirs() == [str(tmp_path / "night2")]
