"""``organise(..., store_later=True)`` (the command line: the result is written out before it
is stored): nothing is stored until ``store_now``; a result never stored is organised again,
never answered stale; a stored one answers the next unchanged request."""

from __future__ import annotations

import sqlite3

from reflexng.organiser import organise
from reflexng.organiser.incremental import attach_output, clear_memory, store_now

from .test_stored import _night, dump


def rows(work) -> int:
    con = sqlite3.connect(work / "reflexng.sqlite")
    try:
        return con.execute("SELECT count(*) FROM organise_results").fetchone()[0]
    finally:
        con.close()


def test_a_result_left_to_store_is_stored_by_store_now(mini, tmp_path):
    raw, work = tmp_path / "raw", tmp_path / "w"
    _night(raw)
    first = organise(mini, raw, "flat", workdir=work, store_later=True)
    assert rows(work) == 0  # written out first, stored after
    assert store_now(first) is True
    assert store_now(first) is True  # (once: stored already)
    assert rows(work) == 1
    clear_memory()  # as in a new process: the answer comes from the database
    calls: list[tuple] = []
    again = organise(mini, raw, "flat", workdir=work, progress=lambda *a: calls.append(a))
    assert calls == []  # nothing scanned, nothing classified
    assert dump(again) == dump(first) == dump(organise(mini, raw, "flat"))
    # a stored result answers an unchanged request synchronously, with nothing left to store
    assert store_now(again) is True and rows(work) == 1


def test_a_result_never_stored_is_organised_again(mini, tmp_path):
    raw, work = tmp_path / "raw", tmp_path / "w"
    _night(raw)
    first = organise(mini, raw, "flat", workdir=work, store_later=True)
    expected = dump(first)
    del first  # the command line stopped before storing it (output to a closed pipe, say)
    clear_memory()
    calls: list[tuple] = []
    again = organise(mini, raw, "flat", workdir=work, store_later=True,
                     progress=lambda *a: calls.append(a))
    assert calls  # organised again
    assert dump(again) == expected
    assert attach_output(again, "json", b"{}\n") is True  # stores it, then its output
    assert rows(work) == 1
