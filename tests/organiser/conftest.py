"""Helpers for the organiser tests: real header-only FITS files written with astropy."""

from __future__ import annotations

from pathlib import Path

import pytest

from reflexng.cascade import load
from reflexng.organiser.spectest import write_header_fits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MINI = FIXTURES / "organiser" / "mini.py"
FIG1 = FIXTURES / "cascades" / "fig1.py"
T0 = 61000.05  # 2025-11-21T01:12 UT, inside the night starting at MJD 60999.5


class Data:
    """Writes files of the mini cascade into one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, **keywords) -> Path:
        kw = {k.replace("__", "-").replace("_", "."): v for k, v in keywords.items()}
        path = self.root / name
        write_header_fits(path, kw)
        return path

    def biases(self, prefix: str, mjd: float, n: int = 3, binx: int = 1, tpl: str | None = None):
        return [self.write(f"{prefix}_{i}.fits", DPR_TYPE="BIAS", DET_BINX=binx,
                           TPL_START=tpl or prefix, MJD__OBS=mjd + i * 0.001) for i in range(n)]

    def flats(self, prefix: str, mjd: float, n: int = 2, binx: int = 1):
        return [self.write(f"{prefix}_{i}.fits", DPR_TYPE="FLAT", DET_BINX=binx, TPL_START=prefix,
                           MJD__OBS=mjd + i * 0.001) for i in range(n)]

    def science(self, name: str, mjd: float, obs_id: int = 1, obj: str = "NGC 253", binx: int = 1,
                exptime: float = 100.0):
        return self.write(name, DPR_CATG="SCIENCE", DPR_TYPE="OBJECT", DET_BINX=binx, OBS_ID=obs_id,
                          OBJECT=obj, EXPTIME=exptime, MJD__OBS=mjd)

    def night(self, mjd: float = T0, tag: str = "n1", binx: int = 1, skies: int = 2) -> None:
        """A complete night of calibrations for the mini cascade."""
        self.biases(f"{tag}_bias", mjd - 0.3, binx=binx)
        self.flats(f"{tag}_flat", mjd - 0.2, binx=binx)
        self.write(f"{tag}_arc.fits", DPR_TYPE="LAMP,WAVE", DET_BINX=binx, MJD__OBS=mjd - 0.1)
        for i in range(skies):
            self.write(f"{tag}_sky_{i}.fits", DPR_TYPE="SKY", MJD__OBS=mjd + 0.01 * (i + 1))
        if not (self.root / "linelist.fits").exists():
            self.write("linelist.fits", PRO_CATG="LINE_LIST")


@pytest.fixture
def data(tmp_path) -> Data:
    root = tmp_path / "raw"
    root.mkdir()
    return Data(root)


@pytest.fixture(scope="session")
def mini():
    return load(MINI)


@pytest.fixture(scope="session")
def fig1():
    return load(FIG1)
