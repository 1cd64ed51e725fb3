"""The DEMO long-slit spectrograph: the cascade of Fig. 1 of the EDPS paper (Freudling et al.
2024) with the ``flat_strategy`` step of its Sect. 4.6, on the simulated data of
``reflexng demo-data --mode spectroscopy``.

bias -> flat, fit_order -> wavelength_cal -> response -> science -> spec_combination, and the
standard star reduced as science (science_std -> spec_combination_std). The extraction steps
(response, science, science_std) also get the night-sky line list (static SKY_LINE_LIST), against
which they measure and correct flexure.

flat_strategy: the flat for the standard star is either the one closest in time to the
standard (``close_in_time``, the usual rule) or the one the science frames use
(``science_flat``, so flat-fielding errors cancel). The ``flat_strategy`` task is a copy step
(recipe ``demo_spec_flat_select``) that receives the night's master flats - and, for
``science_flat``, a science frame - and forwards the chosen flat to response and science_std.
"""

from reflexng.cascade import (
    ONE_DAY,
    SAME_NIGHT,
    UNLIMITED,
    classification_rule,
    data_source,
    days,
    metadata,
    subworkflow,
    task,
    workflow_parameter,
)
from reflexng.recipes.builtin.spectroscopy_inspect import (
    inspect_master,
    inspect_response,
    inspect_spectrum,
    inspect_wavecal,
)

metadata(
    "demo_spectroscopy",
    instrument="DEMO",
    description="DEMO long-slit spectroscopy (EDPS Fig. 1): bias, flat, slit trace, arcs, "
    "response, optimal extraction, flux calibration, combination",
    default_target="spec_combination",
)

flat_strategy = workflow_parameter(
    "flat_strategy",
    "close_in_time",
    choices=["close_in_time", "science_flat"],
    description="flat for the standard star: the one closest in time, or the one the science frames use",
)

SETUP = ["INS.MODE", "DET.BINX", "DET.BINY"]
LSS = {"INSTRUME": "DEMO", "DPR.TECH": "SPECTRUM", "INS.MODE": "LSS"}


def raw(name, category, dpr_type, catg="CALIB", group=("TPL.START",)):
    """A raw data source of the DEMO spectrograph, associated by set-up and time."""
    return (
        data_source(name)
        .with_classification_rule(classification_rule(category, {**LSS, "DPR.CATG": catg, "DPR.TYPE": dpr_type}))
        .with_grouping_keywords(list(group))
        .with_setup_keywords(SETUP)
        .with_match_keywords(SETUP, time_range=SAME_NIGHT, level=0)
        .with_match_keywords(SETUP, time_range=ONE_DAY, level=1)
        .with_match_keywords(SETUP, time_range=days(3), level=2)
        .build()
    )


raw_bias = raw("RAW_BIAS", "BIAS", "BIAS")
raw_flat = raw("RAW_FLAT", "FLAT", "FLAT,LAMP")
raw_arc = raw("RAW_ARC", "ARC", "WAVE,LAMP")
raw_std = raw("RAW_STD", "STD", ["STD", "STD,FLUX"], group=("TPL.START", "TPL.EXPNO"))
raw_science = raw("RAW_SCIENCE", "OBJECT", "OBJECT", catg="SCIENCE", group=("TPL.START", "TPL.EXPNO"))

line_list = (
    data_source("LINE_LIST")
    .with_classification_rule(classification_rule("LINE_LIST", {"INSTRUME": "DEMO", "DPR.TYPE": "LINE_LIST"}))
    .with_match_keywords(["INS.MODE"], time_range=UNLIMITED)
    .build()
)
sky_line_list = (
    data_source("SKY_LINE_LIST")
    .with_classification_rule(classification_rule("SKY_LINE_LIST", {"INSTRUME": "DEMO", "DPR.TYPE": "SKY_LINE_LIST"}))
    .with_match_keywords(["INS.MODE"], time_range=UNLIMITED)
    .build()
)
std_flux_table = (
    data_source("STD_FLUX_TABLE")
    .with_classification_rule(classification_rule("STD_FLUX_TABLE", {"INSTRUME": "DEMO", "DPR.TYPE": "STD_FLUX_TABLE"}))
    .with_match_keywords(["OBJECT"], time_range=UNLIMITED)
    .build()
)

