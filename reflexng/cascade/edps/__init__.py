"""Compatibility layer for ESO EDPS workflow packages (``<inst>/<inst>_wkf.py`` and friends).

``reflexng.cascade.load`` hands a workflow folder or ``*_wkf.py`` file to
:func:`load_workflow`; the workflow's ``import edps`` gets :mod:`reflexng.cascade.edps.api`
for the duration of the load only. See docs/edps-compatibility.md.
"""

from reflexng.cascade.edps.loader import (
    configured_workflow_dirs,
    esorex_workflow_dirs,
    is_workflow_file,
    load_workflow,
    workflow_file,
    workflows_in,
)

__all__ = ["configured_workflow_dirs", "esorex_workflow_dirs", "is_workflow_file", "load_workflow",
           "workflow_file", "workflows_in"]
