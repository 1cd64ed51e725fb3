"""The task-detail pane: a click on a task in the cascade view shows its recipe (name,
version, description), parameters (default, cascade value, effective value for a job),
jobs and states, inputs and match rules in words, and where the task is declared."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from gui_support import write_image
from PySide6.QtCore import Qt

from reflexng.cascade.model import ONE_DAY, SAME_NIGHT, MatchRule, days
from reflexng.gui.task_details_model import match_rule_words, recipe_summary, task_details

CASCADE = textwrap.dedent(
    """
    from reflexng.cascade import task, data_source, classification_rule, metadata, workflow_parameter

    metadata("details", instrument="TEST", default_target="science")
    payload = workflow_parameter("payload", "from-workflow", description="text written into products")
    raw_bias = (data_source("RAW_BIAS")
                .with_classification_rule(classification_rule("BIAS", {"DPR.TYPE": "BIAS"}))
                .with_grouping_keywords(["INSTRUME"]).with_match_keywords(["INSTRUME"]).build())
    raw_sci = data_source("RAW_SCIENCE").with_classification_rule(
        classification_rule("SCIENCE", {"DPR.TYPE": "OBJECT"})).build()
    bias = (task("bias").with_recipe("test_noop").with_main_input(raw_bias)
            .with_recipe_parameters({"category": "MASTER_BIAS"}).build())
    science = (task("science").with_recipe("test_noop").with_main_input(raw_sci)
               .with_associated_input(bias)
               .with_recipe_parameters({"category": "SCIENCE_REDUCED", "payload": payload}).build())
    """
)


@pytest.fixture
def details_setup(tmp_path):
    cascade = tmp_path / "details.py"
    cascade.write_text(CASCADE)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(2):
        write_image(raw / f"bias_{i}.fits", np.full((8, 8), 1000.0, np.float32),
                    {"HIERARCH ESO DPR TYPE": "BIAS", "INSTRUME": "TEST", "MJD-OBS": 60000.1 + i * 0.001})
    for i in range(2):
        write_image(raw / f"sci_{i}.fits", np.full((8, 8), 2000.0, np.float32),
                    {"HIERARCH ESO DPR TYPE": "OBJECT", "INSTRUME": "TEST", "MJD-OBS": 60000.2 + i * 0.01,
                     "OBJECT": f"NGC {i}"})
    return cascade, raw, tmp_path / "work"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_match_rules_in_words():
    assert match_rule_words(MatchRule(("INS.MODE", "DET.BINX"), time_range=SAME_NIGHT, level=0)) == \
        "level 0: same INS.MODE, DET.BINX; the same night"
    assert match_rule_words(MatchRule(("INSTRUME",), time_range=ONE_DAY, level=1)) == "level 1: same INSTRUME; within 1 day"
    assert match_rule_words(MatchRule((), time_range=days(3), level=2)) == "level 2: within 3 days"

    def same_exposure(main, cand):
        """the flat taken for this very exposure"""
        return True

    assert match_rule_words(MatchRule(function=same_exposure, level=3)) == \
        "level 3: the flat taken for this very exposure; any time"


def test_details_of_a_conditional_input_in_demo_spectroscopy():
    from reflexng.cascade import load

    c = load("demo_spectroscopy")
    d = task_details(c, "flat_strategy", recipe_summary(c, "flat_strategy"), {},
                     workflow_parameters={"flat_strategy": "science_flat"})
    assert d.recipe.name == "demo_spec_flat_select" and d.recipe.version and not d.recipe.error
    line = _line_of(open(c.path).read(), 'task("flat_strategy")')
    assert d.location == f"{c.path}:{line}"
    science_line = next(line for line in d.inputs if line.startswith("RAW_SCIENCE"))
    assert "only when flat_strategy = 'science_flat'" in science_line
    assert "same INS.MODE, DET.BINX, DET.BINY; the same night" in science_line
    flat_line = next(line for line in d.inputs if line.startswith("flat"))
    assert "1 to 10 required" in flat_line
    # the recipe parameter bound to the workflow parameter takes its current value
    strategy = next(p for p in d.parameters if p.name == "strategy")
    assert strategy.cascade == "science_flat" and strategy.effective == "science_flat"


def test_click_task_shows_details(qtbot, details_setup):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    cascade, raw, workdir = details_setup
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    pane = win.findChild(type(win.task_details), "taskDetails")
    assert pane is win.task_details

    # before organising: recipe, description, location, inputs, cascade values; no jobs
    view = win.cascade_view
    with qtbot.waitSignal(win.sig_task_shown, timeout=20000) as shown:
        pos = view.mapFromScene(view.items_by_name["science"].scenePos())
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert shown.args == ["science"]
    assert win.tabs.currentWidget() is pane
    assert "test_noop" in pane.title.text() and "1.0" in pane.title.text()
    assert "header-only product" in pane.description.text()
    line = _line_of(CASCADE, 'task("science")')
    assert pane.location.text() == f"Declared at {cascade}:{line}"
    inputs = pane.inputs.text()
    assert "RAW_SCIENCE — data source (SCIENCE)" in inputs
    assert "bias — products of task, 1 required; match (the input's own rules): level 0: same INSTRUME" in inputs
    rows = {pane.parameters.item(r, 0).text(): [pane.parameters.item(r, k).text() for k in (1, 2, 3)]
            for r in range(pane.parameters.rowCount())}
    assert rows["category"] == ["'TEST_PRODUCT'", "'SCIENCE_REDUCED'", "'SCIENCE_REDUCED'"]
    assert rows["payload"] == ["''", "'from-workflow'", "'from-workflow'"]
    assert rows["object"] == ["''", "", "''"]
    # effective values differing from the recipe default are highlighted
    assert pane.parameters.item(0, 3).background().color().name() == "#fff2a8"
    assert pane.jobs.count() == 1 and pane.jobs.item(0).text().startswith("no jobs")

    # organise: the task's jobs with their states; effective values for the first job
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(workdir))
    with qtbot.waitSignal(win.sig_organised, timeout=30000) as org:
        c.organise()
    result = org.args[0]
    sci_jobs = sorted(j for j, job in result.jobs.items() if job.task == "science")
    assert len(sci_jobs) == 2
    with qtbot.waitSignal(win.sig_task_shown, timeout=20000):
        c.show_task("science")
    assert pane.job_states() == {j: "waiting" for j in sci_jobs}
    assert [pane.jobs.item(i).data(Qt.ItemDataRole.UserRole) for i in range(pane.jobs.count())] == sci_jobs
    assert pane.details.selected_job == sci_jobs[0]
    assert f"for job {sci_jobs[0]}" in pane.effective_label.text()

    # a re-run override for the second job shows up as its effective value when selected
    c.session.rerun(sci_jobs[1], {"payload": "override"})
    with qtbot.waitSignal(win.sig_task_shown, timeout=20000):
        pane.jobs.setCurrentRow(1)
    eff = {p.name: p.effective for p in pane.details.parameters}
    assert eff["payload"] == "override" and pane.details.selected_job == sci_jobs[1]
    row = next(r for r in range(pane.parameters.rowCount()) if pane.parameters.item(r, 0).text() == "payload")
    assert pane.parameters.item(row, 3).text() == "'override'"

    # job states follow the run
    with qtbot.waitSignal(win.sig_run_finished, timeout=60000) as fin:
        c.run()
    assert fin.args[0]["ok"]
    assert set(pane.job_states().values()) == {"done"}
    assert all(pane.jobs.item(i).text().endswith("— done") for i in range(pane.jobs.count()))
    # a double click on a job inspects it
    win.tabs.setCurrentWidget(pane)
    pane.ensureWidgetVisible(pane.jobs)
    rect = pane.jobs.visualItemRect(pane.jobs.item(1))
    with qtbot.waitSignal(win.sig_inspected, timeout=20000) as insp:
        # a real double click starts with a press (QTest's double click alone does not in Qt 6)
        qtbot.mouseClick(pane.jobs.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(pane.jobs.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert insp.args == [sci_jobs[1]]


def test_workflow_parameter_changed_during_a_run_applies_after_it(qtbot, details_setup):
    from PySide6.QtWidgets import QLineEdit

    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    cascade, raw, workdir = details_setup
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    win.show()
    c = win.controller
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        c.open_cascade(str(cascade))
    editor = win.workflow_parameters.editors["payload"]
    assert isinstance(editor, QLineEdit) and editor.text() == "from-workflow"
    assert "text written into products" in editor.toolTip()
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(workdir))
    with qtbot.waitSignal(win.sig_organised, timeout=30000):
        c.organise()
    win.pause_after_each.setChecked(True)
    with qtbot.waitSignal(win.sig_paused, timeout=60000):
        c.run()
    assert c.running
    with qtbot.waitSignal(win.sig_message, timeout=5000, check_params_cb=lambda t: "after the run" in t):
        win.workflow_parameters.set_value("payload", "changed")
    # the value is held by the session (one place) for its next organise; nothing re-organised under a running run
    assert c.session.workflow_parameters == {"payload": "changed"}
    assert c.result.workflow_parameters.get("payload") != "changed"
    assert {j.parameters.get("payload") for j in c.result.jobs.values() if j.task == "science"} != {"changed"}
    win.pause_after_each.setChecked(False)
    order: list[str] = []
    win.sig_run_finished.connect(lambda _s: order.append("finished"))
    win.sig_organised.connect(lambda r: order.append("organised"))
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org:
        c.resume()
    assert order == ["finished", "organised"]
    result = org.args[0]
    assert result.workflow_parameters == {"payload": "changed"}
    assert {j.parameters.get("payload") for j in result.jobs.values() if j.task == "science"} == {"changed"}
