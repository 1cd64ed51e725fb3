"""MUSE wide/narrow field mode with the ESO pipeline run through esorex.

    BIAS --muse_bias--> MASTER_BIAS
    DARK + MASTER_BIAS --muse_dark--> MASTER_DARK
    FLAT + MASTER_BIAS [+ MASTER_DARK] --muse_flat--> MASTER_FLAT, TRACE_TABLE
    ARC + MASTER_BIAS + TRACE_TABLE + LINE_CATALOG --muse_wavecal--> WAVECAL_TABLE
    SKYFLAT + MASTER_BIAS + MASTER_FLAT + TRACE_TABLE + WAVECAL_TABLE + GEOMETRY_TABLE
        --muse_twilight--> TWILIGHT_CUBE
    OBJECT + MASTER_BIAS + MASTER_FLAT + TRACE_TABLE + WAVECAL_TABLE + GEOMETRY_TABLE
        [+ TWILIGHT_CUBE] --muse_scibasic--> PIXTABLE_OBJECT (one per IFU)
    PIXTABLE_OBJECT + EXTINCT_TABLE + STD_RESPONSE [+ FILTER_LIST]
        --muse_scipost--> DATACUBE_FINAL, IMAGE_FOV

Inputs and products are the recipes' own tables (``esorex --man-page muse_scibasic``);
classification follows muse.oca. LINE_CATALOG, GEOMETRY_TABLE, EXTINCT_TABLE and FILTER_LIST
belong to the ``muse-calib`` kit (not shipped by Debian); STD_RESPONSE comes from a standard
star reduction (muse_standard) or the kit. Calibrations match the instrument mode
(``INS.MODE``) and, for detector calibrations, the read-out (``DET.READ.CURID``).
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
    "muse",
    instrument="MUSE",
    description="MUSE: bias to datacube (ESO pipeline via esorex)",
    default_target="scipost",
)

READ = ["DET.READ.CURID"]
MODE = ["INS.MODE", *READ]


def _raw(category: str, catg: str, dpr_type: str, group, match, min_size: int = 1):
    b = (data_source(category)
         .with_classification_rule(classification_rule(category, {
             "INSTRUME": "MUSE", "DPR.CATG": catg, "DPR.TYPE": dpr_type, "DPR.TECH": "IFU"}))
         .with_grouping_keywords(group)
         .with_setup_keywords(match or MODE)
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


bias_raw = _raw("BIAS", "CALIB", "BIAS", ["TPL.START", *READ], READ, 3)
dark_raw = _raw("DARK", "CALIB", "DARK", ["TPL.START", *READ], READ, 3)
flat_raw = _raw("FLAT", "CALIB", "FLAT,LAMP", ["TPL.START", *MODE], MODE, 3)
arc_raw = _raw("ARC", "CALIB", "WAVE", ["TPL.START", *MODE], MODE, 1)
skyflat_raw = _raw("SKYFLAT", "CALIB", "FLAT,SKY", ["TPL.START", *MODE], MODE, 1)
object_raw = _raw("OBJECT", "SCIENCE", "OBJECT", ["ARCFILE"], None)
line_catalog = _static("LINE_CATALOG")
geometry = _static("GEOMETRY_TABLE")
extinct = _static("EXTINCT_TABLE")
std_response = _static("STD_RESPONSE", ["INS.MODE"])
filter_list = _static("FILTER_LIST")

cal = ["calibration"]
bias = task("bias").with_recipe("esorex:muse_bias").with_main_input(bias_raw).with_meta_targets(cal).build()
dark = (task("dark").with_recipe("esorex:muse_dark").with_main_input(dark_raw)
        .with_associated_input(bias).with_meta_targets(cal).build())
flat = (task("flat").with_recipe("esorex:muse_flat").with_main_input(flat_raw)
        .with_associated_input(bias).with_associated_input(dark, min_ret=0)
        .with_meta_targets(cal).build())
wavecal = (task("wavecal").with_recipe("esorex:muse_wavecal").with_main_input(arc_raw)
           .with_associated_input(bias).with_associated_input(flat)
           .with_associated_input(line_catalog).with_meta_targets(cal).build())
twilight = (task("twilight").with_recipe("esorex:muse_twilight").with_main_input(skyflat_raw)
            .with_associated_input(bias).with_associated_input(flat).with_associated_input(wavecal)
            .with_associated_input(geometry).with_meta_targets(cal).build())
scibasic = (task("scibasic").with_recipe("esorex:muse_scibasic").with_main_input(object_raw)
            .with_associated_input(bias).with_associated_input(flat).with_associated_input(wavecal)
            .with_associated_input(geometry).with_associated_input(twilight, min_ret=0)
            .with_associated_input(dark, min_ret=0)
            .with_meta_targets(["science"]).build())
scipost = (task("scipost").with_recipe("esorex:muse_scipost").with_main_input(scibasic)
           .with_grouping_keywords(["INS.MODE", "OBJECT"])  # the exposures of one target and mode
           .with_associated_input(extinct).with_associated_input(std_response)
           .with_associated_input(filter_list, min_ret=0)
           .with_meta_targets(["science"]).build())
