"""The cascade language (EDPS syntax): ``from reflexng.cascade import task, data_source, ...``.

Qt-free. See the EDPS paper for the concepts; ARCHITECTURE.md for the words.
"""

from reflexng.cascade.builders import (
    classification_rule,
    data_source,
    metadata,
    subworkflow,
    task,
    workflow_parameter,
)
from reflexng.cascade.cascade import Cascade, Edge, ParameterSet
from reflexng.cascade.errors import CascadeError, CascadeValidationError, Problem
from reflexng.cascade.loader import builtin_cascade_dir, find_cascade, load
from reflexng.cascade.model import (
    ONE_DAY,
    SAME_NIGHT,
    UNLIMITED,
    AssociatedInput,
    ClassificationRule,
    DataSource,
    InputRef,
    MatchRule,
    SourceLocation,
    Task,
    TimeRange,
    WorkflowParameter,
    days,
    fits_card_name,
    night_of,
    relative,
)

# exports and layout import networkx: loaded on first use
_LAZY = {
    "to_dict": "reflexng.cascade.export",
    "to_json": "reflexng.cascade.export",
    "to_dot": "reflexng.cascade.export",
    "layout": "reflexng.cascade.layering",
    "compute_layout": "reflexng.cascade.layering",
    "Layout": "reflexng.cascade.layering",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'reflexng.cascade' has no attribute {name!r}")


__all__ = [
    "ONE_DAY", "SAME_NIGHT", "UNLIMITED", "AssociatedInput", "Cascade", "CascadeError",
    "CascadeValidationError", "ClassificationRule", "DataSource", "Edge", "InputRef", "MatchRule",
    "ParameterSet", "Problem", "SourceLocation", "Task", "TimeRange", "WorkflowParameter",
    "builtin_cascade_dir", "classification_rule", "data_source", "days", "find_cascade",
    "fits_card_name", "load", "metadata", "night_of", "relative", "subworkflow", "task",
    "workflow_parameter", "to_dict", "to_json", "to_dot", "layout", "compute_layout", "Layout",
]
