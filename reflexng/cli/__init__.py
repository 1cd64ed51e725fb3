"""The ``reflexng`` command line: one module per verb in this package.

Each verb module defines ``register(subparsers)`` which adds its parser and sets
``func=<callable(args) -> int>``. Verb modules must be cheap to import: heavy imports
(numpy, astropy, Qt) happen inside the function that runs the verb.

Exit codes shared by every verb: 0 success, 1 a job/run failed, 2 usage or cascade error.
An exception a verb did not handle becomes one line on stderr (see ``reflexng.cli._errors``);
``REFLEXNG_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from reflexng import __version__

# verb -> module in reflexng.cli (order is the order in --help)
VERBS = {
    "demo": "demo",
    "demo-data": "demo_data",
    "gui": "gui",
    "cascade": "cascade_cmd",
    "organise": "organise",
    "run": "run",
    "provenance": "provenance",
    "compare": "compare",
    "recipes": "recipes",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reflexng",
        description="Interactive astronomical data reduction: cascades, data organiser, "
        "smart re-runs and provenance.",
    )
    parser.add_argument("--version", action="version", version=f"reflexng {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for module in VERBS.values():
        importlib.import_module(f"reflexng.cli.{module}").register(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one ``reflexng: warning: ...`` line (no source line of our code)."""
    print(f"reflexng: warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    import warnings

    warnings.showwarning = _show_warning
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("reflexng: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one place for errors no verb handled: a clear line, never a traceback
        if os.environ.get("REFLEXNG_DEBUG"):
            raise
        from reflexng.cli._errors import report

        verb = " ".join(v for v in (args.verb, getattr(args, "cascade_cmd", None),
                                    getattr(args, "recipes_cmd", None)) if v)
        return report(exc, args, verb)
