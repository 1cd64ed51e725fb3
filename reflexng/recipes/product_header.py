"""ESO product headers for the built-in recipes: one helper, the cards CPL's product set-up writes.

ESO's CPL writes the same data-flow cards into every product (``cpl_dfs_setup_product_header``
and, after the recipe, ``cpl_dfs_update_product_header``); archive tools and ESO users expect
them. :func:`product_header` builds such a primary header and :func:`write_hdus` writes a product
with it; every built-in recipe writes its FITS products through these two functions.

Primary header of a product, in this order:

* inherited from the first RAW input (else the first CALIB input): every card but the
  structural ones, ``DPR.*``, ``ARCFILE``, ``ORIGFILE``, ``CHECKSUM``/``DATASUM``, ``DATAMD5``,
  ``PIPEFILE``, ``DATE`` and earlier ``PRO.*``/``QC.*`` cards; for a product that combines
  several exposures also the per-exposure cards (``TPL.EXPNO``, ``SEQ.*``);
* ``DATE`` (when the file was written; ``$SOURCE_DATE_EPOCH``, the reproducible-builds convention,
  when set, so that two reductions can be compared byte for byte), ``PIPEFILE`` (its file name), ``DATAMD5``;
* ``PRO.DID``, ``PRO.CATG``, ``PRO.TYPE`` (``REDUCED``), ``PRO.TECH`` (the raw frame's
  ``DPR.TECH``), ``PRO.SCIENCE`` (T when the raw frames are ``DPR.CATG = SCIENCE``),
  ``PRO.REC1.ID`` (recipe), ``PRO.REC1.DRS.ID`` (``reflexng/<version>``), ``PRO.REC1.PIPE.ID``
  (``<recipe module>/<recipe version>``), ``PRO.REC1.RAWi NAME/CATG`` and ``PRO.DATANCOM``
  (number of raw inputs), ``PRO.REC1.CALi NAME/CATG/DATAMD5``, ``PRO.REC1.PARAMi NAME/VALUE``
  (every parameter, values as strings, comment ``Default: <default>``);
* the product's ``QC.*`` values;
* for a product combining exposures (``combined=[headers]``): ``EXPTIME`` and ``TEXPTIME``
  (sum of the exposure times), ``NCOMBINE``, ``MJD-OBS`` (first start) and ``MJD-END`` (last end).

``DATAMD5`` is ESO's definition (the archive's, and CPL's ``cpl_dfs_update_product_header``):
the MD5 of the file's data units — every HDU's data as stored on disk, with its padding to
2880 bytes — not of the file (headers are left out, so editing a header keeps the checksum).
RAW/CALIB: inside a job the engine says which inputs are main (RAW) and which associated
(CALIB); run stand-alone, a file that carries ``PRO.CATG`` counts as CALIB.

Image extensions get ``EXTNAME``, ``BUNIT`` and the primary WCS (when the shape matches). The
variance extension is called ``VARIANCE`` everywhere (:data:`VARIANCE`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

PRO_DID = "PRO-1.15"  # the PRO dictionary CPL 7 (Debian, ESO kit 2024-26) writes
VARIANCE = "VARIANCE"
_PLACEHOLDER = "0" * 32

_STRUCTURAL = {"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "BZERO", "BSCALE", "PCOUNT", "GCOUNT", "XTENSION",
               "CHECKSUM", "DATASUM", "DATAMD5", "PIPEFILE", "DATE", "ARCFILE", "ORIGFILE", "EXTNAME",
               "TFIELDS", "BUNIT", "DATAMIN", "DATAMAX", "", "COMMENT", "HISTORY", "END"}
_PER_EXPOSURE = ("ESO TPL EXPNO", "ESO SEQ ", "ESO DET EXP NO", "ESO DET FRAM ")
_WCS_KEYS = ("WCSAXES", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2",
             "CDELT1", "CDELT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
             "CROTA2", "RADESYS", "EQUINOX", "LONPOLE", "LATPOLE")

# the job a child process runs (set by reflexng.engine.child before the recipe runs)
_JOB: dict[str, Any] | None = None


def set_job(spec: Mapping[str, Any] | None) -> None:
    """Tell the helper about the job being run: inputs with roles and checksums, parameters, ids."""
    global _JOB
    _JOB = dict(spec) if spec is not None else None


def _eso(key: str) -> str:
    """Card keyword for a cascade name or short ESO name: ``PRO.CATG`` -> ``HIERARCH ESO PRO CATG``."""
    if key.startswith("HIERARCH "):
        return key
    if key.startswith("ESO "):
        return "HIERARCH " + key
    if "." in key:
        return "HIERARCH ESO " + key.replace(".", " ")
    return key


def _bare(keyword: str) -> str:
    return keyword[9:] if keyword.startswith("HIERARCH ") else keyword


def data_md5(path: str | os.PathLike) -> str:
    """ESO DATAMD5: MD5 of every HDU's data unit as stored (with padding), headers left out."""
    from astropy.io import fits

    md5 = hashlib.md5()
    with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
        spans = [(hdul.fileinfo(i)["datLoc"], hdul.fileinfo(i)["datSpan"]) for i in range(len(hdul))]
    with open(path, "rb") as fh:
        for start, span in spans:
            if span:
                fh.seek(start)
                left = span
                while left:
                    chunk = fh.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    md5.update(chunk)
                    left -= len(chunk)
    return md5.hexdigest()


