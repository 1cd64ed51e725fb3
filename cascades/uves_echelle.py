"""UVES echelle reduction, blue and red arm, with the ESO pipeline run through esorex.

Per arm (``_blue`` tasks: DET.CHIPS == 1, products ``*_BLUE``; ``_red`` tasks: DET.CHIPS == 2,
products for both red chips ``*_REDL`` and ``*_REDU``)::

    BIAS_x --uves_cal_mbias--> MASTER_BIAS
    DARK_x + MASTER_BIAS --uves_cal_mdark--> MASTER_DARK
    ARC_LAMP_FORM_x + LINE_REFER_TABLE --uves_cal_predict--> ORDER_GUESS_TAB, LINE_GUESS_TAB
    ORDER_FLAT_x [+ ORDER_GUESS_TAB] --uves_cal_orderpos--> ORDER_TABLE
    FLAT_x + MASTER_BIAS + ORDER_TABLE [+ MASTER_DARK] --uves_cal_mflat--> MASTER_FLAT
    ARC_LAMP_x + ORDER_TABLE + LINE_GUESS_TAB + LINE_REFER_TABLE --uves_cal_wavecal--> LINE_TABLE
    STANDARD_x + MASTER_BIAS + MASTER_FLAT + ORDER_TABLE + LINE_TABLE + FLUX_STD_TABLE
        + EXTCOEFF_TABLE --uves_cal_response--> INSTR_RESPONSE_FINE, EFFICIENCY_TABLE
    SCIENCE_x + MASTER_BIAS + MASTER_FLAT + ORDER_TABLE + LINE_TABLE [+ INSTR_RESPONSE_FINE
        + EXTCOEFF_TABLE] --uves_obs_scired--> RED_SCIENCE, MERGED_SCIENCE, ...

Inputs and products are those the recipes name in ``esorex --man-page``; classification
follows uves.oca (DPR.CATG/TYPE/TECH, DET.CHIPS). LINE_REFER_TABLE (the ThAr line list),
FLUX_STD_TABLE and EXTCOEFF_TABLE are static calibrations of the ``uves-calib`` kit, which
Debian does not ship: they are data sources recognised by their ``ESO PRO CATG``.
Calibrations must share the detector read-out (binning, speed) and, from the order
definition on, the grating setting (grating and central wavelength).
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
    "uves_echelle",
    instrument="UVES",
    description="UVES echelle, blue and red arm: bias to science (ESO pipeline via esorex)",
    default_target="science",
)

READOUT = ["DET.WIN1.BINX", "DET.WIN1.BINY", "DET.READ.SPEED"]


def _static(category: str):
    return (data_source(category)
            .with_classification_rule(classification_rule(category, {"PRO.CATG": category}))
            .with_match_keywords([], level=0)
            .build())


line_refer = _static("LINE_REFER_TABLE")
flux_std = _static("FLUX_STD_TABLE")
extcoeff = _static("EXTCOEFF_TABLE")


def arm(name: str, chips: int, grating: str) -> None:
    """The chain of one arm; ``grating``: the keyword prefix of its cross-disperser."""
    arm_tag = name.upper()
    setting = [*READOUT, f"{grating}.NAME", f"{grating}.WLEN"]

    def raw(category: str, catg: str, dpr_type: str, tech: str, group: list[str], min_size: int = 1,
            match: list[str] | None = None):
        rule = {"INSTRUME": "UVES", "DPR.CATG": catg, "DPR.TYPE": dpr_type, "DPR.TECH": tech,
                "DET.CHIPS": chips}
        b = (data_source(f"{category}_{arm_tag}")
             .with_classification_rule(classification_rule(f"{category}_{arm_tag}", rule))
             .with_grouping_keywords(group)
             .with_setup_keywords(setting if tech == "ECHELLE" else READOUT)
             .with_min_group_size(min_size))
        if match is not None:
            b = (b.with_match_keywords(match, time_range=SAME_NIGHT, level=0)
                 .with_match_keywords(match, time_range=days(7), level=2))
        return b.build()

    bias = raw("BIAS", "CALIB", "BIAS", "IMAGE", ["TPL.START", *READOUT], 3, READOUT)
    dark = raw("DARK", "CALIB", "DARK", "IMAGE", ["TPL.START", *READOUT, "EXPTIME"], 3, READOUT)
    form = raw("ARC_LAMP_FORM", "CALIB", "LAMP,FMTCHK", "ECHELLE", ["ARCFILE"], 1, setting)
    order_flat = raw("ORDER_FLAT", "CALIB", "LAMP,ORDERDEF", "ECHELLE", ["ARCFILE"], 1, setting)
    flat = raw("FLAT", "CALIB", "LAMP,FLAT", "ECHELLE", ["TPL.START", *setting], 3, setting)
    arc = raw("ARC_LAMP", "CALIB", "LAMP,WAVE", "ECHELLE", ["ARCFILE"], 1, setting)
    std = raw("STANDARD", "CALIB", "STD", "ECHELLE", ["ARCFILE"], 1, setting)
    sci = raw("SCIENCE", "SCIENCE", "OBJECT", "ECHELLE", ["ARCFILE"])

    def t(step: str):
        return task(f"{step}_{name}")

    cal = ["calibration"]
    master_bias = (t("bias").with_recipe("esorex:uves_cal_mbias").with_main_input(bias)
                   .with_meta_targets(cal).build())
    master_dark = (t("dark").with_recipe("esorex:uves_cal_mdark").with_main_input(dark)
                   .with_associated_input(master_bias).with_meta_targets(cal).build())
    predict = (t("predict").with_recipe("esorex:uves_cal_predict").with_main_input(form)
               .with_associated_input(line_refer)
               .with_associated_input(master_bias, min_ret=0)
               .with_meta_targets(cal).build())
    # the guess order table is optional: uves_cal_orderpos finds the orders from scratch
    orderpos = (t("orderpos").with_recipe("esorex:uves_cal_orderpos").with_main_input(order_flat)
                .with_associated_input(predict, min_ret=0).with_meta_targets(cal).build())
    master_flat = (t("flat").with_recipe("esorex:uves_cal_mflat").with_main_input(flat)
                   .with_associated_input(master_bias)
                   .with_associated_input(orderpos)
                   .with_associated_input(master_dark, min_ret=0)
                   .with_meta_targets(cal).build())
    wavecal = (t("wavecal").with_recipe("esorex:uves_cal_wavecal").with_main_input(arc)
               .with_associated_input(orderpos)
               .with_associated_input(predict)
               .with_associated_input(line_refer)
               .with_associated_input(master_bias, min_ret=0)
               .with_associated_input(master_flat, min_ret=0)
               .with_meta_targets(cal).build())
    response = (t("response").with_recipe("esorex:uves_cal_response").with_main_input(std)
                .with_associated_input(master_bias)
                .with_associated_input(master_flat)
                .with_associated_input(orderpos)
                .with_associated_input(wavecal)
                .with_associated_input(flux_std)
                .with_associated_input(extcoeff)
                .with_meta_targets(cal).build())
    (t("science").with_recipe("esorex:uves_obs_scired").with_main_input(sci)
     .with_associated_input(master_bias)
     .with_associated_input(master_flat)
     .with_associated_input(orderpos)
     .with_associated_input(wavecal)
     .with_associated_input(response, min_ret=0)
     .with_associated_input(extcoeff, min_ret=0)
     .with_meta_targets(["science"]).build())


arm("blue", 1, "INS.GRAT1")
arm("red", 2, "INS.GRAT2")
