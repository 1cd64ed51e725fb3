"""`reflexng demo` — placeholder until the demo instrument issue lands."""

from reflexng.cli._common import not_built


def register(sub) -> None:
    p = sub.add_parser("demo", help="(not built yet)")
    p.set_defaults(func=not_built("demo", "the demo instrument issue"))
