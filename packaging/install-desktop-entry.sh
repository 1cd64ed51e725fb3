#!/usr/bin/env sh
# Install reflexng's desktop entry and icon for the current user (no admin rights needed).
set -eu
res=$(python3 -c "import importlib.resources as r; print(r.files('reflexng._resources'))")
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
[ -f "$res/reflexng.desktop" ] && cp "$res/reflexng.desktop" "$apps/"
[ -f "$res/icons/reflexng.svg" ] && cp "$res/icons/reflexng.svg" "$icons/reflexng.svg"
echo "installed the reflexng desktop entry into $apps"
