"""`reflexng run` — placeholder until the execution engine issue lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("run", help="(not built yet)")
    p.set_defaults(func=not_built("run", "the execution engine issue"))
