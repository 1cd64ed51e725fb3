"""`reflexng demo-data` — placeholder until the demo instrument issue lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("demo-data", help="(not built yet)")
    p.set_defaults(func=not_built("demo-data", "the demo instrument issue"))
