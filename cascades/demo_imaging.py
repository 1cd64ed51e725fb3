"""Demo imaging pipeline for the fictitious instrument DEMO (simulated by
``reflexng demo-data --mode imaging``; recipes in ``reflexng.recipes.builtin.imaging``).

    BIAS ---------> bias ----+------------+-------------+
    DARK ---------> dark <---+            |             |
    SKY_FLAT -----> flat <--- bias, dark  |             |
    OBJECT -------> reduce <--- bias, dark, flat        |
                    reduce --> coadd (+ REF_CATALOG) --> photometry (+ REF_CATALOG)

Calibrations are taken from the same night (quality level 0) or, failing that, from within
three days (level 1): a night without flats in one filter borrows a neighbour's.
"""

from reflexng.cascade import (
    SAME_NIGHT,
    classification_rule,
    data_source,
    days,
    metadata,
    task,
)
from reflexng.recipes.builtin.imaging_inspect import (
    inspect_coadd,
    inspect_master,
    inspect_photometry,
    inspect_science,
)

metadata(
    "demo_imaging",
    instrument="DEMO",
    description="Demo imaging: master bias/dark/flat, science reduction, coadd and photometry "
    "with a zero point from a reference catalogue",
    default_target="photometry",
)

BINNING = ["DET.BINX", "DET.BINY"]
FILTER = "INS.FILT.NAME"


def _demo(catg: str, dpr_type: str) -> dict:
    return {"INSTRUME": "DEMO", "INS.MODE": "IMAGING", "DPR.CATG": catg, "DPR.TYPE": dpr_type}


raw_bias = (
    data_source("RAW_BIAS")
    .with_classification_rule(classification_rule("BIAS", _demo("CALIB", "BIAS")))
    .with_grouping_keywords(["TPL.START", *BINNING])
    .with_setup_keywords(BINNING)
    .with_min_group_size(3)
    .with_match_keywords(BINNING, time_range=SAME_NIGHT, level=0)
    .with_match_keywords(BINNING, time_range=days(3), level=1)
    .build()
)

raw_dark = (
    data_source("RAW_DARK")
    .with_classification_rule(classification_rule("DARK", _demo("CALIB", "DARK")))
    .with_grouping_keywords(["TPL.START", *BINNING])
    .with_setup_keywords(BINNING)
    .with_min_group_size(2)
    .with_match_keywords(BINNING, time_range=SAME_NIGHT, level=0)
    .with_match_keywords(BINNING, time_range=days(3), level=1)
    .build()
)

raw_flat = (
    data_source("RAW_SKY_FLAT")
    .with_classification_rule(classification_rule("SKY_FLAT", _demo("CALIB", "FLAT,SKY")))
    .with_grouping_keywords(["TPL.START", FILTER, *BINNING])
    .with_setup_keywords([FILTER, *BINNING])
    .with_min_group_size(3)
    .with_match_keywords([FILTER, *BINNING], time_range=SAME_NIGHT, level=0)
    .with_match_keywords([FILTER, *BINNING], time_range=days(3), level=1)
    .build()
)

raw_science = (
    data_source("RAW_OBJECT")
    .with_classification_rule(classification_rule("OBJECT", _demo("SCIENCE", "OBJECT")))
    .with_grouping_keywords(["OBS.NAME", "TPL.START"])
    .with_setup_keywords([FILTER, *BINNING])
    .build()
)

# a static calibration: the photometric reference catalogue the user supplies
ref_catalog = (
    data_source("REF_CATALOG")
    .with_classification_rule(
        classification_rule("REF_CATALOG", {"INSTRUME": "DEMO", "PRO.CATG": "REF_CATALOG"})
    )
    .build()
)

bias = (
    task("bias")
    .with_recipe("demo_img_bias")
    .with_main_input(raw_bias)
    .with_meta_targets(["calibrations"])
    .with_inspector(inspect_master)
    .build()
)

dark = (
    task("dark")
    .with_recipe("demo_img_dark")
    .with_main_input(raw_dark)
    .with_associated_input(bias)
    .with_meta_targets(["calibrations"])
    .with_inspector(inspect_master)
    .build()
)

flat = (
    task("flat")
    .with_recipe("demo_img_flat")
    .with_main_input(raw_flat)
    .with_associated_input(bias)
    .with_associated_input(dark, min_ret=0)
    .with_meta_targets(["calibrations"])
    .with_inspector(inspect_master)
    .build()
)

reduce = (
    task("reduce")
    .with_recipe("demo_img_science")
    .with_main_input(raw_science)
    .with_associated_input(bias)
    .with_associated_input(dark)
    .with_associated_input(flat)
    .with_recipe_parameters({"sky_mesh": 64})
    .with_meta_targets(["science"])
    .with_inspector(inspect_science)
    .build()
)

coadd = (
    task("coadd")
    .with_recipe("demo_img_coadd")
    .with_main_input(reduce)
    .with_grouping_keywords(["OBS.NAME", "TPL.START"])
    .with_associated_input(ref_catalog, min_ret=0)
    .with_meta_targets(["science"])
    .with_inspector(inspect_coadd)
    .build()
)

photometry = (
    task("photometry")
    .with_recipe("demo_img_photometry")
    .with_main_input(coadd)
    .with_grouping_keywords(["OBS.NAME", "TPL.START"])
    .with_associated_input(ref_catalog)
    .with_meta_targets(["science"])
    .with_inspector(inspect_photometry)
    .build()
)
