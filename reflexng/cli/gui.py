"""`reflexng gui` — placeholder until the desktop GUI issue lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("gui", help="(not built yet)")
    p.set_defaults(func=not_built("gui", "the desktop GUI issue"))
