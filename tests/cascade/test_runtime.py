"""Run-time input shaping (reflexng/cascade/runtime.py): output filters, requested
categories, input filters (associated inputs only) and input maps, on real cascade and job
objects."""

from __future__ import annotations

from reflexng.cascade import Cascade
from reflexng.cascade.model import AssociatedInput, CascadeInfo, DataSource, InputRef, Task
from reflexng.cascade.runtime import needs_shaping, passed_on, shape_inputs
from reflexng.organiser.model import Association, Candidate, Job


def _cascade(**science_fields) -> Cascade:
    raw = DataSource("RAW")
    flat = Task("flat", "r", main_input=InputRef("RAW", "data_source"),
                output_filter=("reject", ("FLAT_QC",)))
    sci = Task("science", "r", main_input=InputRef("RAW", "data_source"),
               associated_inputs=(AssociatedInput(InputRef("flat", "task"), categories=("MASTER_FLAT", "FLAT_QC",
                                                                                         "BLAZE")),),
               **science_fields)
    return Cascade(CascadeInfo("rt"), "<test>", {"RAW": raw}, {"flat": flat, "science": sci})


def _jobs():
    flat_job = Job("flat-1", "flat", "r", ("/raw/f.fits",))
    assoc = Association("flat", "task", (Candidate(job_id="flat-1"),), categories=("MASTER_FLAT", "FLAT_QC", "BLAZE"))
    sci_job = Job("science-1", "science", "r", ("/raw/s.fits",), associated={"flat": assoc}, depends_on=("flat-1",))
    return {"flat-1": flat_job, "science-1": sci_job}


def _inputs():
    items = [("/raw/s.fits", "OBJECT", "main", None), ("/w/mf.fits", "MASTER_FLAT", "associated", "flat-1"),
             ("/w/qc.fits", "FLAT_QC", "associated", "flat-1"), ("/w/blaze.fits", "BLAZE", "associated", "flat-1"),
             ("/w/other.fits", "TRACE", "associated", "flat-1"), ("/cal/lines.fits", "LINES", "associated", None)]
    return ([{"path": p, "category": c, "role": r, "hash": "h"} for p, c, r, _ in items], [o for *_, o in items])


def _shaped(cascade):
    jobs = _jobs()
    inputs, origins = _inputs()
    return [(i["path"].rsplit("/", 1)[-1], i["category"]) for i in
            shape_inputs(cascade, jobs["science-1"], inputs, origins, jobs)]


def test_requested_categories_and_upstream_output_filter():
    c = _cascade()
    assert needs_shaping(c)
    # TRACE was not asked for; FLAT_QC is rejected by flat's output filter
    assert _shaped(c) == [("s.fits", "OBJECT"), ("mf.fits", "MASTER_FLAT"), ("blaze.fits", "BLAZE"),
                          ("lines.fits", "LINES")]


def test_input_filter_spares_the_main_input():
    c = _cascade(input_filter=("select", ("MASTER_FLAT",)))
    assert _shaped(c) == [("s.fits", "OBJECT"), ("mf.fits", "MASTER_FLAT")]
    c = _cascade(input_filter=("reject", ("LINES", "BLAZE")))
    assert _shaped(c) == [("s.fits", "OBJECT"), ("mf.fits", "MASTER_FLAT")]


def test_input_map_renames():
    c = _cascade(input_map={"MASTER_FLAT": "FLAT_MASTER", "OBJECT": "SCIENCE_RAW"})
    assert _shaped(c)[:2] == [("s.fits", "SCIENCE_RAW"), ("mf.fits", "FLAT_MASTER")]


def test_passed_on_and_native_cascades_untouched():
    c = _cascade()
    products = [("/w/mf.fits", "MASTER_FLAT"), ("/w/qc.fits", "FLAT_QC")]
    assert passed_on(c, "flat", products) == [("/w/mf.fits", "MASTER_FLAT")]
    assert passed_on(c, "science", products) == products
    native = Cascade(CascadeInfo("n"), "<test>", {"RAW": DataSource("RAW")},
                     {"t": Task("t", "r", main_input=InputRef("RAW", "data_source"))})
    assert not needs_shaping(native)
