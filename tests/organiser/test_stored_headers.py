"""A stored result is the header cache of its files (store.ResultStore.scanned): another
request on unchanged files (an edited cascade, other workflow parameters) reads none of
them, changed files are read, and the organiser writes no header cache of its own.

Real header-only FITS files, a real SQLite work directory; every result is compared with a
plain organise (no work directory) of the same files.
"""

from __future__ import annotations

import shutil
import sqlite3

from reflexng.cascade import load
from reflexng.organiser import organise
from reflexng.organiser import store as _store
from reflexng.organiser.classify import needed_keywords
from reflexng.organiser.incremental import clear_memory

from .conftest import MINI
from .test_stored import dump, header_of, put


def _files(raw, n: int = 12) -> list:
    out = []
    for i in range(n):
        kind = ("BIAS", "FLAT", "DARK")[i % 3]
        out.append(raw / f"{kind.lower()}_{i}.fits")
        put(out[-1], header_of(kind, i % 2, i, 1 + i % 2))
    return out


def _organise(cascade_file, raw, work):
    """(result, how many files the scan had to read)."""
    calls: list[tuple[int, int]] = []
    result = organise(load(cascade_file), raw, "flat", workdir=work,
                      progress=lambda done, total: calls.append((done, total)))
    done, total = calls[0]  # the first call: files answered without reading them
    return result, total - done


def test_another_request_reads_only_what_no_stored_result_knows(tmp_path):
    folder = tmp_path / "cascade"
    folder.mkdir()
    cascade_file = folder / "mini.py"
    shutil.copyfile(MINI, cascade_file)
    text = cascade_file.read_text()
    raw, work = tmp_path / "raw", tmp_path / "w"
    files = _files(raw)
    first, read = _organise(cascade_file, raw, work)
    assert read == len(files)
    con = sqlite3.connect(work / "reflexng.sqlite")
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "fits_scan_cache" not in tables  # no header cache of its own: each header stored once
    # an edited cascade (a new classification): nothing read, organised anew
    for n, name in enumerate(("ZERO", "NULL")):
        cascade_file.write_text(text.replace('classification_rule("BIAS"',
                                             f'classification_rule("{name}"'))
        if n:
            clear_memory()
        changed, read = _organise(cascade_file, raw, work)
        assert read == 0
        assert {f.category for f in changed.files} == {name, "FLAT", "DARK"}
        assert dump(changed) == dump(organise(load(cascade_file), raw, "flat"))
    # two files rewritten and the cascade edited again: those two are read
    put(files[1], header_of("FLAT", 1, 40, 2))
    put(files[3], header_of("BIAS", 0, 41, 1))
    cascade_file.write_text(text.replace('classification_rule("BIAS"', 'classification_rule("B"'))
    again, read = _organise(cascade_file, raw, work)
    assert read == 2
    assert dump(again) == dump(organise(load(cascade_file), raw, "flat"))
    assert dump(again) != dump(first)


def test_scanned_answers_for_its_keywords_or_fewer(tmp_path):
    raw, work = tmp_path / "raw", tmp_path / "w"
    files = _files(raw, 6)
    (raw / "junk.fits").write_bytes(b"not FITS" * 20)
    cascade = load(MINI)
    result = organise(cascade, raw, "flat", workdir=work)
    keywords = needed_keywords(cascade)
    st = _store.ResultStore(_store.db_path(work))
    try:
        assert st.scanned(list(keywords) + ["NOT.SCANNED"]) is None  # not all known: read
        known = st.scanned(keywords)
        assert set(known) == {str(p.resolve()) for p in files}  # not the unreadable file
        by_path = {f.path: f for f in result.files}
        for path, (size, mtime_ns, _inode, values, digest) in known.items():
            rec = by_path[path]
            assert (size, mtime_ns, values, digest) == (rec.size, rec.mtime_ns, rec.headers,
                                                        rec.header_digest)
        fewer = st.scanned(["DPR.TYPE"])
        assert {p: v[3] for p, v in fewer.items()} == {
            p: {"DPR.TYPE": by_path[p].headers["DPR.TYPE"]} for p in known}
    finally:
        st.close()
