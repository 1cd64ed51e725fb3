# ruff: noqa: F403, F405 - star imports, the way EDPS workflows write them
from edps import match_rules
from edps.generator.time_range import *

from . import edpsdemo_keywords as kwd

binning = [kwd.det_binx, kwd.det_biny]
setup = [kwd.filter_name, *binning]


def same_binning(ref, f):
    # association function: ref = the file to calibrate, f = the candidate
    return ref[kwd.det_binx] == f[kwd.det_binx] and ref[kwd.det_biny] == f[kwd.det_biny]


# flats for science: within 2 hours is better than the plan (-1), the same night follows
# it (0), three days are sufficient (1), any time is still acceptable (2)
flat_for_science = (match_rules()
                    .with_match_keywords(setup, time_range=RelativeTimeRange(-0.1, 0.1), level=-1)
                    .with_match_keywords(setup, time_range=SAME_NIGHT, level=0)
                    .with_match_keywords(setup, time_range=THREE_DAYS, level=1)
                    .with_match_keywords(setup, time_range=UNLIMITED, level=2))
