"""HAWK-I imaging with the ESO pipeline's CASU recipes run through esorex.

    raw DARK --hawki_dark_combine--> MASTER_DARK
    raw FLAT_TWILIGHT + MASTER_DARK (same DIT) --hawki_twilight_flat_combine-->
        MASTER_TWILIGHT_FLAT, MASTER_CONF, MASTER_BPM
    raw OBJECT (one jitter sequence) [+ SKY] + MASTER_DARK (same DIT) + flat products (same
        filter) + static tables --hawki_science_process--> BASIC_CALIBRATED_SCI,
        JITTERED_IMAGE_SCI, CONFIDENCE_MAP_JITTERED, OBJECT_CATALOGUE_JITTERED, ...

The categories are the recipes' own SOF tags (``esorex --man-page hawki_science_process``).
hawki_science_process also needs static calibrations that the Debian packages do not ship
(the ``hawki-calib`` kit): PHOTCAL_TAB, MASTER_READGAIN, [MATCHSTD_PHOTOM], astrometric and
photometric reference catalogues (``MASTER_LOCAL_CATALOGUE_ASTROM/PHOTOM`` or 2MASS/PPMXL
indexes) and the Schlegel extinction maps; they are data sources recognised by their
``ESO PRO CATG``. ``reflexng demo-data --instrument hawki`` writes synthetic ones.
Classification follows hawki.oca (DPR.CATG/TYPE/TECH, INSTRUME like HAWKI).
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
    "hawki_imaging",
    instrument="HAWKI",
    description="HAWK-I imaging: dark, twilight flat, science pawprint (ESO CASU recipes via esorex)",
    default_target="science_process",
)

DARK_MATCH = ["DET.DIT", "DET.NDIT"]
FLAT_MATCH = ["INS.FILT1.NAME", "INS.FILT2.NAME"]


def _hawki(catg: str, dpr_type: str) -> dict:
    return {"INSTRUME": "HAWKI", "DPR.CATG": catg, "DPR.TYPE": dpr_type, "DPR.TECH": "IMAGE"}


def _static(category: str):
    """A static calibration of the HAWK-I kit, recognised by its PRO.CATG."""
    return (data_source(category)
            .with_classification_rule(classification_rule(category, {"PRO.CATG": category}))
            .with_match_keywords([], level=0)
            .build())


dark_raw = (
    data_source("DARK")
    .with_classification_rule(classification_rule("DARK", _hawki("CALIB", "DARK")))
    .with_grouping_keywords(["TPL.START", *DARK_MATCH])
    .with_setup_keywords(DARK_MATCH)
    .with_min_group_size(3)
    .with_match_keywords(DARK_MATCH, time_range=SAME_NIGHT, level=0)
    .with_match_keywords(DARK_MATCH, time_range=days(7), level=2)
    .build()
)

flat_raw = (
    data_source("FLAT_TWILIGHT")
    .with_classification_rule(classification_rule("FLAT_TWILIGHT", _hawki("CALIB", "FLAT,TWILIGHT")))
    .with_grouping_keywords(["TPL.START", *FLAT_MATCH, *DARK_MATCH])
    .with_setup_keywords(FLAT_MATCH)
    .with_min_group_size(3)
    .with_match_keywords(FLAT_MATCH, time_range=days(3), level=0)
    .with_match_keywords(FLAT_MATCH, time_range=days(30), level=2)
    .build()
)

object_raw = (
    data_source("OBJECT")
    .with_classification_rule(classification_rule("OBJECT", _hawki("SCIENCE", "OBJECT")))
    # one pawprint = one jitter template
    .with_grouping_keywords(["TPL.START", *FLAT_MATCH, *DARK_MATCH])
    .with_setup_keywords([*FLAT_MATCH, *DARK_MATCH])
    .build()
)

sky_raw = (
    data_source("SKY")
    .with_classification_rule(classification_rule("SKY", _hawki("SCIENCE", "SKY")))
    .with_match_keywords(["TPL.START"], level=0)
    .build()
)

photcal = _static("PHOTCAL_TAB")
readgain = _static("MASTER_READGAIN")
matchstd = _static("MATCHSTD_PHOTOM")
astrom_cat = _static("MASTER_LOCAL_CATALOGUE_ASTROM")
photom_cat = _static("MASTER_LOCAL_CATALOGUE_PHOTOM")
schlegel_n = _static("SCHLEGEL_MAP_NORTH")
schlegel_s = _static("SCHLEGEL_MAP_SOUTH")

dark = (
    task("dark")
    .with_recipe("esorex:hawki_dark_combine")
    .with_main_input(dark_raw)
    .with_meta_targets(["calibration"])
    .build()
)

twilight_flat = (
    task("twilight_flat")
    .with_recipe("esorex:hawki_twilight_flat_combine")
    .with_main_input(flat_raw)
    .with_associated_input(dark)  # same DIT/NDIT (DARK's match rules)
    .with_meta_targets(["calibration"])
    .build()
)

science = (
    task("science_process")
    .with_recipe("esorex:hawki_science_process")
    .with_main_input(object_raw)
    .with_associated_input(sky_raw, min_ret=0, max_ret=100)
    .with_associated_input(dark)
    .with_associated_input(twilight_flat)  # MASTER_TWILIGHT_FLAT + MASTER_CONF, same filter
    .with_associated_input(photcal)
    .with_associated_input(readgain)
    .with_associated_input(matchstd, min_ret=0)  # help: required; the recipe runs without it
    .with_associated_input(astrom_cat)
    .with_associated_input(photom_cat)
    .with_associated_input(schlegel_n)
    .with_associated_input(schlegel_s)
    # no CDS queries (the machine may be offline): the local catalogues above are used
    .with_recipe_parameters({"hawki.hawki_science_process.cdssearch_astrom": "none",
                             "hawki.hawki_science_process.cdssearch_photom": "none"})
    .with_meta_targets(["science"])
    .build()
)
