"""`reflexng organise --json` text: the streamed writer gives exactly ``json.dumps(to_json(result),
indent=1) + "\\n"``, for organised real files and for values the fast paths must hand over
(escapes, the joint character, non-ASCII, other types, chunk boundaries)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from reflexng.organiser import organise
from reflexng.organiser._jsonstream import encode, encode_strings, write_indented
from reflexng.organiser.model import (
    Association,
    Candidate,
    Dataset,
    FileRecord,
    Job,
    OrganiseResult,
)
from reflexng.organiser.report import (
    _files_piece,
    _job_fast,
    dataset_text,
    file_text,
    files_texts,
    job_text,
    to_json,
    write_json,
    write_parts,
)

from .conftest import MINI, T0


def reference(result: OrganiseResult) -> str:
    return json.dumps(to_json(result), indent=1) + "\n"


def written(result: OrganiseResult) -> str:
    pieces: list[str] = []
    write_json(result, pieces.append)
    assert all(isinstance(p, str) for p in pieces)
    return "".join(pieces)


def test_organised_files_as_json_dumps(data, mini, tmp_path):
    data.night()
    data.night(T0 + 1, tag="n2", binx=2)
    data.science("sci1.fits", T0, obs_id=1)
    data.science("sci2.fits", T0 + 3.2, obs_id=2)  # incomplete: no flat within a day
    data.science("sci \"quoted\" \\ back|slash ünï.fits", T0, obs_id=3)
    data.write("odd.fits", DPR_TYPE="LAMP,ARC", MJD__OBS=T0)
    (data.root / "empty.fits").write_bytes(b"")
    (data.root / "copy.fits").write_bytes((data.root / "sci1.fits").read_bytes())
    for target in ("science", "flat"):
        result = organise(mini, [data.root], target=target, workflow_parameters={})
        assert any(f.duplicate_of for f in result.files)
        assert written(result) == reference(result)
    # the command's own output, through its real stdout
    p = subprocess.run([sys.executable, "-m", "reflexng", "organise", "--cascade", str(MINI),
                        "--data", str(data.root), "--target", "science", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    result = organise(mini, [data.root], target="science")
    assert p.stdout == reference(result)


NAMES = ["/d/plain.fits", "/d/quo\"te.fits", "/d/back\\slash.fits", "/d/joint|bar.fits",
         "/d/ünïcode.fits", "/d/tab\there.fits", "/d/new\nline.fits", "/d/del\x7f.fits",
         "/d/astral\U0001f600.fits", "", "|", "||"]


class Str(str):
    """A str subclass: encoded as a str, but not of the exact type the fast path checks."""


def records(n: int, odd: dict | None = None) -> list[FileRecord]:
    out = []
    for i in range(n):
        name = NAMES[i % len(NAMES)] + f"{i:06d}"
        kind = i % 5
        out.append(FileRecord(
            path=name, size=2880, mtime_ns=i, status=["ok", "unclassified", "duplicate", "ok",
                                                      "unreadable"][kind],
            category="BIAS" if kind == 0 else ("FLAT|X" if kind == 3 else None),
            reason=["", "nearest rule BIAS (mini.py:23): DPR.TYPE is 'LAMP,ARC', expected 'BIAS'",
                    f"identical to {NAMES[0]}", "", "truncated: ≥ 2880 bytes"][kind],
            duplicate_of=NAMES[0] if kind == 2 else None))
    for i, changes in (odd or {}).items():
        out[i] = out[i]._replace(**changes)
    return out


def result_of(files, jobs=(), datasets=(), **head) -> OrganiseResult:
    return OrganiseResult("c\u00e4scade", head.pop("target", "science"), list(files),
                          {j.id: j for j in jobs}, list(datasets), **head)


def test_files_fast_path_and_chunks():
    for n in (0, 1, 2, 4095, 4096, 4097, 9000):
        result = result_of(records(n))
        assert written(result) == reference(result), n
        assert n == 0 or _files_piece(result.files[:4096]) is not None  # the fast path
        texts = "".join(files_texts(result.files))
        assert texts == ",\n  ".join(map(file_text, result.files))


def test_files_of_other_types_fall_back_exactly():
    odd = {3: {"category": 7}, 4100: {"status": Str("ok")}, 4200: {"duplicate_of": 0.5},
           4300: {"reason": None}, 8200: {"path": Str("/d/sub|class")}, 8201: {"category": True},
           8202: {"duplicate_of": ""}, 8203: {"category": [1, "a"]}}
    result = result_of(records(9000, odd))
    assert [_files_piece(result.files[i:i + 4096]) is None for i in (0, 4096, 8192)] == [True] * 3
    assert written(result) == reference(result)


def job(i: int, **changes) -> Job:
    main = tuple(NAMES[k % len(NAMES)] + str(k) for k in range(i % 4))
    assoc = {
        "bias": Association("bias", "data_source", chosen=tuple(
            Candidate(path=p, level=k % 3, dt_days=(k - 1.5) / 7.0) for k, p in enumerate(main))),
        "flat|job": Association("flat", "task", chosen=(Candidate(job_id=f"flat-{i}", level=0,
                                                                  dt_days=None),)),
        "none": Association("none", "task"),
    }
    fields = dict(id=f"science-{i:012x}", task="science", recipe="r", main=main,
                  main_jobs=() if i % 2 else (f"flat-{i}", "x|y"), associated=assoc,
                  complete=bool(i % 3), missing=() if i % 3 else ("flat: needs ≥1 FLAT",))
    fields.update(changes)
    return Job(**fields)


def test_jobs_datasets_head_and_fragments():
    jobs = [job(i) for i in range(12)]
    jobs += [job(20, missing=["a", 3]), job(21, main=(Str("s"),)), job(22, complete=1),
             job(23, associated={"x": Association("x", "data_source", chosen=(
                 Candidate(path="p", level=True, dt_days=math.inf), Candidate(dt_days=2),
                 Candidate(path="q", level=-1, dt_days=float("nan"))))}),
             job(24, associated={})]
    # the template for the schema's types (str subclasses, infinities, ints included), else
    # value by value
    assert [_job_fast(j) is None for j in jobs] == [False] * 12 + [True, False, True, False, False]
    datasets = [Dataset(id=f"ds-{i}", name=f"sci{i}.fits [OBS.ID={i}]", target="science",
                        target_job=jobs[i].id, jobs=tuple(j.id for j in jobs[: i + 1]),
                        complete=bool(i % 2), missing=("science: x|\"y\"",) * (i % 2))
                for i in range(5)]
    head = dict(workflow_parameters={"group_by": "OBS.ID", "n": 3, "f": 1.5, "l": ["a", 2]},
                notes=["target science: no SCIENCE files found", "ü|"])
    for files, js, ds, h in ((records(30), jobs, datasets, head), ([], [], [], {}),
                             (records(3), jobs[:1], [], head)):
        result = result_of(files, js, ds, **h)
        text = written(result)
        assert text == reference(result)
        pieces: list[str] = []
        pieces.append(text[: text.index(',\n "files": ')])
        write_parts(pieces.append, files_texts(result.files), map(dataset_text, result.datasets),
                    map(job_text, result.jobs.values()))
        assert "".join(pieces) == text
        # texts kept per item (as a caller caching them would): one file per piece
        kept = [file_text(f) for f in result.files]
        pieces[1:] = []
        write_parts(pieces.append, [t if i == 0 else ",\n  " + t for i, t in enumerate(kept)],
                    [dataset_text(d) for d in result.datasets],
                    [job_text(j) for j in result.jobs.values()])
        assert "".join(pieces) == text


def test_encode_strings():
    for strings in (NAMES * 3, [s for s in NAMES if "|" not in s]):  # with, without the joint
        assert encode_strings(strings) == [json.dumps(s)[1:-1] for s in strings]
    assert encode_strings(["a", "b"]) == ["a", "b"] and encode_strings([]) == []
    assert encode_strings(["a", None]) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.text(alphabet=st.sampled_from(list('ab|"\\\n\x00\x7fü\U0001f600 ')), max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(alphabet="ab|ü\"", max_size=3) | st.integers() | st.booleans()
                      | st.none() | st.floats(allow_nan=False), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_encode_is_json_dumps_indent_1(value):
    assert encode(value, 0) == json.dumps(value, indent=1)
    pieces: list[str] = []
    write_indented([value, value], pieces.append, 0, seq=True)
    assert "".join(pieces) == json.dumps([value, value], indent=1)
