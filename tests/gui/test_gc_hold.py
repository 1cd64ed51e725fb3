"""A large result shown by the file table or the dataset tree is frozen out of the cyclic
garbage collector's full passes, for as long as a view holds it (issue 17); a small one never
is, and nothing stays frozen once the views let go or are destroyed."""

from __future__ import annotations

import gc
import weakref

import pytest

pytest.importorskip("PySide6")


class _Node:
    pass


@pytest.fixture
def unfrozen():
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()  # a failing test must not leave the collector frozen for the next ones


def _records(n: int):
    from reflexng.organiser.model import FileRecord

    return [FileRecord(f"/data/f{i:06d}.fits", 1, 0, "ok", "BIAS", "RAW_BIAS", "", {"EXPTIME": i % 30})
            for i in range(n)]


def test_views_hold_a_large_result_frozen(qtbot, unfrozen):
    from shiboken6 import delete

    from reflexng.gui import gc_hold
    from reflexng.gui.dataset_tree import DatasetTree
    from reflexng.gui.file_table import FileTable
    from reflexng.organiser.model import OrganiseResult

    ft, dt = FileTable(), DatasetTree()
    qtbot.addWidget(ft)
    small = _records(gc_hold.FREEZE_FROM - 1)
    ft.set_records(small)
    assert gc.get_freeze_count() == 0 and not gc_hold.frozen()
    big = _records(gc_hold.FREEZE_FROM)
    ft.set_records(big)
    assert gc.get_freeze_count() > 4 * len(big)  # the records, their headers, ... out of full passes
    dt.set_result(OrganiseResult("mini", "", big, {}, []))  # the same result in the second view
    # while frozen: records no one holds any more are freed (no cycles), cyclic garbage waits
    probe, cycle = _Node(), _Node()
    cycle.me = cycle
    gc.freeze()  # as a later large result would
    gone, waiting = weakref.ref(probe), weakref.ref(cycle)
    del probe, cycle
    gc.collect()
    assert gone() is None and waiting() is not None
    ft.set_records(small)  # one view lets go: the other still shows the large result
    assert gc_hold.frozen() and gc.get_freeze_count() > 0
    delete(dt)  # the last holder is destroyed: everything unfrozen, the cycle collected
    assert not gc_hold.frozen() and gc.get_freeze_count() == 0
    gc.collect()
    assert waiting() is None
