"""The demo loop driven through the window never blocks the event loop for more than 100 ms.

A 10 ms heartbeat (reflexng.gui.stall_probe) runs through every phase: organise, untick and
tick a dataset, run to the first pause (inspect), draw the inspector's figures, edit and
Re-run, Compare, Step, Continue to the end (provenance), a fully reused run, Stop, Re-run
after Stop, and another cascade. The assertion is on the GUI thread's own CPU time within
its longest gap: work done on the GUI thread counts, a machine shared with other processes
(which stretches the wall-clock gaps) does not. The wall-clock gaps are printed beside it.
Waits on signals and conditions, never sleeps. Also checks that no pane shows another job
or the previous cascade afterwards."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.slow
LIMIT_S = 0.100


def assert_one_job(win) -> str:
    """The panel title, products, editor, failure box and Re-run target are the same job."""
    panel = win.inspection
    jid = panel.job_id
    assert jid is not None and jid in panel.title.text(), (jid, panel.title.text())
    assert panel.focus_consistent() and (panel.editor_job == jid or not panel.editor.editors)
    short = jid if len(jid) <= 28 else jid[:27]
    assert win.rerun_button.text().startswith(f"Re-run {short}")
    if panel.failure.isVisible():
        assert panel.failure.toPlainText().startswith(jid)
    listed = [panel.products.itemData(i) for i in range(panel.products.count())]
    if not panel.failure.isVisible():  # an inspected job lists its products (a stopped one has none)
        made = {p for p, _c in win.controller.session.products(jid)}
        assert made <= set(listed), (made, listed)
    assert all(f"/{jid}/" in p for p in listed if "/jobs/" in p), listed  # no other job's product
    if panel.image.path is not None and panel.tabs.currentWidget() is panel.image:
        assert panel.image.path in listed
    return jid


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    from reflexng.simulate.imaging import generate

    out = tmp_path_factory.mktemp("demo_stall")
    generate(out, nights=1, size=128, seed=4)
    return out


def test_demo_loop_never_blocks_the_event_loop(qtbot, demo_data, tmp_path, capsys, request):
    import gc

    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences
    from reflexng.gui.stall_probe import StallProbe
    from reflexng.gui.worker import wait_for_workers

    # what earlier tests in this interpreter left alive is kept out of the collector's passes
    # (a full pass over it fell on the GUI thread: 0.3 s); the window's own objects are not
    gc.collect()
    gc.freeze()
    request.addfinalizer(gc.unfreeze)
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=60000):
        c.open_cascade("demo_imaging")
    wait_for_workers()  # the warm-up imports; a user takes longer to choose a folder
    win.session_bar.data_dirs.add_dir(str(demo_data))
    win.session_bar.workdir.setText(str(tmp_path / "work"))
    win.run_controls.ordering.setCurrentText("dfs")
    probe = StallProbe(parent=win)
    probe.start()
    request.addfinalizer(wait_for_workers)  # after a failure too: no worker outlives the test's window
    request.addfinalizer(probe.stop)

    with probe.phase("organise"):
        with qtbot.waitSignal(win.sig_organised, timeout=120000) as org:
            c.organise()
    result = org.args[0]
    ds = next(d for d in result.datasets if d.complete)

    with probe.phase("untick and tick a dataset"):
        item = win.dataset_tree.dataset_item(ds.id)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        assert ds.id not in win.dataset_tree.selected_datasets()
        item.setCheckState(0, Qt.CheckState.Checked)
        qtbot.waitUntil(lambda: ds.id in win.dataset_tree.selected_datasets())

    with probe.phase("first pause and inspect"):
        win.pause_after_each.setChecked(True)
        with qtbot.waitSignal(win.sig_inspected, timeout=120000) as insp:
            qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    job = insp.args[0]
    assert result.jobs[job].task == "bias"
    assert assert_one_job(win) == job

    with probe.phase("draw the inspector's figures"):
        figures = win.inspection.figures
        assert figures.count() >= 1 and all(p.state == "new" for p in figures.pages())  # hidden: not drawn
        with qtbot.waitSignal(figures.sig_drawn, timeout=60000):
            win.inspection.tabs.setCurrentWidget(figures)
        assert figures.pages()[figures.currentIndex()].image is not None
        win.inspection.tabs.setCurrentWidget(win.inspection.image)

    with probe.phase("edit and Re-run"):
        win.inspection.editor.set_value("sigma", 2.0)
        with qtbot.waitSignal(win.sig_inspected, timeout=120000):
            qtbot.mouseClick(win.rerun_button, Qt.MouseButton.LeftButton)
    assert assert_one_job(win) == job

    with probe.phase("Compare"):
        with qtbot.waitSignal(win.inspection.sig_compared, timeout=60000):
            win.inspection.compare_button.click()
        assert win.inspection.image.difference
    assert assert_one_job(win) == job

    with probe.phase("Step"):
        with qtbot.waitSignal(win.sig_inspected, timeout=120000) as step:
            win.step_button.click()
    assert step.args[0] != job and assert_one_job(win) == step.args[0]

    with probe.phase("Continue to the end"):
        win.pause_after_each.setChecked(False)
        with qtbot.waitSignal(win.provenance_view.sig_refreshed, timeout=300000):
            with qtbot.waitSignal(win.sig_run_finished, timeout=300000) as fin:
                qtbot.mouseClick(win.continue_button, Qt.MouseButton.LeftButton)
    assert fin.args[0]["ok"], fin.args[0]

    with probe.phase("provenance view"):
        win.tabs.setCurrentWidget(win.provenance_view)
        with qtbot.waitSignal(win.provenance_view.sig_refreshed, timeout=60000):
            win.provenance_view.refresh_async(c.session.store)
        from reflexng.gui.provenance_view import RUN_ROLE

        pv = win.provenance_view.tree
        runs = [pv.topLevelItem(i) for i in range(pv.topLevelItemCount()) if pv.topLevelItem(i).data(0, RUN_ROLE)]
        runs[0].setExpanded(True)  # the newest run; its attempts are added now
        rows = [runs[0].child(i).text(1) for i in range(runs[0].childCount())]
    assert runs[0].text(1) == "ok" and rows and set(rows) <= {"done", "reused"}, rows

    with probe.phase("fully reused run"):
        n_lines = len(win.log_view.lines)
        with qtbot.waitSignal(win.provenance_view.sig_refreshed, timeout=300000):
            with qtbot.waitSignal(win.sig_run_finished, timeout=300000) as fin2:
                qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    assert {j["status"] for j in fin2.args[0]["jobs"]} == {"reused"}
    assert any("reused" in ln.text for ln in win.log_view.lines[n_lines:])  # the Log says what happened

    with probe.phase("Stop"):
        started: list[str] = []
        win.sig_event.connect(lambda ev: ev.kind == "job_started" and not started and (started.append(ev.job_id), c.stop()))
        with qtbot.waitSignal(win.sig_run_finished, timeout=300000) as fin3:
            c.rerun(job, {"sigma": 2.5})
    assert fin3.args[0].get("stopped"), fin3.args[0]
    stopped = started[0]
    assert c.session.job_state(stopped) == "cancelled"
    qtbot.waitUntil(lambda: win.cascade_view.items_by_name[result.jobs[stopped].task].state == "cancelled", timeout=5000)
    assert win.inspection.job_id == stopped and win.inspection.failure.toPlainText().startswith(f"{stopped} cancelled")
    assert assert_one_job(win) == stopped

    with probe.phase("Re-run after Stop"):
        with qtbot.waitSignal(win.sig_inspected, timeout=60000):
            c.inspect_job(job)
        assert assert_one_job(win) == job
        assert win.rerun_button.isEnabled()
        with qtbot.waitSignal(win.sig_run_finished, timeout=300000) as fin4:
            qtbot.mouseClick(win.rerun_button, Qt.MouseButton.LeftButton)
    assert fin4.args[0]["ok"], fin4.args[0]

    with probe.phase("another cascade"):
        with qtbot.waitSignal(win.sig_cascade_loaded, timeout=60000):
            c.open_cascade("demo_spectroscopy")
    # nothing of the previous cascade stays on screen
    assert win.inspection.job_id is None and win.inspection.products.count() == 0
    assert win.inspection.image.shown is None and not win.inspection.editor.editors
    assert not win.inspection.failure.isVisible() and win.inspection.notes.text() == ""
    assert win.inspection.diff.text() == "" and win.inspection.figures.count() == 0
    assert win.progress_bar.value() == 0 and win.rerun_button.text() == "Re-run" and not win.rerun_button.isEnabled()
    assert not any(it.state for it in win.cascade_view.items_by_name.values())  # nothing organised yet
    c.runs.repaint_states()  # a repaint of the previous run arriving late (it once did, on a busy machine)
    assert not any(it.state for it in win.cascade_view.items_by_name.values())
    assert win.dataset_tree.tree.topLevelItemCount() == 0

    probe.stop()
    wait_for_workers()
    report = probe.report()
    with capsys.disabled():
        print("\nevent-loop stalls per phase:", report)
    worst_name, worst = probe.worst()
    assert worst.cpu_s < LIMIT_S, f"the GUI thread was busy {worst.cpu_s * 1000:.0f} ms in '{worst_name}' ({report})"
    busy_name, busy = probe.worst("busy_s")
    with capsys.disabled():
        print(f"longest busy stretch ({busy_name}):\n{busy.where}")
    win.close()
