"""`reflexng recipes` — placeholder until the esorex issue lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("recipes", help="(not built yet)")
    p.set_defaults(func=not_built("recipes", "the esorex issue"))
