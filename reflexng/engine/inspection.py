"""The inspection contract, re-exported for cascades written against ``reflexng.engine.inspection``
(it lives in :mod:`reflexng.recipes.inspection`)."""

from reflexng.recipes.inspection import Inspection, InspectionContext

__all__ = ["Inspection", "InspectionContext"]
