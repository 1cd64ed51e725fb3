"""Errors of the cascade language, always pointing at the user's file and line."""

from __future__ import annotations

from dataclasses import dataclass

from reflexng.cascade.model import UNKNOWN_LOCATION, SourceLocation


class CascadeError(Exception):
    """A cascade that cannot be built or loaded; ``str()`` is ``path:line: message``."""

    def __init__(self, message: str, location: SourceLocation = UNKNOWN_LOCATION) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}")


@dataclass(frozen=True)
class Problem:
    """One validation finding. ``severity`` is "error" or "warning"."""

    message: str
    location: SourceLocation = UNKNOWN_LOCATION
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.location}: {prefix}{self.message}"


class CascadeValidationError(CascadeError):
    """Raised by ``load(..., validate=True)`` when the cascade has errors."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__("; ".join(p.message for p in problems), first.location)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
