"""ESO CPL recipes run through ``esorex``: the recipe kind ``esorex:<recipe>``.

The registry delegates ``esorex:<recipe>`` names here (:func:`get_recipe`). A recipe's
version and parameter schema come from esorex itself (``--man-page`` and
``--create-config=x.json``) and are cached per recipe and plugin file under the user cache
dir. ``ParameterSpec.name`` is the **full CPL name** (``naco.naco_img_dark.hot_threshold``),
as EDPS parameter files and ``--recipe-config`` use it; the esorex command-line alias
(``hot_t``) is accepted too (:meth:`EsorexRecipe.canonical`) and named in the description.

Running a job (SOF, scratch directory, exit codes, products) lives in
:mod:`reflexng.recipes.esorex_run`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from reflexng.recipes.esorex_run import esorex_path
from reflexng.recipes.protocol import (
    ParameterSpec,
    Recipe,
    RecipeError,
    RecipeResult,
    UnknownRecipeError,
)

PREFIX = "esorex:"
DEFAULT_PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu/cpl/plugins", "/usr/lib/cpl/plugins",
                       "/usr/local/lib/esopipes-plugins", "/usr/lib64/esopipes-plugins")
_CACHE_FORMAT = 2  # bump when describe() stores more (2: the help's DESCRIPTION)
_TYPES = {"bool": "bool", "int": "int", "double": "float", "float": "float", "string": "str"}

# Products whose PRO.CATG differs from the tag the next recipe expects in its SOF. The
# adapter reports these products under the SOF tag (the PRO.CATG stays in the file header).
# Extend with REFLEXNG_ESOREX_TAGS="RECIPE:PRO_CATG=TAG,..." (comma separated).
DOWNSTREAM_TAGS: dict[str, dict[str, str]] = {
    "naco_img_dark": {"NACO_IMG_DARK_AVG": "CAL_DARK"},
}


# Recipe name prefix -> (ESO pipeline, Debian package or None when Debian has none).
PIPELINES: tuple[tuple[str, str, str | None], ...] = (
    ("uves_", "uves", "cpl-plugin-uves"), ("flames_", "uves", "cpl-plugin-uves"),
    ("naco_", "naco", "cpl-plugin-naco"), ("hawki_", "hawki", "cpl-plugin-hawki"),
    ("muse_", "muse", "cpl-plugin-muse"), ("visir_", "visir", "cpl-plugin-visir"),
    ("amber_", "amber", "cpl-plugin-amber"), ("vimos_", "vimos", "cpl-plugin-vimos"),
    ("vm", "vimos", "cpl-plugin-vimos"), ("gi", "giraf", "cpl-plugin-giraf"),
    ("fors_", "fors", None), ("xsh_", "xshoo", None), ("kmos_", "kmos", None),
    ("sph_", "sphere", None), ("espdr_", "espresso", None), ("eris_", "eris", None),
    ("detmon_", "detmon", None), ("crires_", "cr2re", None), ("cr2res_", "cr2re", None),
    ("sinfo_", "sinfo", None), ("isaac_", "isaac", None), ("gravity_", "gravity", None),
    ("matisse_", "matisse", None), ("harps_", "harps", None), ("molecfit_", "molecfit", None),
)


def install_hint(recipe: str) -> str:
    """Which pipeline provides ``recipe`` and how to install it, in words."""
    name = recipe[len(PREFIX):] if recipe.startswith(PREFIX) else recipe
    for prefix, pipeline, package in PIPELINES:
        if name.startswith(prefix):
            if package:
                return (f"it belongs to the ESO {pipeline} pipeline: install it with "
                        f"apt-get install {package} (Debian/Ubuntu)")
            return (f"it belongs to the ESO {pipeline} pipeline, which Debian does not package: "
                    "install it with ESO's installer (install_esoreflex) and point "
                    "$ESOREX_PLUGIN_DIR at its plugin folder")
    return ("install the ESO pipeline that provides it (Debian: apt-get install "
            "cpl-plugin-<pipeline>; otherwise ESO's installer and $ESOREX_PLUGIN_DIR)")


def esorex_available() -> bool:
    """True when esorex is installed and at least one CPL pipeline is found."""
    return esorex_path() is not None and bool(_recipe_files())


def plugin_dirs() -> list[Path]:
    """Folders searched for pipelines: ``$ESOREX_PLUGIN_DIR`` (colon separated) first,
    then the Debian/ESO default locations."""
    extra = [p for p in os.environ.get("ESOREX_PLUGIN_DIR", "").split(":") if p]
    out: list[Path] = []
    for d in [*extra, *DEFAULT_PLUGIN_DIRS]:
        p = Path(d)
        if p.is_dir() and p not in out:
            out.append(p)
    return out


def _pipeline_of(folder: Path) -> tuple[str, str]:
    """``naco-4.4.11`` -> ("naco", "4.4.11"); an unversioned folder -> (name, "")."""
    m = re.match(r"^(.+?)-(\d[\w.]*)$", folder.name)
    return (m.group(1), m.group(2)) if m else (folder.name, "")


def _recipe_files() -> dict[str, Path]:
    """Recipe name -> plugin library (``<plugins>/<pipeline>-<version>/<recipe>.so``).
    The first plugin dir wins; within one dir the highest pipeline version wins."""
    found: dict[str, Path] = {}
    for base in plugin_dirs():
        libs = sorted(base.glob("*/*.so")) + sorted(base.glob("*.so"))
        for so in reversed(libs):  # reversed: later (higher) versions first
            found.setdefault(so.stem, so)
    return found


class RecipeInfo(NamedTuple):
    """One installed esorex recipe: a (name, version, pipeline) tuple with attributes."""

    name: str  # esorex:<recipe>
    version: str  # the pipeline version
    pipeline: str


def list_recipes() -> list[RecipeInfo]:
    """Installed esorex recipes as (``esorex:<recipe>``, pipeline version, pipeline), found
    from the plugin files (no esorex call)."""
    out = []
    for name, so in sorted(_recipe_files().items()):
        pipeline, version = _pipeline_of(so.parent)
        out.append(RecipeInfo(PREFIX + name, version, pipeline))
    return out


def cache_dir() -> Path:
    """Where recipe schemas are cached (``$REFLEXNG_ESOREX_CACHE`` or the user cache dir)."""
    env = os.environ.get("REFLEXNG_ESOREX_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("reflexng")) / "esorex"


def _downstream_tags(recipe: str) -> dict[str, str]:
    tags = dict(DOWNSTREAM_TAGS.get(recipe, {}))
    for item in os.environ.get("REFLEXNG_ESOREX_TAGS", "").split(","):
        m = re.match(r"^\s*([\w.-]+):([\w.-]+)=([\w.-]+)\s*$", item)
        if m and m.group(1) == recipe:
            tags[m.group(2)] = m.group(3)
    return tags


def _run_esorex(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    exe = esorex_path()
    if exe is None:
        raise RecipeError("esorex is not installed: install it (Debian/Ubuntu: "
                          "apt-get install esorex cpl-plugin-<pipeline>) or set $REFLEXNG_ESOREX")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _describe(recipe: str, so: Path) -> dict:
    """Ask esorex for the recipe's version, synopsis and parameter schema (uncached)."""
    with tempfile.TemporaryDirectory(prefix="reflexng-esorex-") as tmp:
        work = Path(tmp)
        rdir = f"--recipe-dir={so.parent}"
        man = _run_esorex([rdir, "--man-page", recipe], work)
        cfg = _run_esorex([rdir, f"--create-config={work / 'schema.json'}", recipe], work)
        if cfg.returncode != 0 or not (work / "schema.json").is_file():
            tail = "\n".join((cfg.stdout + cfg.stderr).strip().splitlines()[-5:])
            raise RecipeError(f"esorex could not describe recipe {recipe!r} "
                              f"(exit {cfg.returncode}):\n{tail}")
        schema = json.loads((work / "schema.json").read_text(encoding="utf-8"))
    text = man.stdout
    version = _pipeline_of(so.parent)[1]
    m = re.search(rf"{re.escape(recipe)}\s+--\s+version\s+(\S+)", text)
    if m:
        version = m.group(1)
    synopsis = ""
    m = re.search(rf"NAME\s*\n\s*{re.escape(recipe)}\s+--\s+(.+)", text)
    if m:
        synopsis = m.group(1).strip()
    m = re.search(r"^DESCRIPTION\s*$.*?^(?=OPTIONS|AUTHOR)", text, re.S | re.M)
    return {"recipe": recipe, "version": version, "description": synopsis, "schema": schema,
            "man_page": m.group(0) + "OPTIONS\n" if m else ""}


