from edps import qc1calib as QC1_CALIB  # the lower-case spelling ESO workflows use too
from edps import subworkflow, task

from .edpsdemo_classification import MASTER_BIAS, MASTER_DARK
from .edpsdemo_datasources import raw_bias, raw_dark, raw_sky_flat


@subworkflow("calibrations", "master bias, dark and sky flat")
def calibrations():
    bias = (task("bias")
            .with_recipe("demo_img_bias")
            .with_main_input(raw_bias)
            .with_meta_targets([QC1_CALIB])
            .build())
    dark = (task("dark")
            .with_recipe("demo_img_dark")
            .with_main_input(raw_dark)
            .with_associated_input(bias, [MASTER_BIAS])
            .with_meta_targets([QC1_CALIB])
            .build())
    flat = (task("flat")
            .with_recipe("demo_img_flat")
            .with_main_input(raw_sky_flat)
            .with_associated_input(bias, [MASTER_BIAS])
            .with_associated_input(dark, [MASTER_DARK], min_ret=0)
            .with_meta_targets([QC1_CALIB])
            .build())
    return bias, dark, flat
