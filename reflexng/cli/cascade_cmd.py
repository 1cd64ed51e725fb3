"""`reflexng cascade list|show|validate|test` — placeholder until the foundation lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("cascade", help="(not built yet)")
    p.set_defaults(func=not_built("cascade", "the foundation issue"))
