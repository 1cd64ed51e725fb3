"""UVES blue arm calibrations with the ESO pipeline run through esorex.

    raw BIAS_BLUE --uves_cal_mbias--> MASTER_BIAS_BLUE
    raw DARK_BLUE + MASTER_BIAS_BLUE --uves_cal_mdark--> MASTER_DARK_BLUE

Needs ``esorex`` and ``cpl-plugin-uves`` (Debian/Ubuntu: ``apt-get install esorex
cpl-plugin-uves``). Simulated data: ``reflexng demo-data --instrument uves --out DIR``.
Recipe parameters use full CPL names (``uves_cal_mdark.stack_method``).
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
    "uves_blue_calib",
    instrument="UVES",
    description="UVES blue arm: master bias and master dark (ESO pipeline via esorex)",
    default_target="master_dark",
)

# The detector setting a master calibration must share with the frames it calibrates.
DETECTOR_SETUP = ["DET.WIN1.BINX", "DET.WIN1.BINY", "DET.READ.SPEED", "DET.CHIP1.ID"]


def _uves_blue(dpr_type: str) -> dict:
    # DET.CHIPS == 1 is the blue arm (uves.oca); DPR.TYPE is exact here (uves.oca uses
    # "like %BIAS%", which also catches BIAS,DETCHAR linearity frames).
    return {"INSTRUME": "UVES", "DPR.CATG": "CALIB", "DPR.TYPE": dpr_type, "DET.CHIPS": 1}


bias_blue = (
    data_source("BIAS_BLUE")
    .with_classification_rule(classification_rule("BIAS_BLUE", _uves_blue("BIAS")))
    # one master bias per template (a night's bias series) and detector setting
    .with_grouping_keywords(["TPL.START", *DETECTOR_SETUP])
    .with_setup_keywords(DETECTOR_SETUP)
    .with_min_group_size(3)
    # a master bias for a dark: same setting, same night (calibration plan) ...
    .with_match_keywords(DETECTOR_SETUP, time_range=SAME_NIGHT, level=0)
    # ... or within three days (acceptable)
    .with_match_keywords(DETECTOR_SETUP, time_range=days(3), level=2)
    .build()
)

dark_blue = (
    data_source("DARK_BLUE")
    .with_classification_rule(classification_rule("DARK_BLUE", _uves_blue("DARK")))
    .with_grouping_keywords(["TPL.START", *DETECTOR_SETUP, "EXPTIME"])
    .with_setup_keywords(DETECTOR_SETUP)
    .with_min_group_size(3)
    .build()
)

master_bias = (
    task("master_bias")
    .with_recipe("esorex:uves_cal_mbias")
    .with_main_input(bias_blue)
    .with_meta_targets(["calibrations"])
    .build()
)

master_dark = (
    task("master_dark")
    .with_recipe("esorex:uves_cal_mdark")
    .with_main_input(dark_blue)
    # MASTER_BIAS_BLUE product of master_bias; chosen by BIAS_BLUE's match rules above
    .with_associated_input(master_bias)
    .with_meta_targets(["calibrations"])
    .build()
)
