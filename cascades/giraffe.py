"""GIRAFFE fibre spectroscopy (Medusa, IFU, Argus) with the ESO pipeline run through esorex.

    BIAS --gimasterbias--> MASTER_BIAS, BAD_PIXEL_MAP
    DARK + MASTER_BIAS --gimasterdark--> MASTER_DARK
    FIBER_FLAT + MASTER_BIAS [+ MASTER_DARK] --gimasterflat--> FF_LOCCENTROID, FF_LOCWIDTH,
        FF_EXTSPECTRA, FF_EXTERRORS, ... (fibre localisation and extracted flat)
    ARC_SPECTRUM + MASTER_BIAS + flat products + SLIT_GEOMETRY_SETUP + GRATING_DATA
        + LINE_CATALOG --giwavecalibration--> DISPERSION_SOLUTION, LINE_DATA
    SCIENCE + MASTER_BIAS + flat products + DISPERSION_SOLUTION + SLIT_GEOMETRY_SETUP
        + GRATING_DATA --giscience--> SCIENCE_RBNSPECTRA, SCIENCE_REDUCED, ...

The recipes' help names no frame tags; inputs and products follow giraf.oca's associations
and the plugins' own tag strings (``reflexng.recipes.esorex_catalog.SUPPLEMENT``).
GRATING_DATA, SLIT_GEOMETRY_SETUP and LINE_CATALOG are static calibrations of the
``giraf-calib`` kit (not shipped by Debian), recognised by their ``ESO PRO CATG``.
Calibrations share the read-out and the instrument setting (mode, slit unit, order filter).
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
    "giraffe",
    instrument="GIRAFFE",
    description="GIRAFFE: bias, dark, fibre flat, wavelength, science (ESO pipeline via esorex)",
    default_target="science_extraction",
)

READOUT = ["DET.WIN1.BINX", "DET.WIN1.BINY", "DET.READ.MODE", "DET.READ.SPEED"]
SETTING = [*READOUT, "INS.EXP.MODE", "INS.SLIT.NAME", "INS.FILT.NAME"]


def _raw(category: str, catg: str, dpr_type: str, tech: str, group, match, min_size: int = 1):
    b = (data_source(category)
         .with_classification_rule(classification_rule(category, {
             "INSTRUME": "GIRAFFE", "DPR.CATG": catg, "DPR.TYPE": dpr_type, "DPR.TECH": tech}))
         .with_grouping_keywords(group)
         .with_setup_keywords(match or SETTING)
         .with_min_group_size(min_size))
    if match:
        b = (b.with_match_keywords(match, time_range=SAME_NIGHT, level=0)
             .with_match_keywords(match, time_range=days(7), level=2))
    return b.build()


def _static(category: str, match=()):
    return (data_source(category)
            .with_classification_rule(classification_rule(category, {"PRO.CATG": category}))
            .with_match_keywords(list(match), level=0)
            .build())


bias_raw = _raw("BIAS", "CALIB", "BIAS", "IMAGE", ["TPL.START", *READOUT], READOUT, 3)
dark_raw = _raw("DARK", "CALIB", "DARK", "IMAGE", ["TPL.START", *READOUT, "EXPTIME"], READOUT, 3)
flat_raw = _raw("FIBER_FLAT", "CALIB", "FLAT,LAMP", "MOS", ["TPL.START", *SETTING], SETTING, 3)
arc_raw = _raw("ARC_SPECTRUM", "CALIB", "WAVE,LAMP", "MOS", ["ARCFILE"], SETTING)
sci_raw = _raw("SCIENCE", "SCIENCE", "OBJECT", "MOS", ["ARCFILE"], None)
grating = _static("GRATING_DATA")
slit_geometry = _static("SLIT_GEOMETRY_SETUP", ["INS.EXP.MODE", "INS.SLIT.NAME", "INS.FILT.NAME"])
line_catalog = _static("LINE_CATALOG")

cal = ["calibration"]
bias = task("bias").with_recipe("esorex:gimasterbias").with_main_input(bias_raw).with_meta_targets(cal).build()
dark = (task("dark").with_recipe("esorex:gimasterdark").with_main_input(dark_raw)
        .with_associated_input(bias).with_meta_targets(cal).build())
flat = (task("flat").with_recipe("esorex:gimasterflat").with_main_input(flat_raw)
        .with_associated_input(bias)
        .with_associated_input(dark, min_ret=0)
        .with_meta_targets(cal).build())
wavelength = (task("wavelength").with_recipe("esorex:giwavecalibration").with_main_input(arc_raw)
              .with_associated_input(bias)
              .with_associated_input(flat)
              .with_associated_input(slit_geometry)
              .with_associated_input(grating)
              .with_associated_input(line_catalog)
              .with_meta_targets(cal).build())
science = (task("science_extraction").with_recipe("esorex:giscience").with_main_input(sci_raw)
           .with_associated_input(bias)
           .with_associated_input(dark, min_ret=0)
           .with_associated_input(flat)
           .with_associated_input(wavelength)
           .with_associated_input(slit_geometry)
           .with_associated_input(grating)
           .with_meta_targets(["science"]).build())