def _read_primary(path: str):
    from astropy.io import fits

    try:
        return fits.getheader(path, 0)
    except (OSError, ValueError, IndexError):
        return None


def _classify(inputs: Sequence[tuple[str, str]]) -> tuple[list[dict], list[dict]]:
    """(raw, calib) inputs as dicts with path, category, header (and md5 when known)."""
    roles: dict[str, str] = {}
    if _JOB is not None:
        for i in _JOB.get("inputs", ()):
            roles[os.path.realpath(str(i["path"]))] = i.get("role", "")
    raw, cal = [], []
    for path, category in inputs:
        h = _read_primary(str(path))
        role = roles.get(os.path.realpath(str(path)))
        if role is None:
            role = "associated" if (h is not None and "HIERARCH ESO PRO CATG" in h) else "main"
        item = {"path": str(path), "category": str(category), "header": h}
        (raw if role == "main" else cal).append(item)
    return raw, cal


def _recipe_ids(recipe: Any) -> tuple[str, str, str, Mapping[str, Any]]:
    """(recipe name, pipe id, drs id, parameter defaults)."""
    from reflexng import __version__

    name = getattr(recipe, "name", None) or str(recipe)
    version = str(getattr(recipe, "version", "") or (_JOB or {}).get("recipe_version", "") or "0")
    module = getattr(recipe, "__module__", "") or "reflexng"
    pipeline = module.rsplit(".", 1)[-1] if module.startswith("reflexng.recipes.builtin") else module.split(".")[0]
    drs = (_JOB or {}).get("drs_id") or f"reflexng/{__version__}"
    defaults = {}
    for spec in getattr(recipe, "parameters", ()) or ():
        defaults[spec.name] = spec.default
    return name, f"{pipeline}/{version}", drs, defaults


def _fits_value(v: Any) -> Any:
    try:
        import numpy as np

        if isinstance(v, np.generic):
            v = v.item()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if isinstance(v, float) and v != v:
        return None
    return v


def _param_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def product_header(inputs: Sequence[tuple[str, str]], catg: str, recipe: Any,
                   parameters: Mapping[str, Any] | None = None, qc: Mapping[str, Any] | None = None, *,
                   raws: Iterable[str] | None = None, pro_type: str = "REDUCED", pro_tech: str | None = None,
                   science: bool | None = None, combined: Sequence[Mapping[str, Any]] | None = None,
                   extra: Mapping[str, Any] | None = None, inherit: Any = None):
    """The primary header of a product made from ``inputs`` (path, category) by ``recipe``
    (a Recipe class or object, or a name). ``raws``: the subset of raw paths this product was made
    from (default: every raw input). ``combined``: headers of the exposures combined into it.
    ``inherit``: a header to inherit from instead of the first raw input's. ``extra``: further
    cards (cascade names such as ``"BUNIT"`` or ``"INS.FILT.NAME"``)."""
    import warnings

    from astropy.io import fits

    with warnings.catch_warnings():  # long HIERARCH comments are cut, as CFITSIO does
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        return _product_header(inputs, catg, recipe, parameters, qc, raws, pro_type, pro_tech, science, combined,
                               extra, inherit)


