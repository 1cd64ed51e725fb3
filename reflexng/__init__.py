"""reflexng — interactive astronomical data reduction (successor of ESO Reflex).

The core (everything except ``reflexng.gui``) never imports Qt.
"""

__version__ = "0.1.0"
