"""The file table filters itself (issue 17): the rows shown equal a plain filter of the records."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402


def test_search_and_status_filter_equal_a_plain_filter(qtbot):
    from reflexng.gui.file_table import FileTable
    from reflexng.organiser.model import FileRecord

    recs = [FileRecord(f"/data/n{i % 13}/f{i:05d}.fits", 1, 0,
                       ("ok", "unclassified", "unreadable", "duplicate")[i % 4],
                       "BIAS" if i % 3 else None, None,
                       "nearest rule FLAT" if i % 4 == 1 else "",
                       {"EXPTIME": i % 30, "OBJECT": f"NGC {i % 7}"},
                       duplicate_of=f"/data/f{i - 1:05d}.fits" if i % 4 == 3 else None)
            for i in range(5000)]
    ft = FileTable()
    qtbot.addWidget(ft)
    ft.set_records(recs, ["EXPTIME", "OBJECT"])
    assert ft.proxy.rowCount() == 5000

    def shown():
        m = ft.model
        return [m.data(m.index(r, 0)) for r in range(m.rowCount())]

    def expected(text, status):
        out = []
        for r in recs:
            reason = r.reason or (f"duplicate of {r.duplicate_of.rsplit('/', 1)[-1]}" if r.duplicate_of else "")
            cols = [r.path.rsplit("/", 1)[-1], r.category or "", r.status, reason,
                    str(r.headers["EXPTIME"]), r.headers["OBJECT"]]
            if (status is None or r.status == status) and text.lower() in "\t".join(cols).lower():
                out.append(cols[0])
        return out

    for text, status in [("ngc 3", None), ("", "unreadable"), ("f0001", "ok"), ("duplicate of", None),
                         ("nearest", "unclassified"), ("nothing like this", None)]:
        ft.search.setText(text)
        ft.status.setCurrentText(status or "all statuses")
        assert shown() == expected(text, status), (text, status)
    # sorting keeps the filter; the rows shown are sorted
    ft.search.setText("ngc 2")
    ft.status.setCurrentText("all statuses")
    ft.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert shown() == sorted(expected("ngc 2", None), reverse=True)
    with qtbot.waitSignal(ft.sig_file_selected) as blocker:
        ft.view.selectRow(0)
    assert blocker.args[0].endswith(shown()[0])


def test_search_text_built_in_idle_slices_equals_the_text_built_at_once(qtbot):
    """The slices (rows and row starts a chunk at a time) give the columns a search builds
    at once, a lower case longer than its letter (İ) included."""
    from reflexng.gui.file_table import FileTable, FileTableModel
    from reflexng.organiser.model import FileRecord

    recs = [FileRecord(f"/data/f{i:05d}.fits", 1, 0, "ok", "BIAS" if i % 3 else None, None,
                       "", {"OBJECT": "İstanbul" if i == 7 else f"NGC {i % 7}", "EXPTIME": i})
            for i in range(1234)]
    ft = FileTable()
    qtbot.addWidget(ft)
    ft.set_records(recs, ["OBJECT", "EXPTIME"])
    qtbot.waitUntil(lambda: ft._warming is None)  # built in idle time
    warmed = ft.model.search_columns()
    at_once = FileTableModel(recs, ["OBJECT", "EXPTIME"])
    assert warmed == at_once.search_columns()
    m = FileTableModel(recs, ["OBJECT", "EXPTIME"])
    for _ in m.warm(chunk=100):  # slices smaller than the rows
        pass
    assert m.search_columns() == warmed
    ft.search.setText("i̇stanbul")  # İ in lower case: i and a combining dot
    assert [ft.model.value(r, 0) for r in range(ft.model.rowCount())] == ["f00007.fits"]


def test_search_text_waits_while_the_user_scrolls(qtbot):
    """The search text is built in idle time only: not in the turns between scroll steps
    (each would be a scroll step plus a slice), and it is finished once scrolling stops."""
    import time

    from reflexng.gui.file_table import FileTable, FileTableModel
    from reflexng.organiser.model import FileRecord

    recs = [FileRecord(f"/data/f{i:06d}.fits", 1, 0, "ok", "BIAS", None, "",
                       {"OBJECT": f"NGC {i % 7}", "EXPTIME": i % 30}) for i in range(60000)]
    ft = FileTable()
    qtbot.addWidget(ft)
    ft.resize(600, 400)
    ft.show()
    ft.set_records(recs, ["OBJECT", "EXPTIME"])
    bar = ft.view.verticalScrollBar()
    built = len(ft.model._keys or ())
    end = time.perf_counter() + 2 * ft.WARM_PAUSE_S
    step = 0
    while time.perf_counter() < end:  # a user dragging the scroll bar for 0.3 s
        step += 1
        bar.setValue(step * 50 % bar.maximum())
        qtbot.wait(5)
    assert len(ft.model._keys or ()) == built and ft._warming is not None  # nothing built meanwhile
    qtbot.waitUntil(lambda: ft._warming is None, timeout=10000)  # then it is, in idle time
    assert ft.model.search_columns() == FileTableModel(recs, ["OBJECT", "EXPTIME"]).search_columns()
