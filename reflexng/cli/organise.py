"""`reflexng organise` — placeholder until the data organiser issue lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("organise", help="(not built yet)")
    p.set_defaults(func=not_built("organise", "the data organiser issue"))
