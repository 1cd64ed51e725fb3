"""Keep an attempt, save it as a parameter set, and override an association — from the
window's Compare pane and dataset tree, against the real engine (testing recipes in child
processes) and real FITS files."""

from __future__ import annotations

import pytest
from flow_data import RAW_ASSOCIATION
from gui_support import open_window


def test_override_from_the_dataset_tree(qtbot, promote_setup):
    from reflexng.gui.dataset_tree import ASSOC_ROLE

    cascade, raw, work = promote_setup
    cascade.write_text(RAW_ASSOCIATION)
    win, result = open_window(qtbot, cascade, raw, work)
    tree = win.dataset_tree
    sci = next(j for j in result.jobs.values() if j.task == "science")

    def frame_items():
        out = []
        stack = [tree.tree.topLevelItem(i) for i in range(tree.tree.topLevelItemCount())]
        while stack:
            it = stack.pop()
            if it.data(0, ASSOC_ROLE) and it.data(0, ASSOC_ROLE)[0] == sci.id:
                out.append(it)
            stack += [it.child(i) for i in range(it.childCount())]
        return out

    item = frame_items()[0]
    actions = tree.override_actions(item)
    texts = [t for t, _o in actions]
    assert any(t.startswith("Use bias_0.fits instead — not chosen:") for t in texts), texts
    assert any(t.startswith("Exclude bias_1.fits") for t in texts), texts
    use = next(o for t, o in actions if t.startswith("Use bias_0.fits"))
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org:
        tree.sig_override.emit(use)
    a = org.args[0].jobs[sci.id].associated[use["input"]]
    assert [c.path for c in a.chosen] == [use["path"]]
    item = frame_items()[0]
    assert item.text(0) == "bias_0.fits" and item.text(1) == "override" and "(override)" in item.text(4)
    assert any(t.startswith("Remove the override") for t, _o in tree.override_actions(item))
    with qtbot.waitSignal(win.sig_organised, timeout=60000):
        tree.sig_override_removed.emit(sci.id, use["input"])
    assert frame_items()[0].text(0) == "bias_1.fits"
    win.close()


@pytest.mark.slow
def test_keep_this_one_and_save_as_parameter_set(qtbot, promote_setup):
    from reflexng.cascade import load

    cascade, raw, work = promote_setup
    win, result = open_window(qtbot, cascade, raw, work)
    c = win.controller
    with qtbot.waitSignal(win.sig_run_finished, timeout=120000):
        win.run_button.click()
    bias = next(j for j in result.jobs.values() if j.task == "bias" and j.id in
                {a.chosen[0].job_id for s in result.jobs.values() for a in s.associated.values() if a.chosen})
    first = c.session.products(bias.id)[0][0]
    with qtbot.waitSignal(win.sig_inspected, timeout=60000):
        c.inspect_job(bias.id)
    win.inspection.editor.editors["payload"].setText("second try")
    with qtbot.waitSignal(win.sig_run_finished, timeout=120000):
        win.rerun_button.click()
    assert c.session.products(bias.id)[0][0] != first
    with qtbot.waitSignal(win.sig_inspected, timeout=60000):
        c.inspect_job(bias.id)
    assert win.inspection.attempts.count() == 1 and win.inspection.keep_button.isEnabled()
    # save the shown attempt (2) as a parameter set
    win.inspection.set_name.setText("tuned_bias")
    win.inspection.save_set_button.click()
    qtbot.waitUntil(lambda: c.decisions.last_saved is not None, timeout=30000)
    assert load(cascade).parameter_sets["tuned_bias"].recipe_parameters["bias"]["payload"] == "second try"
    # keep attempt 1: its products become the job's result again, reused
    with qtbot.waitSignal(win.sig_run_finished, timeout=120000) as fin:
        win.inspection.keep_button.click()
    statuses = {j["id"]: j["status"] for j in fin.args[0]["jobs"]}
    assert statuses[bias.id] == "reused"
    assert c.session.products(bias.id)[0][0] == first
    from reflexng.provenance.decisions import decisions

    assert [d["kind"] for d in decisions(c.session.store, bias.id)] == ["save_parameter_set", "keep_attempt"]
    win.close()


def test_replay_command_in_the_task_pane_and_workdir_in_the_status_bar(qtbot, promote_setup, tmp_path):
    import socket

    from PySide6.QtGui import QGuiApplication

    from reflexng.gui.workdir_status import LOCK_NAME, describe

    cascade, raw, work = promote_setup
    win, result = open_window(qtbot, cascade, raw, work)
    status = win.controller.workdir_status
    assert status.text().startswith(f"Work directory {work.resolve()}") and "locked by this window" in status.text()
    with qtbot.waitSignal(win.sig_run_finished, timeout=120000):
        win.run_button.click()
    with qtbot.waitSignal(win.sig_task_shown, timeout=30000):
        win.controller.show_task("bias")
    pane = win.task_details
    cmd = pane.replay.text()
    assert cmd.startswith("sh ") and "replay.sh" in cmd and pane.replay_job in result.jobs
    assert pane.copy_replay() == cmd and QGuiApplication.clipboard().text() == cmd
    # another process's lock, and a lock left by a process that ended
    other = tmp_path / "other"
    other.mkdir()
    (other / LOCK_NAME).write_text("4242 on elsewhere.example\n")
    assert describe(other, False).endswith("locked by another reflexng: PID 4242 on elsewhere.example")
    (other / LOCK_NAME).write_text(f"999999999 on {socket.gethostname()}\n")
    assert "free (last used by PID 999999999, which has ended)" in describe(other, False)
    win.close()


def test_one_enter_in_the_cascade_box_loads_the_cascade_once(qtbot):
    from PySide6.QtCore import Qt

    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences
    from reflexng.gui.worker import wait_for_workers

    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.show()
    loads: list = []
    win.sig_cascade_loaded.connect(loads.append)
    box = win.session_bar.cascade
    box.setFocus()
    box.lineEdit().setText("demo_imaging")
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=30000):
        qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    wait_for_workers()
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()  # deliver any second load's result (there must be none)
    assert len(loads) == 1
    win.close()
