"""`reflexng recipes list|show` — the recipes reflexng can run."""

from __future__ import annotations

import sys

from reflexng.cli._common import fail


def register(sub) -> None:
    p = sub.add_parser("recipes", help="list recipes (built-in, user modules, commands, esorex)",
                       description="List the recipes reflexng can run, or show one recipe's parameters.")
    rs = p.add_subparsers(dest="recipes_cmd", metavar="COMMAND")
    ls = rs.add_parser("list", help="list recipes with their versions")
    ls.add_argument("--esorex", action="store_true", help="also list ESO recipes known to esorex")
    ls.add_argument("--json", action="store_true", help="print JSON {name: version}")
    ls.set_defaults(func=_list)
    sh = rs.add_parser("show", help="parameters and categories of one recipe")
    sh.add_argument("name")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=_show)
    p.set_defaults(func=_list, esorex=False, json=False)


def _list(args) -> int:
    import json
    import warnings

    from reflexng.recipes.registry import known_recipes

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recipes = known_recipes(include_esorex=args.esorex)
    for w in caught:
        print(f"reflexng: warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(recipes, indent=1))
    else:
        width = max((len(n) for n in recipes), default=10)
        for name, version in recipes.items():
            print(f"{name:<{width}}  {version}")
    return 0


def _show(args) -> int:
    import json

    from reflexng.recipes.registry import UnknownRecipeError, get_recipe

    try:
        r = get_recipe(args.name)
    except UnknownRecipeError as exc:
        return fail(str(exc))
    params = [
        {"name": s.name, "type": s.type, "default": s.default, "min": s.min, "max": s.max,
         "choices": list(s.choices) if s.choices else None, "description": s.description}
        for s in getattr(r, "parameters", ())
    ]
    info = {"name": getattr(r, "name", args.name), "version": str(getattr(r, "version", "")),
            "description": getattr(r, "description", ""), "input_categories": list(getattr(r, "input_categories", ())),
            "output_categories": list(getattr(r, "output_categories", ())), "parameters": params}
    if args.json:
        print(json.dumps(info, indent=1, default=str))
        return 0
    print(f"{info['name']} {info['version']}: {info['description']}")
    if info["input_categories"]:
        print("inputs: " + ", ".join(info["input_categories"]))
    for p in params:
        extra = f" [{p['min']}..{p['max']}]" if p["min"] is not None or p["max"] is not None else ""
        extra += f" one of {p['choices']}" if p["choices"] else ""
        print(f"  {p['name']} ({p['type']}, default {p['default']!r}){extra}: {p['description']}")
    return 0
