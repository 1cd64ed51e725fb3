"""Placeholder recipes: run a whole job graph without its pipeline.

``reflexng run --placeholder-recipes`` (and the GUI's "Placeholder recipes" toggle) turns every
job's recipe ``R`` into ``placeholder:R``. A placeholder job writes, for each category the
downstream tasks ask for, one header-only FITS product: ``PRO.CATG`` set, the first main
input's header copied (so later steps see the keywords they expect), and
``HIERARCH ESO PRO REFLEXNG PLACEHOLDER = T``. Its recipe name and version
(``placeholder-1``) mark it in provenance; smart re-run never mixes placeholder and real
products (the cache key holds the recipe name), and the engine never exports placeholder
products as end products.

This module is the recipe (below the registry, which hands out ``placeholder:`` names);
turning an organise result's jobs into placeholder jobs needs the registry and lives in
:mod:`reflexng.recipes.placeholder_jobs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PREFIX = "placeholder:"
VERSION = "placeholder-1"
CATEGORIES = "placeholder_categories"  # the job parameter naming the products to write
CARD = "HIERARCH ESO PRO REFLEXNG PLACEHOLDER"


def is_placeholder(recipe: str) -> bool:
    return recipe.startswith(PREFIX)


class PlaceholderRecipe:
    """Writes one header-only product per requested category (see the module docstring)."""

    version = VERSION
    parameters = ()
    input_categories = ()
    output_categories = ()

    def __init__(self, name: str) -> None:
        self.name = name if name.startswith(PREFIX) else PREFIX + name
        self.description = f"placeholder for {self.name[len(PREFIX):]}: header-only products"

    def defaults(self) -> dict[str, Any]:
        return {}

    def parameter(self, name: str):
        return None

    def run(self, inputs: Sequence[tuple[str, str]], parameters: Mapping[str, Any], output_dir: Path):
        from astropy.io import fits

        from reflexng.recipes.protocol import RecipeResult

        cats = parameters.get(CATEGORIES) or ["PRODUCT"]
        if isinstance(cats, str):
            cats = [c.strip() for c in cats.split(",") if c.strip()]
        base = fits.Header()
        if inputs:
            try:
                base = fits.getheader(inputs[0][0])
            except (OSError, ValueError):  # an input astropy cannot read: an empty header
                base = fits.Header()
        products = []
        for i, cat in enumerate(dict.fromkeys(str(c) for c in cats)):
            hdr = fits.Header()
            for card in base.cards:
                if card.keyword in ("SIMPLE", "BITPIX", "EXTEND", "END") or card.keyword.startswith("NAXIS"):
                    continue
                if card.keyword in ("HIERARCH ESO PRO CATG",) or card.keyword.startswith("ESO PRO"):
                    continue
                try:
                    hdr.append(card)
                except (ValueError, KeyError):  # an odd card: leave it out
                    continue
            hdr["HIERARCH ESO PRO CATG"] = cat
            hdr[CARD] = (True, "written by reflexng --placeholder-recipes, not real data")
            path = Path(output_dir) / f"placeholder_{i:02d}_{_safe(cat)}.fits"
            fits.PrimaryHDU(header=hdr).writeto(path)
            print(f"placeholder: wrote {path.name} ({cat}) for {len(inputs)} input(s)")
            products.append((str(path), cat))
        return RecipeResult(products, {"PLACEHOLDER": True})


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in text)[:60] or "product"


def get_recipe(name: str) -> PlaceholderRecipe:
    return PlaceholderRecipe(name)
