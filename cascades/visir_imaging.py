"""VISIR mid-infrared imaging with the ESO pipeline run through esorex.

    IM_CAL_PHOT (chop/nod standard star) + IMG_STD_CATALOG --visir_old_img_phot-->
        IMG_PHOT_COMBINED, IMG_PHOT_ONEBEAM (conversion factor, QC)
    IM_OBS_CHO_NOD_JIT | IM_OBS_CHO_JIT | IM_OBS_NOD_JIT | IM_OBS_DIR_JIT (one template)
        [+ IMG_STD_CATALOG] --visir_img_reduce--> IMG_OBJ_COMBINED, IMG_OBJ_ONEBEAM

The four observing techniques are one data source with one classification rule each: every
file keeps its own category (the SOF tag visir_img_reduce reads). Tags from
``esorex --man-page visir_img_reduce``; classification follows visir.oca. IMG_STD_CATALOG is
a static calibration of the ``visir-calib`` kit (not shipped by Debian). The standard star
is matched to the science by filter (``INS.FILT1.NAME``) within a night.
"""

from reflexng.cascade import (
    SAME_NIGHT,
    classification_rule,
    data_source,
    metadata,
    task,
)

metadata(
    "visir_imaging",
    instrument="VISIR",
    description="VISIR imaging: standard star and science chop/nod combination (ESO pipeline via esorex)",
    default_target="science",
)

SETUP = ["INS.FILT1.NAME", "INS.PFOV"]


def _rule(category: str, catg: str, dpr_type: str, tech: str):
    return classification_rule(category, {"INSTRUME": "VISIR", "DPR.CATG": catg,
                                          "DPR.TYPE": dpr_type, "DPR.TECH": tech})


observations = (
    data_source("IM_OBS")
    .with_classification_rule(_rule("IM_OBS_CHO_NOD_JIT", "SCIENCE", "OBJECT", "IMAGE,CHOPNOD,JITTER"))
    .with_classification_rule(_rule("IM_OBS_CHO_JIT", "SCIENCE", "OBJECT", "IMAGE,CHOPPING,JITTER"))
    .with_classification_rule(_rule("IM_OBS_NOD_JIT", "SCIENCE", "OBJECT", "IMAGE,NODDING,JITTER"))
    .with_classification_rule(_rule("IM_OBS_DIR_JIT", "SCIENCE", "OBJECT", "IMAGE,DIRECT,JITTER"))
    .with_grouping_keywords(["TPL.START", *SETUP])
    .with_setup_keywords(SETUP)
    .build()
)

standard_raw = (
    data_source("IM_CAL_PHOT")
    .with_classification_rule(_rule("IM_CAL_PHOT", "CALIB", "STD", "IMAGE,CHOPNOD"))
    .with_grouping_keywords(["TPL.START", *SETUP])
    .with_setup_keywords(SETUP)
    .with_match_keywords(SETUP, time_range=SAME_NIGHT, level=0)
    .build()
)

std_catalog = (
    data_source("IMG_STD_CATALOG")
    .with_classification_rule(classification_rule("IMG_STD_CATALOG", {"PRO.CATG": "IMG_STD_CATALOG"}))
    .with_match_keywords([], level=0)
    .build()
)

standard = (task("standard").with_recipe("esorex:visir_old_img_phot").with_main_input(standard_raw)
            .with_associated_input(std_catalog)
            .with_meta_targets(["calibration"]).build())
science = (task("science").with_recipe("esorex:visir_img_reduce").with_main_input(observations)
           .with_associated_input(std_catalog, min_ret=0)
           .build())