def _product_header(inputs, catg, recipe, parameters, qc, raws, pro_type, pro_tech, science, combined, extra,
                    inherit):
    from astropy.io import fits

    raw, cal = _classify(inputs)
    if raws is not None:
        wanted = {os.path.realpath(str(p)) for p in raws}
        raw = [r for r in raw if os.path.realpath(r["path"]) in wanted]
    name, pipe_id, drs_id, defaults = _recipe_ids(recipe)
    values = dict(defaults)
    if _JOB is not None and _JOB.get("recipe") in (name, f"builtin:{name}"):
        values.update(_JOB.get("parameters") or {})
    values.update(parameters or {})
    source = inherit if inherit is not None else (raw[0]["header"] if raw and raw[0]["header"] is not None
                                                  else (cal[0]["header"] if cal else None))
    h = fits.Header()
    h["DATE"] = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(_creation_time())),
                 "file creation date (YYYY-MM-DDThh:mm:ss UT)")
    dpr_tech = dpr_catg = None
    multi = bool(combined) and len(combined) > 1
    if source is not None:
        src = source if isinstance(source, fits.Header) else fits.Header(source)
        dpr_tech = src.get("HIERARCH ESO DPR TECH") or src.get("HIERARCH ESO PRO TECH")
        dpr_catg = src.get("HIERARCH ESO DPR CATG")
        if dpr_catg is None and src.get("HIERARCH ESO PRO SCIENCE") is not None:
            dpr_catg = "SCIENCE" if src.get("HIERARCH ESO PRO SCIENCE") else "CALIB"
        for card in src.cards:
            key = card.keyword
            bare = _bare(key)
            if key in _STRUCTURAL or key.startswith("NAXIS") or key.startswith("TTYPE") \
                    or key.startswith("TFORM") or key.startswith("TUNIT"):
                continue
            if bare.startswith(("ESO DPR ", "ESO PRO ", "ESO QC ")):
                continue
            if multi and bare.startswith(_PER_EXPOSURE):
                continue
            try:
                h.append((key if not bare.startswith("ESO ") else "HIERARCH " + bare, card.value, card.comment))
            except (ValueError, TypeError):
                continue
    h["PIPEFILE"] = ("", "Filename of data product")
    h["DATAMD5"] = (_PLACEHOLDER, "MD5 checksum")
    if combined:
        exps = [float(c.get("EXPTIME", 0) or 0) for c in combined]
        starts = [float(c["MJD-OBS"]) for c in combined if c.get("MJD-OBS") is not None]
        ends = [float(c["MJD-OBS"]) + float(c.get("EXPTIME", 0) or 0) / 86400.0 for c in combined
                if c.get("MJD-OBS") is not None]
        h["EXPTIME"] = (sum(exps), "[s] Total integration time")
        h["TEXPTIME"] = (sum(exps), "[s] Total integration time of all exposures")
        h["NCOMBINE"] = (len(combined), "Number of combined exposures")
        if starts:
            h["MJD-OBS"] = (min(starts), "[d] Start of the first exposure")
            h["MJD-END"] = (max(ends), "[d] End of the last exposure")
    pro = "HIERARCH ESO PRO "
    rec = pro + "REC1 "
    h[pro + "DID"] = (PRO_DID, "Data dictionary for PRO")
    h[pro + "CATG"] = (catg, "Category of pipeline product frame")
    h[pro + "TYPE"] = (pro_type, "Product type")
    tech = pro_tech or dpr_tech
    if tech:
        h[pro + "TECH"] = (str(tech), "Observation technique")
    sci = science if science is not None else (str(dpr_catg or "").strip().upper() == "SCIENCE")
    h[pro + "SCIENCE"] = (bool(sci), "Scientific product if T")
    h[rec + "ID"] = (name, "Pipeline recipe (unique) identifier")
    h[rec + "DRS ID"] = (drs_id, "Data Reduction System identifier")
    h[rec + "PIPE ID"] = (pipe_id, "Pipeline (unique) identifier")
    for i, r in enumerate(raw, 1):
        h[f"{rec}RAW{i} NAME"] = (Path(r["path"]).name, "File name of raw frame")
        h[f"{rec}RAW{i} CATG"] = (r["category"], "Category of raw frame")
        md5 = r["header"].get("DATAMD5") if r["header"] is not None else None
        if md5:
            h[f"{rec}RAW{i} DATAMD5"] = (str(md5), "MD5 signature of raw frame")
    h[pro + "DATANCOM"] = (len(raw) if raw else len(combined or ()) or 1, "Number of combined frames")
    for i, c in enumerate(cal, 1):
        h[f"{rec}CAL{i} NAME"] = (Path(c["path"]).name, "File name of calibration frame")
        h[f"{rec}CAL{i} CATG"] = (c["category"], "Category of calibration frame")
        md5 = c["header"].get("DATAMD5") if c["header"] is not None else None
        if not md5:
            try:
                md5 = data_md5(c["path"])
            except (OSError, ValueError):
                md5 = None
        if md5:
            h[f"{rec}CAL{i} DATAMD5"] = (str(md5), "MD5 signature of calib frame")
    for i, (k, v) in enumerate(values.items(), 1):
        h[f"{rec}PARAM{i} NAME"] = (str(k), "")
        h[f"{rec}PARAM{i} VALUE"] = (_param_text(v), f"Default: {_param_text(defaults[k])}" if k in defaults else "")
    for k, v in (extra or {}).items():
        v = _fits_value(v)
        if v is not None:
            h[_eso(k)] = v
    for k, v in (qc or {}).items():
        v = _fits_value(v)
        if v is None:
            print(f"QC {k} is not finite - left out of the product header", flush=True)
            continue
        if isinstance(v, float) and abs(v) == float("inf"):
            continue
        h[f"HIERARCH ESO QC {k.replace('.', ' ')}"] = v
    return h


