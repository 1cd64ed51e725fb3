"""Is there a screen Qt can draw on? Qt-free, cheap to import."""

from __future__ import annotations

import os
import sys

# platforms that need no display server (rendering happens in memory)
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def display_available(environ: dict[str, str] | None = None, platform: str | None = None) -> bool:
    """True when Qt can open a window: macOS/Windows always; elsewhere DISPLAY or
    WAYLAND_DISPLAY is set, or QT_QPA_PLATFORM names a platform (offscreen, xcb, ...)."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat.startswith(("win", "darwin", "cygwin")):
        return True
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in HEADLESS_PLATFORMS:
        return True
    if qpa in ("wayland", "wayland-egl"):
        return bool(env.get("WAYLAND_DISPLAY"))
    if qpa == "xcb":
        return bool(env.get("DISPLAY"))
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def why_no_display() -> str:
    return (
        "no display available: set DISPLAY or WAYLAND_DISPLAY, run under xvfb-run, or set "
        "QT_QPA_PLATFORM=offscreen"
    )
