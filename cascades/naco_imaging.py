"""NACO imaging calibrations with the ESO pipeline run through esorex.

    raw CAL_DARK --naco_img_dark--> NACO_IMG_DARK_AVG (+ HOT/COLD/DEV pixel maps)
    raw CAL_FLAT_TW + dark AVG --naco_img_twflat--> MASTER_IMG_FLAT

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

cal_flat_tw = (
    data_source("CAL_FLAT_TW")
    .with_classification_rule(classification_rule("CAL_FLAT_TW", _naco("FLAT,SKY")))
    .with_grouping_keywords(["TPL.START", "INS.OPTI6.ID", *DARK_MATCH])
    .with_setup_keywords(["INS.OPTI6.ID", *DARK_MATCH])
    .with_min_group_size(3)
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
