"""What a task's inspector returns: what to show the user when paused after a job.

The contract between cascades/recipes (which write inspectors) and the engine/GUI (which call
them and show the result); it lives here, below the engine, so recipes never import upward.

A cascade declares ``task(...).with_inspector(fn)``; the engine calls
``fn(products, context)`` in a worker (never on the GUI thread) where ``products`` is a list of
(path, category) of the job's latest attempt and ``context`` an :class:`InspectionContext`.
Figures must be ``matplotlib.figure.Figure`` objects built without pyplot (no GUI backend).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InspectionContext:
    job_id: str
    task: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    qc: Mapping[str, Any] = field(default_factory=dict)
    inputs: Sequence[tuple[str, str]] = ()  # (path, category) the job read
    truth: Mapping[str, Any] | None = None  # e.g. the simulator's truth when a cascade knows where it is


@dataclass
class Inspection:
    """``images``/``spectra``/``tables``: product paths to open in the viewers; ``figures``:
    matplotlib Figures (e.g. wavelength-fit residuals); ``qc``: values to list; ``notes``: words."""

    title: str = ""
    images: list[str] = field(default_factory=list)
    spectra: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)
    qc: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
