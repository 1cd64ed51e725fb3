"""What an ESO recipe declares about its frames: input and output categories (SOF tags).

CPL recipes do not publish their frame tags in a machine-readable form; they say them in
their own help (``esorex --man-page``), and their plugin libraries carry the tag strings.
:func:`recipe_io` reads both (cached with the recipe schema, see :func:`describe_io`):

* the help's DESCRIPTION is scanned for tags (``MASTER_BIAS``, ``ORDER_TABLE_(BLUE|REDL|REDU)``,
  ``ARC_LAMP_xxx`` with ``xxx`` = the arms the text names); tags named after a sentence that
  speaks of the output ("creates", "output", "produces", "product") are outputs, those before
  are inputs; an input in a sentence saying "optional(ly)" / "may" is optional. Tags joined by
  "or" in one sentence, and the arm variants of one pattern, are alternatives (one suffices);
* where the help names no product, :data:`SUPPLEMENT` (checked against real esorex runs and the
  pipelines' user manuals) adds the products and required inputs;
* the plugin's string table gives every tag the recipe knows (``known``).

Used by the OCA import (a product category is linked to the task whose recipe makes it) and by
``reflexng cascade validate`` (:mod:`reflexng.cascade.completeness`).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ARMS = ("BLUE", "RED", "REDL", "REDU")
_STOP = {
    "DESCRIPTION", "OPTIONS", "OBSOLETE", "FITS", "ESO", "CPL", "SOF", "QC", "PRO", "CATG", "DPR",
    "TPL", "DIT", "NDIT", "RON", "ADU", "ASCII", "NAME", "INFO", "ERROR", "WARNING", "NOTE", "TRUE",
    "FALSE", "NONE", "AND", "THE", "FOR", "RAW", "GIRAFFE", "VIMOS", "NACO", "HAWK", "HAWKI",
    "MUSE", "UVES", "FLAMES", "VISIR", "AMBER", "IFU", "MOS", "CCD", "FOV", "WCS", "PSF", "FWHM",
    "SNR", "RMS", "MAD", "MJD", "OBS", "DATE", "UTC", "EXPTIME", "ARCFILE", "BZERO", "CRPIX1",
    "CRPIX2", "HDU", "HDUS", "DRS", "XXX", "XXXX", "BURST", "LSS", "CUBE", "SKY_RED",
}
_OUTPUT_WORDS = re.compile(
    r"(?i)\b(outputs?|products?|creates?|produces?|generates?|is saved|are saved|"
    r"the result(s)? (is|are))\b")
_OPTIONAL_WORDS = re.compile(r"(?i)\b(optional(ly)?|may|can be|if (the user )?provided|if present)\b")
_SEG = r"(?:[A-Z0-9]+|\([A-Z0-9|]*\)|x{3,4}|X{3,4})"
_TOKEN = re.compile(rf"(?<![\w(|])(?:\([A-Z0-9|]*\))?[A-Z][A-Z0-9]*(?:\([A-Z0-9|]*\))?(?:_{_SEG})*(?![\w(])")


@dataclass(frozen=True)
class Requirement:
    """One input the recipe names: any of ``alternatives`` satisfies it."""

    alternatives: tuple[str, ...]
    optional: bool = False
    text: str = ""  # the sentence of the help it comes from

    @property
    def name(self) -> str:
        return self.alternatives[0] if len(self.alternatives) == 1 else " or ".join(self.alternatives)


@dataclass
class RecipeIO:
    recipe: str
    inputs: list[Requirement] = field(default_factory=list)
    outputs: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)  # where the answer comes from

    @property
    def input_categories(self) -> set[str]:
        return {c for r in self.inputs for c in r.alternatives}

    def required(self) -> list[Requirement]:
        return [r for r in self.inputs if not r.optional]


def _R(*alts: str, optional: bool = False) -> Requirement:
    return Requirement(tuple(alts), optional, "reflexng table (the recipe's help names no tag)")


def _arms(fmt: str, arms=("BLUE", "REDL", "REDU")) -> tuple[str, ...]:
    return tuple(fmt.format(a) for a in arms)


# Products (and required inputs) of recipes whose --man-page does not name them. Checked
# against real esorex runs on reflexng's synthetic data where the recipe runs, otherwise taken
# from the pipeline's user manual. Keys: recipe; values: (outputs, required inputs).
def _U(*fmts: str, optional: bool = False) -> Requirement:
    """A UVES input given per arm/chip: any of BLUE, RED, REDL, REDU."""
    return _R(*[f.format(a) for f in fmts for a in ARMS], optional=optional)


SUPPLEMENT: dict[str, tuple[tuple[str, ...], tuple[Requirement, ...]]] = {
    "uves_cal_mbias": (_arms("MASTER_BIAS_{}"), (_U("BIAS_{}"),)),
    "uves_cal_mdark": (_arms("MASTER_DARK_{}") + _arms("MASTER_PDARK_{}"),
                       (_U("DARK_{}", "PDARK_{}"), _U("MASTER_BIAS_{}"))),
    "uves_cal_predict": (_arms("ORDER_GUESS_TAB_{}") + _arms("LINE_GUESS_TAB_{}"),
                         (_U("ARC_LAMP_FORM_{}"), _R("LINE_REFER_TABLE"))),
    "uves_cal_orderpos": (_arms("ORDER_TABLE_{}"), (_U("ORDER_FLAT_{}", "STANDARD_{}"),)),
    "uves_cal_mkmaster": (_arms("MASTER_BIAS_{}") + _arms("MASTER_FLAT_{}") + _arms("MASTER_DARK_{}"), ()),
    "uves_cal_mflat": (_arms("MASTER_FLAT_{}") + _arms("BKG_FLAT_{}"),
                       (_U("FLAT_{}", "IFLAT_{}", "DFLAT_{}", "SFLAT_{}", "TFLAT_{}", "SCREEN_FLAT_{}"),
                        _U("MASTER_BIAS_{}"), _U("ORDER_TABLE_{}"))),
    "uves_cal_wavecal": (_arms("LINE_TABLE_{}"),
                         (_U("ARC_LAMP_{}", "ECH_ARC_LAMP_{}"), _U("ORDER_TABLE_{}"),
                          _U("LINE_TABLE_{}", "LINE_GUESS_TAB_{}"), _R("LINE_REFER_TABLE"))),
    "uves_cal_response": ((), (_U("STANDARD_{}"), _U("ORDER_TABLE_{}"), _U("LINE_TABLE_{}"),
                               _U("MASTER_BIAS_{}"), _U("MASTER_FLAT_{}"), _R("FLUX_STD_TABLE"),
                               _R("EXTCOEFF_TABLE"))),
    "uves_obs_scired": ((), (_U("SCIENCE_{}", "SCI_POINT_{}", "SCI_EXTND_{}", "SCI_SLICER_{}"),
                             _U("ORDER_TABLE_{}"), _U("LINE_TABLE_{}"), _U("MASTER_BIAS_{}"),
                             _U("MASTER_FLAT_{}"))),
    "gimasterbias": (("MASTER_BIAS", "BAD_PIXEL_MAP"), (_R("BIAS"),)),
    "gimasterdark": (("MASTER_DARK",), (_R("DARK"), _R("MASTER_BIAS"))),
    "gimasterflat": (("MASTER_FIBER_FLAT", "FF_LOCCENTROID", "FF_LOCWIDTH", "FF_LOCFIT",
                      "FF_PSFCENTROID", "FF_PSFWIDTH", "FF_PSFFIT", "FF_EXTSPECTRA", "FF_EXTERRORS",
                      "FF_EXTPIXELS", "FF_EXTTRACES", "FF_EXTMODEL"),
                     (_R("FIBER_FLAT"), _R("MASTER_BIAS"))),
    "giwavecalibration": (("DISPERSION_SOLUTION", "LINE_DATA", "ARC_EXTSPECTRA", "ARC_EXTERRORS",
                           "ARC_EXTPIXELS", "ARC_EXTTRACES", "ARC_EXTMODEL", "ARC_RBNSPECTRA",
                           "ARC_RBNERRORS"),
                          (_R("ARC_SPECTRUM"), _R("MASTER_BIAS"), _R("FF_LOCCENTROID"),
                           _R("FF_LOCWIDTH"), _R("FF_EXTSPECTRA"), _R("FF_EXTERRORS"),
                           _R("SLIT_GEOMETRY_SETUP", "SLIT_GEOMETRY_MASTER"), _R("GRATING_DATA"),
                           _R("LINE_CATALOG"))),
    "giscience": (("SCIENCE_REDUCED", "SCIENCE_EXTSPECTRA", "SCIENCE_EXTERRORS", "SCIENCE_EXTPIXELS",
                   "SCIENCE_EXTTRACES", "SCIENCE_RBNSPECTRA", "SCIENCE_RBNERRORS", "SCIENCE_RCSPECTRA",
                   "SCIENCE_RCERRORS"),
                  (_R("SCIENCE"), _R("MASTER_BIAS"), _R("FF_LOCCENTROID"), _R("FF_LOCWIDTH"),
                   _R("FF_EXTSPECTRA"), _R("FF_EXTERRORS"), _R("DISPERSION_SOLUTION"),
                   _R("SLIT_GEOMETRY_SETUP", "SLIT_GEOMETRY_MASTER", "SLIT_GEOMETRY"),
                   _R("GRATING_DATA"))),
    "hawki_dark_combine": (("MASTER_DARK",), ()),
    "hawki_twilight_flat_combine": (("MASTER_TWILIGHT_FLAT", "MASTER_CONF", "MASTER_BPM"), ()),
    "hawki_science_process": (("BASIC_CALIBRATED_SCI", "BASIC_VAR_MAP", "OBJECT_CATALOGUE_SCI",
                               "JITTERED_IMAGE_SCI", "JITTERED_VAR_IMAGE", "CONFIDENCE_MAP_JITTERED",
                               "OBJECT_CATALOGUE_JITTERED", "MATCHSTD_ASTROM", "MEAN_SKY",
                               "MEAN_SKY_VAR"), ()),
    "naco_img_dark": (("NACO_IMG_DARK_AVG", "NACO_IMG_DARK_HOT", "NACO_IMG_DARK_COLD",
                       "NACO_IMG_DARK_DEV"), ()),
    "naco_img_twflat": (("MASTER_IMG_FLAT", "MASTER_IMG_FLAT_BADPIX"), ()),
    "naco_img_jitter": (("COADDED_IMG", "COADDED_CUBE_IMG"), ()),
    "visir_img_reduce": (("IMG_OBJ_COMBINED", "IMG_OBJ_ONEBEAM", "IMG_PHOT_COMBINED",
                          "IMG_PHOT_ONEBEAM"), ()),
    "vimos_ima_bias": (("MASTER_BIAS",), (_R("BIAS"),)),
    "vimos_ima_dark": (("MASTER_DARK",), (_R("DARK"), _R("MASTER_BIAS"))),
    "vimos_ima_twilight_flat": (("MASTER_TWILIGHT_FLAT", "MASTER_CONF", "MASTER_BPM"),
                                (_R("FLAT_TWILIGHT"), _R("MASTER_BIAS"), _R("MASTER_DARK"))),
    "vimos_ima_science": (("BASIC_CALIBRATED_SCI", "BASIC_VAR_MAP", "BASIC_CAT_SCI",
                           "MASTER_SKY"),
                          (_R("OBJECT"), _R("MASTER_BIAS"), _R("MASTER_DARK"),
                           _R("MASTER_TWILIGHT_FLAT"), _R("MASTER_CONF"))),
}


def _expand(token: str, arms: list[str]) -> tuple[str, ...]:
    """``ORDER_TABLE_(BLUE|REDL)`` -> both; ``X_xxx`` -> X_<arm> for the arms the text names."""
    parts = re.split(r"(\([A-Z0-9|]*\)|x{3,4}|X{3,4})", token)
    out = [""]
    for p in parts:
        if not p:
            continue
        if p.startswith("("):
            alts = p[1:-1].split("|")
        elif re.fullmatch(r"x{3,4}|X{3,4}", p):
            alts = arms or ["xxx"]
        else:
            alts = [p]
        out = [o + a for o in out for a in alts]
    return tuple(dict.fromkeys(o.strip("_") for o in out if o.strip("_")))


def _is_tag(name: str) -> bool:
    if name in _STOP or len(name) < 3 or name.isdigit():
        return False
    return "_" in name or (name.isalpha() and len(name) >= 3)


_TAGNAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*"


def _add_input(io: RecipeIO, group: list[str], optional: bool, text: str) -> None:
    names = tuple(dict.fromkeys(n for n in group if _is_tag(n)))
    if names and not set(names) & io.input_categories:
        io.inputs.append(Requirement(names, optional, text.strip()[:200]))


def _tables(io: RecipeIO, lines: list[str]) -> bool:
    """The declared forms: CASU ``Tag  Description`` tables, MUSE ``Frame tag Type Req``
    tables, and ``file.fits TAG [or]`` / ``file.fits (TAG): ...`` lists."""
    found = False
    mode = None  # casu | muse_in | muse_out | sof | out
    group: list[str] = []
    group_opt = False
    muse_tables = 0  # the first table is the recipe's main mode; later ones are alternatives
    for raw in lines:
        line = raw.rstrip()
        text = line.strip()
        low = text.lower()
        if re.match(r"^Tag\s+Description", text):
            mode, found = "casu", True
            continue
        if re.match(r"(?i)^input files:?$", text):
            mode, found = "vimos_in_head", True
            continue
        if re.match(r"(?i)^output files:?$", text):
            mode, found = "vimos_out_head", True
            continue
        if text.startswith("DO category:") and mode in ("vimos_in_head", "vimos_out_head"):
            mode = mode.replace("_head", "")
            continue
        if mode == "vimos_in":  # blank lines and remarks stay inside the table
            m = re.match(rf"^(or\s+)?({_TAGNAME})\s+(Raw|Calib)\b.*?\s(\S)$", text)
            if m and m.group(1) and io.inputs:
                last = io.inputs[-1]
                io.inputs[-1] = Requirement(last.alternatives + (m.group(2),), last.optional, last.text)
            elif m:
                _add_input(io, [m.group(2)], m.group(4) != "Y", text)
            continue
        if mode == "vimos_out":
            m = re.match(rf"^({_TAGNAME})\s+\S", text)
            if m and _is_tag(m.group(1)):
                io.outputs.add(m.group(1))
            continue
        if re.match(r"^Frame tag\s+Type\s+Req", text):
            mode, found = "muse_in", True
            muse_tables += 1
            continue
        if re.match(r"^Frame tag\s+Level", text):
            mode, found = "muse_out", True
            continue
        if re.search(r"(?i)creates as an output|optionally it also creates|products? (are|is)\b", text):
            mode = "out"
            continue
        if re.search(r"(?i)must be tagged|optional inputs are|tagged as:?$", text):
            if group:
                _add_input(io, group, group_opt, text)
                group = []
            mode, found = "sof", True
            group_opt = "optional" in low
            continue
        if not text or set(text) <= set("- "):
            if mode in ("casu", "muse_in", "muse_out") and not text:
                mode = None if mode != "casu" or not group else mode
            continue
        if mode == "casu":
            m = re.match(rf"^({_TAGNAME})\s+(.*)$", text)
            if not m:
                if group:
                    _add_input(io, group, group_opt, text)
                    group = []
                mode = None
                continue
            tag, desc = m.group(1), m.group(2)
            group.append(tag)
            group_opt = group_opt or "optional" in desc.lower()
            if not re.search(r"\bor\s*$", desc):
                _add_input(io, group, group_opt, f"{tag} {desc}")
                group, group_opt = [], False
        elif mode == "muse_in":
            m = re.match(rf"^({_TAGNAME})\s+(raw|calib)\s+(\S)\s", text + " ")
            if m:
                _add_input(io, [m.group(1)], muse_tables > 1 or (
                    m.group(3) != "Y" and not (m.group(2) == "raw" and io.inputs == [])), text)
            else:
                mode = None
        elif mode == "muse_out":
            m = re.match(rf"^({_TAGNAME})\s+\S+", text)
            if m:
                io.outputs.add(m.group(1))
            else:
                mode = None
        elif mode == "sof":
            m = re.match(rf"^\S+\s+({_TAGNAME})(\s+or)?\s*(\(optional\))?", text)
            if m and (".fits" in text.split()[0] or "-" in text.split()[0] or "file" in low):
                # "file.fits TAG or" lists the tags a recipe accepts: the first is its raw
                # input, the others are optional unless the list says otherwise
                group.append(m.group(1))
                if not m.group(2):  # "TAG or" continues a list of alternatives
                    _add_input(io, group, group_opt or bool(m.group(3)) or bool(io.inputs), text)
                    group = []
        elif mode == "out":
            for tag in re.findall(rf"\(({_TAGNAME})\)", text):
                io.outputs.add(tag)
    if group:
        _add_input(io, group, group_opt, " ".join(group))
    return found


def _prose_outputs(io: RecipeIO, body: str, arms: list[str]) -> None:
    """In free text: tags named in and after the first sentence about the output."""
    sentences = re.split(r"(?<=[.:;])\s+(?=[A-Z(])|\n\s*\n", body)
    output_mode = False
    for s in sentences:
        flat = " ".join(s.split())
        if _OUTPUT_WORDS.search(flat) and not re.search(r"(?i)\binput\b.*\bmust\b", flat):
            output_mode = True
        if not output_mode:
            continue
        for tok in _TOKEN.findall(flat):
            io.outputs.update(n for n in _expand(tok, arms) if _is_tag(n) and "_" in n)


def parse_help(recipe: str, text: str) -> RecipeIO:
    """Inputs and outputs named in a recipe's ``--man-page`` text: the tag tables and tag
    lists recipes print are read as declarations (inputs with required/optional); free text
    gives only products (the tags named in and after the sentence about the output)."""
    io = RecipeIO(recipe)
    m = re.search(r"^DESCRIPTION\s*$(.*?)^(OPTIONS|AUTHOR|PARAMETERS)\b", text, re.S | re.M)
    body = m.group(1) if m else ""
    if not body.strip():
        return io
    arms = [a for a in ARMS if re.search(rf"\b{a}\b", body)]
    declared = _tables(io, body.splitlines())
    if not declared or not io.outputs:
        _prose_outputs(io, body, arms)
    io.outputs -= io.input_categories
    if io.inputs or io.outputs:
        io.sources.append("esorex --man-page")
    return io


def plugin_strings(so: Path) -> set[str]:
    """Tag-like strings in a recipe's plugin library (the tags it knows)."""
    try:
        data = so.read_bytes()
    except OSError:
        return set()
    out = set()
    for m in re.finditer(rb"\x00([A-Z][A-Z0-9_]{2,40})(?=\x00)", data):
        name = m.group(1).decode()
        if _is_tag(name):
            out.add(name)
    return out