def describe(recipe: str, so: Path) -> dict:
    """Version, description and parameter schema of a recipe, cached per plugin file
    (path, size, mtime): a new pipeline version is a new cache entry."""
    st = so.stat()
    key = hashlib.sha1(f"{so}|{st.st_size}|{st.st_mtime_ns}|{_CACHE_FORMAT}".encode()).hexdigest()[:16]
    cached = cache_dir() / f"{recipe}-{key}.json"
    if cached.is_file():
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # a broken cache entry is rebuilt
    info = _describe(recipe, so)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only cache only costs speed
    return info


def parameter_spec(entry: Mapping[str, Any]) -> ParameterSpec:
    """One ``--create-config`` JSON entry -> ParameterSpec (full CPL name)."""
    ptype = _TYPES.get(str(entry.get("valtype", "string")), "str")
    spec = ParameterSpec(entry["name"], ptype, entry.get("value"))
    default = spec.coerce(entry.get("value")) if entry.get("value") is not None else None
    choices = None
    if entry.get("partype") == "enum" and entry.get("valenum") is not None:
        choices = tuple(spec.coerce(v) for v in entry["valenum"])
    lo = entry.get("valmin") if entry.get("partype") == "range" else None
    hi = entry.get("valmax") if entry.get("partype") == "range" else None
    desc = str(entry.get("description", "")).strip()
    alias = entry.get("display_name")
    if alias:
        desc = f"{desc} (esorex option --{alias})".strip()
    return ParameterSpec(entry["name"], ptype, default, desc,
                         None if lo is None else float(lo), None if hi is None else float(hi),
                         choices)


