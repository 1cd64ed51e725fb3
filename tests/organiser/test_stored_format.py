"""The stored layout of records and walk entries (reflexng.organiser.store): what is packed
comes back equal, a few records are found without decoding the others, changed walk entries
are found column by column."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reflexng.organiser import store, storepack
from reflexng.organiser.model import FileRecord

names = st.text(alphabet="abcxyz/_.é", min_size=1, max_size=12)
values = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=5),
                   st.booleans(), st.none())
records = st.lists(st.builds(
    lambda p, size, mtime, status, headers, digest: FileRecord(
        path="/d/" + p, size=size, mtime_ns=mtime, status=status, headers=headers,
        header_digest=digest, category="BIAS" if status == "ok" else None,
        data_sources=("RAW_BIAS",) if status == "ok" else ()),
    names, st.integers(0, 2**40), st.integers(0, 2**62),
    st.sampled_from(["ok", "unclassified", "unreadable"]),
    st.dictionaries(st.sampled_from(["DPR.TYPE", "MJD-OBS", "DET.BINX"]), values, max_size=3),
    st.text(alphabet="0123456789abcdef", max_size=8)), max_size=120, unique_by=lambda r: r.path)


@settings(max_examples=60, deadline=None)
@given(records, st.lists(names, max_size=8))
def test_records_round_trip_and_are_found_alone(recs, asked):
    blob = bytes(storepack.pack_chunks(recs))
    back = storepack.unpack_records(blob)
    assert back == sorted(recs, key=lambda r: r.path)
    wanted = [r.path for r in recs[::7]] + ["/d/" + a for a in asked]
    by_path = {r.path: r for r in recs}
    assert storepack.records_of(blob, wanted) == {p: by_path[p] for p in wanted if p in by_path}


def test_records_without_a_marshal_form_are_pickled():
    odd = [FileRecord(path="/d/a", size=1, mtime_ns=2, status="ok", headers={"X": 1 + 2j}),
           FileRecord(path="/d/b", size=1, mtime_ns=2, status="ok", headers={"X": frozenset([1])})]
    blob = bytes(storepack.pack_chunks(odd))
    assert storepack.unpack_records(blob) == odd
    assert storepack.records_of(blob, ["/d/b"]) == {"/d/b": odd[1]}


entries = st.lists(st.tuples(names, st.integers(0, 2**63), st.integers(-(2**62), 2**62),
                             st.integers(0, 2**64 - 1), st.sampled_from(["", "", "", "not a file"])),
                   max_size=9000, unique_by=lambda e: e[0])


@settings(max_examples=40, deadline=None)
@given(entries)
def test_entries_round_trip(ents):
    assert storepack.unpack_entries(storepack.pack_entries(ents)) == ents


def test_entries_beyond_64_bits_are_kept_as_they_are():
    ents = [("/d/a", 2**64 + 5, -1, 3, ""), ("/d/b", 1, 2, 3, "gone")]
    blob = storepack.pack_entries(ents)
    assert storepack.entry_columns(blob) is None
    assert storepack.unpack_entries(blob) == ents


def test_entries_are_stored_little_endian_on_every_machine():
    import marshal
    import zlib

    ents = [("/d/a", 2880, 1_700_000_000_123_456_789, 42, ""), ("/d/b", 5760, -7, 2**63 + 1, "x")]
    data = zlib.decompress(storepack.pack_entries(ents)[1:])
    n = int.from_bytes(data[:8], "little")
    paths, sizes, mtimes, inodes = marshal.loads(data[8 : 8 + n])
    assert paths == ["/d/a", "/d/b"]
    for raw, column, signed in ((sizes, 1, False), (mtimes, 2, True), (inodes, 3, False)):
        assert [int.from_bytes(raw[i : i + 8], "little", signed=signed)
                for i in range(0, len(raw), 8)] == [e[column] for e in ents]
    assert marshal.loads(data[16 + n :]) == {1: "x"}


def test_changed_entries_compares_columns_with_the_delta_applied(tmp_path):
    from reflexng.organiser.model import OrganiseResult

    ents = [(f"/d/f{i:03d}", 2880, 1000 + i, 10 + i, "") for i in range(50)]
    ents[7] = ("/d/f007", 0, 1007, 17, "cannot read: Permission denied")
    recs = [FileRecord(path=e[0], size=e[1], mtime_ns=e[2], status="ok") for e in ents]
    result = OrganiseResult(cascade_name="c", target="t", files=recs, jobs={}, datasets=[])
    st_ = store.ResultStore(str(tmp_path / "r.sqlite"))
    try:
        st_.put("k", "c", "f1", ents, result, ["t"])
        row = st_.get("k")
        assert row.changed_entries(ents) == []
        now = list(ents)
        now[3] = ("/d/f003", 2880, 5000, 13, "")  # touched
        now[7] = ("/d/f007", 0, 1007, 17, "")  # readable again, the same stat
        now[9] = ("/d/f009", 2880, 1009, 19, "not a regular file")  # a problem now
        assert row.changed_entries(now) == [now[3], now[7], now[9]]
        assert row.changed_entries(now[:-1]) is None  # a file removed
        assert row.changed_entries(now[::-1]) is None  # listed in another order
        # restamped: the delta holds f003's new entry, the base the old one
        assert st_.restat(row, "f2", [recs[3]._asdict()], [now[3]], len(now))
        row2 = st_.get("k", "f2")
        assert row2.changed_entries(now) == [now[7], now[9]]
        assert row2.entries()["/d/f003"] == now[3]
        assert row2.records_of(["/d/f003", "/d/nope"]) == {"/d/f003": recs[3]}
        # the row changed meanwhile: a second restamp of the old row is refused
        assert not st_.restat(row, "f3", [], [now[9]], len(now))
    finally:
        st_.close()


def test_blobs_are_written_into_the_row_a_part_at_a_time(tmp_path):
    """store._insert: spooled and large values arrive whole and exact (zero blobs filled in
    place), the pickled form where a value has no marshal form, small values as bound."""
    import sqlite3
    from fractions import Fraction

    recs = [FileRecord(path=f"/d/{i:05d}", size=i, mtime_ns=i, status="ok",
                       headers={"X": i, "Y": "v" * (i % 50)}) for i in range(3000)]
    odd = [FileRecord(path="/d/a", size=1, mtime_ns=2, status="ok", headers={"X": Fraction(1, 3)})]
    large = bytes(range(256)) * (3 * store._COPY // 256 + 7)
    con = sqlite3.connect(tmp_path / "t.sqlite", isolation_level=None)
    con.execute("CREATE TABLE t (id TEXT PRIMARY KEY, a BLOB, b BLOB, c BLOB)")
    for rid, rs in (("plain", recs), ("odd", odd)):
        store._insert(con, "t", ["id", "a", "b", "c"], [
            rid,
            store._Spooled(lambda w, rs=rs: storepack.write_chunks(rs, w),
                           lambda rs=rs: storepack.pickled_records(rs)),
            large, b"small"])
    got = dict((r[0], r[1:]) for r in con.execute("SELECT id, a, b, c FROM t"))
    assert got["plain"] == (storepack.pack_chunks(recs), large, b"small")
    assert storepack.unpack_records(got["plain"][0]) == recs
    assert got["odd"][0][:1] == b"Z" and storepack.unpack_records(got["odd"][0]) == odd
