"""The desktop GUI (Qt lives only in this package).

``launch()`` and ``display_available()`` are cheap to import: Qt is imported only when a
window is really opened.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from reflexng.gui.display import display_available

__all__ = ["display_available", "launch"]


def launch(
    cascade: str | None = None,
    data_dirs: Sequence[str | os.PathLike] = (),
    target: str | None = None,
    workdir: str | os.PathLike | None = None,
) -> int:
    """Open the main window (optionally with a cascade, raw-data folders, target, work
    directory) and run the event loop; return the exit code (2 when there is no display)."""
    import sys

    from reflexng.gui.display import why_no_display

    if not display_available():
        print(f"reflexng gui: {why_no_display()}", file=sys.stderr)
        return 2
    from reflexng.gui.app import main

    return main(cascade, data_dirs, target, workdir)