class EsorexRecipe(Recipe):
    """An ESO CPL recipe run by esorex in a child process (see :mod:`esorex_run`)."""

    def __init__(self, recipe: str, library: Path, info: Mapping[str, Any]) -> None:
        self.recipe = recipe
        self.library = Path(library)
        self.pipeline, self.pipeline_version = _pipeline_of(self.library.parent)
        self.name = PREFIX + recipe
        self.version = str(info.get("version") or self.pipeline_version or "0")
        self.description = str(info.get("description", ""))
        self.parameters = tuple(parameter_spec(e) for e in info.get("schema", []))
        self.aliases = {e["display_name"]: e["name"] for e in info.get("schema", [])
                        if e.get("display_name")}
        self.input_categories = ()
        self.downstream_tags = _downstream_tags(recipe)
        self.output_categories = tuple(self.downstream_tags.values())

    def __repr__(self) -> str:
        return f"EsorexRecipe({self.recipe!r}, version={self.version!r})"

    def defaults(self) -> dict[str, Any]:  # type: ignore[override]
        return {p.name: p.default for p in self.parameters}

    def parameter(self, name: str) -> ParameterSpec | None:  # type: ignore[override]
        full = self.canonical(name)
        return next((p for p in self.parameters if p.name == full), None)

    def canonical(self, name: str) -> str:
        """Full CPL name of a parameter given by full name, alias (``hot_t``/``--hot_t``) or
        recipe-relative name (``hot_threshold``); unknown names are returned unchanged."""
        bare = name.lstrip("-")
        names = {p.name for p in self.parameters}
        if bare in names:
            return bare
        if bare in self.aliases:
            return self.aliases[bare]
        ends = [n for n in names if n.endswith("." + bare)]
        return ends[0] if len(ends) == 1 else bare

    def run(self, inputs: Sequence[tuple[str, str]], parameters: Mapping[str, Any],
            output_dir: Path) -> RecipeResult:
        from reflexng.recipes.esorex_run import run_job

        return run_job(self, inputs, parameters, Path(output_dir))

    def replay_command(self, sof: Any, params: Mapping[str, Any], output_dir: Any) -> str:
        """Shell lines running this job again with the same esorex, recipe, inputs and
        parameters (the engine writes them into ``replay.sh``, run from the attempt folder).
        ``sof``: a SOF file or a sequence of (path, tag). Nothing is written now."""
        from reflexng.recipes.esorex_run import replay_script

        return replay_script(self, sof, params, output_dir)


def _unknown(message: str) -> Exception:
    return UnknownRecipeError(message)  # the registry's error type: callers catch one kind


def get_recipe(short_name: str) -> EsorexRecipe:
    """The recipe ``esorex:<short_name>``; RecipeError (clear message) when esorex or the
    pipeline providing it is not installed."""
    recipe = short_name[len(PREFIX):] if short_name.startswith(PREFIX) else short_name
    if esorex_path() is None:
        raise RecipeError(f"recipe esorex:{recipe} needs esorex, which is not installed "
                          "(Debian/Ubuntu: apt-get install esorex cpl-plugin-<pipeline>)")
    files = _recipe_files()
    so = files.get(recipe)
    if so is None:
        pipes = sorted({"-".join(_pipeline_of(p.parent)) for p in files.values()})
        raise _unknown(
            f"no installed ESO pipeline provides recipe {recipe!r} (installed: "
            f"{', '.join(pipes) or 'none'}); {install_hint(recipe)}")
    return EsorexRecipe(recipe, so, describe(recipe, so))
