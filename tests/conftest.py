"""Shared test set-up: Qt runs offscreen; child Pythons import the installed reflexng.

PYTHONSAFEPATH keeps ``python -c``/``-m`` children from putting the current folder (the
checkout) first on sys.path, so they run the installed package, as a user would.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYTHONSAFEPATH", "1")
# the test_* recipes are not part of the shipped entry point: the tests add them (children inherit this)
os.environ["REFLEXNG_RECIPE_MODULES"] = "reflexng.recipes.builtin.testing"

# the application registers its recipe lookup with the cascade validator at start; so do the tests
import reflexng.recipes.registry  # noqa: E402, F401
