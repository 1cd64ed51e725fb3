"""The dataset tree makes a dataset's jobs and frames when it is expanded or asked for (issue
17: 300,000 files load without 500,000 items up front); what it then shows and does equals
the tree made all at once."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from dataclasses import replace  # noqa: E402

from PySide6.QtCore import Qt  # noqa: E402


def _subtree(item) -> list:
    """Every item below ``item``: texts, check state, colours, tooltips, roles."""
    from reflexng.gui.dataset_tree import ASSOC_ROLE, ID_ROLE, KIND_ROLE

    out = []
    for i in range(item.childCount()):
        c = item.child(i)
        out.append((
            [c.text(k) for k in range(5)], c.checkState(0), [c.foreground(k).color().name() for k in range(5)],
            [c.toolTip(k) for k in range(5)], c.data(0, KIND_ROLE), c.data(0, ID_ROLE), c.data(0, ASSOC_ROLE),
            c.isExpanded(), _subtree(c)))
    return out


def _lazy_and_eager(qtbot, result, excluded=()):
    from reflexng.gui.dataset_tree import DatasetTree

    lazy, eager = DatasetTree(), DatasetTree()
    qtbot.addWidget(lazy)
    qtbot.addWidget(eager)
    lazy.EAGER_ITEMS = 0  # nothing below the datasets made up front
    lazy.set_result(result, excluded)
    eager.set_result(result, excluded)
    return lazy, eager


def test_expanding_shows_what_the_eager_tree_shows(qtbot, organise_result):
    lazy, eager = _lazy_and_eager(qtbot, organise_result, ["/gone/excluded.fits"])
    ids = [d.id for d in organise_result.datasets]
    for ds_id in ids:
        item = lazy.tree.topLevelItem(ids.index(ds_id))
        assert item.childCount() == 0 and not item.isExpanded()
        assert item.childIndicatorPolicy() == item.ChildIndicatorPolicy.ShowIndicator  # expandable
        assert eager.dataset_item(ds_id).isExpanded()
    lazy.set_job_state("science-1", "failed")  # before its items exist
    eager.set_job_state("science-1", "failed")
    for i in range(len(ids)):
        lazy.tree.topLevelItem(i).setExpanded(True)  # as a click on the arrow does
    for i in range(lazy.tree.topLevelItemCount()):
        a, b = lazy.tree.topLevelItem(i), eager.tree.topLevelItem(i)
        assert [a.text(k) for k in range(5)] == [b.text(k) for k in range(5)]
        assert a.checkState(0) == b.checkState(0)
        assert _subtree(a) == _subtree(b)
    assert lazy.dataset_item("ds-1").child(2).text(1) == "failed"
    assert lazy.selected_datasets() == eager.selected_datasets() == ["ds-1"]
    assert lazy.excluded_files() == eager.excluded_files() == ["/gone/excluded.fits"]


def test_an_unticked_frame_stays_unticked_where_it_is_made_later(qtbot, organise_result):
    ds2 = organise_result.datasets[1]  # ds-2 shares the bias job (and its frames) with ds-1
    organise_result.datasets[1] = replace(ds2, jobs=("bias-1", *ds2.jobs))
    lazy, eager = _lazy_and_eager(qtbot, organise_result)
    frame = lazy.dataset_item("ds-1").child(0).child(1)  # asking for a dataset makes its items
    path = frame.data(0, Qt.ItemDataRole.UserRole + 1)
    assert lazy.tree.topLevelItem(1).childCount() == 0  # ds-2: not made yet
    with qtbot.waitSignal(lazy.sig_excluded_changed) as blocker:
        frame.setCheckState(0, Qt.CheckState.Unchecked)
    assert blocker.args[0] == [path] == lazy.excluded_files()
    with qtbot.waitSignal(eager.sig_excluded_changed):
        eager.dataset_item("ds-1").child(0).child(1).setCheckState(0, Qt.CheckState.Unchecked)
    # the other dataset's items, made now, show the same frame unticked, as the eager tree does
    lazy.tree.topLevelItem(1).setExpanded(True)
    assert _subtree(lazy.tree.topLevelItem(1)) == _subtree(eager.tree.topLevelItem(1))
    # ticking it again anywhere ticks it everywhere
    with qtbot.waitSignal(lazy.sig_excluded_changed) as blocker:
        frame.setCheckState(0, Qt.CheckState.Checked)
    assert blocker.args[0] == [] == lazy.excluded_files()


def test_excluding_a_frame_of_a_dataset_not_made_yet(qtbot, organise_result):
    from reflexng.gui.dataset_tree import DatasetTree

    dt = DatasetTree()
    qtbot.addWidget(dt)
    dt.EAGER_ITEMS = 0
    dt.set_result(organise_result)
    path = organise_result.jobs["science-2"].main[0]
    with qtbot.waitSignal(dt.sig_excluded_changed) as blocker:
        dt.set_frame_excluded(path, True)
    assert blocker.args[0] == [path]
    ds2 = dt.tree.topLevelItem(1)  # made to untick the frame
    frames = [ds2.child(0).child(i) for i in range(ds2.child(0).childCount())]
    assert [f.checkState(0) for f in frames if f.data(0, Qt.ItemDataRole.UserRole + 1) == path] == [Qt.CheckState.Unchecked]
    # a path no job reads: nothing to untick, no signal
    with qtbot.assertNotEmitted(dt.sig_excluded_changed):
        dt.set_frame_excluded("/not/in/the/result.fits", True)
    assert dt.excluded_files() == [path]


def test_a_large_result_makes_a_few_datasets_items_up_front(qtbot):
    """Datasets beyond ``EAGER_ITEMS`` items start collapsed; each is made when expanded."""
    from reflexng.gui.dataset_tree import DatasetTree
    from reflexng.organiser.model import Dataset, FileRecord, Job, OrganiseResult

    files, jobs, datasets = [], {}, []
    for d in range(400):
        paths = [f"/data/n{d}/sci_{i}.fits" for i in range(9)]
        files += [FileRecord(p, 1, 0, "ok", "SCIENCE", "RAW_SCI", "", {"OBJECT": f"T{d}"}, 60000.0 + d) for p in paths]
        jobs[f"sci-{d}"] = Job(f"sci-{d}", "science", "demo_science", main=tuple(paths))
        datasets.append(Dataset(f"ds-{d}", f"night {d}", "science", f"sci-{d}", (f"sci-{d}",), True))
    result = OrganiseResult("mini", "", files, jobs, datasets)
    dt = DatasetTree()
    qtbot.addWidget(dt)
    dt.EAGER_ITEMS = 1000
    dt.SLICE = 0.0  # the fewest dataset items per event-loop turn: 50
    with qtbot.waitSignal(dt.sig_loaded):
        dt.set_result(result, ["/gone/excluded.fits"])
        assert dt.tree.topLevelItemCount() == 50 + 1  # the excluded frames stay last
        assert dt.selected_datasets() == [d.id for d in datasets]  # those not made yet count
    assert dt.tree.topLevelItemCount() == 400 + 1
    assert dt.tree.topLevelItem(400).text(0) == "Excluded frames"
    assert [dt.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole + 1) for i in range(400)] == [
        d.id for d in datasets]
    made = [i for i in range(400) if dt.tree.topLevelItem(i).childCount()]
    # the first datasets, until 1,000 items below them exist (10 each: a job and 9 frames)
    assert made == list(range(100))
    assert all(dt.tree.topLevelItem(i).isExpanded() for i in made)
    assert not dt.tree.topLevelItem(100).isExpanded()
    dt.tree.topLevelItem(399).setExpanded(True)
    job = dt.tree.topLevelItem(399).child(0)
    assert job.text(4) == "sci-399" and job.isExpanded() and job.childCount() == 9
    assert dt.selected_datasets() == [d.id for d in datasets]


def test_statuses_and_asking_for_datasets_not_made_yet(qtbot, organise_result):
    from reflexng.gui.dataset_tree import DatasetTree

    dt = DatasetTree()
    qtbot.addWidget(dt)
    dt.SLICE = 0.0
    many = [replace(organise_result.datasets[0], id=f"ok-{i}") for i in range(119)]
    organise_result.datasets[:] = many + [organise_result.datasets[1]]
    dt.set_result(organise_result)
    assert dt.tree.topLevelItemCount() == 50
    dt.set_dataset_status("ok-100", "reduced")  # shown when its item is made
    dt.select_complete()
    assert dt.selected_datasets() == [d.id for d in many]
    assert dt.dataset_item("ok-100").text(1) == "reduced"  # asking makes the items
    assert dt.tree.topLevelItemCount() == 120
    assert dt.dataset_item("ds-2").text(1) == "incomplete"
