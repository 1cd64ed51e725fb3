"""User preferences and recent sessions (Qt-free; JSON in the platform's config folder)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

MAX_RECENT = 10


def config_dir() -> Path:
    """``$REFLEXNG_CONFIG_DIR`` or the platform's user config folder for reflexng."""
    env = os.environ.get("REFLEXNG_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("reflexng", appauthor=False))


def default_workdir_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("reflexng", appauthor=False)) / "work"


@dataclass
class RecentSession:
    cascade: str
    data_dirs: list[str] = field(default_factory=list)
    target: str | None = None
    workdir: str | None = None

    def label(self) -> str:
        dirs = ", ".join(Path(d).name for d in self.data_dirs) or "no data"
        return f"{Path(self.cascade).stem} — {dirs}" + (f" → {self.target}" if self.target else "")


@dataclass
class Preferences:
    default_workdir: str = ""
    parallel_jobs: int = 1
    pause_after_each_step: bool = False
    external_viewer: str = ""  # e.g. "ds9 {path}"; empty = send over SAMP / built-in viewer
    theme: str = "light"  # "light" | "dark"
    executor: str = ""  # "" (automatic: fork on Linux, spawn elsewhere) | "fork" | "spawn" | "dask"
    dask_scheduler: str = ""  # with executor "dask": address of a running scheduler; empty = a LocalCluster
    file_table_keywords: list[str] | None = None  # header keyword columns; None = the first few
    recent: list[RecentSession] = field(default_factory=list)
    window_size: list[int] | None = None  # [width, height] the main window had when closed

    # ---------------------------------------------------------------- persistence
    @classmethod
    def path(cls) -> Path:
        return config_dir() / "preferences.json"

    @classmethod
    def load(cls) -> Preferences:
        """Read the preferences; a missing or damaged file gives the defaults."""
        p = cls.path()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in known and k != "recent"}
        prefs = cls(**kwargs)
        for r in data.get("recent") or []:
            if isinstance(r, dict) and r.get("cascade"):
                prefs.recent.append(
                    RecentSession(
                        str(r["cascade"]),
                        [str(d) for d in r.get("data_dirs") or []],
                        r.get("target"),
                        r.get("workdir"),
                    )
                )
        ftk = prefs.file_table_keywords
        if ftk is not None and not (isinstance(ftk, list) and all(isinstance(k, str) for k in ftk)):
            prefs.file_table_keywords = None
        if prefs.theme not in ("light", "dark"):
            prefs.theme = "light"
        if prefs.executor not in ("", "fork", "spawn", "dask"):
            prefs.executor = ""
        prefs.parallel_jobs = max(1, int(prefs.parallel_jobs or 1))
        return prefs

    def save(self) -> None:
        p = self.path()
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, p)

    def remember(self, session: RecentSession) -> None:
        """Put ``session`` first in the recent list (no duplicates, at most MAX_RECENT)."""
        self.recent = [r for r in self.recent if asdict(r) != asdict(session)]
        self.recent.insert(0, session)
        del self.recent[MAX_RECENT:]
