"""VIMOS imaging with the CASU recipes the Debian package ships, run through esorex.

    BIAS --vimos_ima_bias--> MASTER_BIAS
    DARK + MASTER_BIAS --vimos_ima_dark--> MASTER_DARK
    FLAT_TWILIGHT + MASTER_BIAS + MASTER_DARK --vimos_ima_twilight_flat-->
        MASTER_TWILIGHT_FLAT, MASTER_CONF
    OBJECT + MASTER_BIAS + MASTER_DARK + MASTER_TWILIGHT_FLAT + MASTER_CONF + MASTER_READGAIN
        + PHOTCAL_TAB + catalogues + Schlegel maps --vimos_ima_science--> BASIC_CALIBRATED_SCI, ...

Inputs are the tags of the recipes' own tables (``esorex --man-page vimos_ima_science``).
VIMOS writes one file per quadrant (``OCS.CON.QUAD``, detector ``DET.CHIP1.ID``); the CASU
recipes reduce the four quadrants of an exposure together (one SOF, the products have one
extension per detector; vimos_ima_bias crashes when a quadrant is missing), so a job groups
every quadrant of a template; calibrations match the read-out and (flats) the filter. vimos.oca describes the older vm* recipes, not these.
MASTER_READGAIN, PHOTCAL_TAB, the reference catalogues and the Schlegel maps are static
calibrations of the ``vimos-calib`` kit (not shipped by Debian).
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
    "vimos_imaging",
    instrument="VIMOS",
    description="VIMOS imaging: bias, dark, twilight flat, science (ESO CASU recipes via esorex)",
    default_target="science_image",
)

READOUT = ["DET.WIN1.BINX", "DET.WIN1.BINY", "DET.READ.SPEED"]
FILTER = [*READOUT, "INS.FILT1.NAME"]


def _raw(category: str, catg: str, dpr_type: str, group, match, min_size: int = 1):
    b = (data_source(category)
         .with_classification_rule(classification_rule(category, {
             "INSTRUME": "VIMOS", "DPR.CATG": catg, "DPR.TYPE": dpr_type, "DPR.TECH": "IMAGE"}))
         .with_grouping_keywords(group)
         .with_setup_keywords(match or FILTER)
         .with_min_group_size(min_size))
    if match:
        b = (b.with_match_keywords(match, time_range=SAME_NIGHT, level=0)
             .with_match_keywords(match, time_range=days(14), level=2))
    return b.build()


def _static(category: str):
    return (data_source(category)
            .with_classification_rule(classification_rule(category, {"PRO.CATG": category}))
            .with_match_keywords([], level=0)
            .build())


bias_raw = _raw("BIAS", "CALIB", "BIAS", ["TPL.START", *READOUT], READOUT, 3)
dark_raw = _raw("DARK", "CALIB", "DARK", ["TPL.START", *READOUT, "EXPTIME"], READOUT, 3)
flat_raw = _raw("FLAT_TWILIGHT", "CALIB", "FLAT,SKY", ["TPL.START", *FILTER], FILTER, 3)
object_raw = _raw("OBJECT", "SCIENCE", "OBJECT", ["TPL.START", *FILTER], None)
statics = [_static(c) for c in ("MASTER_READGAIN", "PHOTCAL_TAB", "MASTER_LOCAL_CATALOGUE_ASTROM",
                                "MASTER_LOCAL_CATALOGUE_PHOTOM", "SCHLEGEL_MAP_NORTH",
                                "SCHLEGEL_MAP_SOUTH")]

cal = ["calibration"]
bias = (task("bias").with_recipe("esorex:vimos_ima_bias").with_main_input(bias_raw)
        .with_meta_targets(cal).build())
dark = (task("dark").with_recipe("esorex:vimos_ima_dark").with_main_input(dark_raw)
        .with_associated_input(bias).with_meta_targets(cal).build())
twilight_flat = (task("twilight_flat").with_recipe("esorex:vimos_ima_twilight_flat")
                 .with_main_input(flat_raw)
                 .with_associated_input(bias)
                 .with_associated_input(dark)
                 .with_meta_targets(cal).build())
science = task("science_image").with_recipe("esorex:vimos_ima_science").with_main_input(object_raw)
science = science.with_associated_input(bias).with_associated_input(dark).with_associated_input(twilight_flat)
for s in statics:
    science = science.with_associated_input(s)
science = (science.with_recipe_parameters({"vimos.vimos_ima_science.cdssearch_astrom": "none",
                                           "vimos.vimos_ima_science.cdssearch_photom": "none"})
           .with_meta_targets(["science"]).build())
