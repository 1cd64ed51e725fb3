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

__all__ = [
    "ONE_DAY", "SAME_NIGHT", "UNLIMITED", "AssociatedInput", "Cascade", "CascadeError",
    "CascadeValidationError", "ClassificationRule", "DataSource", "Edge", "InputRef", "MatchRule",
    "ParameterSet", "Problem", "SourceLocation", "Task", "TimeRange", "WorkflowParameter",
    "builtin_cascade_dir", "classification_rule", "data_source", "days", "find_cascade",
    "fits_card_name", "load", "metadata", "night_of", "relative", "subworkflow", "task",
    "workflow_parameter",
]
