"""The demo imaging cascade on simulated data (128 px, one night), driven through the main
window: organise, run with pause after each step, change the bias sigma, re-run, compare the
two attempts, continue to the end; assert on states, products and provenance."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    from reflexng.simulate.imaging import generate

    out = tmp_path_factory.mktemp("demo_imaging")
    generate(out, nights=1, size=128, seed=3)
    return out


def test_demo_imaging_interactive(qtbot, demo_data, tmp_path):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=30000):
        c.open_cascade("demo_imaging")
    assert win.session_bar.target.currentText() == "photometry"
    assert {"bias", "dark", "flat", "reduce", "coadd", "photometry"} <= set(win.cascade_view.items_by_name)
    win.session_bar.data_dirs.add_dir(str(demo_data))
    win.session_bar.workdir.setText(str(tmp_path / "work"))
    win.run_controls.ordering.setCurrentText("dfs")
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org:
        c.organise()
    result = org.args[0]
    complete = [d for d in result.datasets if d.complete]
    assert complete, [d.missing for d in result.datasets]
    assert win.dataset_tree.selected_datasets() == [d.id for d in complete]

    # first pause: the master bias, an image in the viewer, inspector figures, parameters
    win.pause_after_each.setChecked(True)
    with qtbot.waitSignal(win.sig_inspected, timeout=120000) as insp:
        qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    job = insp.args[0]
    assert result.jobs[job].task == "bias" and c.session.job_state(job) == "done"
    iv = win.inspection.image
    assert iv.shown is not None and iv.shown.shape == (128, 128)
    lo, hi = iv.levels()
    assert 900 < lo < hi < 1100  # a master bias sits near the simulated 1000 ADU level
    assert win.inspection.figures.count() >= 1
    assert win.inspection.qc.rowCount() > 0
    editor = win.inspection.editor
    assert editor.effective["sigma"] == 3.0
    # the job's live log, filtered by job
    assert any("combining" in line for line in win.log_view.lines_of(job))
    win.log_view.job.setCurrentText(job)
    assert all(line.startswith(f"[{job}]") for line in win.log_view.visible_text().splitlines())
    win.log_view.job.setCurrentText("all jobs")

    # change sigma, re-run this job
    editor.set_value("sigma", 2.0)
    assert editor.changed() == {"sigma": 2.0}
    with qtbot.waitSignal(win.sig_inspected, timeout=120000) as insp2:
        qtbot.mouseClick(win.rerun_button, Qt.MouseButton.LeftButton)
    assert insp2.args[0] == job and c.paused
    assert editor.effective["sigma"] == 2.0

    attempts = c.session.store.attempts_of(job)
    assert [a.attempt for a in attempts] == [1, 2]
    assert attempts[0].parameters["sigma"] == 3.0 and attempts[1].parameters["sigma"] == 2.0

    # compare attempt 2 (shown) with attempt 1: difference image and parameter diff
    assert win.inspection.attempts.count() == 1
    with qtbot.waitSignal(win.inspection.sig_compared, timeout=30000):  # attempt 1 is read in a worker
        win.inspection.compare_button.click()
    assert iv.compare_combo.currentText() == "A − B"
    assert abs(float(iv.shown.mean())) < 5.0  # tighter clipping changes the bias level a little
    lo, hi = iv.levels()
    assert lo == pytest.approx(-hi) and hi > 0  # symmetric around zero: negative differences show
    assert "sigma: 3.0 -> 2.0" in win.inspection.diff.text()  # old -> new: the user changed 3 to 2

    # continue to the end
    win.pause_after_each.setChecked(False)
    with qtbot.waitSignal(win.provenance_view.sig_refreshed, timeout=300000):  # read in a worker after the run
        with qtbot.waitSignal(win.sig_run_finished, timeout=300000) as fin:
            qtbot.mouseClick(win.continue_button, Qt.MouseButton.LeftButton)
    summary = fin.args[0]
    assert summary["ok"], summary
    tasks_run = {j["task"] for j in summary["jobs"] if j["status"] in ("executed", "reused")}
    assert tasks_run >= {"bias", "dark", "flat", "reduce", "coadd", "photometry"}
    assert len(summary["end_products"]) >= len(complete)
    for name in ("bias", "flat", "reduce", "photometry"):
        assert win.cascade_view.items_by_name[name].state in ("done", "reused")
    for d in complete:
        assert win.dataset_tree.dataset_item(d.id).text(1) == "reduced"

    # provenance: from a photometry product back to raw files, through the re-run bias
    trees = win.provenance_view.trees
    assert trees
    root = next(iter(trees.values()))  # reflexng.provenance.trace.tree(): the CLI's tree too
    assert root["job"]["task"] == "photometry"

    def walk(n):
        yield n
        for i in n.get("inputs", []):
            yield from walk(i)

    nodes = list(walk(root))
    bias_attempts = {n["job"]["attempt"] for n in nodes if n.get("job") and n["job"]["task"] == "bias"}
    assert bias_attempts == {2}
    assert any(n["kind"] == "raw" and n["path"].startswith(str(demo_data)) for n in nodes)
    out = tmp_path / "prov.json"
    win.provenance_view.export_prov_json(root["path"], str(out))
    doc = json.loads(out.read_text())
    assert {"photometry", "coadd", "reduce", "bias"} <= {
        a["rng:task"] for a in doc["activity"].values()
    }
    win.close()