def recipe_io_from(recipe: str, man_text: str, so: Path | None) -> RecipeIO:
    """Combine the help, the plugin strings and :data:`SUPPLEMENT`."""
    io = parse_help(recipe, man_text)
    if recipe in SUPPLEMENT:
        outs, reqs = SUPPLEMENT[recipe]
        have = io.input_categories
        for r in reqs:
            if not set(r.alternatives) & have:
                io.inputs.append(r)
        io.outputs -= io.input_categories  # the help's prose also names inputs near "output"
        io.outputs.update(outs)  # declared products (a product may also be an optional input)
        io.sources.append("reflexng table")
    if so is not None:
        io.known = plugin_strings(so) | io.outputs | io.input_categories
    return io


def recipe_io(recipe: str) -> RecipeIO | None:
    """What the installed recipe declares, or None when it is not installed (or esorex is
    missing). Cached with the recipe's schema (one esorex call per plugin version)."""
    from reflexng.recipes import esorex

    name = recipe[len(esorex.PREFIX):] if recipe.startswith(esorex.PREFIX) else recipe
    if esorex.esorex_path() is None:
        return None
    so = esorex._recipe_files().get(name)
    if so is None:
        return None
    try:
        info = esorex.describe(name, so)
    except (esorex.RecipeError, OSError, subprocess.SubprocessError):
        return None
    return recipe_io_from(name, str(info.get("man_page", "")), so)
