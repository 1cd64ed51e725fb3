"""NACO imaging calibrations with the ESO pipeline run through esorex.

    raw CAL_DARK --naco_img_dark--> NACO_IMG_DARK_AVG (+ HOT/COLD/DEV pixel maps)
    raw CAL_FLAT_TW + dark AVG --naco_img_twflat--> MASTER_IMG_FLAT
    raw IM_JITTER_OBJ [+ IM_JITTER_SKY] + MASTER_IMG_FLAT (same filter and camera)
        --naco_img_jitter--> COADDED_IMG (sky-subtracted, shifted and combined)

The dark's average product carries PRO.CATG ``NACO_IMG_DARK_AVG`` but naco_img_twflat reads
it under the SOF tag ``CAL_DARK``: the esorex adapter reports it under that tag
(``reflexng.recipes.esorex.DOWNSTREAM_TAGS``; see docs/eso-pipelines.md).

Needs ``esorex`` and ``cpl-plugin-naco``. Simulated data:
``reflexng demo-data --instrument naco --out DIR``.
"""

from reflexng.cascade import (
    SAME_NIGHT,
    classification_rule,
    data_source,
    days,
    metadata,
    task,
)

metadata(
    "naco_imaging",
    instrument="NACO",
    description="NACO imaging: dark and twilight flat (ESO pipeline via esorex)",
    default_target="twilight_flat",
)

# A dark calibrates a flat taken with the same integration time, read-out mode and camera.
DARK_MATCH = ["DET.DIT", "DET.MODE.NAME", "DET.NCORRS.NAME", "INS.OPTI7.NAME"]


def _naco(dpr_type: str) -> dict:
    return {"INSTRUME": "NAOS+CONICA", "DPR.CATG": "CALIB", "DPR.TYPE": dpr_type,
            "DPR.TECH": "IMAGE"}


cal_dark = (
    data_source("CAL_DARK")
    .with_classification_rule(classification_rule("CAL_DARK", _naco("DARK")))
    # one dark set per template and detector setting (naco_img_dark needs >= 2 frames)
    .with_grouping_keywords(["TPL.START", *DARK_MATCH])
    .with_setup_keywords(DARK_MATCH)
    .with_min_group_size(2)
    .with_match_keywords(DARK_MATCH, time_range=SAME_NIGHT, level=0)
    .with_match_keywords(DARK_MATCH, time_range=days(7), level=2)
    .build()
)

# A flat calibrates images taken through the same filter with the same camera.
FLAT_MATCH = ["INS.OPTI6.ID", "INS.OPTI7.NAME"]

cal_flat_tw = (
    data_source("CAL_FLAT_TW")
    .with_classification_rule(classification_rule("CAL_FLAT_TW", _naco("FLAT,SKY")))
    .with_grouping_keywords(["TPL.START", "INS.OPTI6.ID", *DARK_MATCH])
    .with_setup_keywords(["INS.OPTI6.ID", *DARK_MATCH])
    .with_min_group_size(3)
    .with_match_keywords(FLAT_MATCH, time_range=SAME_NIGHT, level=0)
    .with_match_keywords(FLAT_MATCH, time_range=days(7), level=2)
    .build()
)


def _naco_sci(dpr_type: str) -> dict:
    return {"INSTRUME": "NAOS+CONICA", "DPR.CATG": "SCIENCE", "DPR.TYPE": dpr_type,
            "DPR.TECH": "IMAGE,JITTER"}


im_jitter_obj = (
    data_source("IM_JITTER_OBJ")
    .with_classification_rule(classification_rule("IM_JITTER_OBJ", _naco_sci("OBJECT")))
    .with_grouping_keywords(["TPL.START", *FLAT_MATCH])  # one jitter sequence
    .with_setup_keywords(FLAT_MATCH)
    .with_min_group_size(3)
    .build()
)

im_jitter_sky = (
    data_source("IM_JITTER_SKY")
    .with_classification_rule(classification_rule("IM_JITTER_SKY", _naco_sci("SKY")))
    .with_match_keywords(["TPL.START"], level=0)  # offset skies of the same template
    .build()
)

dark = (
    task("dark")
    .with_recipe("esorex:naco_img_dark")
    .with_main_input(cal_dark)
    .with_meta_targets(["calibrations"])
    .build()
)

twilight_flat = (
    task("twilight_flat")
    .with_recipe("esorex:naco_img_twflat")
    .with_main_input(cal_flat_tw)
    # the dark set with the flats' DIT / read-out mode (CAL_DARK's match rules)
    .with_associated_input(dark)
    .with_meta_targets(["calibrations"])
    .build()
)

jitter = (
    task("jitter")
    .with_recipe("esorex:naco_img_jitter")
    .with_main_input(im_jitter_obj)
    .with_associated_input(im_jitter_sky, min_ret=0, max_ret=100)
    # the master flat of the frames' filter and camera (CAL_FLAT_TW's match rules)
    .with_associated_input(twilight_flat, min_ret=0)
    .with_meta_targets(["science"])
    .build()
)
