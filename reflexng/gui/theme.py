"""Style sheets (light / dark) and icons from ``resources/`` (installed as reflexng._resources)."""

from __future__ import annotations

from PySide6.QtGui import QIcon


def _resource(name: str):
    from reflexng._paths import resources_dir

    return resources_dir() / name


def style_sheet(theme: str) -> str:
    f = _resource("dark.qss" if theme == "dark" else "light.qss")
    try:
        return f.read_text(encoding="utf-8")
    except OSError:
        return ""


def icon(name: str) -> QIcon:
    f = _resource(f"icons/{name}.svg")
    return QIcon(str(f)) if f.is_file() else QIcon()


def apply_theme(app, theme: str) -> None:
    app.setStyleSheet(style_sheet(theme))
