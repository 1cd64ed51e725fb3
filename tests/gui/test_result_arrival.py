"""A result arriving in the window is shown over several event-loop turns (issue 17: no turn
blocks the window > 100 ms at 300,000 files); once idle it shows what it showed when all was
done in one slot: the readable names (their path index built for the reference frames only,
in the organise worker), the jobs' restored states (applied to the items made so far, kept
for the others), the file table, ``sig_organised`` once per result shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

pytest.importorskip("PySide6")


def test_night_text_is_the_strftime_text():
    from reflexng.gui.labels import _night

    mjd0 = dt.datetime(1858, 11, 17)
    # years 216 .. 9999 (glibc's strftime does not pad years before 1000), every hour of a day
    mjds = [m + h / 24 for m in range(-600_000, 2_900_000, 997) for h in (0, 11, 12, 13, 23)]
    for mjd in mjds:
        assert _night(mjd) == (mjd0 + dt.timedelta(days=mjd - 0.5)).strftime("%Y-%m-%d"), mjd
    assert _night(None) == "" and _night(1e12) == "" and _night(float("nan")) == ""


def _with_objects(result):
    """The fixture's files with an OBJECT and OBS.NAME each (what the labels read)."""
    result.files[:] = [f._replace(headers={**f.headers, "OBJECT": f"T{i}", "OBS.NAME": f"ob{i}"})
                       for i, f in enumerate(result.files)]
    return result


def test_labels_read_the_reference_frames_headers_from_a_small_index(organise_result):
    from reflexng.gui import labels

    result = _with_objects(organise_result)
    by_path = {f.path: f for f in result.files}
    labels.prepare(result)
    wanted, index = result._label_index
    refs = {result.jobs[d.target_job].main[0] for d in result.datasets}
    assert wanted == refs and set(index) == refs  # not every file
    for ds in result.datasets:
        h = by_path[result.jobs[ds.target_job].main[0]].headers
        assert labels.dataset_label(result, ds).startswith(f"{h['OBJECT']} · OB {h['OBS.NAME']}")
    # a dataset the result does not list (its reference frame not indexed): found all the same
    other = replace(result.datasets[0], id="ds-x", target="flat", target_job="flat-1")
    h = by_path[result.jobs["flat-1"].main[0]].headers
    assert labels.dataset_label(result, other).startswith(f"{h['OBJECT']} · OB {h['OBS.NAME']}")
    # built by the first label when nothing prepared it: the same names
    fresh = replace(result)
    assert "_label_index" not in fresh.__dict__
    assert [labels.dataset_label(fresh, d) for d in fresh.datasets] == [
        labels.dataset_label(result, d) for d in result.datasets]


def _subtree(item) -> list:
    """Every item below ``item``: texts, check state, colours, roles, expanded."""
    from reflexng.gui.dataset_tree import ASSOC_ROLE, ID_ROLE, KIND_ROLE

    return [([c.text(k) for k in range(5)], c.checkState(0), [c.foreground(k).color().name() for k in range(5)],
             c.data(0, KIND_ROLE), c.data(0, ID_ROLE), c.data(0, ASSOC_ROLE), c.isExpanded(), _subtree(c))
            for c in (item.child(i) for i in range(item.childCount()))]


def test_job_states_at_once_equal_one_at_a_time(qtbot, organise_result):
    from reflexng.gui.dataset_tree import DatasetTree

    states = {"bias-1": "done", "flat-1": "reused", "science-1": "failed", "science-2": ""}  # "" as a job with no record
    one, many = DatasetTree(), DatasetTree()
    qtbot.addWidget(one)
    qtbot.addWidget(many)
    many.EAGER_ITEMS = 3  # ds-1's items made up front, ds-2's when expanded
    one.set_result(organise_result)
    many.set_result(organise_result)
    for jid, state in states.items():
        one.set_job_state(jid, state)
    many.set_job_states(states)
    assert many.tree.topLevelItem(1).childCount() == 0  # states kept for items not made yet
    for i in range(many.tree.topLevelItemCount()):
        many.tree.topLevelItem(i).setExpanded(True)
    for i in range(one.tree.topLevelItemCount()):
        a, b = one.tree.topLevelItem(i), many.tree.topLevelItem(i)
        assert [a.text(k) for k in range(5)] == [b.text(k) for k in range(5)]
        assert _subtree(a) == _subtree(b)
    assert many.dataset_item("ds-2").child(0).text(1) == ""  # as set_job_state(..., "") showed it


def test_the_window_shows_a_result_over_turns_and_signals_once(qtbot, flow_setup):
    from gui_support import open_window

    from reflexng.gui.dataset_tree import ID_ROLE

    cascade, raw, workdir = flow_setup
    win, result = open_window(qtbot, cascade, raw, workdir)
    c = win.controller
    assert win.file_table.model.records == list(result.files)
    assert win.dataset_tree.tree.topLevelItemCount() == len(result.datasets)
    got: list = []
    win.sig_organised.connect(got.append)
    win.file_table.set_records([])  # to see it filled again
    c.organised(result)
    c.organised(result)  # a second result before the first's file table turn: shown once
    assert got == [] and win.file_table.model.records == []  # the file table: a turn later
    assert win.dataset_tree.tree.topLevelItemCount() == len(result.datasets)
    qtbot.waitUntil(lambda: got == [result])
    qtbot.wait(50)
    assert got == [result]
    status = {jid: c.job_status(jid) for jid in result.jobs}
    shown = [ji for items in win.dataset_tree._job_items.values() for ji in items]
    assert shown and all(ji.text(1) == status[ji.data(0, ID_ROLE)] for ji in shown)
    st = c.session.state
    assert {d.id: win.dataset_tree.dataset_item(d.id).text(1) for d in result.datasets} == st.dataset_statuses()
    assert win.file_table.model.records == list(result.files)
    assert win.run_button.isEnabled()


def test_steps_run_a_turn_each_and_a_waiting_step_waits(qtbot):
    from PySide6.QtWidgets import QWidget

    from reflexng.gui import turns

    owner = QWidget()
    qtbot.addWidget(owner)
    log: list = []
    ready = {"now": False}

    def waits():
        while not ready["now"]:
            yield turns.LATER
        log.append("waited")

    def sliced():
        for i in range(3):
            log.append(f"slice {i}")
            yield

    turns.in_turns(owner, [lambda: log.append("a"), waits, sliced, lambda: log.append("b")])
    assert log == []  # nothing in the caller's turn
    qtbot.waitUntil(lambda: log == ["a"])
    qtbot.wait(50)
    assert log == ["a"]  # the waiting step holds the rest back
    ready["now"] = True
    qtbot.waitUntil(lambda: log[-1:] == ["b"])
    assert log == ["a", "waited", "slice 0", "slice 1", "slice 2", "b"]
    # dropped once not current any more
    current = {"yes": True}
    more: list = []
    turns.in_turns(owner, [lambda: (more.append(1), current.update(yes=False)), lambda: more.append(2)],
                   lambda: current["yes"])
    qtbot.wait(50)
    assert more == [1]