def wcs_cards(header) -> list[tuple[str, Any, str]]:
    """The celestial/pixel WCS cards of a header (to copy onto image extensions of the same shape)."""
    out = []
    for k in _WCS_KEYS:
        if k in header:
            out.append((k, header[k], header.comments[k]))
    return out


def ensure_wcs(header) -> None:
    """A pixel WCS (as CPL pipelines write for detector-frame products) where a 2-D header has none."""
    if "CTYPE1" not in header:
        for k, v in (("CTYPE1", "PIXEL"), ("CTYPE2", "PIXEL"), ("CRPIX1", 1.0), ("CRPIX2", 1.0),
                     ("CRVAL1", 1.0), ("CRVAL2", 1.0), ("CDELT1", 1.0), ("CDELT2", 1.0)):
            header[k] = v


def image_hdu(data, name: str, bunit: str | None, like=None):
    """An image extension with EXTNAME, BUNIT and the WCS of ``like`` (a header of the same shape)."""
    from astropy.io import fits

    hdu = fits.ImageHDU(data, name=name)
    if bunit is not None:
        hdu.header["BUNIT"] = (bunit, "physical unit of the data")
    if like is not None:
        for k, v, c in wcs_cards(like):
            hdu.header[k] = (v, c)
    return hdu


def write_hdus(path: str | os.PathLike, hdus: Sequence[Any]) -> str:
    """Write a product: set PIPEFILE, write, then put ESO's DATAMD5 into the primary header in place."""
    from astropy.io import fits

    path = str(path)
    primary = hdus[0]
    primary.header["PIPEFILE"] = (os.path.basename(path), "Filename of data product")
    if "DATAMD5" not in primary.header:
        primary.header["DATAMD5"] = (_PLACEHOLDER, "MD5 checksum")
    else:
        primary.header["DATAMD5"] = (_PLACEHOLDER, primary.header.comments["DATAMD5"])
    import warnings

    with warnings.catch_warnings():  # long HIERARCH comments are cut, as CFITSIO does
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        fits.HDUList(list(hdus)).writeto(path, overwrite=True)
    _stamp_md5(path, data_md5(path))
    return path


def _stamp_md5(path: str, md5: str) -> None:
    """Replace the DATAMD5 placeholder (same length) in the primary header's bytes."""
    needle = f"'{_PLACEHOLDER}'".encode()
    with open(path, "r+b") as fh:
        offset = 0
        while True:
            block = fh.read(2880)
            if len(block) < 2880:
                raise OSError(f"{path}: no DATAMD5 card in the primary header")
            for i in range(0, 2880, 80):
                card = block[i:i + 80]
                if card.startswith(b"DATAMD5 ="):
                    j = card.find(needle)
                    if j < 0:
                        raise OSError(f"{path}: unexpected DATAMD5 card")
                    fh.seek(offset + i + j + 1)
                    fh.write(md5.encode())
                    return
                if card.startswith(b"END     "):
                    raise OSError(f"{path}: no DATAMD5 card in the primary header")
            offset += 2880


def _creation_time() -> float:
    """Now, or ``$SOURCE_DATE_EPOCH`` (seconds since 1970) when set: reproducible products."""
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return float(epoch)
    return time.time()
