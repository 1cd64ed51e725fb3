"""Shared test set-up: Qt runs offscreen; child Pythons import the installed reflexng.

PYTHONSAFEPATH keeps ``python -c``/``-m`` children from putting the current folder (the
checkout) first on sys.path, so they run the installed package, as a user would.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYTHONSAFEPATH", "1")
