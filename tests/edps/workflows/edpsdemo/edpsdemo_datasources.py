from edps import data_source
from edps.generator.time_range import SAME_NIGHT, THREE_DAYS, UNLIMITED

from . import edpsdemo_keywords as kwd
from .edpsdemo_classification import (
    bias_class,
    catalog_class,
    dark_class,
    illumination_class,
    lamp_flat_class,
    science_class,
    sky_flat_class,
)
from .edpsdemo_rules import binning, same_binning, setup

# data sources without names: reflexng names them after their categories
raw_bias = (data_source()
            .with_classification_rule(bias_class)
            .with_setup_keywords(binning)
            .with_grouping_keywords([kwd.tpl_start, *binning])
            .with_min_group_size(3)
            .with_match_keywords(binning, time_range=SAME_NIGHT, level=0)
            .with_match_keywords(binning, time_range=THREE_DAYS, level=1)
            .build())

raw_dark = (data_source()
            .with_classification_rule(dark_class)
            .with_setup_keywords(binning)
            .with_grouping_keywords([kwd.tpl_start, *binning])
            .with_min_group_size(2)
            .with_match_function(same_binning, time_range=SAME_NIGHT, level=0)
            .with_match_function(same_binning, time_range=THREE_DAYS, level=1)
            .build())

raw_sky_flat = (data_source()
                .with_classification_rule(sky_flat_class)
                .with_setup_keywords(setup)
                .with_grouping_keywords([kwd.tpl_start, *setup])
                .with_min_group_size(3)
                .with_match_keywords(setup, time_range=SAME_NIGHT, level=0)
                .with_match_keywords(setup, time_range=THREE_DAYS, level=1)
                .build())

# the same files as raw_sky_flat, another category: a file in two data sources
raw_illumination = (data_source("ILLUMINATION")
                    .with_classification_rule(illumination_class)
                    .with_grouping_keywords([kwd.tpl_start, *setup])
                    .with_match_keywords(setup, time_range=UNLIMITED, level=0)
                    .build())

raw_science = (data_source()
               .with_classification_rule(science_class)
               .with_setup_keywords(setup)
               .with_grouping_keywords(["$science_grouping"])
               .build())

ref_catalog = (data_source()
               .with_classification_rule(catalog_class)
               .with_match_keywords([kwd.instrume], time_range=UNLIMITED)
               .build())

# no task uses lamp flats: EDPS ignores such a data source, and so does reflexng
raw_lamp_flat = (data_source()
                 .with_classification_rule(lamp_flat_class)
                 .build())
