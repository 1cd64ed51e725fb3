"""Stop during a running job, through the window (real widgets, a real child process, the real
store): the job is "cancelled" — not "failed" — in the graph (its own colour and glyph), the
dataset tree, the log, the inspection pane, the task pane and the provenance view; the job
that needs it says "not run (upstream cancelled)"; its tmp/ is gone. Closing the window and
opening a new one on the same work directory (a restart) shows the finished job done and the
stopped one cancelled."""

from __future__ import annotations

import os

from flow_data import STOP_CASCADE, make_flow_data
from gui_support import open_window


def _state_of(win, task):
    return win.cascade_view.items_by_name[task].state


def test_stop_is_cancelled_in_every_pane_and_after_a_restart(qtbot, tmp_path):
    from PySide6.QtGui import QColor

    from reflexng.gui.cascade_view import STATE_COLOURS, STATE_GLYPHS
    from reflexng.gui.labels import status_text_colour

    cascade, raw, workdir = make_flow_data(tmp_path)
    cascade.write_text(STOP_CASCADE)
    win, result = open_window(qtbot, cascade, raw, workdir, show=False)
    jobs = {j.task: j.id for j in result.jobs.values()}
    ds = result.datasets[0]

    def half_written(ev) -> bool:
        return ev.kind == "job_log" and "half a product" in str(ev.data.get("line", ""))

    with qtbot.waitSignal(win.sig_event, timeout=60000, check_params_cb=half_written):
        win.run_button.click()
    with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin:
        win.stop_button.click()
    statuses = {j["task"]: (j["status"], j["reason"]) for j in fin.args[0]["jobs"]}
    assert statuses["bias"][0] == "executed" and statuses["science"][0] == "cancelled"
    assert statuses["combined"] == ("skipped", "not run (upstream cancelled)")

    # the graph: its own colour and glyph, not the failure's
    qtbot.waitUntil(lambda: _state_of(win, "science") == "cancelled", timeout=5000)
    item = win.cascade_view.items_by_name["science"]
    assert item.glyph.text() == STATE_GLYPHS["cancelled"] != STATE_GLYPHS["failed"]
    assert item.brush().color().name() == QColor(STATE_COLOURS["cancelled"]).name() != QColor(STATE_COLOURS["failed"]).name()
    assert "cancelled" in item.toolTip()
    assert _state_of(win, "bias") == "done" and _state_of(win, "combined") == "skipped"
    # the dataset tree
    di = win.dataset_tree.dataset_item(ds.id)
    assert di.text(1) == "cancelled"
    assert di.foreground(1).color().name() == status_text_colour("cancelled") != status_text_colour("failed")
    # the log: cancelled and "not run (upstream cancelled)", nothing failed
    log = [ln.text for ln in win.log_view.lines]
    assert any(t.startswith(f"— {jobs['science']}: cancelled") for t in log), log
    assert f"— {jobs['combined']}: not run (upstream cancelled)" in log
    assert not any("failed" in t for t in log)
    # the inspection pane: the stopped job in focus, in the cancelled box, Re-run aims at it
    assert win.inspection.job_id == jobs["science"]
    assert win.inspection.failure.toPlainText().startswith(f"{jobs['science']} cancelled")
    assert win.message.text().startswith("run stopped")
    # the task pane lists the job as cancelled
    with qtbot.waitSignal(win.sig_task_shown, timeout=30000):
        win.controller.show_task("science")
    assert win.task_details.job_states() == {jobs["science"]: "cancelled"}
    # the provenance view: the attempt is recorded as cancelled
    with qtbot.waitSignal(win.provenance_view.sig_refreshed, timeout=30000):
        win.provenance_view.refresh_async(win.controller.session.store)
    run_item = win.provenance_view.tree.topLevelItem(0)
    assert run_item.text(1) == "stopped"
    run_item.setExpanded(True)
    rows = {run_item.child(i).text(0): run_item.child(i).text(1) for i in range(run_item.childCount())}
    assert rows[f"{jobs['science']}  attempt 1"] == "cancelled" and rows[f"{jobs['bias']}  attempt 1"] == "done"
    # no half-written file left where a later run could pick it up
    adir = win.controller.session.store.last_attempt(jobs["science"]).jobdir
    assert not os.path.exists(os.path.join(adir, "tmp")) and not os.path.exists(os.path.join(adir, "products"))
    win.close()

    # a restart: a new window on the same work directory
    win2, _result = open_window(qtbot, cascade, raw, workdir, show=False)
    qtbot.waitUntil(lambda: _state_of(win2, "science") == "cancelled", timeout=5000)
    assert _state_of(win2, "bias") == "done"
    assert win2.controller.session.job_state(jobs["combined"]) == "waiting"
    assert win2.dataset_tree.dataset_item(ds.id).text(1) == "cancelled"
    win2.close()
