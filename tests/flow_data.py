"""The small two-task cascade (bias -> science, the engine's fast header-only testing recipes)
and its real FITS files, shared by the GUI's session-flow tests, the engine's promote/override
tests and the provenance tests (fixture ``flow_setup`` in tests/conftest.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from astropy.io import fits

CASCADE = textwrap.dedent(
    """
    from reflexng.cascade import task, data_source, classification_rule, metadata

    metadata("gui_flow", instrument="TEST", default_target="science")
    raw_bias = (data_source("RAW_BIAS")
                .with_classification_rule(classification_rule("BIAS", {"DPR.TYPE": "BIAS"}))
                .with_grouping_keywords(["INSTRUME"]).with_match_keywords(["INSTRUME"]).build())
    raw_sci = data_source("RAW_SCIENCE").with_classification_rule(
        classification_rule("SCIENCE", {"DPR.TYPE": "OBJECT"})).build()
    bias = (task("bias").with_recipe("test_noop").with_main_input(raw_bias)
            .with_recipe_parameters({"category": "MASTER_BIAS"}).build())
    science = (task("science").with_recipe("test_noop").with_main_input(raw_sci)
               .with_associated_input(bias)
               .with_recipe_parameters({"category": "SCIENCE_REDUCED"}).build())
    """
)

# the science task runs a recipe that sleeps (for Stop while it runs)
SLOW_SCIENCE = CASCADE.replace(
    'task("science").with_recipe("test_noop")', 'task("science").with_recipe("test_sleep")'
).replace('{"category": "SCIENCE_REDUCED"}', '{"category": "SCIENCE_REDUCED", "seconds": 60.0}')


def write_frame(path: Path, value: float, cards: dict) -> Path:
    hdr = fits.Header()
    for k, v in cards.items():
        hdr[k if len(k) <= 8 and " " not in k else f"HIERARCH {k}"] = v
    fits.PrimaryHDU(np.full((8, 8), value, np.float32), hdr).writeto(path)
    return path


def make_flow_data(tmp_path: Path, *, n_bias: int = 3, other_instrument: bool = False,
                   name: str = "gui_flow.py") -> tuple[Path, Path, Path]:
    """(cascade file, raw folder, work directory) under ``tmp_path``: ``n_bias`` bias frames and
    one science frame of instrument TEST; ``other_instrument`` adds two bias frames of another
    instrument (a second bias job, never matched to the science frame)."""
    cascade = tmp_path / name
    cascade.write_text(CASCADE)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(n_bias):
        write_frame(raw / f"bias_{i}.fits", 1000.0 + i,
                    {"ESO DPR TYPE": "BIAS", "INSTRUME": "TEST", "MJD-OBS": 60000.1 + i / 1000, "OBJECT": "BIAS"})
        if other_instrument and i < 2:
            write_frame(raw / f"obias_{i}.fits", 900.0 + i,
                        {"ESO DPR TYPE": "BIAS", "INSTRUME": "OTHER", "MJD-OBS": 60000.1 + i / 1000})
    write_frame(raw / "sci_0.fits", 2000.0,
                {"ESO DPR TYPE": "OBJECT", "INSTRUME": "TEST", "MJD-OBS": 60000.2, "OBJECT": "NGC 1"})
    return cascade, raw, tmp_path / "work"

# bias -> science -> combined: the science job writes half a product, then waits (Stop while it
# writes; with $REFLEXNG_TEST_COMPLETE set it writes a whole product); combined needs it
STOP_CASCADE = CASCADE.replace('default_target="science"', 'default_target="combined"').replace(
    'task("science").with_recipe("test_noop")', 'task("science").with_recipe("test_half_product")'
).replace('{"category": "SCIENCE_REDUCED"}', '{"category": "SCIENCE_REDUCED", "wait": 60.0}') + (
    'combined = (task("combined").with_recipe("test_noop").with_main_input(science)\n'
    '            .with_recipe_parameters({"category": "COMBINED"}).build())\n')

# the science job takes raw bias frames as its calibration (association overrides swap them)
RAW_ASSOCIATION = CASCADE.replace(".with_associated_input(bias)", ".with_associated_input(raw_bias)")
