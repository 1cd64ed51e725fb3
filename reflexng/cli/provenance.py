"""`reflexng provenance` — placeholder until the execution engine issue lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("provenance", help="(not built yet)")
    p.set_defaults(func=not_built("provenance", "the execution engine issue"))
