"""EDPS-style workflow of the DEMO imager (a test fixture written for reflexng)."""

from edps import SCIENCE, FilterMode, ReportInput, alternative_associated_inputs, task

from . import edpsdemo_keywords as kwd
from .edpsdemo_calibrations import calibrations
from .edpsdemo_classification import MASTER_BIAS, MASTER_DARK, MASTER_SKY_FLAT, REDUCED_IMG
from .edpsdemo_datasources import raw_illumination, raw_science, ref_catalog
from .edpsdemo_rules import flat_for_science
from .edpsdemo_task_functions import (
                needs_dark,
                tune_sky,
                use_illumination,
                use_master_flat,
                which_filter,
)

bias, dark, flat = calibrations()

# a task without a recipe: its inputs are passed on
illumination = (task("illumination")
                .with_main_input(raw_illumination)
                .build())

flats = (alternative_associated_inputs(sort_keys=[kwd.mjd_obs])
         .with_associated_input(flat, [MASTER_SKY_FLAT], match_rules=flat_for_science,
                                condition=use_master_flat)
         .with_associated_input(illumination, condition=use_illumination))

reduce = (task("reduce")
          .with_recipe("demo_img_science")
          .with_report("demo_science_report", ReportInput.RECIPE_INPUTS_OUTPUTS)
          .with_main_input(raw_science)
          .with_associated_input(bias, [MASTER_BIAS])
          .with_associated_input(dark, [MASTER_DARK], min_ret=0, condition=needs_dark)
          .with_alternatives(flats)
          .with_dynamic_parameter("filter", which_filter)
          .with_job_processing(tune_sky)
          .with_input_filter(MASTER_BIAS, MASTER_DARK, MASTER_SKY_FLAT, "OBJECT", mode=FilterMode.SELECT)
          .with_meta_targets([SCIENCE])
          .build())

collect = (task("collect")
           .with_main_input(reduce, [REDUCED_IMG])
           .with_associated_input(ref_catalog, min_ret=0, max_ret=-1)
           .with_output_filter(REDUCED_IMG)
           .with_meta_targets([SCIENCE])
           .build())
