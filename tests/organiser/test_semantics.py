"""Organiser semantics EDPS workflows rely on, tested on cascades made of the immutable model
objects (real header-only FITS files, the real scanner and organiser):

category filters on inputs, alternatives (with and without sort keys), negative quality
levels, job parameters driving conditions, job processing, a file in several data sources.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reflexng.cascade import Cascade
from reflexng.cascade.model import (
    UNLIMITED,
    AssociatedInput,
    CascadeInfo,
    ClassificationRule,
    DataSource,
    InputRef,
    MatchRule,
    Task,
    days,
)
from reflexng.organiser import organise
from reflexng.organiser.spectest import write_header_fits

T0 = 61000.1


def _cascade(data_sources, tasks, dialect="native", extra=("ARM", "INS.LAMP")) -> Cascade:
    # extra: keywords cascade functions read (the scanner extracts only what is named)
    return Cascade(info=CascadeInfo("semantics", dialect=dialect, extra_keywords=extra), path="<test>",
                   data_sources={d.name: d for d in data_sources}, tasks={t.name: t for t in tasks})


def _rule(cat, **kw):
    return ClassificationRule(cat, {k.replace("_", "."): v for k, v in kw.items()})


def _write(root: Path, name: str, **kw) -> str:
    path = root / name
    write_header_fits(path, {k.replace("__", "-").replace("_", "."): v for k, v in kw.items()})
    return str(path.resolve())


SCI = DataSource("SCI", (_rule("SCIENCE", DPR_TYPE="OBJECT"),), ("ARCFILE",))
FLATS = DataSource("FLATS", (_rule("FLAT_LAMP", DPR_TYPE="FLAT", INS_LAMP="QTH"),
                             _rule("FLAT_SKY", DPR_TYPE="FLAT", INS_LAMP="NONE")),
                   match_rules=(MatchRule((), None, UNLIMITED, 0),))


def _sci(root, name="sci.fits", mjd=T0, **kw):
    return _write(root, name, DPR_TYPE="OBJECT", ARCFILE=name, MJD__OBS=mjd, **kw)


def test_category_filter_on_a_data_source_input(tmp_path):
    _sci(tmp_path)
    lamp = _write(tmp_path, "lamp.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0 - 0.01)
    sky = _write(tmp_path, "sky.fits", DPR_TYPE="FLAT", INS_LAMP="NONE", MJD__OBS=T0 - 0.5)
    src = InputRef("FLATS", "data_source")
    t = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
             associated_inputs=(AssociatedInput(src, categories=("FLAT_SKY",)),))
    res = organise(_cascade([SCI, FLATS], [t]), tmp_path)
    (job,) = res.jobs.values()
    assert [c.path for c in job.associated["FLATS"].chosen] == [sky]
    assert job.associated["FLATS"].categories == ("FLAT_SKY",)
    # without the filter the nearer lamp flat is chosen
    t2 = dataclasses.replace(t, associated_inputs=(AssociatedInput(src),))
    (job2,) = organise(_cascade([SCI, FLATS], [t2]), tmp_path).jobs.values()
    assert [c.path for c in job2.associated["FLATS"].chosen] == [lamp]


def test_category_filter_on_the_main_input(tmp_path):
    _write(tmp_path, "lamp.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0)
    sky = _write(tmp_path, "sky.fits", DPR_TYPE="FLAT", INS_LAMP="NONE", MJD__OBS=T0)
    t = Task("skyflat", "demo_flat", main_input=InputRef("FLATS", "data_source"),
             main_categories=("FLAT_SKY",))
    res = organise(_cascade([FLATS], [t]), tmp_path)
    assert [j.main for j in res.jobs.values()] == [(sky,)]


def _alt_task(sort_keys=(), cond_first=None, cond_second=None):
    first = AssociatedInput(InputRef("FLATS", "data_source"), categories=("FLAT_LAMP",), condition=cond_first)
    second = AssociatedInput(InputRef("FLATS", "data_source"), categories=("FLAT_SKY",), condition=cond_second)
    group = AssociatedInput(first.source, alternatives=(first, second), sort_keys=sort_keys)
    return Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
                associated_inputs=(group,))


def test_alternatives_first_satisfied_wins(tmp_path):
    _sci(tmp_path)
    lamp = _write(tmp_path, "lamp.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0 - 3)
    sky = _write(tmp_path, "sky.fits", DPR_TYPE="FLAT", INS_LAMP="NONE", MJD__OBS=T0 - 0.1)
    (job,) = organise(_cascade([SCI, FLATS], [_alt_task()]), tmp_path).jobs.values()
    a = job.associated["FLATS"]
    assert [c.path for c in a.chosen] == [lamp]
    assert a.note.startswith("alternative 1 of 2")
    # the first alternative's condition is false: the second one is used
    (job,) = organise(_cascade([SCI, FLATS], [_alt_task(cond_first=lambda ctx: False)]),
                      tmp_path).jobs.values()
    assert [c.path for c in job.associated["FLATS"].chosen] == [sky]
    assert job.associated["FLATS"].note.startswith("alternative 2 of 2")


def test_alternatives_with_sort_keys_take_the_closest(tmp_path):
    _sci(tmp_path)
    _write(tmp_path, "lamp.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0 - 3)
    sky = _write(tmp_path, "sky.fits", DPR_TYPE="FLAT", INS_LAMP="NONE", MJD__OBS=T0 - 0.1)
    (job,) = organise(_cascade([SCI, FLATS], [_alt_task(sort_keys=("MJD-OBS",))]), tmp_path).jobs.values()
    assert [c.path for c in job.associated["FLATS"].chosen] == [sky]


def test_alternatives_none_satisfied_reports_the_first_active(tmp_path):
    _sci(tmp_path)
    t = _alt_task(cond_first=lambda ctx: False)
    (job,) = organise(_cascade([SCI, FLATS], [t]), tmp_path).jobs.values()
    assert not job.complete
    assert "FLAT_SKY" in job.associated["FLATS"].missing
    # every condition false: skipped, and the job is complete
    t = _alt_task(cond_first=lambda ctx: False, cond_second=lambda ctx: False)
    (job,) = organise(_cascade([SCI, FLATS], [t]), tmp_path).jobs.values()
    assert job.complete and job.associated["FLATS"].skipped_reason


def test_negative_level_is_searched_first(tmp_path):
    _sci(tmp_path, ARM="VIS", TPL_START="t1")
    same_tpl = _write(tmp_path, "far.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", ARM="VIS", TPL_START="t1",
                      MJD__OBS=T0 - 0.8)
    near = _write(tmp_path, "near.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", ARM="VIS", TPL_START="t0",
                  MJD__OBS=T0 - 0.05)
    rules = (MatchRule(("ARM", "TPL.START"), None, days(1), -1), MatchRule(("ARM",), None, days(1), 0),
             MatchRule(("ARM",), None, UNLIMITED, 2))
    flats = dataclasses.replace(FLATS, match_rules=rules)
    t = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
             associated_inputs=(AssociatedInput(InputRef("FLATS", "data_source")),))
    (job,) = organise(_cascade([SCI, flats], [t]), tmp_path).jobs.values()
    (c,) = job.associated["FLATS"].chosen
    assert (c.path, c.level) == (same_tpl, -1)
    # without the stricter level the nearest flat of level 0 is chosen
    flats0 = dataclasses.replace(FLATS, match_rules=rules[1:])
    (job,) = organise(_cascade([SCI, flats0], [t]), tmp_path).jobs.values()
    (c,) = job.associated["FLATS"].chosen
    assert (c.path, c.level) == (near, 0)


def test_job_parameter_drives_a_condition_and_is_not_a_recipe_parameter(tmp_path):
    _sci(tmp_path, "vis.fits", ARM="VIS")
    _sci(tmp_path, "nir.fits", mjd=T0 + 0.01, ARM="NIR")
    lamp = _write(tmp_path, "lamp.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0)

    def arm(ctx):
        return ctx.files[0].headers.get("ARM")

    t = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
             associated_inputs=(AssociatedInput(InputRef("FLATS", "data_source"),
                                                condition=lambda ctx: ctx.parameter("arm") == "VIS"),),
             job_parameters={"arm": arm})
    res = organise(_cascade([SCI, FLATS], [t]), tmp_path)
    by_arm = {j.job_parameters["arm"]: j for j in res.jobs.values()}
    assert [c.path for c in by_arm["VIS"].associated["FLATS"].chosen] == [lamp]
    assert by_arm["NIR"].associated["FLATS"].skipped_reason
    assert all("arm" not in j.parameters for j in res.jobs.values())


def test_failing_job_parameter_makes_the_job_incomplete_in_words(tmp_path):
    _sci(tmp_path)
    t = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
             job_parameters={"arm": lambda ctx: 1 / 0})
    (job,) = organise(_cascade([SCI], [t]), tmp_path).jobs.values()
    assert not job.complete
    assert "job parameter arm failed: ZeroDivisionError" in job.missing[0]


def test_job_processing_changes_parameters_recipe_and_files(tmp_path):
    a = _write(tmp_path, "a.fits", DPR_TYPE="OBJECT", ARCFILE="x", MJD__OBS=T0, EXPTIME=10.0)
    _write(tmp_path, "b.fits", DPR_TYPE="OBJECT", ARCFILE="x", MJD__OBS=T0 + 0.01, EXPTIME=0.0)

    def edit(job):
        job.parameters.recipe_parameters["sigma"] = 4.0
        job.input_files = [f for f in job.input_files if f["exptime"] > 0]
        job.command = "demo_other"

    t = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
             recipe_parameters={"sigma": 3.0}, job_processing=(edit,))
    (job,) = organise(_cascade([SCI], [t]), tmp_path).jobs.values()
    assert (job.main, job.parameters["sigma"], job.recipe) == ((a,), 4.0, "demo_other")


def test_file_in_several_data_sources(tmp_path):
    f = _write(tmp_path, "flat.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0)
    other = DataSource("LAMPS", (_rule("LAMP", DPR_TYPE="FLAT"),))
    t1 = Task("flat", "demo_flat", main_input=InputRef("FLATS", "data_source"))
    t2 = Task("lamp", "demo_flat", main_input=InputRef("LAMPS", "data_source"))
    native = organise(_cascade([FLATS, other], [t1, t2]), tmp_path)
    assert native.files[0].status == "ambiguous"
    edps = organise(_cascade([FLATS, other], [t1, t2], dialect="edps"), tmp_path)
    rec = edps.files[0]
    assert (rec.status, rec.category, rec.data_sources) == ("ok", "FLAT_LAMP", ("FLATS", "LAMPS"))
    assert sorted(j.task for j in edps.jobs.values()) == ["flat", "lamp"]
    assert all(j.main == (f,) for j in edps.jobs.values())


@pytest.mark.parametrize("native_first", [True, False])
def test_task_input_categories_are_recorded_for_the_engine(tmp_path, native_first):
    _sci(tmp_path)
    _write(tmp_path, "lamp.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0)
    flat = Task("flat", "demo_flat", main_input=InputRef("FLATS", "data_source"))
    cats = ("MASTER_FLAT",) if native_first else ("MASTER_FLAT", "FLAT_QC")
    sci = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
               associated_inputs=(AssociatedInput(InputRef("flat", "task"), categories=cats),))
    res = organise(_cascade([SCI, FLATS], [flat, sci]), tmp_path, target="science")
    job = next(j for j in res.jobs.values() if j.task == "science")
    assert job.associated["flat"].categories == cats
    assert job.complete and job.associated["flat"].chosen[0].job_id


def test_job_processing_drops_associated_files_and_task_min_group_size(tmp_path):
    _sci(tmp_path)
    lamp = _write(tmp_path, "lamp.fits", DPR_TYPE="FLAT", INS_LAMP="QTH", MJD__OBS=T0 - 0.01)

    def drop_lamps(job):
        job.associated_files = [f for f in job.associated_files if f.category != "FLAT_LAMP"]

    src = InputRef("FLATS", "data_source")
    t = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
             associated_inputs=(AssociatedInput(src, min_ret=0),), job_processing=(drop_lamps,))
    (job,) = organise(_cascade([SCI, FLATS], [t]), tmp_path).jobs.values()
    assert job.associated["FLATS"].chosen == () and "dropped by job processing" in job.associated["FLATS"].note
    t2 = dataclasses.replace(t, job_processing=())
    (job,) = organise(_cascade([SCI, FLATS], [t2]), tmp_path).jobs.values()
    assert [c.path for c in job.associated["FLATS"].chosen] == [lamp]
    # a task-level minimum group size on top of the data source's
    t3 = Task("flat", "demo_flat", main_input=src, min_group_size=2)
    (job,) = organise(_cascade([FLATS], [t3]), tmp_path).jobs.values()
    assert not job.complete and "needs ≥2 FLATS files per group" in job.missing[0]


def test_an_empty_optional_alternative_does_not_beat_a_found_one(tmp_path):
    _sci(tmp_path)
    sky = _write(tmp_path, "sky.fits", DPR_TYPE="FLAT", INS_LAMP="NONE", MJD__OBS=T0 - 0.1)
    src = InputRef("FLATS", "data_source")
    first = AssociatedInput(src, min_ret=0, categories=("FLAT_LAMP",))  # no lamp flats at all
    second = AssociatedInput(src, categories=("FLAT_SKY",))
    t = Task("science", "demo_science", main_input=InputRef("SCI", "data_source"),
             associated_inputs=(AssociatedInput(src, alternatives=(first, second)),))
    (job,) = organise(_cascade([SCI, FLATS], [t]), tmp_path).jobs.values()
    assert [c.path for c in job.associated["FLATS"].chosen] == [sky]
    # only the optional alternative: the job does without
    t = dataclasses.replace(t, associated_inputs=(AssociatedInput(src, alternatives=(first,)),))
    (job,) = organise(_cascade([SCI, FLATS], [t]), tmp_path).jobs.values()
    assert job.complete and job.associated["FLATS"].chosen == ()
