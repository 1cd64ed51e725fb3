"""GUI test helpers: real FITS files in tmp_path, a small real cascade, an organiser result."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from astropy.io import fits  # noqa: F401

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_support import open_window, write_image, write_spectrum  # noqa: E402,F401  (fixtures below use them)


def pytest_configure(config):
    config.addinivalue_line("markers", "leaks_widgets: the test leaves top-level widgets on purpose (no leak check)")


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    """Preferences go to a temporary folder, never the user's."""
    monkeypatch.setenv("REFLEXNG_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def _no_leaked_widgets(request, qapp):
    """Fail a test that leaves top-level widgets behind (like napari's leak check).

    pytest-qt closes and deletes the widgets given to ``qtbot.addWidget`` before fixtures are
    torn down; here the deferred deletions are run, then every top-level widget that did not
    exist before the test is a leak (Qt's own tooltip / popup helpers excepted). A test that
    leaks on purpose is marked ``@pytest.mark.leaks_widgets``.
    """
    from _leaks import address, leaked_widgets, top_level_ids

    before = top_level_ids()
    yield
    if request.node.get_closest_marker("leaks_widgets"):
        return
    leaked = leaked_widgets(before)
    if leaked:
        names = ", ".join(leaked)
        for w in list(qapp.topLevelWidgets()):  # do not cascade the failure into later tests
            if address(w) not in before:
                w.close()
                w.deleteLater()
        pytest.fail(f"test leaked top-level widgets: {names}; give them to qtbot.addWidget or a parent", pytrace=False)


CASCADE_TEXT = textwrap.dedent(
    """
    from reflexng.cascade import task, data_source, classification_rule, metadata, ONE_DAY

    metadata("mini", instrument="TEST", description="bias, flat, science", default_target="science")
    raw_bias = data_source("RAW_BIAS").with_classification_rule(
        classification_rule("BIAS", {"DPR.TYPE": "BIAS"})).build()
    raw_flat = data_source("RAW_FLAT").with_classification_rule(
        classification_rule("FLAT", {"DPR.TYPE": "FLAT"})).build()
    raw_sci = data_source("RAW_SCIENCE").with_classification_rule(
        classification_rule("SCIENCE", {"DPR.TYPE": "OBJECT"})).build()
    raw_dark = data_source("RAW_DARK").with_classification_rule(
        classification_rule("DARK", {"DPR.TYPE": "DARK"})).build()
    bias = task("bias").with_recipe("demo_bias").with_main_input(raw_bias).build()
    flat = (task("flat").with_recipe("demo_flat").with_main_input(raw_flat)
            .with_associated_input(bias).build())
    dark = task("dark").with_recipe("demo_dark").with_main_input(raw_dark).build()
    science = (task("science").with_recipe("demo_science").with_main_input(raw_sci)
               .with_associated_input(bias).with_associated_input(flat)
               .with_meta_targets(["reduce_science"]).build())
    """
)


@pytest.fixture
def mini_cascade(tmp_path):
    from reflexng.cascade import load

    p = tmp_path / "mini.py"
    p.write_text(CASCADE_TEXT)
    return load(p)


@pytest.fixture
def organise_result(tmp_path):
    """A hand-built OrganiseResult (the organiser contract) over real FITS files."""
    from reflexng.organiser.model import (
        Association,
        Candidate,
        Dataset,
        FileRecord,
        Job,
        OrganiseResult,
    )

    raw = tmp_path / "raw"
    raw.mkdir()
    files = []
    paths = {}
    for name, typ in [("bias1", "BIAS"), ("bias2", "BIAS"), ("flat1", "FLAT"), ("sci1", "OBJECT"), ("sci2", "OBJECT")]:
        p = write_image(raw / f"{name}.fits", np.zeros((8, 8), np.float32), {"HIERARCH ESO DPR TYPE": typ})
        paths[name] = str(p)
        cat = {"BIAS": "BIAS", "FLAT": "FLAT", "OBJECT": "SCIENCE"}[typ]
        files.append(FileRecord(str(p), p.stat().st_size, 0, "ok", cat, f"RAW_{cat}", "", {"DPR.TYPE": typ}, 60000.1))
    junk = raw / "junk.fits"
    junk.write_bytes(b"not a fits file")
    files.append(FileRecord(str(junk), 15, 0, "unreadable", reason="not a FITS file: missing SIMPLE card"))
    jobs = {
        "bias-1": Job("bias-1", "bias", "demo_bias", main=(paths["bias1"], paths["bias2"])),
        "flat-1": Job(
            "flat-1", "flat", "demo_flat", main=(paths["flat1"],),
            associated={"bias": Association("bias", "task", chosen=(Candidate(job_id="bias-1", level=0, dt_days=0.01),))},
            depends_on=("bias-1",),
        ),
        "science-1": Job(
            "science-1", "science", "demo_science", main=(paths["sci1"],),
            associated={
                "bias": Association("bias", "task", chosen=(Candidate(job_id="bias-1", level=0, dt_days=-0.2),)),
                "flat": Association("flat", "task", chosen=(Candidate(job_id="flat-1", level=1, dt_days=0.5),)),
            },
            depends_on=("bias-1", "flat-1"),
        ),
        "science-2": Job(
            "science-2", "science", "demo_science", main=(paths["sci2"],),
            associated={
                "flat": Association("flat", "task", complete=False, missing="no RAW_FLAT within 1 day (nearest 3.2 d)",
                                    rejected=(Candidate(path=paths["flat1"], level=1, dt_days=3.2, reason="outside 1 day"),)),
            },
            complete=False, missing=("flat: no RAW_FLAT within 1 day",),
        ),
    }
    datasets = [
        Dataset("ds-1", "sci1", "science", "science-1", ("bias-1", "flat-1", "science-1"), True),
        Dataset("ds-2", "sci2", "science", "science-2", ("science-2",), False, ("flat: no RAW_FLAT within 1 day",)),
    ]
    return OrganiseResult("mini", "science", files, jobs, datasets)
