"""Icons, style sheets and the desktop entry (installed as ``reflexng._resources``)."""
