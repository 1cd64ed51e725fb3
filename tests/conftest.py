"""Shared test set-up: Qt runs offscreen; helpers for writing real FITS files."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