bias = task("bias").with_recipe("demo_spec_bias").with_main_input(raw_bias).with_inspector(inspect_master).build()
fit_order = (
    task("fit_order").with_recipe("demo_spec_fit_order").with_main_input(raw_flat)
    .with_associated_input(bias).with_inspector(inspect_master).build()
)
flat = (
    task("flat").with_recipe("demo_spec_flat").with_main_input(raw_flat)
    .with_associated_input(bias).with_inspector(inspect_master).build()
)
wavelength_cal = (
    task("wavelength_cal").with_recipe("demo_spec_wavecal").with_main_input(raw_arc)
    .with_associated_input(bias).with_associated_input(fit_order).with_associated_input(line_list)
    .with_inspector(inspect_wavecal).build()
)

with subworkflow("flat_strategy"):
    flat_for_std = (
        task("flat_strategy").with_recipe("demo_spec_flat_select").with_main_input(raw_std)
        # every master flat of the night in this set-up; the recipe picks one
        .with_associated_input(flat, min_ret=1, max_ret=10, match_keywords=SETUP, time_range=SAME_NIGHT)
        # the science frame whose flat the standard gets (science_flat strategy only)
        .with_associated_input(raw_science, match_keywords=SETUP, time_range=SAME_NIGHT,
                               condition=flat_strategy.equals("science_flat"))
        .with_recipe_parameters({"strategy": flat_strategy})
        .build()
    )


def same_standard_exposure(main, candidate) -> bool:
    """the flat chosen for this very standard-star exposure"""
    h = getattr(main, "header", main)
    return all(h.get(k) == candidate.get(k) for k in ("TPL.START", "TPL.EXPNO", "DET.BINX", "DET.BINY"))


def other_standard_exposure(main, candidate) -> bool:
    """a response from a different standard-star observation in the same set-up"""
    h = getattr(main, "header", main)
    return h.get("TPL.START") != candidate.get("TPL.START") and all(
        h.get(k) == candidate.get(k) for k in SETUP)


def calibrated(builder, std: bool):
    """The associated inputs shared by response, science and science_std."""
    b = (builder.with_associated_input(bias).with_associated_input(fit_order)
         .with_associated_input(wavelength_cal).with_associated_input(sky_line_list))
    if std:  # the standard star's flat depends on the flat strategy
        return b.with_associated_input(flat_for_std, match_function=same_standard_exposure, time_range=SAME_NIGHT)
    return b.with_associated_input(flat)


response = (
    calibrated(task("response").with_recipe("demo_spec_response").with_main_input(raw_std), std=True)
    .with_associated_input(std_flux_table)
    .with_meta_targets(["qc1calib"]).with_inspector(inspect_response).build()
)
science = (
    calibrated(task("science").with_recipe("demo_spec_science").with_main_input(raw_science), std=False)
    .with_associated_input(response, match_keywords=SETUP, time_range=days(7))
    .with_meta_targets(["spectra"]).with_inspector(inspect_spectrum).build()
)
science_std = (
    calibrated(task("science_std").with_recipe("demo_spec_science").with_main_input(raw_std), std=True)
    # the response curve comes from a different standard-star observation
    .with_associated_input(response, match_function=other_standard_exposure, time_range=days(7))
    .with_meta_targets(["spectra"]).with_inspector(inspect_spectrum).build()
)
spec_combination = (
    task("spec_combination").with_recipe("demo_spec_combine").with_main_input(science)
    .with_grouping_keywords(["OBJECT", "DET.BINX"]).with_meta_targets(["spectra"])
    .with_inspector(inspect_spectrum).build()
)
spec_combination_std = (
    task("spec_combination_std").with_recipe("demo_spec_combine").with_main_input(science_std)
    .with_grouping_keywords(["OBJECT", "DET.BINX"]).with_meta_targets(["spectra"])
    .with_inspector(inspect_spectrum).build()
)
